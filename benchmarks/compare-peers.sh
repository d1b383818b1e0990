#!/usr/bin/env bash
# Side-by-side benchmark: Holdfast against its SwiftNIO peer, a minimal Hummingbird 2 WebSocket
# server (benchmarks/HummingbirdPeer, its own package so that Holdfast's build never pulls it in).
#
# For each connection count and round, Holdfast and then the peer are started on CPU 0, driven by
# `holdfast-bench echo` on CPU 1 with 20-byte binary messages, and stopped again; then each round
# starts each server once more and `holdfast-bench idle` opens IDLE connections to read the server's
# memory per idle connection. The rounds interleave the two servers. At the end two tables give,
# per server, the medians over the rounds and the ratio Holdfast/peer.
#
# Both servers are pinned to one core with taskset. Holdfast runs one event loop
# (`--event-loops 1`). Hummingbird runs SwiftNIO's default multi-threaded event loop group, sized
# by the machine's core count (SwiftNIO reads sysconf and cgroup limits, not the taskset mask, so
# a 2-core machine gets two event loops), plus Swift concurrency's global executor threads. Its
# thread count is left as a Hummingbird user gets it; the pin confines all of them to one core.
# Each echo run's progress line shows the server's thread count.
#
# Usage:
#   benchmarks/compare-peers.sh
#
# Builds what is missing: .build/release/holdfast, libChatHandlers.so (which `holdfast serve` loads)
# and holdfast-bench at the repository root, and
# benchmarks/HummingbirdPeer/.build/release/hummingbird-peer in the peer's package. Settings from
# the environment:
#   CONNECTIONS    connection counts for the echo runs (default "100 1000")
#   IDLE           connections held open for the memory reading (default 5000; 0 skips it)
#   ROUNDS         interleaved rounds (default 3)
#   DURATION       measured seconds per echo run, after a 1 s warm-up (default 5)
#   HOLDFAST_PORT  Holdfast's port (default 4000)
#   PEER_PORT      the Hummingbird peer's port (default 9002)
#   SERVER_CPU     CPU the servers are pinned to (default 0)
#   CLIENT_CPU     CPU the load generator is pinned to (default 1)
#   OUT_DIR        where reports and logs go (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

CONNECTIONS=${CONNECTIONS:-100 1000}
IDLE=${IDLE:-5000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
HOLDFAST_PORT=${HOLDFAST_PORT:-4000}
PEER_PORT=${PEER_PORT:-9002}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-compare-peers.XXXXXX")}
SIZE=20
# Seconds a server gets to start listening, and to exit after SIGTERM.
START_TIMEOUT=10
STOP_TIMEOUT=5
# Upper bound for one echo run: warm-up, window, connecting (the bench allows 30 s), closing, slack.
BENCH_TIMEOUT=$(awk -v d="$DURATION" 'BEGIN { print d + 60 }')
# Upper bound for one idle run: connecting (the bench allows 120 s), the 5 s hold, closing, slack.
IDLE_TIMEOUT=180

HOLDFAST=.build/release/holdfast
BENCH=.build/release/holdfast-bench
PEER_PACKAGE=benchmarks/HummingbirdPeer
PEER=$PEER_PACKAGE/.build/release/hummingbird-peer

for tool in taskset timeout python3 awk ps; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
[[ -x $HOLDFAST ]] || swift build -c release --product holdfast
# `holdfast serve` loads its chat handlers from this plugin next to the binary.
[[ -e .build/release/libChatHandlers.so ]] || swift build -c release --product ChatHandlers
[[ -x $BENCH ]] || swift build -c release --product holdfast-bench
[[ -x $PEER ]] || (cd "$PEER_PACKAGE" && swift build -c release)

# shellcheck source=server-control.sh
source benchmarks/server-control.sh  # the scripts run from the repository root

# start NAME TAG: starts server NAME (holdfast or peer) pinned to SERVER_CPU, its log tagged TAG.
start() {
    local name=$1 tag=$2
    case $name in
    holdfast)
        local state
        state=$(mktemp -d "$OUT_DIR/holdfast-state.XXXXXX")
        start_server "$HOLDFAST_PORT" "$OUT_DIR/$tag.server.log" \
            env HOLDFAST_LOG_LEVEL=warning HOLDFAST_ADMIN_LISTEN=127.0.0.1:0 HOLDFAST_STATE_DIR="$state" \
            "$HOLDFAST" serve --listen "127.0.0.1:$HOLDFAST_PORT" --event-loops 1
        ;;
    peer)
        start_server "$PEER_PORT" "$OUT_DIR/$tag.server.log" "$PEER" --port "$PEER_PORT"
        ;;
    esac
}

port_of() { if [[ $1 == holdfast ]]; then echo "$HOLDFAST_PORT"; else echo "$PEER_PORT"; fi; }

# threads_of PID: the thread count of a running process.
threads_of() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

# record SCENARIO NAME CONNECTIONS ROUND RC JSON TAG: notes one run and prints its summary line.
record() {
    local scenario=$1 name=$2 connections=$3 round=$4 rc=$5 json=$6 tag=$7 pattern
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$name" "$connections" "$round" "$rc" "$json" >>"$RUNS"
    if [[ $scenario == echo ]]; then pattern='messages/s'; else pattern='per connection'; fi
    local line
    line=$(grep -m1 "$pattern" "$OUT_DIR/$tag.bench.log" || true)
    echo "  $tag: exit $rc${line:+,$line}" >&2
}

# run_echo NAME CONNECTIONS ROUND: one server start, echo load run and stop.
run_echo() {
    local name=$1 connections=$2 round=$3
    local tag="echo-$name-c$connections-r$round" port
    local json="$OUT_DIR/$tag.json"
    port=$(port_of "$name")
    rm -f "$json"
    start "$name" "$tag"
    echo "  $tag: server $SERVER_PID runs $(threads_of "$SERVER_PID") thread(s)" >&2
    local rc=0
    timeout -k 5 "$BENCH_TIMEOUT" taskset -c "$CLIENT_CPU" "$BENCH" echo \
        --url "ws://127.0.0.1:$port/ws/echo" --connections "$connections" --size "$SIZE" \
        --duration "$DURATION" --server-pid "$SERVER_PID" --json "$json" \
        >"$OUT_DIR/$tag.bench.log" 2>&1 || rc=$?
    stop_server
    record echo "$name" "$connections" "$round" "$rc" "$json" "$tag"
    sleep 1
}

# run_idle NAME ROUND: one server start, IDLE idle connections held and the server's memory read, stop.
run_idle() {
    local name=$1 round=$2
    local tag="idle-$name-c$IDLE-r$round" port
    local json="$OUT_DIR/$tag.json"
    port=$(port_of "$name")
    rm -f "$json"
    start "$name" "$tag"
    local rc=0
    timeout -k 5 "$IDLE_TIMEOUT" taskset -c "$CLIENT_CPU" "$BENCH" idle \
        --url "ws://127.0.0.1:$port/ws/echo" --connections "$IDLE" \
        --server-pid "$SERVER_PID" --json "$json" \
        >"$OUT_DIR/$tag.bench.log" 2>&1 || rc=$?
    stop_server
    record idle "$name" "$IDLE" "$round" "$rc" "$json" "$tag"
    sleep 1
}

echo "reports and logs: $OUT_DIR" >&2
for ((round = 1; round <= ROUNDS; round++)); do
    for connections in $CONNECTIONS; do
        echo "echo, connections $connections, round $round/$ROUNDS" >&2
        run_echo holdfast "$connections" "$round"
        run_echo peer "$connections" "$round"
    done
    if ((IDLE > 0)); then
        echo "idle, connections $IDLE, round $round/$ROUNDS" >&2
        run_idle holdfast "$round"
        run_idle peer "$round"
    fi
done

python3 - "$RUNS" "$DURATION" "$SIZE" <<'PY'
import json
import statistics
import sys

runs_path, duration, size = sys.argv[1:4]
SERVERS = (("holdfast", "Holdfast"), ("peer", "Hummingbird"))
ERROR_KEYS = ("connectFailures", "unexpectedCloses", "protocolViolations", "badEchoes")

# (scenario, server, connections) -> list of reports; failures counted separately.
reports, failed, order = {}, {}, {}
with open(runs_path) as runs:
    for line in runs:
        scenario, name, connections, _round, rc, path = line.rstrip("\n").split("\t")
        key = (scenario, name, int(connections))
        order.setdefault(scenario, [])
        if int(connections) not in order[scenario]:
            order[scenario].append(int(connections))
        reports.setdefault(key, [])
        failed.setdefault(key, 0)
        try:
            with open(path) as f:
                report = json.load(f)
        except (OSError, ValueError):
            failed[key] += 1
            continue
        if int(rc) != 0 or any(report["errors"][k] for k in ERROR_KEYS):
            failed[key] += 1
        reports[key].append(report)

def median(key, pick):
    values = [v for v in (pick(r) for r in reports.get(key, [])) if v is not None]
    return statistics.median(values) if values else None

def fmt(value, pattern):
    return "-" if value is None else pattern.format(value)

def table(scenario, title, metrics):
    if scenario not in order:
        return
    header = ["connections", "server", "runs", "failed"] + [m[0] for m in metrics]
    rows = []
    for connections in order[scenario]:
        medians = {}
        for name, label in SERVERS:
            key = (scenario, name, connections)
            medians[name] = [median(key, m[1]) for m in metrics]
            rows.append([str(connections), label, str(len(reports.get(key, []))), str(failed.get(key, 0))]
                        + [fmt(v, m[2]) for v, m in zip(medians[name], metrics)])
        ratios = ["-" if h is None or not p else "{:.2f}x".format(h / p)
                  for h, p in zip(medians["holdfast"], medians["peer"])]
        rows.append([str(connections), "Holdfast/Hummingbird", "", ""] + ratios)
    print()
    print(title)
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    def show(row):
        print("  ".join(cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))))
    show(header)
    previous = None
    for row in rows:
        if previous is not None and row[0] != previous:
            print()
        previous = row[0]
        show(row)

table("echo",
      f"Echo, {size}-byte binary messages, {duration} s per run; medians over rounds "
      "(msgs/s = all echoes in the window / its length; CPU = server CPU time per echo)",
      [
          ("msgs/s", lambda r: r["messagesPerSecondOverall"], "{:.0f}"),
          ("p50 µs", lambda r: r["latencyMicroseconds"]["p50"], "{:.1f}"),
          ("p99 µs", lambda r: r["latencyMicroseconds"]["p99"], "{:.1f}"),
          ("CPU µs/echo", lambda r: r.get("serverCPUMicrosecondsPerEcho"), "{:.2f}"),
      ])
table("idle",
      "Idle connections, held 5 s; medians over rounds "
      "(KiB/conn = server RSS growth / connections opened)",
      [
          ("KiB/conn", lambda r: r["kibPerConnection"], "{:.2f}"),
          ("RSS before KiB", lambda r: r["serverRSSBeforeKiB"], "{:.0f}"),
          ("RSS after KiB", lambda r: r["serverRSSAfterKiB"], "{:.0f}"),
          ("handshakes/s", lambda r: r["handshakesPerSecond"], "{:.0f}"),
      ])
if any(failed.values()):
    print("\nSome runs failed or reported errors; see the bench logs next to the reports.")
PY
