#!/usr/bin/env bash
# Instructions or system calls per delivery of the uWebSockets peer's pub/sub relay (benchmarks/uws-peer.cpp),
# counted the way benchmarks/profile-broadcast.sh counts Holdfast's room broadcast, for a like-for-like figure.
# `holdfast-bench broadcast --raw` drives /ws/broadcast closed loop (PUBLISHERS publishers with IN_FLIGHT messages
# each in flight) to SUBSCRIBERS subscribers with RAW_SIZE-byte messages; once they flow, WINDOW seconds are
# measured:
#   callgrind: the peer runs under `valgrind --tool=callgrind`, collection switched on for the window only;
#   strace:    the peer runs normally and `strace -c -f` attaches for the window;
#   perf:      the peer runs normally; `perf stat --per-thread` (CPU time, context switches, page faults) and
#              `perf record -e cpu-clock -g` (kernel included) attach for the window.
#   syscalls:  the peer runs normally; `perf stat` counts its system calls by tracepoint (sendto, epoll_wait, ...)
#              and its CPU time for the window, at full speed.
#
# The peer counts nothing, so the window's deliveries are counted from the bytes the kernel sent on the server's
# side of its connections (`bytes_sent` in `ss -ti`, summed over the sockets on PORT): every delivery is one
# unmasked frame of RAW_SIZE + 4 bytes (126 <= RAW_SIZE < 65536). The publishers' own copies are counted too
# (PUBLISHERS in SUBSCRIBERS + PUBLISHERS).
#
# Usage:
#   benchmarks/profile-uws-broadcast.sh callgrind|strace|perf|syscalls PATH/uws-peer BUILD/holdfast-bench
#
# Settings from the environment:
#   SUBSCRIBERS (default 10000)  PUBLISHERS (default 4)  IN_FLIGHT (default 8)  RAW_SIZE (default 153)
#   WINDOW measured seconds (default 20)  PORT (default 9321)
#   PROCESSES   client processes (default 2 above 5,000 subscribers, else 1)
#   OUT_DIR     profile, reports and logs (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -eq 3 && ($1 == callgrind || $1 == strace || $1 == perf || $1 == syscalls) ]] || { sed -n '2,28p' "$0" >&2; exit 2; }
MODE=$1
SERVER=$(realpath "$2")
BENCH=$(realpath "$3")
SUBSCRIBERS=${SUBSCRIBERS:-10000}
PUBLISHERS=${PUBLISHERS:-4}
IN_FLIGHT=${IN_FLIGHT:-8}
RAW_SIZE=${RAW_SIZE:-153}
WINDOW=${WINDOW:-20}
PORT=${PORT:-9321}
PROCESSES=${PROCESSES:-$((SUBSCRIBERS > 5000 ? 2 : 1))}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-profile-uws.XXXXXX")}
SERVER_CPU=0
CLIENT_CPU=${CLIENT_CPU:-1}  # the load generator, apart from the server (CPU 0)
START_TIMEOUT=60
STOP_TIMEOUT=20

((RAW_SIZE >= 126 && RAW_SIZE < 65536)) || { echo "RAW_SIZE must be between 126 and 65535" >&2; exit 2; }
for binary in "$SERVER" "$BENCH"; do [[ -x $binary ]] || { echo "$binary is not an executable" >&2; exit 1; }; done
# shellcheck source=server-control.sh
source benchmarks/server-control.sh
# shellcheck source=profile-window.sh
source benchmarks/profile-window.sh
echo "profile, reports and logs: $OUT_DIR" >&2

# Bytes sent so far on the server's side of its connections.
written() { bytes_sent_on_port "$PORT"; }

launcher=()
[[ $MODE == callgrind ]] &&
    set_callgrind_launcher
start_server "$PORT" "$OUT_DIR/server.log" "${launcher[@]}" "$SERVER" "$PORT"

# The load outlasts the window; it is stopped once the window is measured.
taskset -c "$CLIENT_CPU" "$BENCH" broadcast --raw --url "ws://127.0.0.1:$PORT/ws/broadcast" --size "$RAW_SIZE" \
    --connections "$SUBSCRIBERS" --processes "$PROCESSES" --publishers "$PUBLISHERS" --in-flight "$IN_FLIGHT" \
    --duration 3600 --warmup 0 --connect-timeout 600 >"$OUT_DIR/bench.log" 2>&1 &
bench_pid=$!
trap 'kill "$bench_pid" 2>/dev/null || true; stop_server' EXIT

# Deliveries flow once the server has sent more than a round of them; give it a few more seconds to settle.
until (($(written) > (SUBSCRIBERS + PUBLISHERS) * (RAW_SIZE + 4) * 2 + SUBSCRIBERS * 200)); do
    alive "$bench_pid" || { echo "the load generator exited; its log:" >&2; cat "$OUT_DIR/bench.log" >&2; exit 1; }
    sleep 1
done
sleep 3

measure_window written
kill "$bench_pid" 2>/dev/null || true
wait "$bench_pid" 2>/dev/null || true
stop_server

count=$(((WINDOW_AFTER - WINDOW_BEFORE) / (RAW_SIZE + 4)))
echo "deliveries in the window: $count (bytes sent $((WINDOW_AFTER - WINDOW_BEFORE)))"
report_window "$count" delivery
