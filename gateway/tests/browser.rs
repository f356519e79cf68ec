//! A real browser against the real gateway: headless Chromium (Debian's package, driven by
//! playwright-core) loads one page from an allowed origin and one from a refused origin; each calls
//! the token endpoint with `fetch(..., {credentials: 'include'})`, once as a simple form POST and
//! once as a JSON POST that needs a preflight. The allowed page reads both answers; the browser
//! blocks the refused page from reading either.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, OnceLock};

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn skip_or_fail(what: &str) {
    let msg = format!("{what}: the browser CORS test did not run");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("\n\n*** SKIPPED: {msg} ***\n");
}

/// Serves the page in `html` (filled in once the gateway's port is known) to every request on a
/// fresh loopback port; returns the page's origin.
async fn page_server(html: Arc<OnceLock<String>>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let html = html.get().cloned().unwrap_or_default();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let _ = s.read(&mut buf).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    (origin, task)
}

fn page(gateway: &str) -> String {
    format!(
        r#"<!doctype html><title>loading</title><script>
const url = "{gateway}/oauth/token";
(async () => {{
  try {{
    const form = await fetch(url, {{ method: "POST", credentials: "include",
      headers: {{ "content-type": "application/x-www-form-urlencoded" }},
      body: "grant_type=client_credentials&client_id=spa" }});
    await form.text();
    const json = await fetch(url, {{ method: "POST", credentials: "include",
      headers: {{ "content-type": "application/json" }},
      body: JSON.stringify({{ grant_type: "client_credentials", client_id: "spa" }}) }});
    await json.text();
    document.title = "ok:" + form.status + "," + json.status;
  }} catch (e) {{
    document.title = "blocked:" + e.name;
  }}
}})();
</script>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_enforces_the_gateways_cors_answers() {
    let driver = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !driver.join("node_modules/playwright-core").exists() {
        return skip_or_fail(
            "playwright-core is not installed (npm ci --prefix gateway/tests/browser)",
        );
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !std::path::Path::new(&chromium).exists() {
        return skip_or_fail("Chromium is not installed (apt-get install chromium)");
    }
    // The pages' origins must be known before the gateway's configuration is written.
    let html = Arc::new(OnceLock::new());
    let (allowed_origin, allowed_task) = page_server(html.clone()).await;
    let (refused_origin, refused_task) = page_server(html.clone()).await;
    let apps = format!(
        "\n[domain.browser]\n[[domain.app]]\nclient_id = \"spa\"\nallowed_origins = [\"{allowed_origin}\"]\n"
    );
    let g = Harness::start(Options {
        mtls_extra: apps,
        ..Options::default()
    })
    .await;
    html.set(page(&format!("https://{DOMAIN}:{}", g.addr.port())))
        .unwrap();

    let out = tokio::task::spawn_blocking({
        let (a, r) = (format!("{allowed_origin}/"), format!("{refused_origin}/"));
        move || {
            Command::new("node")
                .arg(driver.join("cors.mjs"))
                .arg(&a)
                .arg(&r)
                .env("CHROMIUM", chromium)
                .env("HOST_RULES", format!("MAP {DOMAIN} 127.0.0.1"))
                .output()
                .expect("node")
        }
    })
    .await
    .unwrap();
    allowed_task.abort();
    refused_task.abort();
    assert!(
        out.status.success(),
        "driver failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let results: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        results[format!("{allowed_origin}/")],
        "ok:200,200",
        "{results}"
    );
    assert_eq!(
        results[format!("{refused_origin}/")],
        "blocked:TypeError",
        "{results}"
    );
    // The allowed page's two calls (plus its preflight, answered at the edge) and, for the refused
    // page, only the simple POST's 403 (the preflight of its JSON call was refused): two upstream
    // requests in all.
    assert_eq!(g.upstream_requests(), 2);
    let m = g.metrics().await;
    assert!(m.contains("kind=\"origin_not_allowed\""), "{m}");
}
