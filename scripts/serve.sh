#!/usr/bin/env bash
# Starts Holdfast on a fresh machine: installs missing build dependencies, builds, runs `holdfast serve`.
# Extra arguments go to `holdfast serve` (e.g. --config config/holdfast.toml, --port 4000).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build -c release --product holdfast
swift build -c release --product ChatHandlers   # the handler plugin holdfast loads from next to itself
exec .build/release/holdfast serve "$@"
