# Server control shared by the side-by-side benchmark scripts (sourced, not run). Expects OUT_DIR, SERVER_CPU,
# START_TIMEOUT and STOP_TIMEOUT to be set; defines RUNS, SERVER_PID, port_open, alive, start_server, stop_server
# and traps that stop the server on exit.

# Both sides hold one descriptor per connection (plus a few).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

mkdir -p "$OUT_DIR"
RUNS="$OUT_DIR/runs.tsv"
: >"$RUNS"

SERVER_PID=""
# NICENESS (optional): the servers and the load generator each run in a session of their own whose scheduler
# autogroup has this niceness (negative needs root). With autogroups (kernel.sched_autogroup_enabled=1), every
# session gets an equal share of the CPUs whatever its processes' nice values, so a benchmark sharing one session
# with its script is starved by every other session on a busy machine. Unset: as before (the script's session).
PRIORITY=()
if [[ -n ${NICENESS:-} ]]; then
    # shellcheck disable=SC2016  # expanded by the inner shell
    PRIORITY=(setsid bash -c 'echo "$0" >/proc/self/autogroup 2>/dev/null || true; exec nice -n "$0" "$@"' "$NICENESS")
fi

port_open() { (: <>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True while `pid` exists and has not exited (a zombie counts as exited).
alive() {
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $state != Z* ]]
}

# stop_server: SIGTERM the running server, SIGKILL it after STOP_TIMEOUT, then reap it.
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    local pid=$SERVER_PID deadline=$((SECONDS + STOP_TIMEOUT))
    SERVER_PID=""
    kill -TERM "$pid" 2>/dev/null || true
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if alive "$pid"; then
        echo "  server $pid ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
trap stop_server EXIT
trap 'exit 130' INT TERM

# start_server PORT LOG COMMAND...: runs COMMAND pinned to SERVER_CPU and waits until PORT accepts.
start_server() {
    local port=$1 log=$2
    shift 2
    if port_open "$port"; then
        echo "port $port is already in use; stop whatever listens there first" >&2
        exit 1
    fi
    "${PRIORITY[@]}" taskset -c "$SERVER_CPU" "$@" >"$log" 2>&1 &
    SERVER_PID=$!
    local deadline=$((SECONDS + START_TIMEOUT))
    until port_open "$port"; do
        if ! alive "$SERVER_PID"; then
            echo "server exited during start-up; its log ($log):" >&2
            cat "$log" >&2
            SERVER_PID=""
            exit 1
        fi
        if ((SECONDS >= deadline)); then
            echo "server did not listen on port $port within ${START_TIMEOUT}s; its log ($log):" >&2
            cat "$log" >&2
            exit 1
        fi
        sleep 0.1
    done
}
