#!/usr/bin/env bash
# Instructions or system calls per echoed WebSocket message, counted rather than timed, so the figure holds on a
# busy machine. The server runs with one event loop; `holdfast-bench echo` keeps CONNECTIONS connections busy on
# /ws/echo, closed loop, one SIZE-byte binary message in flight each. Once the echoes flow, WINDOW seconds are
# measured (MODE, as in benchmarks/profile-window.sh):
#   callgrind: the server runs under `valgrind --tool=callgrind`, collection switched on for the window only;
#   strace:    the server runs normally and `strace -c -f` attaches for the window;
#   perf:      the server runs normally; `perf stat --per-thread` and `perf record -e cpu-clock -g` attach.
# PEER=uws measures the uWebSockets peer (benchmarks/uws-peer.cpp, built by benchmarks/build-uws-peer.sh) the
# same way, for a like-for-like figure: pass its binary as the server, and BENCH.
#
# The server does not count echoes, so the window's echoes are counted from the bytes the kernel sent on the
# server's side of the connections (`bytes_sent` in `ss -ti`, summed over the sockets on PORT): every echo is
# one unmasked frame of SIZE + 2 bytes (SIZE < 126) and nothing else is sent while the window is open.
# Instructions in the window divided by those echoes give Ir per echo.
#
# Usage:
#   benchmarks/profile-echo.sh BUILD/holdfast
#   MODE=strace benchmarks/profile-echo.sh BUILD/holdfast
#   PEER=uws BENCH=BUILD/holdfast-bench benchmarks/profile-echo.sh PEERS_DIR/uws-.../uws-peer
#
# Settings from the environment:
#   MODE         callgrind (default), strace or perf
#   PEER         holdfast (default) or uws
#   BENCH        the load generator (default: holdfast-bench next to the server binary)
#   CONNECTIONS  (default 1000)   SIZE payload bytes (default 20, below 126)
#   WINDOW       measured seconds (default 20)   PORT (default 4470)
#   OUT_DIR      profile, reports and logs (default: a new temporary directory)
#   CALLGRIND_OPTIONS  extra valgrind options for MODE=callgrind (e.g. --cache-sim=yes)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -eq 1 ]] || { sed -n '2,27p' "$0" >&2; exit 2; }
MODE=${MODE:-callgrind}
PEER=${PEER:-holdfast}
[[ $MODE == callgrind || $MODE == strace || $MODE == perf ]] || { echo "MODE must be callgrind, strace or perf" >&2; exit 2; }
[[ $PEER == holdfast || $PEER == uws ]] || { echo "PEER must be holdfast or uws" >&2; exit 2; }
SERVER=$(realpath "$1")
BENCH=${BENCH:-$(dirname "$SERVER")/holdfast-bench}
CONNECTIONS=${CONNECTIONS:-1000}
SIZE=${SIZE:-20}
WINDOW=${WINDOW:-20}
PORT=${PORT:-4470}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-profile-echo.XXXXXX")}
SERVER_CPU=0
START_TIMEOUT=60
STOP_TIMEOUT=20

((SIZE >= 16 && SIZE < 126)) || { echo "SIZE must be between 16 and 125" >&2; exit 2; }
for binary in "$SERVER" "$BENCH"; do [[ -x $binary ]] || { echo "$binary is not an executable" >&2; exit 1; }; done
# shellcheck source=server-control.sh
source benchmarks/server-control.sh
# shellcheck source=profile-window.sh
source benchmarks/profile-window.sh
echo "profile, reports and logs: $OUT_DIR" >&2

# Bytes sent so far on the server's side of its connections.
written() { bytes_sent_on_port "$PORT"; }

launcher=()
if [[ $MODE == callgrind ]]; then
    [[ $PEER == holdfast ]] && SERVER=$(stripped_copy "$SERVER" "$OUT_DIR/bin")
    set_callgrind_launcher
fi
if [[ $PEER == uws ]]; then
    start_server "$PORT" "$OUT_DIR/server.log" "${launcher[@]}" "$SERVER" "$PORT"
else
    mkdir -p "$OUT_DIR/state"
    start_server "$PORT" "$OUT_DIR/server.log" env HOLDFAST_SECRET_KEY=profile-echo-secret-0123456789abcdef \
        HOLDFAST_STATE_DIR="$OUT_DIR/state" HOLDFAST_LOG_LEVEL=warning HOLDFAST_MAX_CONNECTIONS=$((CONNECTIONS + 100)) \
        "${launcher[@]}" \
        "$SERVER" serve --listen "127.0.0.1:$PORT" --admin-port $((PORT + 1)) --event-loops 1
fi

# The load outlasts the window; it is stopped once the window is measured.
taskset -c "${CLIENT_CPU:-1}" "$BENCH" echo --url "ws://127.0.0.1:$PORT/ws/echo" --connections "$CONNECTIONS" --size "$SIZE" \
    --duration 3600 --warmup 0 --connect-timeout 600 >"$OUT_DIR/bench.log" 2>&1 &
bench_pid=$!
trap 'kill "$bench_pid" 2>/dev/null || true; stop_server' EXIT

# Echoes flow once the server writes more than the handshakes' responses; give it a few more seconds to settle.
handshakes=$(written)
until (($(written) > handshakes + CONNECTIONS * 200 + 100000)); do
    alive "$bench_pid" || { echo "the load generator exited; its log:" >&2; cat "$OUT_DIR/bench.log" >&2; exit 1; }
    sleep 1
done
sleep 3

measure_window written
kill "$bench_pid" 2>/dev/null || true
wait "$bench_pid" 2>/dev/null || true
stop_server

count=$(((WINDOW_AFTER - WINDOW_BEFORE) / (SIZE + 2)))
echo "echoes in the window: $count (bytes written $((WINDOW_AFTER - WINDOW_BEFORE)))"
report_window "$count" echo
