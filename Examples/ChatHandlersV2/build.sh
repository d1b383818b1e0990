#!/bin/sh
# Builds Holdfast chat handlers 2.0.0 (release) and prints the absolute path of libChatHandlers.so as the
# last line of its output, ready for an upgrade of a running server.
set -eu
cd "$(dirname "$0")"
swift build -c release --product ChatHandlers >&2
bin="$(swift build -c release --show-bin-path)"
test -f "$bin/libChatHandlers.so"
echo "$bin/libChatHandlers.so"
