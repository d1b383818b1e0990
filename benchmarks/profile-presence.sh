#!/usr/bin/env bash
# Instructions and system calls per presence change per member, counted rather than timed, so the figures hold on
# a busy machine. MEMBERS users join one Phoenix room on one event loop (`holdfast-bench presence-burst`); once
# every view is complete, a probe user rejoins the room PROBES times, PROBE_INTERVAL seconds apart. Each rejoin is
# one presence change: a `presence_diff` to every member and the whole `presence_state` to the probe.
#
#   callgrind: the server runs under `valgrind --tool=callgrind` with collection off; once the probe has
#              connected, collection is switched on for WINDOW seconds. Instructions in that window divided by
#              the presence changes in it and by MEMBERS give Ir per change per member.
#   strace:    the server runs normally; `strace -c -f` attaches for the same window and the system calls are
#              divided the same way.
#
# Changes in the window are counted by the server: each probe rejoin is one channel join. The window also holds
# the idle work of the room (timers, heartbeats), which is small next to a change.
#
# Usage:
#   benchmarks/profile-presence.sh callgrind|strace BUILD/holdfast
#
# Settings from the environment:
#   BENCH           the load generator (default: holdfast-bench next to the server binary)
#   MEMBERS         (default 2000)   PROBES (default 20)   PROBE_INTERVAL seconds (default 1)
#   DEFLATE         1: members negotiate permessage-deflate (default 1), 0: they do not
#   WINDOW          measured seconds (default: PROBES - 4 probe intervals)   PORT (default 4470)
#   OUT_DIR         profile, reports and logs (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -eq 2 && ($1 == callgrind || $1 == strace) ]] || { sed -n '2,25p' "$0" >&2; exit 2; }
MODE=$1
SERVER=$(realpath "$2")
BENCH=${BENCH:-$(dirname "$SERVER")/holdfast-bench}
MEMBERS=${MEMBERS:-2000}
PROBES=${PROBES:-20}
PROBE_INTERVAL=${PROBE_INTERVAL:-1}
DEFLATE=${DEFLATE:-1}
WINDOW=${WINDOW:-$(awk -v p="$PROBES" -v i="$PROBE_INTERVAL" 'BEGIN { w = (p - 4) * i; print (w > 1 ? w : 1) }')}
PORT=${PORT:-4470}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-profile.XXXXXX")}
SERVER_CPU=0
START_TIMEOUT=60
STOP_TIMEOUT=20
SECRET=profile-presence-secret-0123456789abcdef

for binary in "$SERVER" "$BENCH"; do [[ -x $binary ]] || { echo "$binary is not an executable" >&2; exit 1; }; done
# shellcheck source=server-control.sh
source benchmarks/server-control.sh
# shellcheck source=profile-window.sh
source benchmarks/profile-window.sh
echo "profile, reports and logs: $OUT_DIR" >&2

# metric NAME: the sum of the server's metric NAME over its label sets.
metric() {
    curl -s "http://127.0.0.1:$PORT/metrics" | awk -v name="$1" '
        { split($1, parts, "{") } parts[1] == name { sum += $2 } END { printf "%d\n", sum }'
}
joins() { metric holdfast_channel_joins_total; }

state="$OUT_DIR/state"
mkdir -p "$state"
launcher=()
if [[ $MODE == callgrind ]]; then
    SERVER=$(stripped_copy "$SERVER" "$OUT_DIR/bin")
    set_callgrind_launcher
fi
start_server "$PORT" "$OUT_DIR/server.log" env HOLDFAST_SECRET_KEY=$SECRET HOLDFAST_STATE_DIR="$state" \
    HOLDFAST_LOG_LEVEL=warning HOLDFAST_MAX_CONNECTIONS=$((MEMBERS + 100)) \
    "${launcher[@]}" "$SERVER" serve --listen "127.0.0.1:$PORT" --admin-port $((PORT + 1)) --event-loops 1

deflate=()
[[ $DEFLATE == 1 ]] && deflate=(--deflate)
taskset -c 1 "$BENCH" presence-burst --url "ws://127.0.0.1:$PORT/socket/websocket" --secret "$SECRET" \
    --connections "$MEMBERS" --join-concurrency "$MEMBERS" "${deflate[@]}" --probes "$PROBES" \
    --probe-interval "$PROBE_INTERVAL" --hold 0 --duration 900 --connect-timeout 600 >"$OUT_DIR/bench.log" 2>&1 &
bench_pid=$!
trap 'kill "$bench_pid" 2>/dev/null || true; stop_server' EXIT

# The probe joins once every view is complete: its first rejoin is the join after the members'.
until [[ $(joins || echo 0) -gt $MEMBERS ]]; do
    alive "$bench_pid" || { echo "the load generator exited; its log:" >&2; cat "$OUT_DIR/bench.log" >&2; exit 1; }
    sleep 0.5
done
sleep "$PROBE_INTERVAL"

diffs_before=$(metric holdfast_presence_diff_deliveries_total)
measure_window joins
diffs_after=$(metric holdfast_presence_diff_deliveries_total)
wait "$bench_pid" || { echo "the load generator failed; its log:" >&2; cat "$OUT_DIR/bench.log" >&2; }
stop_server
cat "$OUT_DIR/bench.log"

changes=$((WINDOW_AFTER - WINDOW_BEFORE))
echo "presence changes (probe rejoins) in the window: $changes; presence diff deliveries: $((diffs_after - diffs_before))"
report_window "$((changes * MEMBERS))" "presence change per member"
if [[ $MODE == callgrind ]]; then
    awk -v t="$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$OUT_DIR/annotate.txt")" -v c="$changes" \
        'BEGIN { if (c > 0) printf "instructions per presence change: %.0f\n", t / c }'
fi
