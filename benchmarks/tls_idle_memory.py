#!/usr/bin/env python3
"""Resident memory per idle TLS WebSocket: opens N wss connections to a running Holdfast, waits for the server's
idle sweep, and reports (RSS after - RSS before) / N from /proc/PID/status.

    python3 benchmarks/tls_idle_memory.py --url wss://127.0.0.1:4443/ws/echo --server-pid PID --connections 2000
"""

import argparse
import asyncio
import ssl
import time

from websockets.asyncio.client import connect


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--hold", type=float, default=2.0)
    args = parser.parse_args()

    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    before = rss_kib(args.server_pid)
    started = time.monotonic()
    semaphore = asyncio.Semaphore(64)

    async def open_one():
        async with semaphore:
            ws = await connect(args.url, ssl=context, compression=None, ping_interval=None)
            await ws.send("hi")
            await ws.recv()
            return ws

    sockets = await asyncio.gather(*(open_one() for _ in range(args.connections)))
    elapsed = time.monotonic() - started
    await asyncio.sleep(args.hold)
    after = rss_kib(args.server_pid)
    print(f"{len(sockets)} TLS WebSockets opened in {elapsed:.1f} s")
    print(f"server RSS {before} KiB -> {after} KiB: {(after - before) / len(sockets):.2f} KiB per idle TLS connection")
    await asyncio.gather(*(ws.close() for ws in sockets))


asyncio.run(main())
