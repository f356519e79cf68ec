#!/usr/bin/env bash
# Runs nginx on a free loopback port with nginx.conf.template and records, for
# each fixture client certificate, the exact bytes nginx produces for
# $ssl_client_escaped_cert (<name>.escaped) and $ssl_client_verify
# (<name>.verify), plus the HTTP status for the expired certificate
# (expired.status). Every request is made over both TLS 1.2 and TLS 1.3 and
# the two responses must be identical. Each .escaped vector is checked
# against Python's urllib.parse.quote(<leaf PEM>, safe='').
#
# Requires: nginx (with http_ssl_module), curl, python3, openssl.
set -euo pipefail

DATA="$(cd "$(dirname "$0")" && pwd)"
NGINX="${NGINX:-nginx}"

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
PREFIX="$(mktemp -d)"
NGINX_PID=""

cleanup() {
  if [[ -n "$NGINX_PID" ]]; then
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  rm -rf "$PREFIX"
}
trap cleanup EXIT

mkdir -p "$PREFIX/tmp"
sed -e "s|@PORT@|$PORT|g" -e "s|@DATA@|$DATA|g" "$DATA/nginx.conf.template" > "$PREFIX/nginx.conf"

"$NGINX" -t -q -c "$PREFIX/nginx.conf" -p "$PREFIX/"
"$NGINX" -c "$PREFIX/nginx.conf" -p "$PREFIX/" 2> "$PREFIX/error.log" &
NGINX_PID=$!

for _ in $(seq 1 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
  sleep 0.1
done

URL="https://mtls.auth.example.com:$PORT"

# fetch <path> <out-file> <curl args...>: body to out-file, prints HTTP status.
fetch() {
  local path="$1" out="$2"; shift 2
  curl -sS --cacert "$DATA/root.pem" \
    --resolve "mtls.auth.example.com:$PORT:127.0.0.1" \
    -o "$out" -w '%{http_code}' "$@" "$URL$path"
}

# fetch_both <path> <out-file> <curl args...>: TLS 1.2 and TLS 1.3 must agree.
fetch_both() {
  local path="$1" out="$2"; shift 2
  local s12 s13
  s12="$(fetch "$path" "$PREFIX/tls12" --tlsv1.2 --tls-max 1.2 "$@")"
  s13="$(fetch "$path" "$PREFIX/tls13" --tlsv1.3 "$@")"
  if [[ "$s12" != "$s13" ]] || ! cmp -s "$PREFIX/tls12" "$PREFIX/tls13"; then
    echo "TLS 1.2 and TLS 1.3 responses differ for $path $*" >&2
    exit 1
  fi
  cp "$PREFIX/tls13" "$out"
  echo "$s13"
}

# name  cert-file-sent  key  leaf-pem
CLIENTS=(
  "client                  client.pem                        client.key                  client.pem"
  "client-rsa              client-rsa.pem                    client-rsa.key              client-rsa.pem"
  "client-via-intermediate client-via-intermediate-chain.pem client-via-intermediate.key client-via-intermediate.pem"
  "self-signed             self-signed.pem                   self-signed.key             self-signed.pem"
  "same-name-other-ca      same-name-other-ca.pem            same-name-other-ca.key      same-name-other-ca.pem"
)

for entry in "${CLIENTS[@]}"; do
  read -r name cert key leaf <<< "$entry"
  for what in escaped verify; do
    status="$(fetch_both "/$what" "$DATA/$name.$what" --cert "$DATA/$cert" --key "$DATA/$key")"
    if [[ "$status" != 200 ]]; then
      echo "$name /$what: unexpected HTTP status $status" >&2
      exit 1
    fi
  done
  python3 - "$DATA/$leaf" "$DATA/$name.escaped" <<'PY'
import sys, urllib.parse
leaf, vec = sys.argv[1], sys.argv[2]
expected = urllib.parse.quote(open(leaf, "rb").read(), safe="").encode("ascii")
got = open(vec, "rb").read()
if got != expected:
    sys.exit(f"{vec}: does not match urllib.parse.quote({leaf}, safe='')")
PY
  printf '%-24s verify=%s  escaped=%s bytes (matches quote(%s))\n' \
    "$name" "$(cat "$DATA/$name.verify")" "$(wc -c < "$DATA/$name.escaped")" "$leaf"
done

# No client certificate at all.
status="$(fetch_both /verify "$DATA/no-cert.verify")"
[[ "$status" == 200 ]] || { echo "no-cert /verify: HTTP $status" >&2; exit 1; }
status="$(fetch_both /escaped "$DATA/no-cert.escaped")"
[[ "$status" == 200 ]] || { echo "no-cert /escaped: HTTP $status" >&2; exit 1; }
printf '%-24s verify=%s  escaped=%s bytes\n' no-cert "$(cat "$DATA/no-cert.verify")" "$(wc -c < "$DATA/no-cert.escaped")"

# Expired client certificate: record the HTTP status only.
status="$(fetch_both /verify "$PREFIX/expired.body" --cert "$DATA/expired.pem" --key "$DATA/expired.key")"
printf '%s' "$status" > "$DATA/expired.status"
reason="$(grep -o 'client SSL certificate verify error: ([^)]*)' "$PREFIX/error.log" | tail -n 1 || true)"
printf '%-24s HTTP %s  (error log: %s)\n' expired "$status" "$reason"

echo
"$NGINX" -v 2>&1
"$NGINX" -V 2>&1 | grep -i openssl || true
openssl version
