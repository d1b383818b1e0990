#!/usr/bin/env python3
"""Pause of an in-process handler swap with many joined connections: opens N Phoenix sockets spread over R rooms
on a running Holdfast (serializer 2.0.0, tokens signed with the shared secret), then alternates upgrade and
rollback through the admin endpoint and prints the pause each one reports (rooms held between two messages).
Meanwhile S sockets send chat messages at a steady rate; the acknowledgement latency of messages sent while a
swap was running is compared with the rest (steady state).

    HOLDFAST_SECRET_KEY=... holdfast serve &
    python3 benchmarks/upgrade_pause.py --url ws://127.0.0.1:4000 --admin http://127.0.0.1:4001 \
        --admin-token TOKEN --secret SECRET --handlers /abs/path/libChatHandlers.so --connections 2000 --rooms 200
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import statistics
import struct
import time
import urllib.request

from websockets.asyncio.client import connect


def token(secret: bytes, user: str) -> str:
    now = int(time.time())
    payload = bytes([1]) + struct.pack(">qq", now, now + 3600) + user.encode()
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=")
    return (encoded + b"." + base64.urlsafe_b64encode(hmac.new(secret, encoded, hashlib.sha256).digest()).rstrip(b"=")).decode()


def admin(args, path, body):
    request = urllib.request.Request(args.admin + path, method="POST", data=json.dumps(body).encode(),
                                     headers={"Authorization": f"Bearer {args.admin_token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


async def main():
    parser = argparse.ArgumentParser()
    for name, default in [("--url", "ws://127.0.0.1:4000"), ("--admin", "http://127.0.0.1:4001"), ("--admin-token", ""),
                          ("--secret", ""), ("--handlers", "")]:
        parser.add_argument(name, default=default)
    parser.add_argument("--connections", type=int, default=2000)
    parser.add_argument("--rooms", type=int, default=200)
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--rate", type=float, default=20.0, help="messages per second per sender")
    args = parser.parse_args()
    semaphore = asyncio.Semaphore(100)

    async def open_one(index):
        async with semaphore:
            ws = await connect(f"{args.url}/socket/websocket?vsn=2.0.0&token={token(args.secret.encode(), f'u{index}')}",
                               ping_interval=None, max_queue=None)
            await ws.send(json.dumps(["1", "1", f"room:p{index % args.rooms}", "phx_join", {}]))
            while True:
                frame = json.loads(await ws.recv())
                if frame[3] == "phx_reply" and frame[1] == "1":
                    break
            return ws

    sockets = await asyncio.gather(*(open_one(i) for i in range(args.connections)))
    senders = sockets[: args.senders]
    pending: dict = {}
    samples: list = []  # (send time, ack latency)
    stop = asyncio.Event()
    drains = [asyncio.create_task(drain(ws, pending, samples)) for ws in sockets]

    async def send_loop(index, ws):
        seq = 0
        interval = 1.0 / args.rate
        await asyncio.sleep(index * interval / max(1, args.senders))
        while not stop.is_set():
            seq += 1
            ref = f"s{index}-{seq}"
            pending[(id(ws), ref)] = time.monotonic()
            await ws.send(json.dumps(["1", ref, f"room:p{index % args.rooms}", "new_msg", {"body": "x"}]))
            await asyncio.sleep(interval)

    sending = [asyncio.create_task(send_loop(i, ws)) for i, ws in enumerate(senders)]
    await asyncio.sleep(2)
    pauses, windows = [], []
    for cycle in range(args.cycles):
        for path, body in (("/admin/upgrade", {"handlers": args.handlers}), ("/admin/rollback", {})):
            started = time.monotonic()
            answer = await asyncio.to_thread(admin, args, path, body)
            windows.append((started, time.monotonic()))
            pauses.append(answer["pause_ms"])
            await asyncio.sleep(0.5)
    await asyncio.sleep(1)
    stop.set()
    await asyncio.gather(*sending)
    await asyncio.sleep(0.5)

    def during(sent):
        return any(start - 0.005 <= sent <= end + 0.005 for start, end in windows)

    swap = sorted(latency for sent, latency in samples if during(sent))
    steady = sorted(latency for sent, latency in samples if not during(sent))

    def p99(values):
        return values[min(len(values) - 1, int(len(values) * 0.99))] * 1000 if values else float("nan")

    print(f"{args.connections} joined connections in {args.rooms} rooms, {len(pauses)} swaps: pause ms "
          f"median {statistics.median(pauses):.2f}, max {max(pauses):.2f}")
    print(f"ack latency of messages in flight during a swap: p99 {p99(swap):.2f} ms over {len(swap)} messages; "
          f"steady state: p99 {p99(steady):.2f} ms over {len(steady)}; unacknowledged: {len(pending)}")
    for task in drains:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets))


async def drain(ws, pending, samples):
    async for raw in ws:
        if '"phx_reply"' not in raw:
            continue
        frame = json.loads(raw)
        sent = pending.pop((id(ws), frame[1]), None)
        if sent is not None:
            samples.append((sent, time.monotonic() - sent))


asyncio.run(main())
