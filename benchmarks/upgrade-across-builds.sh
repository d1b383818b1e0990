#!/usr/bin/env bash
# Binary upgrades between two builds under chat traffic, both ways: the server starts as build A, then
# `holdfast-bench upgrade` hands it over to B, back to A, and so on, while users (a share of them over TLS) chat
# and every delivery is checked. It exits non-zero unless every upgrade answered 200 with 0 connections closed,
# 0 messages lost, duplicated or reordered and 0 presence diffs.
#
# Use it before changing anything the handoff carries (records, snapshots, presence, rooms): a build must take
# over from the release before it, and the release before it must take over from the build (a rollback).
#
# Usage:
#   benchmarks/upgrade-across-builds.sh BUILD_A/holdfast BUILD_B/holdfast
#
# Each holdfast binary loads the libChatHandlers.so beside it. Settings from the environment:
#   BENCH        the load generator (default .build/release/holdfast-bench)
#   CONNECTIONS  users (default 1000)      ROOMS     rooms (default 20)        RATE  msg/s per user (default 1)
#   TLS_SHARE    share of TLS users (default 0.2)     UPGRADES  upgrades (default 4: A→B, B→A, A→B, B→A)
#   PROCESSES    client processes (default 1; a process holds at most 20,000 fds)
#   INTERVAL     seconds between upgrades (default 3)  PORT      client port (default 4300; TLS PORT+443,
#                admin PORT+1)
#   OUT_DIR      reports and logs (default: a new temporary directory)
#   CLIENT_NICE  the client processes' nice value (default 0). On a machine where the clients share the server's
#                cores, 19 lets the server have the CPU it needs, as it would with its clients on other machines
set -euo pipefail
cd "$(dirname "$0")/.."

[[ $# -eq 2 ]] || { sed -n '2,22p' "$0" >&2; exit 2; }
A=$(realpath "$1")
B=$(realpath "$2")
BENCH=${BENCH:-.build/release/holdfast-bench}
CONNECTIONS=${CONNECTIONS:-1000}
ROOMS=${ROOMS:-20}
RATE=${RATE:-1}
PROCESSES=${PROCESSES:-1}
TLS_SHARE=${TLS_SHARE:-0.2}
UPGRADES=${UPGRADES:-4}
INTERVAL=${INTERVAL:-3}
PORT=${PORT:-4300}
TLS_PORT=$((PORT + 443))
ADMIN_PORT=$((PORT + 1))
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-upgrade-across.XXXXXX")}
SECRET=upgrade-across-builds-secret-0123456789
TOKEN=upgrade-across-builds-admin-token

for binary in "$A" "$B" "$BENCH"; do [[ -x $binary ]] || { echo "$binary is not an executable" >&2; exit 1; }; done
mkdir -p "$OUT_DIR/state"
echo "reports and logs: $OUT_DIR" >&2
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$OUT_DIR/key.pem" -out "$OUT_DIR/cert.pem" 2>/dev/null

admin_status() { curl -fsS -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$ADMIN_PORT/admin/status"; }

# The serving process changes with every upgrade: stop whichever one serves at the end.
stop_serving() {
    local pid
    pid=$(admin_status 2>/dev/null | python3 -c 'import json, sys; print(json.load(sys.stdin)["pid"])' 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
trap stop_serving EXIT

HOLDFAST_SECRET_KEY=$SECRET HOLDFAST_ADMIN_TOKEN=$TOKEN HOLDFAST_STATE_DIR="$OUT_DIR/state" \
    HOLDFAST_MAX_CONNECTIONS=$((CONNECTIONS + 100)) HOLDFAST_LOG_LEVEL=notice \
    "$A" serve --port "$PORT" --admin-port "$ADMIN_PORT" --tls-port "$TLS_PORT" \
    --tls-cert "$OUT_DIR/cert.pem" --tls-key "$OUT_DIR/key.pem" >"$OUT_DIR/server.log" 2>&1 &
for _ in $(seq 100); do admin_status >/dev/null 2>&1 && break; sleep 0.1; done
admin_status >/dev/null || { echo "build A did not start; see $OUT_DIR/server.log" >&2; exit 1; }

# A failed bench run still gets the server's steps printed below; the script then exits with its status.
bench_status=0
nice -n "${CLIENT_NICE:-0}" "$BENCH" upgrade --url "ws://127.0.0.1:$PORT/socket/websocket" --tls-url "wss://127.0.0.1:$TLS_PORT" \
    --tls-share "$TLS_SHARE" --secret "$SECRET" --connections "$CONNECTIONS" --rooms "$ROOMS" --rate "$RATE" \
    --processes "$PROCESSES" --admin-url "http://127.0.0.1:$ADMIN_PORT" --admin-token "$TOKEN" \
    --binary "$B" --binary "$A" \
    --upgrades "$UPGRADES" --interval "$INTERVAL" --json "$OUT_DIR/upgrade.json" | tee "$OUT_DIR/bench.log" \
    || bench_status=$?

python3 - "$OUT_DIR/upgrade.json" "$OUT_DIR/server.log" <<'PY'
import json, re, sys
upgrades = json.load(open(sys.argv[1]))["upgrade"]
# The server's own step timings, as the old process logs them before it exits.
for line in open(sys.argv[2], errors="replace"):
    if "binary upgrade done" in line:
        pause, steps = re.search(r"pause-ms=(\S+)", line), re.search(r"steps-ms=(.*?) to=", line)
        # Builds before these fields log neither: the bytes of the pause's stream, rooms sent as changes or whole.
        sent, changes = re.search(r"state-bytes=(\d+)", line), re.search(r"rooms-as-changes=(\w+)", line)
        # And before connection output records: how many connections crossed the pause as their output alone.
        outputs = re.search(r"output-in-pause=(\d+)", line)
        # And before connection progress records: those crossing as their progress, and the output bytes queued.
        progress, queued = re.search(r"progress-in-pause=(\d+)", line), re.search(r"queued-bytes-in-pause=(\S+)", line)
        # And before CPU time per step: the process's CPU (every thread) in each step it timed, and in the pause.
        cpu, pause_cpu = re.search(r"steps-cpu-ms=(.*?) steps-ms=", line), re.search(r"pause-cpu-ms=(\S+)", line)
        print(f"server: pause {pause.group(1) if pause else '?'} ms, steps {steps.group(1) if steps else '?'}"
              + (f", {sent.group(1)} bytes in the pause, rooms as changes: {changes.group(1)}" if sent and changes else "")
              + (f", connections as output alone: {outputs.group(1)}" if outputs else "")
              + (f", as progress: {progress.group(1)}" if progress else "")
              + (f", queued output bytes in the pause/of them queued before the last round: {queued.group(1)}"
                 if queued else "")
              + (f"\nserver CPU: pause {pause_cpu.group(1)} ms, steps {cpu.group(1)}" if cpu and pause_cpu else ""))
    # The new process's own part: where its rebuild went (read, connections, outputs, rooms, ...), newer builds only.
    if "binary upgrade: serving" in line and (laps := re.search(r"rebuild-ms=(\S+)", line)):
        cpu = re.search(r"rebuild-cpu-ms=(\S+)", line)
        print(f"new process: rebuild {laps.group(1)}" + (f", CPU {cpu.group(1)}" if cpu else ""))
for number, entry in enumerate(upgrades, 1):
    checks = [entry[key] for key in ("closed", "lost", "duplicated", "reordered", "presence_diffs")]
    print(f"upgrade {number}: status {entry['status']}, closed/lost/duplicated/reordered/presence_diffs {checks}, "
          f"server pause {entry['server_pause_ms']:.1f} ms")
    if entry["status"] != 200 or any(checks):
        sys.exit(f"upgrade {number} broke a guarantee")
PY
exit "$bench_status"
