#!/usr/bin/env bash
# Side-by-side benchmark: Holdfast against its peers,
#   hummingbird  a minimal Hummingbird 2 WebSocket server (benchmarks/HummingbirdPeer, its own package so that
#                Holdfast's build never pulls it in), and
#   uws          a minimal uWebSockets server (benchmarks/uws-peer.cpp), built by benchmarks/build-uws-peer.sh
#                from uWebSockets and uSockets at pinned commits, outside the repository's tracked files.
# `scripts/setup.sh --with-benchmarks` installs the tools it needs (g++, nginx, valgrind, strace, perf).
#
# Each round runs, for every size, Holdfast and then each peer, each started afresh on CPU 0 and driven by
# holdfast-bench on CPU 1, then stopped:
#   echo       `holdfast-bench echo`, 20-byte binary messages, one in flight per connection;
#   broadcast  `holdfast-bench broadcast`, closed loop, PUBLISHERS publishers with IN_FLIGHT messages each in
#              flight, every message to every subscriber. Holdfast serves it as a Phoenix room (signed tokens,
#              join, `new_msg` with a BODY-byte body, each message committed to SQLite with synchronous=FULL
#              before its fan-out and acknowledged after it). The peer has no channels; it serves the raw relay
#              /ws/broadcast (`--raw`: RAW_SIZE-byte messages, by default the size of Holdfast's `new_msg`
#              frame, so both put the same bytes on the wire per delivery). Holdfast does strictly more per
#              message (JSON in and out, validation, the commit, the reply), so the comparison only favours the
#              peer. (Teaching a peer Phoenix would measure our own Phoenix code on that peer rather than the
#              peer; the relay is the least work its broadcast can do. uWebSockets relays through its pub/sub:
#              every socket subscribes to one topic and each message is published to it.) A Holdfast publisher's
#              acknowledgement is the reply sent after the commit and the fan-out; a peer publisher's is its own
#              copy of the message, wherever it falls in the fan-out;
#   idle       `holdfast-bench idle`: IDLE connections held open, the server's memory growth per connection, and
#              its CPU time over the run per connection (handshake, 5 s idle hold, close; clock-tick resolution).
#   handshakes `holdfast-bench handshakes`: HANDSHAKES connections, each closed as soon as its 101 arrives
#              (HANDSHAKE_CONCURRENCY in progress at once), and the server's CPU time over the run per handshake:
#              accept, upgrade and close, without an idle hold.
#   tls        the same over TLS 1.3, TLS_HANDSHAKES connections: Holdfast's own TLS listener (OpenSSL for the
#              handshake) against nginx terminating TLS in front of the uWebSockets peer (`PEERS` must name uws).
#              Both use one self-signed P-256 certificate made for the run, OpenSSL's default groups and TLS 1.3
#              suites, no session tickets and no session cache. nginx runs one worker and proxies each WebSocket
#              to the peer over plain HTTP/1.1; its server CPU is the nginx master and worker plus the peer.
#              The configuration and certificate are generated into OUT_DIR.
# Sizes above SPLIT_ABOVE connections spread the client over CLIENT_PROCESSES processes (all on CPU 1). The
# rounds interleave the servers; at the end benchmarks/peer_report.py prints, per scenario and size, the
# medians over the rounds, the ratio Holdfast/peer for each peer, and the targets (reported, not asserted).
#
# Both servers are pinned to one core with taskset. Holdfast runs one event loop (`--event-loops 1`; its
# history writer thread shares the core). Hummingbird runs SwiftNIO's default multi-threaded event loop group,
# sized by the machine's core count (SwiftNIO reads sysconf and cgroup limits, not the taskset mask, so a 2-core
# machine gets two event loops), plus Swift concurrency's global executor threads. Its thread count is left as
# a Hummingbird user gets it; the pin confines all of them to one core. uWebSockets runs one thread. Each run's
# progress line shows the server's thread count. Holdfast's per-socket rate limit (100 messages/s by default) is
# lifted for the broadcast runs, since the peers have none.
#
# Usage:
#   benchmarks/compare-peers.sh
#   ROUNDS=1 DURATION=3 ECHO="1000" BROADCAST="1000" IDLE=5000 benchmarks/compare-peers.sh   # a quick look
#   ECHO= IDLE= BROADCAST=1000 BROADCAST_RATE=20 benchmarks/compare-peers.sh   # fan-out latency, both unsaturated
#   PEERS=uws UWS_SOURCE=... USOCKETS_SOURCE=... ECHO= IDLE= BROADCAST=10000 benchmarks/compare-peers.sh
#   PEERS=uws ECHO= BROADCAST= IDLE= HANDSHAKES=20000 TLS_HANDSHAKES=2000 benchmarks/compare-peers.sh  # handshakes
#
# Builds what is missing: .build/release/holdfast, libChatHandlers.so (which `holdfast serve` loads)
# and holdfast-bench at the repository root (or takes them from BUILD_DIR),
# benchmarks/HummingbirdPeer/.build/release/hummingbird-peer in the peer's package, and the uWebSockets peer
# (see benchmarks/build-uws-peer.sh for UWS_SOURCE, USOCKETS_SOURCE and PEERS_DIR). Settings from
# the environment (an empty list skips the scenario):
#   PEERS             the peers to run against Holdfast (default "hummingbird uws")
#   BUILD_DIR         Holdfast's release build directory, SCRATCH/release (default .build/release)
#   ECHO              connection counts for the echo runs (default "1000 10000"; CONNECTIONS is the old name)
#   BROADCAST         subscriber counts for the broadcast runs (default "1000 10000")
#   IDLE              connection counts for the memory reading (default "5000")
#   HANDSHAKES        handshake counts for the handshake runs (default "10000")
#   TLS_HANDSHAKES    handshake counts for the TLS handshake runs (default none: skipped)
#   HANDSHAKE_CONCURRENCY  handshakes in progress at once in those runs (default 64)
#   NGINX_PORT        nginx's TLS port in front of the uWebSockets peer (default 9443)
#   HOLDFAST_TLS_PORT Holdfast's TLS port (default 4443)
#   ROUNDS            interleaved rounds (default 3)
#   DURATION          measured seconds per echo or broadcast run, after a 1 s warm-up (default 5)
#   WARMUP            seconds of broadcast load before its measured window (default 1)
#   PUBLISHERS        broadcast publishers, in addition to the subscribers (default 4)
#   IN_FLIGHT         unacknowledged messages per publisher (default 8)
#   BROADCAST_RATE    if set, the broadcast runs are open loop at this many messages/s over all publishers
#                     instead (for latency at a load both servers sustain)
#   BODY              Holdfast's new_msg body bytes (default 64)
#   RAW_SIZE          the peer's message bytes (default 153: Holdfast's new_msg frame for a 64-byte body)
#   SPLIT_ABOVE       sizes above this use CLIENT_PROCESSES client processes (default 5000)
#   CLIENT_PROCESSES  client processes for those sizes (default 2; each may hold at most ~19,000 fds)
#   HOLDFAST_PORT     Holdfast's port (default 4000)
#   PEER_PORT         the Hummingbird peer's port (default 9002)
#   UWS_PORT          the uWebSockets peer's port (default 9001)
#   SERVER_CPU        CPU the servers are pinned to (default 0)
#   CLIENT_CPU        CPU the load generator is pinned to (default 1)
#   COUNT_SYSCALLS    if 1, the broadcast runs count the server's system calls in the window with perf (as root),
#                     for its deliveries per socket write
#   NICENESS          if set, the servers and the load generator each run in their own session at this
#                     niceness (e.g. -10, as root): on a busy machine other sessions otherwise starve both sides
#                     (see docs/performance.md, "Stalled broadcast rounds: the load generator starved, not blocked")
#   OUT_DIR           where reports and logs go (default: a new temporary directory)
set -euo pipefail
cd "$(dirname "$0")/.."

ECHO=${ECHO-${CONNECTIONS-1000 10000}}
BROADCAST=${BROADCAST-1000 10000}
IDLE=${IDLE-5000}
HANDSHAKES=${HANDSHAKES-10000}
TLS_HANDSHAKES=${TLS_HANDSHAKES-}
HANDSHAKE_CONCURRENCY=${HANDSHAKE_CONCURRENCY:-64}
NGINX_PORT=${NGINX_PORT:-9443}
HOLDFAST_TLS_PORT=${HOLDFAST_TLS_PORT:-4443}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
PUBLISHERS=${PUBLISHERS:-4}
IN_FLIGHT=${IN_FLIGHT:-8}
BROADCAST_RATE=${BROADCAST_RATE:-}
BODY=${BODY:-64}
RAW_SIZE=${RAW_SIZE:-153}
SPLIT_ABOVE=${SPLIT_ABOVE:-5000}
CLIENT_PROCESSES=${CLIENT_PROCESSES:-2}
HOLDFAST_PORT=${HOLDFAST_PORT:-4000}
PEER_PORT=${PEER_PORT:-9002}
UWS_PORT=${UWS_PORT:-9001}
PEERS=${PEERS-hummingbird uws}
BUILD_DIR=${BUILD_DIR:-.build/release}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
OUT_DIR=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/holdfast-compare-peers.XXXXXX")}
SIZE=20
# Seconds a server gets to start listening, and to exit after SIGTERM.
START_TIMEOUT=10
STOP_TIMEOUT=5
# Seconds the bench may take to open (and join) every connection: 10,000 joins of one Holdfast room take about
# 30 s, each join's presence diff going to every member already there.
CONNECT_TIMEOUT=120
# Seconds a broadcast run waits after its window for the messages still fanning out: at saturation the peer
# holds up to PUBLISHERS x IN_FLIGHT messages in its queues, 320,000 deliveries at 10,000 subscribers, which
# take it about 16 s.
DRAIN_TIMEOUT=30
# Upper bound for one echo or broadcast run: connecting, warm-up, window, drain, closing, slack.
BENCH_TIMEOUT=$(awk -v d="$DURATION" -v c="$CONNECT_TIMEOUT" -v t="$DRAIN_TIMEOUT" 'BEGIN { print d + c + t + 20 }')
# Upper bound for one idle run: connecting, the 5 s hold, closing, slack.
IDLE_TIMEOUT=$((CONNECT_TIMEOUT + 30))

HOLDFAST=$BUILD_DIR/holdfast
BENCH=$BUILD_DIR/holdfast-bench
PEER_PACKAGE=benchmarks/HummingbirdPeer
PEER=$PEER_PACKAGE/.build/release/hummingbird-peer
UWS_PEER=""

# Signs the broadcast's connect tokens; any value works, a fresh one per run keeps it out of files.
SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')

for tool in taskset timeout python3 awk ps od; do
    command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }
done
# A missing product is built into BUILD_DIR's scratch path (BUILD_DIR is SCRATCH/release).
scratch=${BUILD_DIR%/release}
[[ -x $HOLDFAST ]] || swift build -c release --scratch-path "$scratch" --product holdfast
# `holdfast serve` loads its chat handlers from this plugin next to the binary.
[[ -e $BUILD_DIR/libChatHandlers.so ]] || swift build -c release --scratch-path "$scratch" --product ChatHandlers
[[ -x $BENCH ]] || swift build -c release --scratch-path "$scratch" --product holdfast-bench
if [[ -n $TLS_HANDSHAKES ]]; then
    [[ " $PEERS " == *" uws "* ]] || { echo "TLS_HANDSHAKES needs uws in PEERS (nginx proxies to it)" >&2; exit 2; }
    for tool in nginx openssl; do command -v "$tool" >/dev/null || { echo "$tool is required" >&2; exit 1; }; done
fi
for peer in $PEERS; do
    case $peer in
    hummingbird) [[ -x $PEER ]] || (cd "$PEER_PACKAGE" && swift build -c release) ;;
    uws) UWS_PEER=$(benchmarks/build-uws-peer.sh) ;;
    *) echo "unknown peer $peer (known: hummingbird uws)" >&2; exit 2 ;;
    esac
done

# shellcheck source=server-control.sh
source benchmarks/server-control.sh  # the scripts run from the repository root

# The TLS runs' certificate and nginx configuration, made once per run of the script in OUT_DIR.
TLS_DIR="$OUT_DIR/tls"
if [[ -n $TLS_HANDSHAKES ]]; then
    mkdir -p "$TLS_DIR/nginx"
    # As the end-to-end tests make theirs: a throwaway self-signed P-256 certificate for 127.0.0.1.
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout "$TLS_DIR/key.pem" -out "$TLS_DIR/cert.pem" \
        2>/dev/null
    # One worker on the server's core; TLS 1.3 with OpenSSL's default groups and suites, no tickets, no session
    # cache (as Holdfast's listener); each WebSocket proxied to the uWebSockets peer over plain HTTP/1.1.
    cat >"$TLS_DIR/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
master_process on;
pid $TLS_DIR/nginx/nginx.pid;
error_log $TLS_DIR/nginx/error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 32768; multi_accept on; }
http {
    access_log off;
    client_body_temp_path $TLS_DIR/nginx/body;
    proxy_temp_path $TLS_DIR/nginx/proxy;
    fastcgi_temp_path $TLS_DIR/nginx/fastcgi;
    uwsgi_temp_path $TLS_DIR/nginx/uwsgi;
    scgi_temp_path $TLS_DIR/nginx/scgi;
    upstream uws { server 127.0.0.1:$UWS_PORT; }
    server {
        listen 127.0.0.1:$NGINX_PORT ssl;
        ssl_certificate $TLS_DIR/cert.pem;
        ssl_certificate_key $TLS_DIR/key.pem;
        ssl_protocols TLSv1.3;
        ssl_session_cache off;
        ssl_session_tickets off;
        location / {
            proxy_pass http://uws;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_buffering off;
        }
    }
}
NGINX
fi
NGINX_PID=""
UWS_BEHIND_PID=""

# start NAME TAG: starts server NAME (holdfast, hummingbird, uws, or for the TLS runs holdfast-tls and nginx-uws)
# pinned to SERVER_CPU, its log tagged TAG.
start() {
    local name=$1 tag=$2
    case $name in
    holdfast | holdfast-tls)
        local state tls=()
        state=$(mktemp -d "$OUT_DIR/holdfast-state.XXXXXX")
        [[ $name == holdfast-tls ]] && tls=(HOLDFAST_TLS_LISTEN="127.0.0.1:$HOLDFAST_TLS_PORT"
            HOLDFAST_TLS_CERT="$TLS_DIR/cert.pem" HOLDFAST_TLS_KEY="$TLS_DIR/key.pem" HOLDFAST_TLS_MIN_VERSION=1.3)
        # The rate limit would refuse a closed-loop publisher's 101st message in a second.
        start_server "$HOLDFAST_PORT" "$OUT_DIR/$tag.server.log" \
            env HOLDFAST_LOG_LEVEL=warning HOLDFAST_ADMIN_LISTEN=127.0.0.1:0 HOLDFAST_STATE_DIR="$state" \
            HOLDFAST_SECRET_KEY="$SECRET" HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES=1000000 "${tls[@]}" \
            "$HOLDFAST" serve --listen "127.0.0.1:$HOLDFAST_PORT" --event-loops 1
        if [[ $name == holdfast-tls ]]; then
            local deadline=$((SECONDS + START_TIMEOUT))
            until port_open "$HOLDFAST_TLS_PORT"; do
                ((SECONDS < deadline)) || { echo "no TLS listener on $HOLDFAST_TLS_PORT" >&2; exit 1; }
                sleep 0.1
            done
        fi
        ;;
    nginx-uws)
        # The peer first (its pid stays in UWS_BEHIND_PID), then nginx in front of it (SERVER_PID: the master).
        start_server "$UWS_PORT" "$OUT_DIR/$tag.uws.log" "$UWS_PEER" "$UWS_PORT"
        UWS_BEHIND_PID=$SERVER_PID
        start_server "$NGINX_PORT" "$OUT_DIR/$tag.server.log" nginx -e stderr -c "$TLS_DIR/nginx/nginx.conf" \
            -p "$TLS_DIR/nginx"
        NGINX_PID=$SERVER_PID
        ;;
    hummingbird)
        start_server "$PEER_PORT" "$OUT_DIR/$tag.server.log" "$PEER" --port "$PEER_PORT"
        ;;
    uws)
        start_server "$UWS_PORT" "$OUT_DIR/$tag.server.log" "$UWS_PEER" "$UWS_PORT"
        ;;
    esac
}

port_of() {
    case $1 in
    holdfast) echo "$HOLDFAST_PORT" ;;
    hummingbird) echo "$PEER_PORT" ;;
    uws) echo "$UWS_PORT" ;;
    holdfast-tls) echo "$HOLDFAST_TLS_PORT" ;;
    nginx-uws) echo "$NGINX_PORT" ;;
    esac
}

# server_pids NAME: every process whose CPU time a run against NAME charges (nginx: master, workers, the peer).
server_pids() {
    if [[ $1 == nginx-uws ]]; then
        local workers="" tries=0
        # The master listens before it forks its worker.
        until workers=$(pgrep -P "$NGINX_PID" | tr '\n' ' ') && [[ -n $workers ]] || ((++tries > 50)); do
            sleep 0.1
        done
        echo "$NGINX_PID $workers$UWS_BEHIND_PID"
    else
        echo "$SERVER_PID"
    fi
}

# stop NAME: stops what start NAME started.
stop() {
    stop_server
    if [[ $1 == nginx-uws ]]; then
        SERVER_PID=$UWS_BEHIND_PID
        UWS_BEHIND_PID=""
        stop_server
    fi
}

# processes_for CONNECTIONS: client processes for a run of that size.
processes_for() { if (($1 > SPLIT_ABOVE)); then echo "$CLIENT_PROCESSES"; else echo 1; fi; }

# cpu_ticks PID: the user and system CPU time of a running process so far, in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# threads_of PID: the thread count of a running process.
threads_of() { awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

# record SCENARIO NAME CONNECTIONS ROUND RC JSON TAG: notes one run and prints its summary line.
record() {
    local scenario=$1 name=$2 connections=$3 round=$4 rc=$5 json=$6 tag=$7 pattern
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$name" "$connections" "$round" "$rc" "$json" >>"$RUNS"
    case $scenario in
    echo) pattern='messages/s' ;;
    broadcast) pattern='deliveries/s' ;;
    handshakes | tls) pattern='per handshake' ;;
    *) pattern='per connection' ;;
    esac
    local line stalled
    line=$(grep -m1 "$pattern" "$OUT_DIR/$tag.bench.log" || true)
    # A broadcast round with whole seconds of nothing says how long each side waited for a CPU and what the
    # kernel's network lost meanwhile: starved, lossy, or a real stall.
    stalled=$(grep -E "stalled seconds|waiting for a CPU|kernel network in" "$OUT_DIR/$tag.bench.log" || true)
    echo "  $tag: exit $rc${line:+,$line}" >&2
    if [[ $stalled == *"stalled seconds"* ]]; then echo "$stalled" >&2; fi
}

# bench_args SCENARIO NAME CONNECTIONS: the holdfast-bench arguments of one run against server NAME.
bench_args() {
    local scenario=$1 name=$2 connections=$3 port
    port=$(port_of "$name")
    local common=(--connections "$connections" --processes "$(processes_for "$connections")"
        --connect-timeout "$CONNECT_TIMEOUT" --server-pid "$SERVER_PID")
    case $scenario in
    echo)
        echo echo --url "ws://127.0.0.1:$port/ws/echo" --size "$SIZE" --duration "$DURATION" "${common[@]}"
        ;;
    idle)
        echo idle --url "ws://127.0.0.1:$port/ws/echo" "${common[@]}"
        ;;
    handshakes | tls)
        local pid pids=() url="ws://127.0.0.1:$port/ws/echo"
        for pid in $(server_pids "$name"); do pids+=(--server-pid "$pid"); done
        [[ $scenario == tls ]] &&
            url="ws://127.0.0.1:$HOLDFAST_PORT/ws/echo --tls-share 1 --tls-url wss://127.0.0.1:$port/ws/echo"
        echo handshakes --url $url --connections "$connections" --concurrency "$HANDSHAKE_CONCURRENCY" \
            --processes "$(processes_for "$connections")" --connect-timeout "$CONNECT_TIMEOUT" "${pids[@]}"
        ;;
    broadcast)
        local load=(--publishers "$PUBLISHERS" --in-flight "$IN_FLIGHT" --duration "$DURATION"
            --warmup "$WARMUP" --drain-timeout "$DRAIN_TIMEOUT")
        [[ -n $BROADCAST_RATE ]] && load+=(--rate "$BROADCAST_RATE")
        [[ ${COUNT_SYSCALLS:-0} == 1 ]] && load+=(--count-server-syscalls)
        # The servers' own delivery counters, read at the window's edges (the Hummingbird peer keeps none).
        case $name in
        holdfast) load+=(--server-counts-url "http://127.0.0.1:$port/metrics") ;;
        uws) load+=(--server-counts-url "http://127.0.0.1:$port/metrics"
            --server-deliveries-metric uws_peer_deliveries_total) ;;
        esac
        if [[ $name == holdfast ]]; then
            echo broadcast --url "ws://127.0.0.1:$port/socket/websocket" --secret "$SECRET" --size "$BODY" \
                "${load[@]}" "${common[@]}"
        else
            echo broadcast --raw --url "ws://127.0.0.1:$port/ws/broadcast" --size "$RAW_SIZE" \
                "${load[@]}" "${common[@]}"
        fi
        ;;
    esac
}

# run SCENARIO NAME CONNECTIONS ROUND: one server start, one bench run of SCENARIO against it, stop.
run() {
    local scenario=$1 name=$2 connections=$3 round=$4
    local tag="$scenario-$name-c$connections-r$round"
    local json="$OUT_DIR/$tag.json" limit=$BENCH_TIMEOUT
    [[ $scenario != echo && $scenario != broadcast ]] && limit=$IDLE_TIMEOUT
    rm -f "$json"
    start "$name" "$tag"
    # The load average shows whether anything else competed for the cores during the run.
    local threads load
    threads=$(threads_of "$SERVER_PID")
    load=$(cut -d' ' -f1 /proc/loadavg)
    echo "  $tag: server $SERVER_PID runs $threads thread(s); load average $load" >&2
    local args rc=0
    read -r -a args <<<"$(bench_args "$scenario" "$name" "$connections")"
    local cpu_before cpu_after
    cpu_before=$(cpu_ticks "$SERVER_PID")
    timeout -k 5 "$limit" "${PRIORITY[@]}" taskset -c "$CLIENT_CPU" "$BENCH" "${args[@]}" --json "$json" \
        >"$OUT_DIR/$tag.bench.log" 2>&1 || rc=$?
    cpu_after=$(cpu_ticks "$SERVER_PID")
    stop "$name"
    # The idle run's server CPU covers its handshakes, the idle hold and the closes: charged per connection.
    [[ $scenario == idle && -f $json ]] && python3 - "$json" "$cpu_before" "$cpu_after" "$(getconf CLK_TCK)" <<'PY'
import json, sys
path, before, after, ticks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
with open(path) as f:
    report = json.load(f)
if report.get("connectionsOpened"):
    report["serverCPUMicrosecondsPerConnection"] = (after - before) * 1e6 / ticks / report["connectionsOpened"]
with open(path, "w") as f:
    json.dump(report, f)
PY
    record "$scenario" "$name" "$connections" "$round" "$rc" "$json" "$tag"
    sleep 1
}

echo "reports and logs: $OUT_DIR" >&2
for ((round = 1; round <= ROUNDS; round++)); do
    for scenario in echo broadcast idle handshakes tls; do
        servers="holdfast $PEERS"
        case $scenario in
        echo) sizes=$ECHO ;;
        broadcast) sizes=$BROADCAST ;;
        idle) sizes=$IDLE ;;
        handshakes) sizes=$HANDSHAKES ;;
        tls) sizes=$TLS_HANDSHAKES servers="holdfast-tls nginx-uws" ;;
        esac
        for connections in $sizes; do
            echo "$scenario, connections $connections, round $round/$ROUNDS" >&2
            for name in $servers; do run "$scenario" "$name" "$connections" "$round"; done
        done
    done
done

if [[ -n $BROADCAST_RATE ]]; then
    broadcast_load="open loop at $BROADCAST_RATE messages/s from $PUBLISHERS publishers"
else
    broadcast_load="closed loop, $PUBLISHERS publishers with $IN_FLIGHT messages in flight each"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(openssl version 2>/dev/null || true)" >&2
python3 benchmarks/peer_report.py "$RUNS" "$DURATION" "$SIZE" "$BODY" "$RAW_SIZE" "$broadcast_load" \
    "$HANDSHAKE_CONCURRENCY"
