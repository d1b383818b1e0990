#!/usr/bin/env bash
# Side-by-side echo benchmark: Holdfast against a uWebSockets echo server.
#
# For each connection count and round, Holdfast and then the peer are started on CPU 0
# (one event loop), driven by `holdfast-bench echo` on CPU 1 with 20-byte binary messages,
# and stopped again; the rounds interleave the two servers. At the end a table gives, per
# server and connection count, the medians over the rounds and the ratio Holdfast/peer.
#
# Usage:
#   UWS_ECHO=/path/to/uws-echo benchmarks/compare-echo.sh
#
# The peer must echo every message back on any path and listen on UWS_PORT (uWebSockets'
# examples/EchoServer.cpp listens on 9001). Settings from the environment:
#   CONNECTIONS    connection counts to run (default "100 1000")
#   ROUNDS         interleaved rounds per connection count (default 3)
#   DURATION       measured seconds per run, after a 1 s warm-up (default 5)
#   HOLDFAST_PORT  Holdfast's port (default 4000)
#   UWS_PORT       the peer's port (default 9001)
#   SERVER_CPU     CPU the servers are pinned to (default 0)
#   CLIENT_CPU     CPU the load generator is pinned to (default 1)
#   OUT_DIR        where reports and logs go (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

: "${UWS_ECHO:?set UWS_ECHO to the uWebSockets echo server binary}"
CONNECTIONS=${CONNECTIONS:-100 1000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
HOLDFAST_PORT=${HOLDFAST_PORT:-4000}
UWS_PORT=${UWS_PORT:-9001}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-compare-echo.XXXXXX")}
SIZE=20
# Seconds a server gets to start listening, and to exit after SIGTERM.
START_TIMEOUT=10
STOP_TIMEOUT=5
# Upper bound for one load run: warm-up, window, connecting (the bench allows 30 s), closing, slack.
BENCH_TIMEOUT=$(awk -v d="$DURATION" 'BEGIN { print d + 60 }')

HOLDFAST=.build/release/holdfast
BENCH=.build/release/holdfast-bench

[[ -x $UWS_ECHO ]] || { echo "UWS_ECHO=$UWS_ECHO is not an executable" >&2; exit 1; }
for tool in taskset timeout python3 awk ps; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
[[ -x $HOLDFAST ]] || swift build -c release --product holdfast
[[ -f .build/release/libChatHandlers.so ]] || swift build -c release --product ChatHandlers  # the handler plugin holdfast loads
[[ -x $BENCH ]] || swift build -c release --product holdfast-bench

# shellcheck source=server-control.sh
source benchmarks/server-control.sh  # the scripts run from the repository root

# run_one NAME PORT CONNECTIONS ROUND COMMAND...: one server start, load run and stop.
run_one() {
    local name=$1 port=$2 connections=$3 round=$4
    shift 4
    local tag="$name-c$connections-r$round"
    local json="$OUT_DIR/$tag.json"
    rm -f "$json"
    start_server "$port" "$OUT_DIR/$tag.server.log" "$@"
    local rc=0
    timeout -k 5 "$BENCH_TIMEOUT" taskset -c "$CLIENT_CPU" "$BENCH" echo \
        --url "ws://127.0.0.1:$port/ws/echo" --connections "$connections" --size "$SIZE" \
        --duration "$DURATION" --server-pid "$SERVER_PID" --json "$json" \
        >"$OUT_DIR/$tag.bench.log" 2>&1 || rc=$?
    stop_server
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$connections" "$round" "$rc" "$json" >>"$RUNS"
    local line
    line=$(grep -m1 'messages/s' "$OUT_DIR/$tag.bench.log" || true)
    echo "  $tag: exit $rc${line:+,$line}" >&2
    sleep 1
}

echo "reports and logs: $OUT_DIR" >&2
for connections in $CONNECTIONS; do
    for ((round = 1; round <= ROUNDS; round++)); do
        echo "connections $connections, round $round/$ROUNDS" >&2
        run_one holdfast "$HOLDFAST_PORT" "$connections" "$round" \
            env HOLDFAST_LOG_LEVEL=warning "$HOLDFAST" serve --listen "127.0.0.1:$HOLDFAST_PORT" --event-loops 1
        run_one uws "$UWS_PORT" "$connections" "$round" "$UWS_ECHO"
    done
done

python3 - "$RUNS" "$DURATION" "$SIZE" <<'PY'
import json
import statistics
import sys

runs_path, duration, size = sys.argv[1:4]
# (server, connections) -> list of reports; failures counted separately.
reports, failed, order = {}, {}, []
with open(runs_path) as runs:
    for line in runs:
        name, connections, _round, rc, path = line.rstrip("\n").split("\t")
        key = (name, int(connections))
        if int(connections) not in order:
            order.append(int(connections))
        reports.setdefault(key, [])
        failed.setdefault(key, 0)
        try:
            with open(path) as f:
                report = json.load(f)
        except (OSError, ValueError):
            failed[key] += 1
            continue
        errors = report["errors"]
        if int(rc) != 0 or any(errors[k] for k in ("connectFailures", "unexpectedCloses", "protocolViolations", "badEchoes")):
            failed[key] += 1
        reports[key].append(report)

def median(key, pick):
    values = [v for v in (pick(r) for r in reports.get(key, [])) if v is not None]
    return statistics.median(values) if values else None

metrics = [
    ("msgs/s", lambda r: r["messagesPerSecondOverall"], "{:.0f}"),
    ("p50 µs", lambda r: r["latencyMicroseconds"]["p50"], "{:.1f}"),
    ("p99 µs", lambda r: r["latencyMicroseconds"]["p99"], "{:.1f}"),
    ("CPU µs/echo", lambda r: r.get("serverCPUMicrosecondsPerEcho"), "{:.2f}"),
]

def fmt(value, pattern):
    return "-" if value is None else pattern.format(value)

header = ["connections", "server", "runs", "failed"] + [m[0] for m in metrics]
rows = []
for connections in order:
    medians = {}
    for name, label in (("holdfast", "Holdfast"), ("uws", "uWS")):
        key = (name, connections)
        medians[name] = [median(key, m[1]) for m in metrics]
        rows.append([str(connections), label, str(len(reports.get(key, []))), str(failed.get(key, 0))]
                    + [fmt(v, m[2]) for v, m in zip(medians[name], metrics)])
    ratios = []
    for h, u in zip(medians["holdfast"], medians["uws"]):
        ratios.append("-" if h is None or not u else "{:.2f}x".format(h / u))
    rows.append([str(connections), "Holdfast/uWS", "", ""] + ratios)

print()
print(f"Echo, {size}-byte binary messages, {duration} s per run; medians over rounds "
      "(msgs/s = all echoes in the window / its length; CPU = server CPU time per echo)")
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
if any(failed.values()):
    print("\nSome runs failed or reported errors; see the bench logs next to the reports.")
PY
