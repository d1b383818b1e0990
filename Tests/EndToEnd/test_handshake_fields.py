"""The upgrade reads its header fields through the parser's index of known fields and closes sockets without an
epoll_ctl: names in any case, repeated fields and refusals must still get their answers, over real sockets."""

import base64
import os
import socket
import time

from conftest import raw_connect, read_until_closed
from rawws import frame, read_head


def key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def head_of(sock: socket.socket) -> bytes:
    return read_head(sock)[0]


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def echo_once(sock: socket.socket) -> bytes:
    sock.sendall(frame(0x1, b"hi"))
    return sock.recv(64)


def test_field_names_in_any_case_and_a_query_upgrade(server):
    with raw_connect(server.port) as sock:
        sock.sendall(
            f"GET /ws/echo?client=1 HTTP/1.1\r\nhOsT: 127.0.0.1\r\nUPGRADE: WebSocket\r\n"
            f"connection: keep-alive, UPGRADE\r\nsec-websocket-key: {key()}\r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n".encode())
        assert head_of(sock).startswith(b"HTTP/1.1 101")
        assert echo_once(sock) == b"\x81\x02hi"


def test_the_upgrade_token_in_a_repeated_connection_field(server):
    with raw_connect(server.port) as sock:
        sock.sendall(
            f"GET /ws/echo HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key()}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
        assert head_of(sock).startswith(b"HTTP/1.1 101")
        assert echo_once(sock) == b"\x81\x02hi"


def test_refusals_keep_their_statuses(server):
    cases = {
        # no Connection: upgrade token in any field
        b"GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n": 400,
        # a version field whose name only looks like the real one
        b"GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Versiom: 13\r\n\r\n": 426,
        b"GET /ws/echo HTTP/1.1\r\nHost: x\r\nhost: y\r\n\r\n": 400,
        b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\ncontent-length: 3\r\n\r\nabc": 400,
        b"GET /ws/echo/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n": 404,
    }
    for request, status in cases.items():
        with raw_connect(server.port) as sock:
            sock.sendall(request)
            response = read_until_closed(sock)
        assert status_of(response) == status, request
    with raw_connect(server.port) as sock:
        sock.sendall(b"GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Versiom: 13\r\n\r\n")
        assert b"Sec-WebSocket-Version: 13" in read_until_closed(sock)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def server_cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def test_closed_handshakes_release_their_sockets_and_the_loop_sleeps(server):
    """Hundreds of upgrades closed both ways (close frames, then EOF), as the handshake benchmark does: every
    socket is closed (the server's fd count returns to where it was), and no closed socket is left in the epoll
    set waking the loop (an idle server then uses almost no CPU)."""
    pid = server.process.pid
    before = open_fds(pid)
    for _ in range(300):
        with raw_connect(server.port) as sock:
            sock.sendall(
                f"GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key()}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
            assert head_of(sock).startswith(b"HTTP/1.1 101")
            sock.sendall(frame(0x8, b"\x03\xe8"))
            assert sock.recv(16).startswith(b"\x88")
            sock.shutdown(socket.SHUT_WR)
            assert read_until_closed(sock) == b""
    deadline = time.monotonic() + 5
    while open_fds(pid) > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_fds(pid) <= before
    idle_start = server_cpu_ticks(pid)
    time.sleep(1.0)
    # A loop spinning on a stale registration would burn the whole second (100 ticks); idle costs a few.
    assert server_cpu_ticks(pid) - idle_start < 50
    with raw_connect(server.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert status_of(read_until_closed(sock)) == 200
