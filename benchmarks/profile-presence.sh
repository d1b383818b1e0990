#!/usr/bin/env bash
# Instructions and system calls per presence change per member, counted rather than timed, so the figures hold on
# a busy machine. MEMBERS users join one Phoenix room on one event loop (`holdfast-bench presence-burst`); once
# every view is complete, a probe user rejoins the room PROBES times, PROBE_INTERVAL seconds apart. Each rejoin is
# one presence change: a `presence_diff` to every member and the whole `presence_state` to the probe.
#
#   callgrind: the server runs under `valgrind --tool=callgrind` with collection off, switched on for the
#              window; prints the instructions per diff delivery and per presence change (all instructions in
#              the window over the rejoins in it).
#   strace:    the server runs normally; `strace -c -f` attaches for the same window; prints the system calls per
#              diff delivery.
#
# The window opens at the probe's first join and closes once the rejoins and their diffs are done. Each rejoin is
# one channel join and each diff to one member one diff delivery, both counted by the server. The window also
# holds the room's idle work between probes (timers, heartbeats, the idle sweep). For each part on its own, the
# joiner's presence_state (one per change) and the diff delivery (one per member), read the profile:
#   callgrind_annotate --inclusive=yes --tree=calling OUT_DIR/callgrind.out.1 | swift demangle --simplified
# On a loaded machine, keep PROBE_INTERVAL long enough for the server under valgrind to finish each change before
# the next (rejoins within one presence window coalesce into one diff).
#
# Usage:
#   benchmarks/profile-presence.sh callgrind|strace BUILD/holdfast
#
# Settings from the environment:
#   BENCH           the load generator (default: holdfast-bench next to the server binary)
#   MEMBERS         (default 2000)   PROBES (default 20)   PROBE_INTERVAL seconds (default 2)
#   DEFLATE         1: members negotiate permessage-deflate (default 1), 0: they do not
#   PORT            (default 4470)
#   OUT_DIR         profile, reports and logs (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -eq 2 && ($1 == callgrind || $1 == strace) ]] || { sed -n '2,29p' "$0" >&2; exit 2; }
MODE=$1
SERVER=$(realpath "$2")
BENCH=${BENCH:-$(dirname "$SERVER")/holdfast-bench}
MEMBERS=${MEMBERS:-2000}
PROBES=${PROBES:-20}
PROBE_INTERVAL=${PROBE_INTERVAL:-2}
DEFLATE=${DEFLATE:-1}
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
    --probe-interval "$PROBE_INTERVAL" --hold 3600 --duration 900 --connect-timeout 600 >"$OUT_DIR/bench.log" 2>&1 &
bench_pid=$!
trap 'kill "$bench_pid" 2>/dev/null || true; stop_server' EXIT

# The window opens at the probe's first join (every view is complete by then) and closes once all PROBES rejoins
# were made and their diffs have gone out (neither count moves for 2 s). The first rejoin's diff may fall on
# either side, so system calls are divided by the diff deliveries the server counted in the window.
until [[ $(joins || echo 0) -gt $MEMBERS ]]; do
    alive "$bench_pid" || { echo "the load generator exited; its log:" >&2; cat "$OUT_DIR/bench.log" >&2; exit 1; }
    sleep 0.2
done
if [[ $MODE == callgrind ]]; then
    callgrind_control -z "$SERVER_PID" >/dev/null
    callgrind_control -i on "$SERVER_PID" >/dev/null
else
    strace -c -f -p "$SERVER_PID" -o "$OUT_DIR/strace.txt" &
    strace_pid=$!
fi
WINDOW_BEFORE=$(joins)
diffs_before=$(metric holdfast_presence_diff_deliveries_total)
diffs_seen=-1
joins_seen=-1
deadline=$((SECONDS + PROBES * ${PROBE_INTERVAL%.*} * 20 + 600))
while ((SECONDS < deadline)); do
    sleep 2
    diffs_now=$(metric holdfast_presence_diff_deliveries_total)
    joins_now=$(joins)
    if ((joins_now >= MEMBERS + PROBES && joins_now == joins_seen && diffs_now == diffs_seen)); then
        break
    fi
    diffs_seen=$diffs_now
    joins_seen=$joins_now
done
WINDOW_AFTER=$(joins)
diffs_after=$(metric holdfast_presence_diff_deliveries_total)
if [[ $MODE == callgrind ]]; then
    callgrind_control -i off "$SERVER_PID" >/dev/null
    callgrind_control -d "$SERVER_PID" >/dev/null
else
    kill -INT "$strace_pid"
    wait "$strace_pid" || true
fi
kill "$bench_pid" 2>/dev/null || true
wait "$bench_pid" 2>/dev/null || true
stop_server

changes=$((WINDOW_AFTER - WINDOW_BEFORE))
echo "presence changes (probe rejoins) in the window: $changes; presence diff deliveries: $((diffs_after - diffs_before))"
report_window "$((diffs_after - diffs_before))" "diff delivery (one member, one change)"
if [[ $MODE == callgrind ]]; then
    awk -v t="$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$OUT_DIR/annotate.txt")" -v c="$changes" \
        'BEGIN { if (c > 0) printf "instructions per presence change: %.0f\n", t / c }'
fi
