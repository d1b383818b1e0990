"""Every kind of malformed input, one table: each row is sent over a real socket to one server and gets the
protocol's answer (HTTP status, close code, Phoenix reply, TLS alert or a timeout that ends it), while a Phoenix
member of a room and an echo client, connected before any of it, keep answering and lose nothing."""

import json
import socket
import struct
import time
import zlib

import pytest
from websockets.sync.client import connect

import rawws
from conftest import raw_connect, read_until_closed, start_server
from phx import Phoenix
from test_http import status_of
from test_websocket_errors import CASES as FRAME_CASES

HANDSHAKE_TIMEOUT_MS = 600
UPGRADE = "GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
KEY = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory, certificate):
    """One server (TLS on, short handshake timeout) and the bystanders, connected before any bad input."""
    cert, key = certificate
    server = start_server({
        "HOLDFAST_HANDSHAKE_TIMEOUT_MS": str(HANDSHAKE_TIMEOUT_MS), "HOLDFAST_TLS_LISTEN": "127.0.0.1:0",
        "HOLDFAST_TLS_CERT": str(cert), "HOLDFAST_TLS_KEY": str(key),
    }, tmp_path=tmp_path_factory.mktemp("bad-input"))
    member = Phoenix(server, "bystander", max_queue=None)
    join = member.join("room:bystanders")
    echo = connect(server.url + "/ws/echo").__enter__()
    world = {"server": server, "member": member, "join_ref": join["join_ref"], "echo": echo, "sent": []}
    yield world
    echo.close()
    member.close()
    server.stop()


def http_answer(port: int, data: bytes) -> int:
    with raw_connect(port) as sock:
        sock.sendall(data)
        return status_of(read_until_closed(sock))


def close_code_after(data: bytes, path: str = "/ws/echo", extra: str = "") -> int:
    def send(port):
        with raw_connect(port) as sock:
            rest = rawws.handshake(sock, path, extra)
            sock.sendall(data)
            return rawws.read_close_code(sock, rest)
    return send


def trickle(port: int, data: bytes, interval: float = 0.1) -> float:
    """Sends one byte per interval until the server ends the connection; returns how long that took."""
    with raw_connect(port, timeout=10) as sock:
        started = time.monotonic()
        for byte in data:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(interval)
            sock.setblocking(False)
            try:
                if sock.recv(65536, socket.MSG_PEEK) is not None:
                    break
            except BlockingIOError:
                pass
            except ConnectionResetError:
                break
            finally:
                sock.setblocking(True)
        read_until_closed(sock)
        return time.monotonic() - started


def deflate_bomb() -> bytes:
    """A text message of 8 MiB of spaces, compressed to a few KiB: over the 1 MiB message limit once inflated."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = compressor.compress(b" " * (8 << 20)) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert body.endswith(b"\x00\x00\xff\xff") and len(body) < 64 * 1024
    return rawws.frame(1, body[:-4], rsv=0b100)


def phoenix_answer(text: str):
    def send(port, server):
        client = Phoenix(server, "mallory")
        try:
            client.send_raw(text)
            return client.next(timeout=5)["payload"]["status"]
        finally:
            client.close()
    return send


def phoenix_close_code(text: str):
    def send(port, server):
        with raw_connect(port) as sock:
            from phx import make_token
            rest = rawws.handshake(sock, f"/socket/websocket?token={make_token(server, 'mallory')}&vsn=2.0.0")
            sock.sendall(rawws.frame(1, text.encode()))
            return rawws.read_close_code(sock, rest)
    return send


def tls_garbage(port: int) -> bytes:
    """A TLS handshake record whose ClientHello is garbage: the server answers with an alert record (21)."""
    body = b"\x01\x00\x00\x40" + bytes(range(64))
    with raw_connect(port) as sock:
        sock.sendall(b"\x16\x03\x01" + struct.pack("!H", len(body)) + body)
        return read_until_closed(sock)[:1]


TIMEOUT_BOUND = HANDSHAKE_TIMEOUT_MS / 1000 + 2.5
DEEP = "[" * 10_000 + "]" * 10_000

# name: (listener, how to send, what the answer must be)
ROWS = {
    # HTTP, truncated: the handshake timeout answers 408.
    "truncated request line": ("plain", lambda p: http_answer(p, b"GET /healthz HT"), 408),
    "truncated headers": ("plain", lambda p: http_answer(p, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A"), 408),
    "truncated body": ("plain", lambda p: http_answer(
        p, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten.."), 408),
    # HTTP, oversized.
    "oversized request line": ("plain", lambda p: http_answer(
        p, b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414),
    "oversized headers": ("plain", lambda p: http_answer(
        p, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n"), 431),
    "oversized body": ("plain", lambda p: http_answer(
        p, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n"), 413),
    # Bad WebSocket handshakes.
    "missing Sec-WebSocket-Key": ("plain", lambda p: http_answer(
        p, (UPGRADE + "Sec-WebSocket-Version: 13\r\n\r\n").encode()), 400),
    "invalid Sec-WebSocket-Key": ("plain", lambda p: http_answer(
        p, (UPGRADE + "Sec-WebSocket-Key: not-base64!\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()), 400),
    "wrong WebSocket version": ("plain", lambda p: http_answer(
        p, (UPGRADE + KEY + "Sec-WebSocket-Version: 8\r\n\r\n").encode()), 426),
    "bad Upgrade header": ("plain", lambda p: http_answer(
        p, (UPGRADE.replace("websocket", "h2c") + KEY + "Sec-WebSocket-Version: 13\r\n\r\n").encode()), 400),
    # Frame violations, the same table test_websocket_errors runs one by one.
    **{f"frame: {name}": ("plain", close_code_after(data), code) for name, (data, code) in FRAME_CASES.items()},
    "invalid UTF-8 in a fragment, message left open": (
        "plain", close_code_after(rawws.frame(1, b"ok", fin=False) + rawws.frame(0, b"\xed\xa0", fin=False)), 1007),
    "deflate bomb": ("plain", close_code_after(
        deflate_bomb(), extra="Sec-WebSocket-Extensions: permessage-deflate\r\n"), 1009),
    # Phoenix.
    "oversized Phoenix payload": ("phoenix", phoenix_answer(
        json.dumps(["1", "1", "room:big", "phx_join", {"pad": "x" * 100_000}])), "error"),
    "JSON nested 10,000 deep": ("phoenix", phoenix_close_code(DEEP), 1000),
    "JSON nested 10,000 deep in a payload": ("phoenix", phoenix_close_code(
        '["1","1","room:deep","phx_join",' + DEEP + "]"), 1000),
    # TLS.
    "ClientHello of garbage": ("tls", tls_garbage, b"\x15"),
    # Slowloris: bytes trickled slower than the handshake timeout allows; it ends them.
    "slowloris on HTTP": ("plain", lambda p: trickle(p, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X: y\r\n" * 50)
                          < TIMEOUT_BOUND, True),
    "slowloris on TLS": ("tls", lambda p: trickle(p, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(200))
                         < TIMEOUT_BOUND, True),
}


@pytest.mark.parametrize("name", list(ROWS))
def test_bad_input_gets_the_protocols_answer_and_others_are_untouched(world, name):
    listener, send, expected = ROWS[name]
    server = world["server"]
    port = server.tls_port if listener == "tls" else server.port
    answer = send(port, server) if listener == "phoenix" else send(port)
    assert answer == expected

    # The bystanders, connected before, still answer, in order.
    world["echo"].send(name)
    assert world["echo"].recv(timeout=5) == name
    member = world["member"]
    ref = member.push("room:bystanders", "new_msg", {"body": name}, join_ref=world["join_ref"])
    assert member.reply_to(ref)["payload"]["status"] == "ok"
    world["sent"].append(name)
    assert member.event("room:bystanders", "new_msg")["payload"]["body"] == name
    assert server.process.poll() is None


def test_nothing_the_bystanders_sent_was_lost(world):
    """Runs after the table: the room's history holds every bystander message, in order."""
    if not world["sent"]:
        pytest.skip("the table did not run")
    late = Phoenix(world["server"], "latecomer")
    join = late.join("room:bystanders", {"last_seen_id": 0})
    assert join["payload"]["status"] == "ok"
    bodies = [message["payload"]["body"] for message in late.collect(1.0) if message["event"] == "new_msg"]
    assert bodies[-len(world["sent"]):] == world["sent"]
    late.close()
