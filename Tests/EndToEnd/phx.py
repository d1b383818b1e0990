"""A small synchronous Phoenix Channels client over `websockets`, for sending what the third-party client
cannot (chat pushes, malformed frames) and for reading replies exactly."""

import json
import subprocess
import time

from websockets.sync.client import connect

from conftest import holdfast_binary


def sign_token(secret: bytes, user: str, ttl: int = 3600) -> str:
    """A connect token computed here, independently of the server: base64url(payload) "." base64url(HMAC-SHA256),
    payload = version 1, issued-at and expires-at (big-endian int64 seconds), user id."""
    import base64
    import hashlib
    import hmac
    import struct

    now = int(time.time())
    payload = bytes([1]) + struct.pack(">qq", now, now + ttl) + user.encode()
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=")
    signature = base64.urlsafe_b64encode(hmac.new(secret, encoded, hashlib.sha256).digest()).rstrip(b"=")
    return (encoded + b"." + signature).decode()


def make_token(server, user: str, ttl: int = 3600) -> str:
    """A connect token from `holdfast token`, signed with the server's secret (same state dir)."""
    result = subprocess.run(
        [str(holdfast_binary()), "token", "--user", user, "--ttl", str(ttl)],
        env=server.env, capture_output=True, check=True, timeout=20,
    )
    return result.stdout.decode().strip()


class Phoenix:
    def __init__(self, server, user: str = "alice", vsn: str = "2.0.0", token: str | None = None, base_url=None,
                 **options):
        """`base_url` picks another listener (`server.tls_url`, with `ssl=` among the options); default: plain."""
        token = token if token is not None else make_token(server, user)
        self.vsn = vsn
        base = base_url or server.url
        self.ws = connect(f"{base}/socket/websocket?token={token}&vsn={vsn}", **options).__enter__()
        self.ref = 0
        self.inbox: list[dict] = []

    def close(self):
        self.ws.close()

    def send_raw(self, text):
        self.ws.send(text)

    def push(self, topic: str, event: str, payload, join_ref=None) -> str:
        self.ref += 1
        ref = str(self.ref)
        if self.vsn == "2.0.0":
            self.ws.send(json.dumps([join_ref, ref, topic, event, payload]))
        else:
            self.ws.send(json.dumps({"topic": topic, "event": event, "payload": payload, "ref": ref, "join_ref": join_ref}))
        return ref

    def next(self, timeout: float = 5.0) -> dict:
        raw = json.loads(self.ws.recv(timeout=timeout))
        if isinstance(raw, list):
            join_ref, ref, topic, event, payload = raw
            return {"join_ref": join_ref, "ref": ref, "topic": topic, "event": event, "payload": payload}
        return raw

    def wait_for(self, predicate, timeout: float = 5.0) -> dict:
        for index, message in enumerate(self.inbox):
            if predicate(message):
                return self.inbox.pop(index)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.next(timeout=max(0.01, deadline - time.monotonic()))
            if predicate(message):
                return message
            self.inbox.append(message)
        raise TimeoutError("no matching message")

    def reply_to(self, ref: str, timeout: float = 5.0) -> dict:
        return self.wait_for(lambda m: m["event"] == "phx_reply" and m["ref"] == ref, timeout)

    def event(self, topic: str, event: str, timeout: float = 5.0) -> dict:
        return self.wait_for(lambda m: m["topic"] == topic and m["event"] == event, timeout)

    def join(self, topic: str, payload=None) -> dict:
        ref = self.push(topic, "phx_join", payload or {}, join_ref=str(self.ref + 1))
        return self.reply_to(ref)

    def collect(self, seconds: float) -> list[dict]:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.inbox.append(self.next(timeout=max(0.01, end - time.monotonic())))
            except TimeoutError:
                break
        taken, self.inbox = self.inbox, []
        return taken
