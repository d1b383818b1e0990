#!/usr/bin/env bash
# Runs every Holdfast test on a fresh machine: installs what is missing, builds, runs the Swift unit tests and
# the end-to-end tests (a real server process on loopback, real third-party clients), then every libFuzzer target
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

echo "== fuzzing (${FUZZ_SECONDS:-10} s per target)"
scripts/fuzz.sh all "${FUZZ_SECONDS:-10}"
