#!/usr/bin/env bash
# TLS conformance with external scanners: starts the gateway on 127.0.0.1 twice, once with each
# `tls_policy` (`recommended` with the ECDSA server certificate, `fapi` with the RSA one), runs
# sslyze (with a client certificate on the mTLS alias), testssl.sh (on the plain domain), OpenSSL
# suite-by-suite probes with and without extended master secret, and `openssl s_client` for the
# CertificateRequest, then checks the results (scripts/conformance/verify.py says what against).
# Exits non-zero on any regression. Results: target/conformance/.
#
# Installs what it needs when missing: testssl.sh and openssl with apt (as root), sslyze with pip
# into target/conformance-venv. Uses $MTLS_GATEWAY_BIN when set, else builds the debug binary.
# Names resolve through the tools' own options (sslyze's `host{ip}`, testssl's --ip, s_client's
# -servername); /etc/hosts is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/target/conformance
venv=$root/target/conformance-venv
# scan.py drives sslyze's Python API (and wraps one of its internal functions): pinned.
sslyze_version=6.3.1
started=$SECONDS

apt_updated=
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: $* missing; install it (apt-get install $*)" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then
    timeout 300 apt-get update -q >/dev/null
    apt_updated=1
  fi
  timeout 600 apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

command -v openssl >/dev/null 2>&1 || apt_install openssl
command -v testssl >/dev/null 2>&1 || apt_install testssl.sh
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" 2>/dev/null || { apt_install python3-venv && python3 -m venv "$venv"; }
fi
if ! "$venv/bin/python" -c "import sys; from sslyze.__version__ import __version__ as v; sys.exit(v != '$sslyze_version')" 2>/dev/null; then
  echo "installing sslyze $sslyze_version into $venv"
  timeout 600 "$venv/bin/pip" install -q "sslyze==$sslyze_version"
fi

bin=${MTLS_GATEWAY_BIN:-}
if [ -z "$bin" ]; then
  cargo build -q -p mtls-gateway --bin mtls-gateway
  bin=$root/target/debug/mtls-gateway
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Waits up to 60 s for a line matching $2 in log $1, written by process $3.
wait_for_line() {
  local deadline=$((SECONDS + 60))
  until grep -q "$2" "$1" 2>/dev/null; do
    if [ "$SECONDS" -gt "$deadline" ] || ! kill -0 "$3" 2>/dev/null; then
      echo "error: no '$2' in $1:" >&2
      cat "$1" >&2
      exit 1
    fi
    sleep 0.2
  done
}

free_port() {
  "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

rm -rf "$out"
mkdir -p "$out/pki" "$out/recommended" "$out/fapi"
export MTLS_GATEWAY_LOG="warn,mtls_gateway::gateway=info"

# The demo writes the PKI and runs the stand-in upstream; its own gateway is not scanned.
"$bin" demo --dir "$out/pki" --listen "127.0.0.1:$(free_port)" >"$out/demo.log" 2>&1 &
pids+=($!)
wait_for_line "$out/demo.log" "^ready" "$!"
upstream=$(sed -n 's/^connect_to = "\(.*\)"$/\1/p' "$out/pki/gateway.toml")
upstream_host=$(sed -n 's/^host = "\(.*\)"$/\1/p' "$out/pki/gateway.toml")

# start_gateway NAME POLICY CERTIFICATE-BASENAME PORT
start_gateway() {
  cat >"$out/pki/$1.toml" <<EOF
listen = ["127.0.0.1:$4"]

[admin]
enabled = false

[[domain]]
name = "auth.example.com"
cert = "$3.pem"
key = "$3.key"
tls_policy = "$2"
api_key_file = "cname-api-key"

[domain.upstream]
host = "$upstream_host"
connect_to = "$upstream"
ca_file = "root.pem"

[domain.mtls]
client_ca = ["root.pem"]
EOF
  "$bin" run --config "$out/pki/$1.toml" >"$out/$1/gateway.log" 2>&1 &
  pids+=($!)
  wait_for_line "$out/$1/gateway.log" "listening addr=127.0.0.1:$4" "$!"
}

recommended_port=$(free_port)
start_gateway recommended recommended server "$recommended_port"
fapi_port=$(free_port)
start_gateway fapi fapi server-rsa "$fapi_port"
targets=(--target "recommended:recommended:$recommended_port" --target "fapi:fapi:$fapi_port")
echo "gateways up after $((SECONDS - started)) s: recommended on $recommended_port, fapi on $fapi_port"

# testssl has no client-certificate option: it scans the plain domain. Skipped sections: HTTP
# headers and client simulations (nothing there is about the TLS presets).
run_testssl() {
  timeout 240 testssl --quiet --color 0 --warnings off --connect-timeout 10 --openssl-timeout 10 \
    --add-ca "$out/pki/root.pem" --ip 127.0.0.1 -p -s -f -P -S -U -e \
    -oJ "$out/$1/testssl.json" "https://auth.example.com:$2" >"$out/$1/testssl.log" 2>&1
}
run_testssl recommended "$recommended_port" &
testssl_recommended=$!
pids+=($testssl_recommended)
run_testssl fapi "$fapi_port" &
testssl_fapi=$!
pids+=($testssl_fapi)

if ! timeout 180 "$venv/bin/python" -W ignore scripts/conformance/scan.py --out "$out" --pki "$out/pki" \
  "${targets[@]}" >"$out/scan.log" 2>&1; then
  echo "scan.py failed (its checks will fail below):"
  tail -n 20 "$out/scan.log"
fi
for name in recommended fapi; do
  pid_var=testssl_$name
  status=0
  wait "${!pid_var}" || status=$?
  # testssl exits non-zero for some findings; only a timeout (124) is an error of its own.
  if [ "$status" = 124 ]; then
    echo "testssl ($name) timed out after 240 s; see $out/$name/testssl.log"
  fi
done

status=0
"$venv/bin/python" scripts/conformance/verify.py --out "$out" --pki "$out/pki" "${targets[@]}" || status=$?
echo "conformance: finished in $((SECONDS - started)) s"
exit "$status"
