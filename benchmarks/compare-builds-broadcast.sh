#!/usr/bin/env bash
# Durable room broadcast, one build against another in one run: for each round, build A and then build B serve
# one Phoenix room on CPU 0 (one event loop) while `holdfast-bench broadcast` on CPU 1 fans messages out to the
# subscribers; the rounds interleave the builds. Prints the medians per build and the ratio B/A.
#
# Use it to show that a change leaves fan-out where it was (or where it moved).
#
# Usage:
#   benchmarks/compare-builds-broadcast.sh BUILD_A/holdfast BUILD_B/holdfast
#
# Settings from the environment:
#   BENCH        the load generator (default .build/release/holdfast-bench)
#   CONNECTIONS  subscribers (default 10000)   PROCESSES  client processes (default 2)
#   RATE         messages/s over all publishers (default 100)   PUBLISHERS (default 10)   SIZE body bytes (default 20)
#   DURATION     measured seconds (default 6)   ROUNDS (default 3)   PORT (default 4400)
#   OUT_DIR      reports and logs (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -eq 2 ]] || { sed -n '2,16p' "$0" >&2; exit 2; }
A=$(realpath "$1")
B=$(realpath "$2")
BENCH=${BENCH:-.build/release/holdfast-bench}
CONNECTIONS=${CONNECTIONS:-10000}
PROCESSES=${PROCESSES:-2}
RATE=${RATE:-100}
PUBLISHERS=${PUBLISHERS:-10}
SIZE=${SIZE:-20}
DURATION=${DURATION:-6}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-4400}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-compare-builds.XXXXXX")}
SERVER_CPU=0
CLIENT_CPU=1
START_TIMEOUT=10
STOP_TIMEOUT=5
SECRET=compare-builds-secret-0123456789abcdef

for binary in "$A" "$B" "$BENCH"; do [[ -x $binary ]] || { echo "$binary is not an executable" >&2; exit 1; }; done
# shellcheck source=server-control.sh
source benchmarks/server-control.sh
echo "reports and logs: $OUT_DIR" >&2

run_one() {
    local name=$1 binary=$2 round=$3
    local tag="$name-r$round" state="$OUT_DIR/state-$name-r$round"
    mkdir -p "$state"
    start_server "$PORT" "$OUT_DIR/$tag.server.log" env HOLDFAST_SECRET_KEY=$SECRET HOLDFAST_STATE_DIR="$state" \
        HOLDFAST_LOG_LEVEL=warning HOLDFAST_MAX_CONNECTIONS=$((CONNECTIONS + PUBLISHERS + 100)) \
        "$binary" serve --listen "127.0.0.1:$PORT" --admin-port $((PORT + 1)) --event-loops 1
    local rc=0
    timeout -k 5 $((DURATION + 180)) taskset -c "$CLIENT_CPU" "$BENCH" broadcast \
        --url "ws://127.0.0.1:$PORT/socket/websocket" --secret "$SECRET" --connections "$CONNECTIONS" \
        --processes "$PROCESSES" --rate "$RATE" --publishers "$PUBLISHERS" --size "$SIZE" --duration "$DURATION" \
        --server-pid "$SERVER_PID" --json "$OUT_DIR/$tag.json" >"$OUT_DIR/$tag.bench.log" 2>&1 || rc=$?
    stop_server
    printf '%s\t%s\t%s\t%s\n' "$name" "$round" "$rc" "$OUT_DIR/$tag.json" >>"$RUNS"
    echo "  $tag: exit $rc, $(grep -m1 'deliveries/s' "$OUT_DIR/$tag.bench.log" || true)" >&2
    sleep 1
}

for ((round = 1; round <= ROUNDS; round++)); do
    echo "round $round/$ROUNDS" >&2
    run_one A "$A" "$round"
    run_one B "$B" "$round"
done

python3 - "$RUNS" <<'PY'
import json, statistics, sys
reports = {"A": [], "B": []}
failed = {"A": 0, "B": 0}
for line in open(sys.argv[1]):
    name, _round, rc, path = line.rstrip("\n").split("\t")
    try:
        report = json.load(open(path))
    except (OSError, ValueError):
        failed[name] += 1
        continue
    if int(rc) != 0 or report.get("missingDeliveries", 0):
        failed[name] += 1
    reports[name].append(report)

def median(name, key):
    values = [r[key] for r in reports[name] if r.get(key) is not None]
    return statistics.median(values) if values else None

print(f"{'build':<8}{'runs':>5}{'failed':>8}{'deliveries/s':>15}{'CPU µs/delivery':>17}")
for name in ("A", "B"):
    rate, cpu = median(name, "deliveriesPerSecondMedian"), median(name, "serverCPUMicrosecondsPerDelivery")
    print(f"{name:<8}{len(reports[name]):>5}{failed[name]:>8}{rate or 0:>15.0f}{cpu or 0:>17.3f}")
a_rate, b_rate = median("A", "deliveriesPerSecondMedian"), median("B", "deliveriesPerSecondMedian")
a_cpu, b_cpu = median("A", "serverCPUMicrosecondsPerDelivery"), median("B", "serverCPUMicrosecondsPerDelivery")
if a_rate and b_rate and a_cpu and b_cpu:
    print(f"{'B/A':<21}{b_rate / a_rate:>15.2f}x{b_cpu / a_cpu:>16.2f}x")
PY
