#!/usr/bin/env bash
# Instructions and system calls per room-broadcast delivery, counted rather than timed, so the figures hold on a
# busy machine. One Phoenix room on EVENT_LOOPS event loops (default 1; with 2, SO_REUSEPORT spreads the members
# over both loops and every broadcast is handed from the room's loop to the other); `holdfast-bench broadcast`
# drives it closed loop (PUBLISHERS publishers with IN_FLIGHT messages each in flight) to SUBSCRIBERS subscribers.
#
#   callgrind: the server runs under `valgrind --tool=callgrind` with collection off; once chat traffic flows,
#              collection is switched on for WINDOW seconds. Instructions in that window divided by the chat
#              deliveries the server counted in it (broadcast deliveries less presence diffs) give Ir per delivery.
#   strace:    the server runs normally; `strace -c -f` attaches for WINDOW seconds once traffic flows and the
#              system calls are divided by the deliveries counted meanwhile.
#   syscalls:  the server runs normally; `perf stat` counts its system calls by tracepoint (sendto, write, writev,
#              epoll_wait, fdatasync, read) and its CPU time for WINDOW seconds, at full speed, each divided by the
#              deliveries counted meanwhile; fdatasync counts the commit batches.
#   perf:      the server runs normally; `perf stat --per-thread` (CPU time, context switches, migrations, page
#              faults) and `perf record -e cpu-clock -g` (kernel included) attach for WINDOW seconds, and the CPU
#              time and the switches are divided by the deliveries counted meanwhile.
#
# Usage:
#   benchmarks/profile-broadcast.sh callgrind|strace|perf|syscalls BUILD/holdfast
#
# Settings from the environment:
#   BENCH        the load generator (default: holdfast-bench next to the server binary)
#   SUBSCRIBERS  (default 1000)   PUBLISHERS (default 4)   IN_FLIGHT (default 8)   SIZE body bytes (default 100)
#   WINDOW       measured seconds (default 20)   PORT (default 4460)   EVENT_LOOPS (default 1)
#   PROCESSES    client processes for the subscribers (default 1)   LOG_LEVEL the server's (default warning)
#   RATE         if set, open loop at this many messages/s over all publishers (IN_FLIGHT then unused)
#   OUT_DIR      profile, reports and logs (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -eq 2 && ($1 == callgrind || $1 == strace || $1 == perf || $1 == syscalls) ]] || { sed -n '2,28p' "$0" >&2; exit 2; }
MODE=$1
SERVER=$(realpath "$2")
BENCH=${BENCH:-$(dirname "$SERVER")/holdfast-bench}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
PUBLISHERS=${PUBLISHERS:-4}
IN_FLIGHT=${IN_FLIGHT:-8}
SIZE=${SIZE:-100}
WINDOW=${WINDOW:-20}
PORT=${PORT:-4460}
EVENT_LOOPS=${EVENT_LOOPS:-1}
PROCESSES=${PROCESSES:-1}  # client processes for the subscribers (compare-peers.sh uses 2 above 5,000)
RATE=${RATE:-}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-profile.XXXXXX")}
SERVER_CPU=0
CLIENT_CPU=${CLIENT_CPU:-1}  # the load generator, apart from the server (CPU 0)
START_TIMEOUT=60
STOP_TIMEOUT=20
SECRET=profile-broadcast-secret-0123456789abcdef

for binary in "$SERVER" "$BENCH"; do [[ -x $binary ]] || { echo "$binary is not an executable" >&2; exit 1; }; done
# shellcheck source=server-control.sh
source benchmarks/server-control.sh
# shellcheck source=profile-window.sh
source benchmarks/profile-window.sh
echo "profile, reports and logs: $OUT_DIR" >&2

# Chat deliveries so far: broadcast deliveries without the presence diffs (the joins make those).
deliveries() {
    curl -s "http://127.0.0.1:$PORT/metrics" | awk '
        $1 == "holdfast_broadcast_deliveries_total" { all = $2 }
        $1 == "holdfast_presence_diff_deliveries_total" { diffs = $2 }
        END { printf "%d\n", all - diffs }'
}

state="$OUT_DIR/state"
mkdir -p "$state"
launcher=()
if [[ $MODE == callgrind ]]; then
    SERVER=$(stripped_copy "$SERVER" "$OUT_DIR/bin")
    set_callgrind_launcher
fi
start_server "$PORT" "$OUT_DIR/server.log" env HOLDFAST_SECRET_KEY=$SECRET HOLDFAST_STATE_DIR="$state" \
    HOLDFAST_LOG_LEVEL=${LOG_LEVEL:-warning} HOLDFAST_MAX_CONNECTIONS=$((SUBSCRIBERS + PUBLISHERS + 100)) \
    "${launcher[@]}" "$SERVER" serve --listen "127.0.0.1:$PORT" --admin-port $((PORT + 1)) --event-loops "$EVENT_LOOPS"

# The load outlasts the window; it is stopped once the window is measured.
taskset -c "$CLIENT_CPU" "$BENCH" broadcast --url "ws://127.0.0.1:$PORT/socket/websocket" --secret "$SECRET" \
    --connections "$SUBSCRIBERS" --processes "$PROCESSES" --publishers "$PUBLISHERS" --in-flight "$IN_FLIGHT" \
    --size "$SIZE" ${RATE:+--rate "$RATE"} \
    --duration 3600 --warmup 0 --connect-timeout 600 >"$OUT_DIR/bench.log" 2>&1 &
bench_pid=$!
trap 'kill "$bench_pid" 2>/dev/null || true; stop_server' EXIT

# Traffic flows once deliveries are counted; give it a few more seconds to settle.
until [[ $(deliveries || echo 0) -gt 0 ]]; do
    alive "$bench_pid" || { echo "the load generator exited; its log:" >&2; cat "$OUT_DIR/bench.log" >&2; exit 1; }
    sleep 1
done
sleep 3

measure_window deliveries
kill "$bench_pid" 2>/dev/null || true
wait "$bench_pid" 2>/dev/null || true
stop_server

count=$((WINDOW_AFTER - WINDOW_BEFORE))
echo "deliveries in the window: $count"
report_window "$count" delivery
