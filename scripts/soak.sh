#!/usr/bin/env bash
# Soak test: starts `holdfast serve` (state directory, TLS certificate and admin token in a temporary directory,
# ports chosen by the kernel) and runs `holdfast-bench soak` against it: chat traffic with churn, handler swaps
# (to PLUGIN and back) and binary upgrades (to BINARY itself), RSS and fds sampled as it goes. Builds nothing.
#
#   scripts/soak.sh BINARY PLUGIN [holdfast-bench soak options...]
#
# BINARY is the holdfast server (holdfast-bench must sit next to it), PLUGIN a handler plugin to swap to (e.g. the
# one Examples/ChatHandlersV2/build.sh prints). Options go to the bench after the ones set here, so they win:
#   scripts/soak.sh .build/release/holdfast "$plugin" --duration 1h --svg docs/soak-1h.svg --json soak.json
# Exits with the bench's status: non-zero on any loss, flap, server-closed connection, failed upgrade, or RSS
# growth at or above the limit. SOAK_KEEP=1 keeps the temporary directory (server log in server.log). The server
# logs at info unless HOLDFAST_LOG_LEVEL says otherwise; other HOLDFAST_* settings in the environment reach it.
set -euo pipefail

if [ $# -lt 2 ]; then
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi
binary="$(realpath "$1")"
plugin="$(realpath "$2")"
shift 2
bench="$(dirname "$binary")/holdfast-bench"
for file in "$binary" "$bench"; do
    [ -x "$file" ] || { echo "soak.sh: $file is not an executable" >&2; exit 2; }
done
[ -f "$plugin" ] || { echo "soak.sh: no plugin at $plugin" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/holdfast-soak.XXXXXX")"
server=""
cleanup() {
    # A binary upgrade replaces the process started here: stop whichever one serves now.
    local serving
    serving="$(grep "listening" "$work/server.log" 2>/dev/null | sed -n 's/.* pid=\([0-9]*\) .*/\1/p' | tail -n 1)"
    for pid in ${serving:-} $server; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for _ in $(seq 100); do
        alive=0
        for pid in ${serving:-} $server; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in ${serving:-} $server; do kill -KILL "$pid" 2>/dev/null || true; done
    if [ "${SOAK_KEEP:-0}" = 1 ]; then echo "soak.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
token="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"

HOLDFAST_STATE_DIR="$work/state" HOLDFAST_SECRET_KEY="$secret" HOLDFAST_ADMIN_TOKEN="$token" \
    HOLDFAST_LISTEN=127.0.0.1:0 HOLDFAST_TLS_LISTEN=127.0.0.1:0 HOLDFAST_ADMIN_LISTEN=127.0.0.1:0 \
    HOLDFAST_TLS_CERT="$work/cert.pem" HOLDFAST_TLS_KEY="$work/key.pem" HOLDFAST_LOG_LEVEL="${HOLDFAST_LOG_LEVEL:-info}" \
    "$binary" serve >/dev/null 2>"$work/server.log" &
server=$!

for _ in $(seq 150); do
    grep -q "listening" "$work/server.log" && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; echo "soak.sh: the server exited" >&2; exit 1; }
    sleep 0.1
done
line="$(grep -m 1 "listening" "$work/server.log")" || { cat "$work/server.log" >&2; exit 1; }
port="$(sed -n 's/.*[^-]address=[^ ]*:\([0-9]*\).*/\1/p' <<<"$line")"
tls_port="$(sed -n 's/.*tls-address=[^ ]*:\([0-9]*\).*/\1/p' <<<"$line")"
admin_port="$(sed -n 's/.*admin-address=[^ ]*:\([0-9]*\).*/\1/p' <<<"$line")"
[ -n "$port" ] && [ -n "$tls_port" ] && [ -n "$admin_port" ] || { echo "soak.sh: no ports in: $line" >&2; exit 1; }

status=0
"$bench" soak --url "ws://127.0.0.1:$port/socket/websocket" --tls-url "wss://127.0.0.1:$tls_port" \
    --admin-url "http://127.0.0.1:$admin_port" --admin-token "$token" --secret "$secret" \
    --binary "$binary" --handlers "$plugin" "$@" || status=$?
if grep -E " (error|critical) holdfast:" "$work/server.log" >&2; then
    echo "soak.sh: the server logged errors (above)" >&2
    [ "$status" = 0 ] && status=1
fi
exit "$status"
