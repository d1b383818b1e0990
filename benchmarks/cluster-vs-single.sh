#!/usr/bin/env bash
# One room of 9,000 members: three nodes on one redis-server with 3,000 members each, against one node alone with
# all 9,000, under the same chat traffic from the same load generator in one run; then the cost of the Redis hop on
# its own (one node with and without Redis at a light load, where fan-out does not hide it).
#
# Every run is `holdfast-bench chat`: every delivery checked (lost, duplicated, reordered, closed, presence_diffs
# must all be 0, across nodes too: with --url repeated each member checks every other member's messages whatever
# node either is on). Prints deliveries/s and delivery latency p50/p99 of each run, and the p50 the hop adds.
#
# Usage:
#   benchmarks/cluster-vs-single.sh
#
# Settings from the environment:
#   HOLDFAST     the server (default .build/release/holdfast; libChatHandlers.so beside it)
#   BENCH        the load generator (default .build/release/holdfast-bench)
#   NODES        nodes of the cluster (default 3)     MEMBERS  members per node (default 3000)
#   MESSAGES     chat messages per second in the room, all senders together (default 5)
#   PROCESSES    client processes of the big runs (default 3; one process may hold at most 20,000 fds)
#   DURATION     measured seconds (default 10)        WARMUP   seconds before them (default 2)
#   HOP_USERS    users of the hop runs (default 200, in 10 rooms, 1 msg/s each)
#   PORT         first port (default 4600: node i listens on PORT+10i, admin PORT+10i+1; Redis on PORT)
#   OUT_DIR      reports and logs (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

HOLDFAST=$(realpath "${HOLDFAST:-.build/release/holdfast}")
BENCH=$(realpath "${BENCH:-.build/release/holdfast-bench}")
NODES=${NODES:-3}
MEMBERS=${MEMBERS:-3000}
MESSAGES=${MESSAGES:-5}
PROCESSES=${PROCESSES:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
HOP_USERS=${HOP_USERS:-200}
PORT=${PORT:-4600}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-cluster-vs-single.XXXXXX")}
REDIS_SERVER=${REDIS_SERVER:-$(command -v redis-server || echo /usr/bin/redis-server)}
SECRET=cluster-vs-single-secret-0123456789abcdef
TOKEN=cluster-vs-single-admin-token
TOTAL=$((NODES * MEMBERS))

for binary in "$HOLDFAST" "$BENCH" "$REDIS_SERVER"; do
    [[ -x $binary ]] || { echo "$binary is not an executable" >&2; exit 1; }
done
mkdir -p "$OUT_DIR"
echo "reports and logs: $OUT_DIR" >&2
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

port_open() { (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
    for _ in $(seq 200); do port_open "$1" && return 0; sleep 0.1; done
    echo "nothing listens on port $1; see $OUT_DIR" >&2
    exit 1
}

PIDS=()
stop_all() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

# A fresh redis-server (no persistence) for each cluster run, so no run inherits another's rooms.
start_redis() {
    "$REDIS_SERVER" --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$OUT_DIR" \
        >"$OUT_DIR/redis-$1.log" 2>&1 &
    PIDS+=($!)
    wait_port "$PORT"
}

# start_node RUN INDEX MAX_CONNECTIONS [REDIS]: node INDEX of run RUN, on Redis when REDIS is "redis".
start_node() {
    local run=$1 index=$2 max=$3 redis=${4:-}
    local port=$((PORT + 10 * index)) state="$OUT_DIR/$run-state-$index"
    mkdir -p "$state"
    env HOLDFAST_SECRET_KEY=$SECRET HOLDFAST_ADMIN_TOKEN=$TOKEN HOLDFAST_STATE_DIR="$state" \
        HOLDFAST_MAX_CONNECTIONS="$max" HOLDFAST_LOG_LEVEL=notice \
        ${redis:+HOLDFAST_CLUSTER_REDIS_URL=redis://127.0.0.1:$PORT HOLDFAST_CLUSTER_NODE_NAME=node-$index} \
        "$HOLDFAST" serve --port "$port" --admin-port $((port + 1)) >"$OUT_DIR/$run-node-$index.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port"
}

# chat RUN USERS ROOMS RATE PROCESSES NODE_INDEXES...: one checked chat run over the nodes given.
chat() {
    local run=$1 users=$2 rooms=$3 rate=$4 processes=$5
    shift 5
    local urls=() index
    for index in "$@"; do urls+=(--url "ws://127.0.0.1:$((PORT + 10 * index))/socket/websocket"); done
    echo "== $run: $users users in $rooms room(s) over $# node(s), load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    "$BENCH" chat "${urls[@]}" --secret "$SECRET" --connections "$users" --rooms "$rooms" --rate "$rate" \
        --processes "$processes" --deflate --warmup "$WARMUP" --duration "$DURATION" --connect-timeout 300 \
        --drain-timeout 60 --drain 2 --json "$OUT_DIR/$run.json" | tee "$OUT_DIR/$run.txt" >&2
}

RATE=$(python3 -c "print($MESSAGES / $TOTAL)")
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

start_redis cluster
for index in $(seq "$NODES"); do start_node cluster "$index" $((MEMBERS + 100)) redis; done
chat cluster "$TOTAL" 1 "$RATE" "$PROCESSES" $(seq "$NODES")
stop_all

start_node single 1 $((TOTAL + 100))
chat single "$TOTAL" 1 "$RATE" "$PROCESSES" 1
stop_all

start_redis hop
start_node hop-redis 1 $((HOP_USERS + 100)) redis
chat hop-redis "$HOP_USERS" 10 1 1 1
stop_all

start_node hop-local 1 $((HOP_USERS + 100))
chat hop-local "$HOP_USERS" 10 1 1 1
stop_all
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$OUT_DIR" "$NODES" "$MEMBERS" "$TOTAL" "$MESSAGES" "$LOAD_BEFORE" "$LOAD_AFTER" <<'PY'
import json, sys
out, nodes, members, total, messages, before, after = sys.argv[1:]
runs = {name: json.load(open(f"{out}/{name}.json")) for name in ("cluster", "single", "hop-redis", "hop-local")}
def row(label, report):
    latency = report["delivery_latency_us"]
    checks = [report[key] for key in ("lost", "duplicated", "reordered", "closed", "presence_diffs")]
    return (f"| {label} | {report['joined']:,}/{report['users']:,} | {report['delivered_per_second']:,.0f} | "
            f"{latency['p50'] / 1000:.1f} | {latency['p99'] / 1000:.1f} | {report['join_seconds']:.1f} | "
            f"{'/'.join(map(str, checks))} |")
print(f"one room, {messages} msg/s from all senders together; load average before {before}, after {after}")
print("| run | joined | deliveries/s | p50 ms | p99 ms | join s | lost/dup/reord/closed/diffs |")
print("|---|---|---|---|---|---|---|")
print(row(f"{nodes} nodes x {int(members):,} members (Redis)", runs["cluster"]))
print(row(f"1 node x {int(total):,} members (no Redis)", runs["single"]))
print(row("hop: 1 node on Redis, light load", runs["hop-redis"]))
print(row("hop: 1 node without Redis, light load", runs["hop-local"]))
added = (runs["hop-redis"]["delivery_latency_us"]["p50"] - runs["hop-local"]["delivery_latency_us"]["p50"]) / 1000
print(f"Redis hop: p50 delivery latency added {added:+.2f} ms at light load")
failed = [name for name, report in runs.items()
          if report["joined"] < report["users"] or any(report[key] for key in
                                                        ("lost", "duplicated", "reordered", "closed", "presence_diffs"))]
sys.exit(f"checks failed in: {', '.join(failed)}" if failed else 0)
PY
