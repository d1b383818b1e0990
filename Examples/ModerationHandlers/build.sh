#!/bin/sh
# Builds the Holdfast moderation handlers (release) and prints the absolute path of libModerationHandlers.so as
# the last line of its output, ready for `holdfast upgrade --handlers PATH`. SCRATCH overrides the build directory.
set -eu
cd "$(dirname "$0")"
scratch="${SCRATCH:-.build}"
swift build -c release --scratch-path "$scratch" --product ModerationHandlers >&2
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)"
test -f "$bin/libModerationHandlers.so"
echo "$bin/libModerationHandlers.so"
