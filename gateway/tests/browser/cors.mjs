// Opens each page URL given on the command line in Debian's headless Chromium and prints, as one
// JSON object, the title each page ended with: "ok:<status>" when its cross-origin fetch with
// credentials succeeded, "blocked:<error>" when the browser refused to hand over the response.
import { chromium } from 'playwright-core';

const urls = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    // The gateway's test certificate is issued by a throwaway CA; its name resolves to loopback.
    '--ignore-certificate-errors',
    `--host-resolver-rules=${process.env.HOST_RULES || ''}`,
  ],
});
const results = {};
try {
  for (const url of urls) {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => /^(ok|blocked):/.test(document.title), null, { timeout: 20000 });
    results[url] = await page.title();
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(results));
