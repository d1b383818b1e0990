#!/usr/bin/env bash
# Builds benchmarks/uws-peer.cpp against uWebSockets and uSockets at pinned commits, outside the repository.
#
# The sources come from existing clones (no network access is assumed): UWS_SOURCE and USOCKETS_SOURCE name a
# clone or bare git directory of each project that contains the pinned commits below. They are cloned into
# PEERS_DIR, checked out at the pins, and compiled there without TLS or compression (plain ws://, as the
# benchmarks use). Prints the path of the binary; does nothing but print it when it is already built.
#
# Usage:
#   UWS_SOURCE=/path/to/uWebSockets USOCKETS_SOURCE=/path/to/uSockets benchmarks/build-uws-peer.sh
#
# Settings from the environment:
#   UWS_SOURCE       a uWebSockets clone (default: PEERS_DIR/uWebSockets.git if present)
#   USOCKETS_SOURCE  a uSockets clone (default: PEERS_DIR/uSockets.git if present)
#   PEERS_DIR        where the checkouts and the binary go (default: $HOLDFAST_PEERS_DIR, else
#                    ~/.cache/holdfast-peers)
#   CXX, CC          compilers (default g++ and gcc)
set -euo pipefail
cd "$(dirname "$0")/.."

# uWebSockets "Run fragment test in CI" and the uSockets commit it names as its submodule.
UWS_COMMIT=66dcff3dd48f0c19dd1703426365d062039321d0
USOCKETS_COMMIT=86097c490263ab662d62e8e7b541390bdec7d149

PEERS_DIR=${PEERS_DIR:-${HOLDFAST_PEERS_DIR:-$HOME/.cache/holdfast-peers}}
UWS_SOURCE=${UWS_SOURCE:-$PEERS_DIR/uWebSockets.git}
USOCKETS_SOURCE=${USOCKETS_SOURCE:-$PEERS_DIR/uSockets.git}
CXX=${CXX:-g++}
CC=${CC:-gcc}
PEER_SOURCE=$PWD/benchmarks/uws-peer.cpp

work="$PEERS_DIR/uws-${UWS_COMMIT:0:12}-${USOCKETS_COMMIT:0:12}"
binary="$work/uws-peer"
if [[ -x $binary && $binary -nt $PEER_SOURCE ]]; then
    echo "$binary"
    exit 0
fi

# checkout SOURCE COMMIT DIR: a clean clone of SOURCE at COMMIT in DIR.
checkout() {
    local source=$1 commit=$2 dir=$3
    [[ -d $source ]] || { echo "$source does not exist: set UWS_SOURCE and USOCKETS_SOURCE" >&2; exit 1; }
    if [[ ! -d $dir/.git ]]; then
        rm -rf "$dir"
        git clone --quiet --no-checkout "$source" "$dir" >&2
    fi
    git -C "$dir" -c advice.detachedHead=false checkout --quiet --force "$commit" >&2 \
        || { echo "$source has no commit $commit" >&2; exit 1; }
}

mkdir -p "$work"
checkout "$UWS_SOURCE" "$UWS_COMMIT" "$work/uWebSockets"
checkout "$USOCKETS_SOURCE" "$USOCKETS_COMMIT" "$work/uSockets"

# uSockets as uWebSockets' own build makes it (-O3, LTO, no TLS), then the peer linked with it.
objects="$work/usockets-objects"
rm -rf "$objects"
mkdir -p "$objects"
(cd "$objects" && "$CC" -DLIBUS_NO_SSL -std=c11 -O3 -flto -I"$work/uSockets/src" -c \
    "$work"/uSockets/src/*.c "$work"/uSockets/src/eventing/*.c "$work"/uSockets/src/crypto/*.c) >&2
"$CXX" -std=c++20 -O3 -flto -DLIBUS_NO_SSL -DUWS_NO_ZLIB -I"$work/uWebSockets/src" -I"$work/uSockets/src" \
    "$PEER_SOURCE" "$objects"/*.o -o "$binary.tmp" >&2
mv "$binary.tmp" "$binary"
echo "$binary"
