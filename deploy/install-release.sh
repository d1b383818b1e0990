#!/usr/bin/env bash
# Installs a Holdfast release and upgrades the running server to it in place.
#
#   install-release.sh [--root DIR] [--config PATH] [--state-dir DIR] [--no-upgrade] [--keep N] [--force]
#                      BUILD_DIR_OR_TARBALL VERSION
#
# Layout under --root (default /opt/holdfast):
#   releases/VERSION/holdfast                  the server binary (finds the libraries next to itself: RUNPATH $ORIGIN)
#   releases/VERSION/libHoldfastHandlerAPI.so  the plugin interface, shared by the binary and the plugins
#   releases/VERSION/libChatHandlers.so        the default chat handler plugin
#   current -> releases/VERSION                what the service starts and what an upgrade switches to
#
# Steps: copy the files into releases/VERSION (a tarball from make-release.sh may add the Swift runtime),
# check that the binary runs there, switch `current` atomically, then ask the running server for a
# whole-binary upgrade to releases/VERSION/holdfast (`holdfast upgrade --binary`, which prints the server's
# answer). When the server refuses or the new process fails, the old process goes on serving: `current` is
# switched back and the script exits non-zero with the server's reason. Finally releases beyond --keep are
# removed, oldest first, never the current or the previous one.
set -euo pipefail

program=${0##*/}
required_files=(holdfast libHoldfastHandlerAPI.so libChatHandlers.so)

usage() {
    cat <<EOF
usage: $program [options] BUILD_DIR_OR_TARBALL VERSION

  BUILD_DIR_OR_TARBALL  a build directory (e.g. .build/release) holding ${required_files[*]},
                        or a tarball made by make-release.sh
  VERSION               the release's name under ROOT/releases (letters, digits, . _ + -)

options:
  --root DIR        installation root (default /opt/holdfast)
  --config PATH     configuration file the server runs with (admin address and token for the upgrade call)
  --state-dir DIR   the server's state directory, where the CLI finds the admin token
                    (sets HOLDFAST_STATE_DIR for the upgrade call; the systemd unit uses /var/lib/holdfast)
  --no-upgrade      only install and switch 'current'; do not touch the running server
  --keep N          releases to keep, newest first (default 5); the current and previous one always stay
  --force           replace an installed VERSION (never the one 'current' points to)
  -h, --help        this text
EOF
}

say() { echo "$program: $*"; }
die() {
    echo "$program: $*" >&2
    exit 1
}

root=/opt/holdfast
config=""
state_dir=""
upgrade=1
keep=5
force=0
positional=()
while (($#)); do
    case $1 in
        --root) root=${2:?--root needs a directory}; shift 2 ;;
        --config) config=${2:?--config needs a path}; shift 2 ;;
        --state-dir) state_dir=${2:?--state-dir needs a directory}; shift 2 ;;
        --no-upgrade) upgrade=0; shift ;;
        --keep) keep=${2:?--keep needs a number}; shift 2 ;;
        --force) force=1; shift ;;
        -h | --help) usage; exit 0 ;;
        --) shift; positional+=("$@"); break ;;
        -*) usage >&2; die "unknown option $1" ;;
        *) positional+=("$1"); shift ;;
    esac
done
((${#positional[@]} == 2)) || { usage >&2; exit 2; }
source=${positional[0]}
version=${positional[1]}

# The version becomes a directory name and a symlink target: no slashes, no leading dot, nothing to quote.
[[ $version =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || die "invalid version '$version' (letters, digits, . _ + - only)"
[[ $keep =~ ^[1-9][0-9]*$ ]] || die "--keep must be a positive number, not '$keep'"
[[ -n $config && ! -f $config ]] && die "configuration file $config not found"

mkdir -p "$root/releases"
root=$(cd "$root" && pwd -P)
releases=$root/releases
current_link=$root/current

# One install at a time: two would race on `current` and on pruning.
exec 9>"$root/.install.lock"
flock -n 9 || die "another install is running under $root"

work=$(mktemp -d)
staging=""
cleanup() {
    rm -rf "$work"
    [[ -n $staging ]] && rm -rf "$staging"
    return 0
}
trap cleanup EXIT

# Where the release's files are: the build directory itself, or the tarball's (single) top directory.
files=()
if [[ -d $source ]]; then
    from=$source
    files=("${required_files[@]}")
elif [[ -f $source ]]; then
    tar -xzf "$source" -C "$work" || die "cannot unpack $source"
    from=$work
    if [[ ! -e $from/holdfast ]]; then
        tops=("$work"/*)
        if ((${#tops[@]} != 1)) || [[ ! -d ${tops[0]} ]]; then
            die "$source holds neither the release files nor one directory of them"
        fi
        from=${tops[0]}
    fi
    # Everything the tarball ships goes along (make-release.sh --with-swift-runtime adds the Swift runtime).
    while IFS= read -r name; do
        files+=("$name")
    done < <(find "$from" -mindepth 1 -maxdepth 1 -type f -printf '%f\n' | sort)
else
    die "$source is neither a build directory nor a tarball"
fi
for name in "${required_files[@]}"; do
    [[ -f $from/$name ]] || die "$source has no $name (build with deploy/make-release.sh)"
done

previous=""
if [[ -L $current_link ]]; then
    previous=$(basename "$(readlink "$current_link")")
fi
target=$releases/$version
if [[ -e $target ]]; then
    ((force)) || die "release $version is already installed at $target; pass --force to replace it"
    [[ $version == "$previous" ]] && die "release $version is the current one; install the new build as another version"
fi

# Copy into a hidden staging directory and check the binary there, so releases/VERSION only ever appears whole.
staging=$(mktemp -d "$releases/.$version.partial.XXXXXX")
for name in "${files[@]}"; do
    mode=0644
    [[ $name == holdfast ]] && mode=0755
    install -m "$mode" "$from/$name" "$staging/$name"
done
chmod 0755 "$staging"
if ! reported=$("$staging/holdfast" --version 2>&1); then
    die "the new binary does not run from the release directory: $reported"
fi
say "release $version: holdfast $reported"
if [[ -e $target ]]; then
    replaced=$(mktemp -d "$releases/.$version.replaced.XXXXXX")
    mv -T "$target" "$replaced/old"
    mv -T "$staging" "$target"
    rm -rf "$replaced"
else
    mv -T "$staging" "$target"
fi
staging=""

# Points `current` at a release: a new link renamed over the old one, so readers see one or the other.
switch_current() {
    local temporary=$root/.current.$$
    ln -sfn "releases/$1" "$temporary"
    mv -T "$temporary" "$current_link"
}

# Removes the oldest releases beyond --keep; the current and the previous one always stay.
prune() {
    local current=$1 previous=$2 index=0 name
    while IFS= read -r name; do
        index=$((index + 1))
        ((index <= keep)) && continue
        [[ $name == "$current" || $name == "$previous" ]] && continue
        say "removing old release $name"
        rm -rf "${releases:?}/$name"
    done < <(find "$releases" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %f\n' |
        sort -rn | cut -d' ' -f2-)
}

switch_current "$version"
say "current -> releases/$version${previous:+ (was $previous)}"

if [[ -z $previous ]]; then
    say "first release under $root: nothing runs from here yet; start the service (systemctl start holdfast)"
elif ((upgrade)); then
    command=("$target/holdfast" upgrade --binary "$target/holdfast")
    [[ -n $config ]] && command+=(--config "$config")
    say "upgrading the running server to $target/holdfast"
    [[ -n $state_dir ]] && export HOLDFAST_STATE_DIR=$state_dir
    status=0
    answer=$("${command[@]}" 2>"$work/errors") || status=$?
    [[ -n $answer ]] && echo "$answer"
    if ((status != 0)); then
        switch_current "$previous"
        {
            echo "$program: upgrade to $version failed; current -> releases/$previous again"
            if [[ -n $answer ]]; then
                echo "$program: the server did not upgrade, its old process goes on serving; it answered: $answer"
            else
                echo "$program: no answer from the server: $(cat "$work/errors")"
                echo "$program: if no server ran, nothing changed; else 'holdfast status' tells which process serves"
            fi
            echo "$program: releases/$version stays installed; reinstall it with --force or remove it"
        } >&2
        exit 1
    fi
    say "upgraded: the server now runs releases/$version"
else
    say "not upgraded (--no-upgrade): 'systemctl reload holdfast' runs it without dropping connections"
fi

prune "$version" "$previous"
