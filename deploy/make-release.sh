#!/usr/bin/env bash
# Builds Holdfast for release and packs what a server host needs into one tarball:
#
#   make-release.sh [--from BUILD_DIR] [--output DIR] [--with-swift-runtime] [VERSION]
#
# The tarball holdfast-VERSION-linux-ARCH.tar.gz holds one directory of that name with the binary `holdfast`,
# the plugin interface libHoldfastHandlerAPI.so and the default handler plugin libChatHandlers.so; install it
# with deploy/install-release.sh. VERSION defaults to what the binary reports (`holdfast --version`).
set -euo pipefail

program=${0##*/}
release_files=(holdfast libHoldfastHandlerAPI.so libChatHandlers.so)

usage() {
    cat <<EOF
usage: $program [options] [VERSION]

options:
  --from DIR             pack this build directory instead of building (e.g. .build/release)
  --output DIR           where the tarball goes (default .build/dist in the repository)
  --with-swift-runtime   also pack the Swift runtime libraries the binary and plugin load, for hosts
                         without a Swift toolchain (found next to the binary through RUNPATH \$ORIGIN)
  -h, --help             this text
EOF
}

die() {
    echo "$program: $*" >&2
    exit 1
}

repository=$(cd "$(dirname "$0")/.." && pwd)
from=""
output=$repository/.build/dist
with_runtime=0
version=""
while (($#)); do
    case $1 in
        --from) from=${2:?--from needs a directory}; shift 2 ;;
        --output) output=${2:?--output needs a directory}; shift 2 ;;
        --with-swift-runtime) with_runtime=1; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) usage >&2; die "unknown option $1" ;;
        *)
            [[ -z $version ]] || { usage >&2; exit 2; }
            version=$1
            shift
            ;;
    esac
done

if [[ -z $from ]]; then
    # One product per call: `swift build` takes a single --product.
    (
        cd "$repository"
        swift build -c release --product holdfast
        swift build -c release --product ChatHandlers
    ) >&2
    from=$(cd "$repository" && swift build -c release --show-bin-path)
fi
for name in "${release_files[@]}"; do
    [[ -f $from/$name ]] || die "$from has no $name"
done
[[ -n $version ]] || version=$("$from/holdfast" --version)
[[ $version =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || die "invalid version '$version' (letters, digits, . _ + - only)"

name=holdfast-$version-linux-$(uname -m)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/$name"
for file in "${release_files[@]}"; do
    cp "$from/$file" "$work/$name/$file"
done

if ((with_runtime)); then
    # The Swift libraries both objects load from the toolchain (its lib/swift/linux directory), copied as
    # regular files; system libraries (libc, OpenSSL, SQLite, zlib) come from the host's packages.
    runtime_paths=$(ldd "$from/holdfast" "$from/libChatHandlers.so" |
        awk '$2 == "=>" && $3 ~ /\/lib\/swift\/linux\// { print $3 }' | sort -u)
    [[ -n $runtime_paths ]] || die "found no Swift runtime libraries in the dependencies of $from/holdfast"
    while IFS= read -r path; do
        [[ -e $work/$name/${path##*/} ]] || cp -L "$path" "$work/$name/${path##*/}"
    done <<<"$runtime_paths"
fi

mkdir -p "$output"
tarball=$output/$name.tar.gz
tar -czf "$tarball" -C "$work" --owner=0 --group=0 --numeric-owner "$name"
echo "$tarball"
