#!/usr/bin/env bash
# Runs the whole test suite. On a fresh Debian machine (as root) it first installs the system
# tools the tests drive for real: curl, openssl, nginx, redis-server, promtool, PyYAML, Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=()
need() { command -v "$1" >/dev/null 2>&1 || packages+=("$2"); }
need curl curl
need openssl openssl
need nginx nginx
need redis-server redis-server
need promtool prometheus
[ -x /usr/bin/chromium ] || packages+=(chromium)
python3 -c 'import yaml' >/dev/null 2>&1 || packages+=(python3-yaml)

if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${packages[@]}"
  else
    echo "warning: missing ${packages[*]}; tests that need them will say so" >&2
  fi
fi

# The browser test drives Debian's Chromium with playwright-core (pinned in package-lock.json).
if [ ! -d gateway/tests/browser/node_modules/playwright-core ] && command -v npm >/dev/null 2>&1; then
  npm ci --prefix gateway/tests/browser --no-audit --no-fund
fi

cargo test --workspace "$@"
