#!/usr/bin/env bash
# Runs every Holdfast test on a fresh machine: installs what is missing, builds, runs the Swift unit tests and
# the end-to-end tests (a real server process on loopback, real third-party clients), a two-minute soak (churn,
# handler swaps and binary upgrades under chat traffic; fails on any loss or on RSS growth), then every libFuzzer target
# for a few seconds (FUZZ_SECONDS, default 10; 0 replays the committed corpora only).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-python

echo "== building"
swift build --build-tests

echo "== unit tests"
swift test --skip-build

echo "== end-to-end tests"
HOLDFAST_BIN="$(swift build --show-bin-path)/holdfast" python3 -m pytest -q Tests/EndToEnd

echo "== soak (2 minutes, 1,000 users; scripts/soak.sh, docs/soak.md)"
plugin="$(sh Examples/ChatHandlersV2/build.sh | tail -n 1)"
scripts/soak.sh "$(swift build --show-bin-path)/holdfast" "$plugin" --duration 120s --users 1000 --rooms 50 \
    --swap-every 40s --upgrade-every 40s --sample-every 10s

echo "== fuzzing (${FUZZ_SECONDS:-10} s per target)"
scripts/fuzz.sh all "${FUZZ_SECONDS:-10}"
