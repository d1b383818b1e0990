#!/usr/bin/env bash
# Instructions per echoed WebSocket message, counted rather than timed, so the figure holds on a busy machine.
# The server runs under `valgrind --tool=callgrind` with collection off and one event loop; `holdfast-bench echo`
# keeps CONNECTIONS connections busy on /ws/echo, closed loop, one SIZE-byte binary message in flight each.
# Once the echoes flow, collection is switched on for WINDOW seconds.
#
# The server does not count echoes, so the window's echoes are counted from the bytes the kernel sent on the
# server's side of the connections (`bytes_sent` in `ss -ti`, summed over the sockets on PORT): every echo is
# one unmasked frame of SIZE + 2 bytes (SIZE < 126) and nothing else is sent while the window is open.
# Instructions in the window divided by those echoes give Ir per echo.
#
# Usage:
#   benchmarks/profile-echo.sh BUILD/holdfast
#
# Settings from the environment:
#   BENCH        the load generator (default: holdfast-bench next to the server binary)
#   CONNECTIONS  (default 1000)   SIZE payload bytes (default 20, below 126)
#   WINDOW       measured seconds (default 20)   PORT (default 4470)
#   OUT_DIR      profile, reports and logs (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -eq 1 ]] || { sed -n '2,19p' "$0" >&2; exit 2; }
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
echo "profile, reports and logs: $OUT_DIR" >&2

# Bytes sent so far on the server's side of its connections.
written() {
    ss -tinH state established "sport = :$PORT" | { grep -o 'bytes_sent:[0-9]*' || true; } |
        awk -F: '{ sum += $2 } END { printf "%d\n", sum }'
}

# Valgrind 3.19 cannot read the DWARF 5 the Swift toolchain emits: profile a copy without debug info (the symbols
# stay, so the profile is by function).
mkdir -p "$OUT_DIR/bin" "$OUT_DIR/state"
for file in "$SERVER" "$(dirname "$SERVER")"/*.so; do
    [[ -e $file ]] && objcopy --strip-debug "$file" "$OUT_DIR/bin/$(basename "$file")"
done
SERVER="$OUT_DIR/bin/$(basename "$SERVER")"
start_server "$PORT" "$OUT_DIR/server.log" env HOLDFAST_SECRET_KEY=profile-echo-secret-0123456789abcdef \
    HOLDFAST_STATE_DIR="$OUT_DIR/state" HOLDFAST_LOG_LEVEL=warning HOLDFAST_MAX_CONNECTIONS=$((CONNECTIONS + 100)) \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT_DIR/callgrind.out" \
    "$SERVER" serve --listen "127.0.0.1:$PORT" --admin-port $((PORT + 1)) --event-loops 1

# The load outlasts the window; it is stopped once the window is measured.
"$BENCH" echo --url "ws://127.0.0.1:$PORT/ws/echo" --connections "$CONNECTIONS" --size "$SIZE" \
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

callgrind_control -z "$SERVER_PID" >/dev/null
callgrind_control -i on "$SERVER_PID" >/dev/null
before=$(written)
sleep "$WINDOW"
after=$(written)
callgrind_control -i off "$SERVER_PID" >/dev/null
callgrind_control -d "$SERVER_PID" >/dev/null
kill "$bench_pid" 2>/dev/null || true
wait "$bench_pid" 2>/dev/null || true
stop_server

count=$(((after - before) / (SIZE + 2)))
echo "echoes in the window: $count (bytes written $((after - before)))"
profile="$OUT_DIR/callgrind.out.1"  # the dump taken at the end of the window
callgrind_annotate --inclusive=no "$profile" >"$OUT_DIR/annotate.txt"
callgrind_annotate --inclusive=yes "$profile" >"$OUT_DIR/annotate-inclusive.txt"
total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$OUT_DIR/annotate.txt")
echo "instructions in the window: $total"
awk -v t="$total" -v c="$count" 'BEGIN { if (c > 0) printf "instructions per echo: %.0f\n", t / c }'
echo "profile: $profile (annotated: $OUT_DIR/annotate.txt)"
