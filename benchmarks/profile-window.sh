# Shared by the profile-*.sh scripts (sourced after server-control.sh): count instructions (callgrind) or system
# calls (strace) in a window of steady load and divide them by what the server did meanwhile.
#
# The sourcing script sets MODE (callgrind|strace), WINDOW (seconds), OUT_DIR and, once the server runs,
# SERVER_PID (server-control.sh's start_server sets it).

# Bytes sent so far on the server's side of its established connections on port $1.
bytes_sent_on_port() {
    ss -tinH state established "sport = :$1" | { grep -o 'bytes_sent:[0-9]*' || true; } |
        awk -F: '{ sum += $2 } END { printf "%d\n", sum }'
}

# Copies the server $1 and the .so files beside it into $2 without debug info and prints the copy's path.
# Valgrind 3.19 cannot read the DWARF 5 the Swift toolchain emits; the symbols stay, so the profile is by function.
stripped_copy() {
    local server=$1 directory=$2 file
    mkdir -p "$directory"
    for file in "$server" "$(dirname "$server")"/*.so; do
        [[ -e $file ]] && objcopy --strip-debug "$file" "$directory/$(basename "$file")"
    done
    echo "$directory/$(basename "$server")"
}

# Sets the array `launcher` to the valgrind command a callgrind run starts the server under (collection off until
# the window).
set_callgrind_launcher() {
    launcher=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT_DIR/callgrind.out")
}

# Measures one window: runs the counter command $1 (prints a number) before and after WINDOW seconds with
# collection on (callgrind, dumped at the end) or with `strace -c -f` attached (strace). Sets WINDOW_BEFORE and
# WINDOW_AFTER.
measure_window() {
    local counter=$1 strace_pid
    if [[ $MODE == callgrind ]]; then
        callgrind_control -z "$SERVER_PID" >/dev/null
        callgrind_control -i on "$SERVER_PID" >/dev/null
        WINDOW_BEFORE=$($counter)
        sleep "$WINDOW"
        WINDOW_AFTER=$($counter)
        callgrind_control -i off "$SERVER_PID" >/dev/null
        callgrind_control -d "$SERVER_PID" >/dev/null
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
    else
        calls=$(awk '$NF == "total" { print $4 }' "$OUT_DIR/strace.txt")
        echo "system calls in the window: $calls"
        awk -v s="$calls" -v c="$count" -v u="$unit" 'BEGIN { if (c > 0) printf "system calls per %s: %.4f\n", u, s / c }'
        echo "strace summary: $OUT_DIR/strace.txt"
    fi
}
