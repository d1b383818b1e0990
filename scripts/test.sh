#!/usr/bin/env bash
# Runs every Holdfast test on a fresh machine: installs what is missing, builds, runs the Swift unit tests and
# the end-to-end tests (a real server process on loopback, real third-party clients).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-python

echo "== building"
swift build --build-tests

echo "== unit tests"
swift test --skip-build

echo "== end-to-end tests"
HOLDFAST_BIN="$(swift build --show-bin-path)/holdfast" python3 -m pytest -q Tests/EndToEnd
