#!/usr/bin/env bash
# Side-by-side benchmark: nginx and mtls-gateway as the customer edge, one core each in turn.
#
#   bash loadtest/bench/run.sh
#
# Builds the release binaries, writes a development PKI and both servers' configurations into a
# temporary directory, starts a stand-in HTTPS upstream, then for each scenario and each server
# (nginx first) starts the server fresh, pinned to one core, checks it answers, loads it from the
# other core with mtls-loadtest, records the server's CPU per connection (or per request) and its
# peak RSS, and stops it. Prints one table and writes it, with the raw JSON, to the results
# directory. Exits non-zero when a run had no successes or more than 1% errors.
#
# Environment (all optional):
#   BENCH_OUT=DIR            results directory (default loadtest/bench/results)
#   BENCH_DURATION=15s       measured window per run       BENCH_WARMUP=3s  warm-up per run
#   BENCH_CONCURRENCY=16     connections in flight (full/resume)
#   BENCH_KEEPALIVE_CONCURRENCY=32   persistent connections (keep-alive)
#   BENCH_SERVER_CORE=0      core of the server under test
#   BENCH_CLIENT_CORE=1      core of the load generator and the upstream
#   BENCH_SERVERS="nginx gateway"    BENCH_SCENARIOS="full-tls13-ecdsa ... keepalive"
#   BENCH_UPSTREAM_ALPN=h2,http/1.1  what the upstream offers (nginx always speaks HTTP/1.1 to it)
#   BENCH_CLIENT_ARGS="..."  extra mtls-loadtest options for every run, e.g.
#                            "--ciphers TLS13_AES_128_GCM_SHA256" (the probe ignores them)
#   BENCH_SKIP_BUILD=1       use the binaries already in target/release
#   BENCH_KEEP=1             keep the temporary directory (PKI, configs, server logs)
#   BENCH_PERF=gateway|nginx|all     also record a perf profile of the measured window (the
#                            profiler's own cost inflates that run's CPU figures)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${BENCH_OUT:-$ROOT/loadtest/bench/results}
DURATION=${BENCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-3s}
CONC=${BENCH_CONCURRENCY:-16}
KA_CONC=${BENCH_KEEPALIVE_CONCURRENCY:-32}
SERVER_CORE=${BENCH_SERVER_CORE:-0}
CLIENT_CORE=${BENCH_CLIENT_CORE:-1}
SERVERS=${BENCH_SERVERS:-nginx gateway}
SCENARIOS=${BENCH_SCENARIOS:-full-tls13-ecdsa full-tls12-ecdsa full-tls13-rsa resume-tls13 resume-tls12 keepalive}
UPSTREAM_ALPN=${BENCH_UPSTREAM_ALPN:-h2,http/1.1}
PERF=${BENCH_PERF:-}
read -r -a CLIENT_ARGS <<< "${BENCH_CLIENT_ARGS:-}"
SNI=mtls.auth.example.com
UPSTREAM_HOST=idp.example.internal
API_KEY=bench-cname-api-key-not-secret

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 2; }
started=$(date +%s)

# ------------------------------------------------------------------ preflight checks
[[ $(uname -s) == Linux ]] || die "Linux only: CPU time and peak RSS come from /proc"
[[ -r /proc/self/status ]] || die "/proc is not mounted"
command -v taskset >/dev/null || die "taskset not found: install util-linux (apt-get install -y util-linux)"
command -v getconf >/dev/null || say "warning: getconf not found; CPU figures assume 100 clock ticks/s"
[[ $SERVER_CORE != "$CLIENT_CORE" ]] || die "BENCH_SERVER_CORE and BENCH_CLIENT_CORE must differ"
cores=$(nproc)
(( cores >= 2 )) || die "needs at least 2 CPU cores (one for the server under test, one for the load generator and the upstream); this machine offers $cores"
for c in "$SERVER_CORE" "$CLIENT_CORE"; do
  taskset -c "$c" true 2>/dev/null || die "cannot run on core $c (allowed: $(taskset -pc $$ | sed 's/.*: //')); set BENCH_SERVER_CORE / BENCH_CLIENT_CORE"
done
secs() { local d=$1; case $d in *ms) echo 1;; *s) echo "${d%s}";; *m) echo $(( ${d%m} * 60 ));; *) echo "$d";; esac; }
DUR_S=$(secs "$DURATION"); WARM_S=$(secs "$WARMUP")
[[ $DUR_S =~ ^[0-9]+$ && $WARM_S =~ ^[0-9]+$ ]] || die "BENCH_DURATION/BENCH_WARMUP: use whole seconds or minutes, e.g. 15s"
for s in $SCENARIOS; do
  case $s in full-tls13-ecdsa|full-tls12-ecdsa|full-tls13-rsa|resume-tls13|resume-tls12|keepalive) ;;
    *) die "unknown scenario '$s'";; esac
done
for s in $SERVERS; do case $s in nginx|gateway) ;; *) die "unknown server '$s'";; esac; done
if [[ $(cat /proc/sys/net/ipv4/tcp_tw_reuse 2>/dev/null || echo 2) == 0 ]]; then
  say "warning: net.ipv4.tcp_tw_reuse=0: thousands of short connections per second may run out of local ports"
fi

NGINX=$(command -v nginx || true)
[[ -z $NGINX && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
POLICY_RC_CREATED=
if [[ -z $NGINX && " $SERVERS " == *" nginx "* ]]; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    say "nginx not found: installing the Debian package (the system service is not started)"
    # Debian starts services on installation unless policy-rc.d forbids it.
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
      POLICY_RC_CREATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y nginx >&2 \
      || { apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y nginx >&2; } \
      || die "apt-get install -y nginx failed"
    [[ -n $POLICY_RC_CREATED ]] && rm -f /usr/sbin/policy-rc.d && POLICY_RC_CREATED=
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  else
    die "nginx not found: install it (apt-get install -y nginx), run this as root to have it installed, or set BENCH_SERVERS=gateway"
  fi
fi

# ------------------------------------------------------------------ processes and cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mtls-bench.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  [[ -n $POLICY_RC_CREATED ]] && rm -f /usr/sbin/policy-rc.d
  if [[ -n ${BENCH_KEEP:-} ]]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

forget() { local keep=() p; for p in "${PIDS[@]}"; do [[ $p != "$1" ]] && keep+=("$p"); done; PIDS=("${keep[@]}"); }
stop() {
  local pid=$1
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for p in $(seq "$1" $(( $1 + 500 ))); do port_busy "$p" || { echo "$p"; return; }; done
  die "no free port from $1"
}
child_of() { awk -v p="$1" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null | head -1; }
vmhwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo ""; }

# Waits until core SERVER_CORE and CLIENT_CORE are mostly idle (up to 60 s), so other work on the
# machine does not distort the figures; records what it saw.
core_idle() {  # prints the idle % of cores $1 and $2 over one second
  local a b
  a=$(awk -v x="cpu$1" -v y="cpu$2" '$1==x||$1==y { t=0; for(i=2;i<=NF;i++) t+=$i; print $1, t, $5+$6 }' /proc/stat)
  sleep 1
  b=$(awk -v x="cpu$1" -v y="cpu$2" '$1==x||$1==y { t=0; for(i=2;i<=NF;i++) t+=$i; print $1, t, $5+$6 }' /proc/stat)
  paste <(echo "$a") <(echo "$b") | awk '{ d=$5-$2; printf "%s %.0f\n", $1, (d>0 ? 100*($6-$3)/d : 100) }'
}
wait_idle() {
  local i idle
  for i in $(seq 30); do
    idle=$(core_idle "$SERVER_CORE" "$CLIENT_CORE" | awk '{ if (min=="" || $2<min) min=$2 } END { print min }')
    (( idle >= 90 )) && return 0
    (( i == 1 )) && say "cores $SERVER_CORE/$CLIENT_CORE are busy with other work (least idle: $idle%); waiting up to 60 s"
    sleep 1
  done
  say "warning: the machine stayed busy (least idle core: $idle%); figures may be inflated"
  echo "warning: other work was running during this run (least idle core $idle%)" >> "$OUT/warnings.txt"
}

# ------------------------------------------------------------------ build
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/release
if [[ -z ${BENCH_SKIP_BUILD:-} ]]; then
  command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) or set BENCH_SKIP_BUILD=1 with built binaries"
  say "building release binaries"
  (cd "$ROOT" && cargo build --release -p mtls-gateway -p mtls-loadtest) >&2
fi
for b in mtls-gateway mtls-loadtest bench-upstream crypto-floor bench-report; do
  [[ -x $TARGET/$b ]] || die "$TARGET/$b missing: build with cargo build --release -p mtls-gateway -p mtls-loadtest"
done

rm -rf "$OUT"
mkdir -p "$OUT/json" "$OUT/logs"
: > "$OUT/warnings.txt"

# ------------------------------------------------------------------ machine
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc: $cores"
  echo "cpu: $(lscpu 2>/dev/null | awk -F: '/Model name/ { sub(/^[ \t]+/, "", $2); print $2; exit }')"
  echo "kernel: $(uname -r)"
  [[ -n $NGINX ]] && echo "nginx: $("$NGINX" -V 2>&1 | head -1 | sed 's/^nginx version: //')"
  [[ -n $NGINX ]] && echo "nginx openssl: $("$NGINX" -V 2>&1 | sed -n 's/^built with //p' | head -1)"
  command -v openssl >/dev/null && echo "openssl: $(openssl version)"
  echo "rustc: $(rustc -V 2>/dev/null || echo unknown)"
  echo "gateway: $("$TARGET/mtls-gateway" --version)"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "settings: duration $DURATION, warm-up $WARMUP, concurrency $CONC (keep-alive $KA_CONC), server core $SERVER_CORE, generator+upstream core $CLIENT_CORE, upstream ALPN $UPSTREAM_ALPN${BENCH_CLIENT_ARGS:+, extra load generator options: $BENCH_CLIENT_ARGS}"
} > "$OUT/machine.txt"
sed 's/^/bench: /' "$OUT/machine.txt" >&2

# ------------------------------------------------------------------ PKI and configurations
PKI=$WORK/pki
"$TARGET/mtls-gateway" certs init "$PKI" >/dev/null
printf '%s' "$API_KEY" > "$PKI/cname-api-key"

UP_PORT=$(free_port 19480)
NGINX_PORT=$(free_port $(( UP_PORT + 1 )))
GW_PORT=$(free_port $(( NGINX_PORT + 1 )))

gateway_config() {  # $1 = server (ECDSA) or server-rsa
  cat > "$WORK/gateway-$1.toml" <<EOF
listen = ["127.0.0.1:$GW_PORT"]

[admin]
enabled = false

[reload]
watch = false

[limits]
drain_timeout = "1s"

[[domain]]
name = "auth.example.com"
cert = "$PKI/$1.pem"
key = "$PKI/$1.key"
api_key_file = "$PKI/cname-api-key"

[domain.upstream]
host = "$UPSTREAM_HOST"
connect_to = "127.0.0.1:$UP_PORT"
ca_file = "$PKI/root.pem"

[domain.mtls]
client_ca = ["$PKI/root.pem"]
EOF
}

nginx_config() {  # $1 = server (ECDSA) or server-rsa
  local p=$WORK/nginx-$1
  mkdir -p "$p/logs" "$p/tmp"
  cat > "$p/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $p/nginx.pid;
error_log $p/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $p/tmp/body;
    proxy_temp_path $p/tmp/proxy;
    fastcgi_temp_path $p/tmp/fastcgi;
    uwsgi_temp_path $p/tmp/uwsgi;
    scgi_temp_path $p/tmp/scgi;

    upstream idp {
        server 127.0.0.1:$UP_PORT;
        keepalive 64;
        keepalive_requests 100000;
        keepalive_timeout 60s;
    }

    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        server_name $SNI;
        ssl_certificate $PKI/$1.pem;
        ssl_certificate_key $PKI/$1.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_session_tickets on;
        ssl_session_cache shared:SSL:10m;
        ssl_verify_client optional_no_ca;
        ssl_client_certificate $PKI/root.pem;
        keepalive_requests 100000;

        location / {
            proxy_pass https://idp;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $UPSTREAM_HOST;
            proxy_set_header client-certificate \$ssl_client_escaped_cert;
            proxy_set_header client-certificate-ca-verified \$ssl_client_verify;
            proxy_set_header cname-api-key "$API_KEY";
            proxy_set_header true-client-ip \$remote_addr;
            proxy_ssl_server_name on;
            proxy_ssl_name $UPSTREAM_HOST;
            proxy_ssl_trusted_certificate $PKI/root.pem;
            proxy_ssl_verify on;
            proxy_ssl_session_reuse on;
        }
    }
}
EOF
}

for cert in server server-rsa; do
  gateway_config "$cert"
  [[ " $SERVERS " == *" nginx "* ]] && nginx_config "$cert"
done
if [[ " $SERVERS " == *" nginx "* ]]; then
  "$NGINX" -t -q -p "$WORK/nginx-server" -e "$WORK/nginx-server/logs/error.log" -c "$WORK/nginx-server/nginx.conf" \
    || die "nginx rejects the generated configuration ($WORK/nginx-server/nginx.conf)"
fi

# ------------------------------------------------------------------ crypto floor (server core, nothing else running)
wait_idle
say "crypto floor on core $SERVER_CORE"
taskset -c "$SERVER_CORE" "$TARGET/crypto-floor" ops --dir "$PKI" --json "$OUT/crypto-floor.json" 2> >(tee "$OUT/logs/crypto-floor.txt" >&2)

# ------------------------------------------------------------------ upstream
taskset -c "$CLIENT_CORE" "$TARGET/bench-upstream" --listen "127.0.0.1:$UP_PORT" \
  --cert "$PKI/upstream.pem" --key "$PKI/upstream.key" --alpn "$UPSTREAM_ALPN" \
  > "$OUT/logs/upstream.txt" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do port_busy "$UP_PORT" && break; sleep 0.05; done
port_busy "$UP_PORT" || die "the upstream did not start: $(cat "$OUT/logs/upstream.txt")"

# ------------------------------------------------------------------ servers under test
SERVER_PID=   # the process whose CPU is measured (nginx: the worker)
MAIN_PID=     # the process we started (nginx: the master)
start_server() {  # $1 = nginx|gateway, $2 = server|server-rsa
  local log=$OUT/logs/$1-$2.log
  if [[ $1 == nginx ]]; then
    local p=$WORK/nginx-$2
    taskset -c "$SERVER_CORE" "$NGINX" -p "$p" -e "$p/logs/error.log" -c "$p/nginx.conf" >> "$log" 2>&1 &
    MAIN_PID=$!; PIDS+=("$MAIN_PID"); PORT=$NGINX_PORT
    SERVER_PID=
    for _ in $(seq 100); do SERVER_PID=$(child_of "$MAIN_PID"); [[ -n $SERVER_PID ]] && break; sleep 0.05; done
    [[ -n $SERVER_PID ]] || die "nginx started no worker: $(cat "$p/logs/error.log" "$log" 2>/dev/null | tail -5)"
  else
    TOKIO_WORKER_THREADS=1 MTLS_GATEWAY_LOG="info,access=off" \
      taskset -c "$SERVER_CORE" "$TARGET/mtls-gateway" run --config "$WORK/gateway-$2.toml" >> "$log" 2>&1 &
    MAIN_PID=$!; PIDS+=("$MAIN_PID"); PORT=$GW_PORT; SERVER_PID=$MAIN_PID
  fi
}

# One request through the server with the load generator's TLS settings: proves the whole chain
# (client certificate, proxy, upstream) works and records what was negotiated.
probe() {  # $1 = scenario, $2 = server
  local tls=1.3 extra=() out=""
  [[ $1 == *tls12* ]] && tls=1.2
  [[ $1 == resume-* ]] && extra=(--resume)
  for _ in $(seq 100); do
    if out=$("$TARGET/crypto-floor" probe --connect "127.0.0.1:$PORT" --sni "$SNI" --cacert "$PKI/root.pem" \
        --cert "$PKI/client.pem" --key "$PKI/client.key" --tls "$tls" "${extra[@]}" 2>&1) \
        && [[ $out == *'HTTP/1.1 200'* ]]; then
      printf '%s\t%s\t%s\n' "$1" "$2" "$out" >> "$OUT/negotiated.tsv"
      return 0
    fi
    kill -0 "$MAIN_PID" 2>/dev/null || break
    sleep 0.1
  done
  die "$2 does not answer 200 for $1: ${out:-no answer} (log: $(tail -3 "$OUT/logs/$2-"*.log 2>/dev/null))"
}

perf_pid=
maybe_perf() {  # $1 = server, $2 = scenario, $3 = pid
  perf_pid=
  [[ -z $PERF ]] && return 0
  [[ $PERF == all || $PERF == "$1" ]] || return 0
  command -v perf >/dev/null || { say "warning: BENCH_PERF set but perf is not installed"; return 0; }
  mkdir -p "$OUT/perf"
  ( sleep "$WARM_S"; exec taskset -c "$CLIENT_CORE" perf record -q -F 499 -g -p "$3" \
      -o "$OUT/perf/$2-$1.data" -- sleep "$DUR_S" ) > "$OUT/logs/perf-$2-$1.txt" 2>&1 &
  perf_pid=$!; PIDS+=("$perf_pid")
}
perf_report() {  # $1 = server, $2 = scenario
  [[ -z $perf_pid ]] && return 0
  wait "$perf_pid" 2>/dev/null || true; forget "$perf_pid"
  perf report -i "$OUT/perf/$2-$1.data" --stdio --no-children --sort dso,symbol --percent-limit 1 \
    > "$OUT/perf/$2-$1.txt" 2>/dev/null || true
  echo "[$2/$1: the profiler ran during this run; its CPU figures are inflated]" >> "$OUT/warnings.txt"
}

runs=$OUT/runs.tsv
: > "$runs"; : > "$OUT/negotiated.tsv"
REQ=(-X POST --path /oauth/token -H 'content-type: application/x-www-form-urlencoded' --body grant_type=client_credentials)
total=0; for s in $SCENARIOS; do for v in $SERVERS; do total=$((total + 1)); done; done
n=0
for scenario in $SCENARIOS; do
  cert=server; [[ $scenario == *rsa ]] && cert=server-rsa
  case $scenario in
    full-tls13-*) args=(--mode full --tls 1.3 -c "$CONC" "${REQ[@]}") ;;
    full-tls12-*) args=(--mode full --tls 1.2 -c "$CONC" "${REQ[@]}") ;;
    resume-tls13) args=(--mode resume --tls 1.3 -c "$CONC") ;;
    resume-tls12) args=(--mode resume --tls 1.2 -c "$CONC") ;;
    keepalive)    args=(--mode keepalive -c "$KA_CONC" "${REQ[@]}") ;;
  esac
  for server in $SERVERS; do
    n=$((n + 1))
    wait_idle
    start_server "$server" "$cert"
    probe "$scenario" "$server"
    json=$OUT/json/$scenario-$server.json
    maybe_perf "$server" "$scenario" "$SERVER_PID"
    taskset -c "$CLIENT_CORE" "$TARGET/mtls-loadtest" "${args[@]}" \
      --connect "127.0.0.1:$PORT" --sni "$SNI" --cacert "$PKI/root.pem" \
      --cert "$PKI/client.pem" --key "$PKI/client.key" \
      --duration "$DURATION" --warmup "$WARMUP" --threads 1 -q \
      --server-pid "$SERVER_PID" --json "$json" "${CLIENT_ARGS[@]}" > "$OUT/logs/$scenario-$server.txt" 2>&1 \
      || { cat "$OUT/logs/$scenario-$server.txt" >&2; die "mtls-loadtest failed for $scenario / $server"; }
    perf_report "$server" "$scenario"
    rss=$(vmhwm "$SERVER_PID")
    stop "$MAIN_PID"
    printf '%s\t%s\t%s\t%s\n' "$scenario" "$server" "$json" "$rss" >> "$runs"
    say "[$n/$total] $scenario / $server: $(grep -E '^  (rate|CPU server)' "$OUT/logs/$scenario-$server.txt" | sed 's/^ *//; s/  */ /g' | paste -sd';' -)"
  done
done

# ------------------------------------------------------------------ the table
"$TARGET/bench-report" --runs "$runs" --floor "$OUT/crypto-floor.json" --negotiated "$OUT/negotiated.tsv" \
  --markdown "$OUT/table.md" --summary "$OUT/summary.tsv" | tee "$OUT/table.txt"
elapsed=$(( $(date +%s) - started ))
{
  echo "## Side-by-side run, $(date -u +%Y-%m-%d)"
  echo
  echo '```'
  cat "$OUT/machine.txt"
  echo "run time: ${elapsed} s"
  echo '```'
  echo
  echo "Command: \`bash loadtest/bench/run.sh\`"
  echo
  cat "$OUT/table.md"
  if [[ -s $OUT/warnings.txt ]]; then echo; sed 's/^/- /' "$OUT/warnings.txt"; fi
} > "$OUT/bench-results.md"
if [[ -s $OUT/warnings.txt ]]; then cat "$OUT/warnings.txt" >&2; fi
say "run time ${elapsed} s; results in $OUT (bench-results.md, json/, logs/)"

# ------------------------------------------------------------------ sanity check: a broken run must be visible
awk -F'\t' 'NR > 1 && ($4 == 0 || $6 > 1.0) {
    printf "bench: FAILED: %s / %s: %d successes, %d errors (%.2f%%)\n", $1, $2, $4, $5, $6 > "/dev/stderr"; bad = 1 }
  END { exit bad }' "$OUT/summary.tsv" || { say "some runs failed; see $OUT/logs"; exit 1; }
