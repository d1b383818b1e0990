#!/usr/bin/env bash
# Instructions (callgrind) or system calls (`strace -c -f`) per WebSocket handshake, counted rather than timed,
# so the figure holds on a busy machine; for Holdfast or the uWebSockets peer (benchmarks/uws-peer.cpp), so the
# two compare per handshake.
#
# The server runs with one event loop (under `valgrind --tool=callgrind` with collection off, or traced by
# strace). `holdfast-bench handshakes` first opens and closes WARMUP connections (first-use costs out of the
# count), then collection is switched on (or strace attached) for a second run of HANDSHAKES, each connection
# closed (close frame both ways, EOF) as soon as its `101` arrives, CONCURRENCY in progress at once. The counts of
# that run divided by its handshakes give the figure per handshake: accept, upgrade, close and everything the
# event loop does meanwhile.
#
# Usage:
#   benchmarks/profile-handshake.sh callgrind|strace holdfast BUILD/holdfast
#   benchmarks/profile-handshake.sh callgrind|strace uws PEERS_DIR/.../uws-peer
#
# Settings from the environment:
#   BENCH        the load generator (default: holdfast-bench next to the Holdfast binary, else
#                .build/release/holdfast-bench)
#   HANDSHAKES   handshakes counted (default 2000)   WARMUP (default 200)   CONCURRENCY (default 16)
#   PORT         (default 4480)   OUT_DIR profile, reports and logs (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -eq 3 && ($1 == callgrind || $1 == strace) && ($2 == holdfast || $2 == uws) ]] ||
    { sed -n '2,21p' "$0" >&2; exit 2; }
MODE=$1
KIND=$2
SERVER=$(realpath "$3")
if [[ -z ${BENCH:-} ]]; then
    BENCH=$(dirname "$SERVER")/holdfast-bench
    [[ $KIND == holdfast && -x $BENCH ]] || BENCH=.build/release/holdfast-bench
fi
HANDSHAKES=${HANDSHAKES:-2000}
WARMUP=${WARMUP:-200}
CONCURRENCY=${CONCURRENCY:-16}
PORT=${PORT:-4480}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-profile-handshake.XXXXXX")}
SERVER_CPU=0
START_TIMEOUT=60
STOP_TIMEOUT=20

for binary in "$SERVER" "$BENCH"; do [[ -x $binary ]] || { echo "$binary is not an executable" >&2; exit 1; }; done
# shellcheck source=server-control.sh
source benchmarks/server-control.sh
# shellcheck source=profile-window.sh
source benchmarks/profile-window.sh
echo "profile, reports and logs: $OUT_DIR" >&2

launcher=()
if [[ $MODE == callgrind ]]; then
    [[ $KIND == holdfast ]] && SERVER=$(stripped_copy "$SERVER" "$OUT_DIR/bin")
    set_callgrind_launcher
fi
if [[ $KIND == holdfast ]]; then
    mkdir -p "$OUT_DIR/state"
    start_server "$PORT" "$OUT_DIR/server.log" env HOLDFAST_SECRET_KEY=profile-handshake-secret-0123456789abcdef \
        HOLDFAST_STATE_DIR="$OUT_DIR/state" HOLDFAST_LOG_LEVEL=warning \
        "${launcher[@]}" "$SERVER" serve --listen "127.0.0.1:$PORT" --admin-port $((PORT + 1)) --event-loops 1
else
    start_server "$PORT" "$OUT_DIR/server.log" "${launcher[@]}" "$SERVER" "$PORT"
fi

# handshakes COUNT LOG: one bench run of COUNT handshakes, failing the script if any handshake failed.
handshakes() {
    "$BENCH" handshakes --url "ws://127.0.0.1:$PORT/ws/echo" --connections "$1" --concurrency "$CONCURRENCY" \
        --connect-timeout 600 >"$2" 2>&1 || { echo "the load generator failed; its log:" >&2; cat "$2" >&2; exit 1; }
}

handshakes "$WARMUP" "$OUT_DIR/warmup.log"
if [[ $MODE == callgrind ]]; then
    callgrind_control -z "$SERVER_PID" >/dev/null
    callgrind_control -i on "$SERVER_PID" >/dev/null
    handshakes "$HANDSHAKES" "$OUT_DIR/bench.log"
    callgrind_control -i off "$SERVER_PID" >/dev/null
    callgrind_control -d "$SERVER_PID" >/dev/null
else
    strace -c -f -p "$SERVER_PID" -o "$OUT_DIR/strace.txt" &
    strace_pid=$!
    sleep 1  # strace attaches to every thread before the run starts
    handshakes "$HANDSHAKES" "$OUT_DIR/bench.log"
    sleep 1  # the last closes reach the server
    kill -INT "$strace_pid"
    wait "$strace_pid" || true
fi
stop_server

grep -m1 'completed' "$OUT_DIR/bench.log"
report_window "$HANDSHAKES" handshake
