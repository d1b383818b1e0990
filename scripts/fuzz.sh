#!/usr/bin/env bash
# Builds Holdfast's libFuzzer targets (the separate package in Fuzz/, with -sanitize=fuzzer,address, into
# .build-fuzz) and runs one target or all of them. See docs/fuzzing.md.
#
#   scripts/fuzz.sh TARGET|all SECONDS
#
# TARGET: http frames deflate phoenix tls handoff handler-state config. SECONDS: how long each target runs;
# 0 only replays the committed seeds (Fuzz/Corpus/TARGET) and what earlier runs found. New inputs go to
# .build-fuzz/corpus/TARGET, never to the committed seeds; a crash is saved as .build-fuzz/artifacts/TARGET/crash-*
# and the script fails. Extra libFuzzer flags can be given in FUZZ_FLAGS (e.g. FUZZ_FLAGS=-jobs=2).
set -euo pipefail
cd "$(dirname "$0")/.."

declare -A executables=(
    [http]=FuzzHTTP [frames]=FuzzWebSocket [deflate]=FuzzDeflate [phoenix]=FuzzPhoenix [tls]=FuzzTLS
    [handoff]=FuzzHandoff [handler-state]=FuzzHandlerState [config]=FuzzConfig
)
# Largest input per target: the TLS target decrypts each input once per split point.
declare -A max_lengths=([tls]=512)
# TOMLKit 0.6 leaks the key arrays it returns and its error record on a parse failure (a few hundred bytes per
# configuration load, outside Holdfast); leak detection there would stop every run at the first input.
declare -A asan_options=([config]=detect_leaks=0)
all=(http frames deflate phoenix tls handoff handler-state config)

usage() {
    echo "usage: $0 TARGET|all SECONDS (TARGET: ${all[*]})" >&2
    exit 2
}
[[ $# -eq 2 && $2 =~ ^[0-9]+$ ]] || usage
if [[ $1 == all ]]; then
    targets=("${all[@]}")
elif [[ -n ${executables[$1]+set} ]]; then
    targets=("$1")
else
    usage
fi
seconds=$2
scratch=.build-fuzz

echo "== building fuzz targets (${targets[*]})"
build=(swift build --package-path Fuzz --scratch-path "$scratch" -c debug -Xswiftc "-sanitize=fuzzer,address")
if [[ ${#targets[@]} -eq 1 ]]; then build+=(--product "${executables[${targets[0]}]}"); fi
mkdir -p "$scratch"
# gold warns about every ASan helper symbol it cannot export; show the log only when the build fails. A second
# attempt covers SwiftPM's stale build description after a source file of the main package was renamed.
if ! "${build[@]}" >"$scratch/build.log" 2>&1 && ! "${build[@]}" >"$scratch/build.log" 2>&1; then
    grep -v "Cannot export local symbol" "$scratch/build.log" >&2
    exit 1
fi
bin="$(swift build --package-path Fuzz --scratch-path "$scratch" -c debug --show-bin-path)"

failed=()
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target"
    artifacts="$scratch/artifacts/$target/"
    log="$scratch/logs/$target.log"
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    flags=(-max_len="${max_lengths[$target]:-4096}" -timeout=20 -artifact_prefix="$artifacts" -print_final_stats=1)
    if [[ $seconds -eq 0 ]]; then
        flags+=(-runs=0)
    else
        flags+=(-max_total_time="$seconds")
    fi
    # shellcheck disable=SC2206 # FUZZ_FLAGS is a list of flags, split on spaces on purpose.
    flags+=(${FUZZ_FLAGS:-})
    # The first directory receives new inputs; the committed seeds are only read.
    if ASAN_OPTIONS="${asan_options[$target]:-}" "$bin/${executables[$target]}" "${flags[@]}" "$corpus" "Fuzz/Corpus/$target" >"$log" 2>&1; then
        runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
        echo "$target: ok, ${runs:-?} executions ($(find "$corpus" -type f | wc -l) inputs found, log: $log)"
    else
        echo "$target: FAILED (log: $log)"
        grep -E "^(==[0-9]+==ERROR|fuzz check failed|Fatal error|.*error:|SUMMARY|artifact_prefix|Test unit written)" "$log" | head -20 || true
        failed+=("$target")
    fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
    echo "failed: ${failed[*]}" >&2
    exit 1
fi
