# Shared by the profile-*.sh scripts (sourced after server-control.sh): count instructions (callgrind), system
# calls (strace) or CPU time, context switches and page faults with a sampled call-graph profile, kernel included
# (perf: software events only, so it works where the CPU's hardware counters are not exposed) in a window of
# steady load and divide them by what the server did meanwhile.
#
# syscalls: `perf stat` counts the system calls named in SYSCALL_EVENTS (tracepoints) and the CPU time at full speed,
# where strace stops the server at every call and so changes what it measures.
#
# The sourcing script sets MODE (callgrind|strace|perf|syscalls), WINDOW (seconds), OUT_DIR and, once the server runs,
# SERVER_PID (server-control.sh's start_server sets it).

# Bytes sent so far on the server's side of its established connections on port $1.
bytes_sent_on_port() {
    ss -tinH state established "sport = :$1" | { grep -o 'bytes_sent:[0-9]*' || true; } |
        awk -F: '{ sum += $2 } END { printf "%d\n", sum }'
}

# Copies the server $1 and the .so files beside it into $2 without debug info and prints the copy's path.
# Valgrind 3.19 cannot read the DWARF 5 the Swift toolchain emits; the symbols stay, so the profile is by function.
SYSCALL_EVENTS=${SYSCALL_EVENTS:-task-clock,syscalls:sys_enter_sendto,syscalls:sys_enter_sendmsg,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_pwait,syscalls:sys_enter_fdatasync,syscalls:sys_enter_fsync,syscalls:sys_enter_read,syscalls:sys_enter_recvfrom}

stripped_copy() {
    local server=$1 directory=$2 file
    mkdir -p "$directory"
    for file in "$server" "$(dirname "$server")"/*.so; do
        [[ -e $file ]] && objcopy --strip-debug "$file" "$directory/$(basename "$file")"
    done
    echo "$directory/$(basename "$server")"
}

# Sets the array `launcher` to the valgrind command a callgrind run starts the server under (collection off until
# the window). CALLGRIND_OPTIONS adds options, e.g. "--cache-sim=yes" for first- and last-level cache misses.
set_callgrind_launcher() {
    local extra
    read -r -a extra <<<"${CALLGRIND_OPTIONS:-}"
    launcher=(valgrind --tool=callgrind "${extra[@]}" --instr-atstart=no --callgrind-out-file="$OUT_DIR/callgrind.out")
}

# Measures one window: runs the counter command $1 (prints a number) before and after WINDOW seconds with
# collection on (callgrind, dumped at the end) or with `strace -c -f` attached (strace). Sets WINDOW_BEFORE and
# WINDOW_AFTER.
measure_window() {
    local counter=$1 strace_pid stat_pid
    if [[ $MODE == callgrind ]]; then
        callgrind_control -z "$SERVER_PID" >/dev/null
        callgrind_control -i on "$SERVER_PID" >/dev/null
        WINDOW_BEFORE=$($counter)
        sleep "$WINDOW"
        WINDOW_AFTER=$($counter)
        callgrind_control -i off "$SERVER_PID" >/dev/null
        callgrind_control -d "$SERVER_PID" >/dev/null
    elif [[ $MODE == perf ]]; then
        WINDOW_BEFORE=$($counter)
        # Per thread: the event loop, the history writer and the rest show apart.
        perf stat --per-thread -e task-clock,context-switches,cpu-migrations,page-faults -p "$SERVER_PID" \
            -o "$OUT_DIR/perf-stat.txt" -- sleep "$WINDOW" &
        stat_pid=$!
        perf record -q -e cpu-clock -g -p "$SERVER_PID" -o "$OUT_DIR/perf.data" -- sleep "$WINDOW" \
            2>"$OUT_DIR/perf-record.log" &
        wait "$stat_pid" $! || true
        WINDOW_AFTER=$($counter)
    elif [[ $MODE == syscalls ]]; then
        WINDOW_BEFORE=$($counter)
        perf stat -e "$SYSCALL_EVENTS" -p "$SERVER_PID" -o "$OUT_DIR/perf-syscalls.txt" -- sleep "$WINDOW"
        WINDOW_AFTER=$($counter)
    else
        WINDOW_BEFORE=$($counter)
        strace -c -f -p "$SERVER_PID" -o "$OUT_DIR/strace.txt" &
        strace_pid=$!
        sleep "$WINDOW"
        kill -INT "$strace_pid"
        wait "$strace_pid" || true
        WINDOW_AFTER=$($counter)
    fi
}

# Prints the window's totals per unit: $1 the count of units in the window, $2 their name ("delivery", "echo").
report_window() {
    local count=$1 unit=$2 profile total calls
    if [[ $MODE == callgrind ]]; then
        profile="$OUT_DIR/callgrind.out.1"  # the dump taken at the end of the window
        callgrind_annotate --inclusive=no "$profile" >"$OUT_DIR/annotate.txt"
        callgrind_annotate --inclusive=yes "$profile" >"$OUT_DIR/annotate-inclusive.txt"
        total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$OUT_DIR/annotate.txt")
        echo "instructions in the window: $total"
        awk -v t="$total" -v c="$count" -v u="$unit" 'BEGIN { if (c > 0) printf "instructions per %s: %.0f\n", u, t / c }'
        echo "profile: $profile (annotated: $OUT_DIR/annotate.txt)"
    elif [[ $MODE == perf ]]; then
        # Totals over the threads: task-clock in ms, then the counts.
        awk -v c="$count" -v u="$unit" '
            $3 == "msec" && $4 == "task-clock" { gsub(",", "", $2); ms += $2 }
            $3 == "context-switches" { gsub(",", "", $2); switches += $2 }
            $3 == "cpu-migrations" { gsub(",", "", $2); migrations += $2 }
            $3 == "page-faults" { gsub(",", "", $2); faults += $2 }
            END {
                printf "task-clock in the window: %.1f ms; context switches: %d; migrations: %d; page faults: %d\n", ms, switches, migrations, faults
                if (c > 0) printf "per %s: %.4f CPU-us, %.6f context switches, %.6f page faults\n", u, ms * 1000 / c, switches / c, faults / c
            }' "$OUT_DIR/perf-stat.txt"
        # Flat (self) and inclusive (children) profiles by symbol, the split by object, and the call graph.
        perf report -i "$OUT_DIR/perf.data" --no-children -g none --sort dso,symbol --stdio 2>/dev/null |
            grep -v '^#' | grep -v '^$' | cut -c1-160 >"$OUT_DIR/perf-report.txt" || true
        perf report -i "$OUT_DIR/perf.data" --children -g none --sort symbol --stdio 2>/dev/null |
            grep -v '^#' | grep -v '^$' | cut -c1-160 >"$OUT_DIR/perf-inclusive.txt" || true
        perf report -i "$OUT_DIR/perf.data" --no-children -g none --sort comm,dso --stdio 2>/dev/null |
            grep -v '^#' | grep -v '^$' | cut -c1-120 >"$OUT_DIR/perf-by-thread.txt" || true
        perf report -i "$OUT_DIR/perf.data" --no-children --sort symbol --stdio 2>/dev/null \
            >"$OUT_DIR/perf-callgraph.txt" || true
        echo "per-thread counts: $OUT_DIR/perf-stat.txt; profiles: $OUT_DIR/perf-{report,inclusive,by-thread,callgraph}.txt"
    elif [[ $MODE == syscalls ]]; then
        # One line per event: its count in the window and per unit.
        awk -v c="$count" -v u="$unit" '
            $2 == "msec" && $3 == "task-clock" { gsub(",", "", $1); printf "task-clock: %.1f ms, %.4f CPU-us per %s\n", $1, $1 * 1000 / c, u }
            $2 ~ /^syscalls:sys_enter_/ { gsub(",", "", $1); name = $2; sub("syscalls:sys_enter_", "", name)
                printf "%s: %d, %.5f per %s\n", name, $1, $1 / c, u }' "$OUT_DIR/perf-syscalls.txt"
        echo "perf stat: $OUT_DIR/perf-syscalls.txt"
    else
        calls=$(awk '$NF == "total" { print $4 }' "$OUT_DIR/strace.txt")
        echo "system calls in the window: $calls"
        awk -v s="$calls" -v c="$count" -v u="$unit" 'BEGIN { if (c > 0) printf "system calls per %s: %.4f\n", u, s / c }'
        echo "strace summary: $OUT_DIR/strace.txt"
    fi
}
