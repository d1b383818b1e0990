#!/usr/bin/env bash
# Installs what building and testing Holdfast needs, only where it is missing:
# Debian packages (OpenSSL 3 and zlib headers, the openssl CLI and curl for interop tests) and the Python
# test clients (websockets, pytest); Chromium for the tests of the demo page and the dashboard; hiredis and
# redis-server for the cluster's Redis client and its live tests.
# Options: --with-python (the Python test clients from pip); --with-benchmarks (what benchmarks/ runs beside the
# server: g++ for the uWebSockets peer, nginx and HAProxy as TLS terminators in front of it, valgrind, strace,
# perf and heaptrack for the profiles).
set -euo pipefail

with_python=false
with_benchmarks=false
for option in "$@"; do
    case $option in
        --with-python) with_python=true ;;
        --with-benchmarks) with_benchmarks=true ;;
        *) echo "setup: unknown option $option (--with-python, --with-benchmarks)" >&2; exit 2 ;;
    esac
done

apt_packages=(libssl-dev zlib1g-dev libsqlite3-dev openssl curl pkg-config chromium libhiredis-dev redis-server)
if $with_benchmarks; then
    apt_packages+=(g++ nginx-light haproxy valgrind strace linux-perf heaptrack)
fi
missing=()
for package in "${apt_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=""
    [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
fi

if $with_python; then
    if ! python3 -c 'import websockets, pytest, phoenix_channels_python_client' >/dev/null 2>&1; then
        echo "setup: installing Python test clients"
        python3 -m pip install -q -r Tests/EndToEnd/requirements.txt
    fi
fi
