#!/usr/bin/env bash
# Instructions or system calls per delivery of the uWebSockets peer's pub/sub relay (benchmarks/uws-peer.cpp),
# counted the way benchmarks/profile-broadcast.sh counts Holdfast's room broadcast, for a like-for-like figure.
# `holdfast-bench broadcast --raw` drives /ws/broadcast closed loop (PUBLISHERS publishers with IN_FLIGHT messages
# each in flight) to SUBSCRIBERS subscribers with RAW_SIZE-byte messages; once they flow, WINDOW seconds are
# measured:
#   callgrind: the peer runs under `valgrind --tool=callgrind`, collection switched on for the window only;
#   strace:    the peer runs normally and `strace -c -f` attaches for the window.
#
# The peer counts nothing, so the window's deliveries are counted from the bytes the kernel sent on the server's
# side of its connections (`bytes_sent` in `ss -ti`, summed over the sockets on PORT): every delivery is one
# unmasked frame of RAW_SIZE + 4 bytes (126 <= RAW_SIZE < 65536). The publishers' own copies are counted too
# (PUBLISHERS in SUBSCRIBERS + PUBLISHERS).
#
# Usage:
#   benchmarks/profile-uws-broadcast.sh callgrind|strace PATH/uws-peer BUILD/holdfast-bench
#
# Settings from the environment:
#   SUBSCRIBERS (default 10000)  PUBLISHERS (default 4)  IN_FLIGHT (default 8)  RAW_SIZE (default 153)
#   WINDOW measured seconds (default 20)  PORT (default 9321)
#   PROCESSES   client processes (default 2 above 5,000 subscribers, else 1)
#   OUT_DIR     profile, reports and logs (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -eq 3 && ($1 == callgrind || $1 == strace) ]] || { sed -n '2,24p' "$0" >&2; exit 2; }
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
START_TIMEOUT=60
STOP_TIMEOUT=20

((RAW_SIZE >= 126 && RAW_SIZE < 65536)) || { echo "RAW_SIZE must be between 126 and 65535" >&2; exit 2; }
for binary in "$SERVER" "$BENCH"; do [[ -x $binary ]] || { echo "$binary is not an executable" >&2; exit 1; }; done
# shellcheck source=server-control.sh
source benchmarks/server-control.sh
echo "profile, reports and logs: $OUT_DIR" >&2

# Bytes sent so far on the server's side of its connections.
written() {
    ss -tinH state established "sport = :$PORT" | { grep -o 'bytes_sent:[0-9]*' || true; } |
        awk -F: '{ sum += $2 } END { printf "%d\n", sum }'
}

launcher=()
[[ $MODE == callgrind ]] &&
    launcher=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT_DIR/callgrind.out")
start_server "$PORT" "$OUT_DIR/server.log" "${launcher[@]}" "$SERVER" "$PORT"

# The load outlasts the window; it is stopped once the window is measured.
"$BENCH" broadcast --raw --url "ws://127.0.0.1:$PORT/ws/broadcast" --size "$RAW_SIZE" \
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

if [[ $MODE == callgrind ]]; then
    callgrind_control -z "$SERVER_PID" >/dev/null
    callgrind_control -i on "$SERVER_PID" >/dev/null
    before=$(written)
    sleep "$WINDOW"
    after=$(written)
    callgrind_control -i off "$SERVER_PID" >/dev/null
    callgrind_control -d "$SERVER_PID" >/dev/null
else
    before=$(written)
    strace -c -f -p "$SERVER_PID" -o "$OUT_DIR/strace.txt" &
    strace_pid=$!
    sleep "$WINDOW"
    kill -INT "$strace_pid"
    wait "$strace_pid" || true
    after=$(written)
fi
kill "$bench_pid" 2>/dev/null || true
wait "$bench_pid" 2>/dev/null || true
stop_server

count=$(((after - before) / (RAW_SIZE + 4)))
echo "deliveries in the window: $count (bytes sent $((after - before)))"
if [[ $MODE == callgrind ]]; then
    profile="$OUT_DIR/callgrind.out.1"  # the dump taken at the end of the window
    callgrind_annotate --inclusive=no "$profile" >"$OUT_DIR/annotate.txt"
    total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$OUT_DIR/annotate.txt")
    echo "instructions in the window: $total"
    awk -v t="$total" -v c="$count" 'BEGIN { if (c > 0) printf "instructions per delivery: %.0f\n", t / c }'
    echo "profile: $profile (annotated: $OUT_DIR/annotate.txt)"
else
    calls=$(awk '$NF == "total" { print $4 }' "$OUT_DIR/strace.txt")
    echo "system calls in the window: $calls"
    awk -v s="$calls" -v c="$count" 'BEGIN { if (c > 0) printf "system calls per delivery: %.4f\n", s / c }'
    echo "strace summary: $OUT_DIR/strace.txt"
fi
