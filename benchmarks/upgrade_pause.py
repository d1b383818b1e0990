#!/usr/bin/env python3
"""Pause of an in-process handler swap with many joined connections: opens N Phoenix sockets spread over R rooms
on a running Holdfast (serializer 2.0.0, tokens signed with the shared secret), then alternates upgrade and
rollback through the admin endpoint and prints the pause each one reports (rooms held between two messages).

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
    drains = [asyncio.create_task(drain(ws)) for ws in sockets]
    await asyncio.sleep(1)
    pauses = []
    for cycle in range(args.cycles):
        answer = await asyncio.to_thread(admin, args, "/admin/upgrade", {"handlers": args.handlers})
        pauses.append(answer["pause_ms"])
        answer = await asyncio.to_thread(admin, args, "/admin/rollback", {})
        pauses.append(answer["pause_ms"])
    print(f"{args.connections} joined connections in {args.rooms} rooms, {len(pauses)} swaps: pause ms "
          f"median {statistics.median(pauses):.2f}, max {max(pauses):.2f}")
    for task in drains:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets))


async def drain(ws):
    async for _ in ws:
        pass


asyncio.run(main())
