#!/bin/sh
# Builds chat handlers 2.0.0 and swaps them into the running Holdfast server without disconnecting anyone.
# Arguments go to `holdfast upgrade` (e.g. --config config/holdfast.toml, --admin 127.0.0.1:4001, --token T).
# HOLDFAST is the holdfast binary to call (default: the repository's debug build).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
plugin="$("$here/build.sh" | tail -n 1)"
holdfast="${HOLDFAST:-$here/../../.build/debug/holdfast}"
exec "$holdfast" upgrade --handlers "$plugin" "$@"
