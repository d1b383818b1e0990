#!/usr/bin/env bash
# How echo and room fan-out scale with event loops and cores: the same client load against
#   1loop-1core   `holdfast serve --event-loops 1` pinned to one core (taskset -c 0),
#   2loops-2cores `--event-loops 2` on both cores (taskset -c 0,1),
#   2loops-1core  `--event-loops 2` on one core (taskset -c 0): the cost of a second loop without a second core.
# The client, holdfast-bench, is pinned to CLIENT_CPUS with CLIENT_THREADS event loops in every run. On a 2-core
# machine the 2-core server shares a core with the client, so the report shows the client's CPU use next to the
# server's: a client busy for (nearly) its whole window on its core(s) is the limit, not the server.
#
#   echo       `holdfast-bench echo`, ECHO_CONNECTIONS connections, SIZE-byte binary messages, one in flight each;
#   broadcast  `holdfast-bench broadcast`, one durable Phoenix room with SUBSCRIBERS subscribers, closed loop,
#              PUBLISHERS publishers with IN_FLIGHT messages in flight each, BODY-byte bodies. The subscribers reach
#              the server's loops through SO_REUSEPORT, so with 2 loops the room's members are spread over both.
#
# ROUNDS interleaved rounds (every configuration once per round, per scenario), each run on a freshly started
# server; the medians over the rounds are printed. Builds nothing: BUILD_DIR must hold a release build of holdfast,
# libChatHandlers.so and holdfast-bench. Every run is bounded by `timeout`.
#
# Usage:
#   BUILD_DIR=.build/release benchmarks/loops-scaling.sh
#   ROUNDS=1 DURATION=3 SCENARIOS=echo BUILD_DIR=... benchmarks/loops-scaling.sh    # a quick look
#
# Settings from the environment:
#   BUILD_DIR         release build directory (default .build/release)
#   SCENARIOS         "echo broadcast" (default)
#   CONFIGS           LOOPS@CPUS entries (default "1@0 2@0,1 2@0")
#   ROUNDS            interleaved rounds (default 3)
#   DURATION          measured seconds per run, after WARMUP (defaults 5 and 1)
#   ECHO_CONNECTIONS  (default 1000)   SIZE echo message bytes (default 20)
#   SUBSCRIBERS       (default 1000)   PUBLISHERS (default 4)   IN_FLIGHT (default 8)   BODY (default 64)
#   CLIENT_CPUS       the client's cores (default 1)   CLIENT_THREADS its event loops (default 1)
#   PORT              the server's port (default 4470)
#   OUT_DIR           reports and logs (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_DIR=${BUILD_DIR:-.build/release}
SCENARIOS=${SCENARIOS-echo broadcast}
CONFIGS=${CONFIGS:-1@0 2@0,1 2@0}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
ECHO_CONNECTIONS=${ECHO_CONNECTIONS:-1000}
SIZE=${SIZE:-20}
SUBSCRIBERS=${SUBSCRIBERS:-1000}
PUBLISHERS=${PUBLISHERS:-4}
IN_FLIGHT=${IN_FLIGHT:-8}
BODY=${BODY:-64}
CLIENT_CPUS=${CLIENT_CPUS:-1}
CLIENT_THREADS=${CLIENT_THREADS:-1}
PORT=${PORT:-4470}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-loops-scaling.XXXXXX")}
START_TIMEOUT=10
STOP_TIMEOUT=5
CONNECT_TIMEOUT=120
DRAIN_TIMEOUT=30
# Upper bound of one run: connecting, warm-up, window, drain, closing, slack.
BENCH_TIMEOUT=$((CONNECT_TIMEOUT + WARMUP + DURATION + DRAIN_TIMEOUT + 20))

HOLDFAST=$BUILD_DIR/holdfast
BENCH=$BUILD_DIR/holdfast-bench
for binary in "$HOLDFAST" "$BENCH"; do [[ -x $binary ]] || { echo "$binary: not built (see BUILD_DIR)" >&2; exit 1; }; done
[[ -e $BUILD_DIR/libChatHandlers.so ]] || { echo "$BUILD_DIR/libChatHandlers.so: not built" >&2; exit 1; }
for tool in taskset timeout python3; do command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }; done

# Signs the broadcast's connect tokens; a fresh one per run keeps it out of files.
SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
SERVER_CPU=0  # set per run below; server-control.sh pins the server to it
# shellcheck source=server-control.sh
source benchmarks/server-control.sh

# run SCENARIO LOOPS CPUS ROUND: one server start, one bench run against it, stop.
run() {
    local scenario=$1 loops=$2 cpus=$3 round=$4
    local tag="$scenario-${loops}loops-cpu${cpus/,/+}-r$round" state
    local json="$OUT_DIR/$tag.json"
    state=$(mktemp -d "$OUT_DIR/state.XXXXXX")
    SERVER_CPU=$cpus
    # The rate limit would refuse a closed-loop publisher's 101st message in a second.
    start_server "$PORT" "$OUT_DIR/$tag.server.log" \
        env HOLDFAST_LOG_LEVEL=warning HOLDFAST_ADMIN_LISTEN=127.0.0.1:0 HOLDFAST_STATE_DIR="$state" \
        HOLDFAST_SECRET_KEY="$SECRET" HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES=1000000 \
        HOLDFAST_MAX_CONNECTIONS=$((ECHO_CONNECTIONS + SUBSCRIBERS + PUBLISHERS + 100)) \
        "$HOLDFAST" serve --listen "127.0.0.1:$PORT" --event-loops "$loops"
    local args=(--connections "$ECHO_CONNECTIONS" --url "ws://127.0.0.1:$PORT/ws/echo" --size "$SIZE")
    if [[ $scenario == broadcast ]]; then
        args=(--connections "$SUBSCRIBERS" --url "ws://127.0.0.1:$PORT/socket/websocket" --secret "$SECRET"
            --publishers "$PUBLISHERS" --in-flight "$IN_FLIGHT" --size "$BODY" --drain-timeout "$DRAIN_TIMEOUT")
    fi
    local load rc=0
    load=$(cut -d' ' -f1 /proc/loadavg)
    timeout -k 5 "$BENCH_TIMEOUT" taskset -c "$CLIENT_CPUS" "$BENCH" "$scenario" "${args[@]}" \
        --threads "$CLIENT_THREADS" --duration "$DURATION" --warmup "$WARMUP" --connect-timeout "$CONNECT_TIMEOUT" \
        --server-pid "$SERVER_PID" --json "$json" >"$OUT_DIR/$tag.bench.log" 2>&1 || rc=$?
    stop_server
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$loops" "$cpus" "$round" "$rc" "$load" "$json" >>"$RUNS"
    echo "  $tag: exit $rc, load average $load; $(grep -m1 -E 'messages/s|deliveries/s' "$OUT_DIR/$tag.bench.log" || true)" >&2
    sleep 1
}

echo "reports and logs: $OUT_DIR" >&2
for ((round = 1; round <= ROUNDS; round++)); do
    for scenario in $SCENARIOS; do
        for config in $CONFIGS; do
            echo "$scenario, --event-loops ${config%@*} on CPU ${config#*@}, round $round/$ROUNDS" >&2
            run "$scenario" "${config%@*}" "${config#*@}" "$round"
        done
    done
done

python3 - "$RUNS" "$DURATION" "$CLIENT_CPUS" "$CLIENT_THREADS" <<'PY'
import json, statistics, sys
runs_path, duration, client_cpus, client_threads = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = {}
for line in open(runs_path):
    scenario, loops, cpus, round_, rc, load, path = line.rstrip("\n").split("\t")
    entry = rows.setdefault((scenario, loops, cpus), {"loads": [], "reports": [], "failed": 0})
    entry["loads"].append(float(load))
    try:
        report = json.load(open(path))
    except (OSError, ValueError):
        report = None
    if rc != "0" or report is None:
        entry["failed"] += 1
        continue
    entry["reports"].append(report)

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else float("nan")

cores = len(client_cpus.split(","))
print(f"client: {client_threads} thread(s) on CPU {client_cpus}; medians over the rounds; "
      f"'busy' is CPU seconds per window second (1.0 = one core)")
for scenario, unit, unit_plural, rate_key, per_key in (
        ("echo", "echo", "echoes", "messagesPerSecondOverall", "serverCPUMicrosecondsPerEcho"),
        ("broadcast", "delivery", "deliveries", "deliveriesPerSecondOverall", "serverCPUMicrosecondsPerDelivery")):
    keys = [k for k in rows if k[0] == scenario]
    if not keys:
        continue
    print(f"\n{scenario}")
    print(f"| server | {unit_plural}/s | server CPU-µs per {unit} | server busy | client busy (of {cores}) | runs ok | load average |")
    print("|---|---|---|---|---|---|---|")
    base = None
    for key in keys:
        entry = rows[key]
        reports = entry["reports"]
        rate = med([r.get(rate_key) for r in reports])
        per = med([r.get(per_key) for r in reports])
        server = med([r.get("serverCPUSeconds", 0) / duration for r in reports])
        client = med([(r.get("clientCPUSeconds") or 0) / duration for r in reports])
        if base is None:
            base = rate
        ratio = f" ({rate / base:.2f}×)" if base and base == base else ""
        loads = entry["loads"]
        print(f"| --event-loops {key[1]}, CPU {key[2]} | {rate:,.0f}{ratio} | {per:.3f} | {server:.2f} | {client:.2f} | "
              f"{len(reports)}/{len(reports) + entry['failed']} | {min(loads):.1f}–{max(loads):.1f} |")
PY
