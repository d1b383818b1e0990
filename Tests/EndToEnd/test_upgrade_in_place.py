"""A whole, plain upgrade head is read where it arrived, without a request object; every other head goes to the
request parser. Over real sockets: the frames that follow a head in the same segment, heads arriving in pieces,
a request before the upgrade on one connection, the parser's leniencies and refusals all keep their answers."""

import base64
import hashlib
import os
import socket
import time

from conftest import raw_connect, read_until_closed
from rawws import frame, read_frame, read_head

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def key() -> str:
    return base64.b64encode(os.urandom(16)).decode()


def accept_for(client_key: str) -> bytes:
    return base64.b64encode(hashlib.sha1(client_key.encode() + GUID).digest())


def upgrade(client_key: str, path: str = "/ws/echo", eol: str = "\r\n", extra: str = "") -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Upgrade: websocket", "Connection: Upgrade",
             f"Sec-WebSocket-Key: {client_key}", "Sec-WebSocket-Version: 13"]
    return (eol.join(lines) + eol + extra + eol).encode()


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def assert_upgraded(sock: socket.socket, client_key: str) -> bytes:
    head, rest = read_head(sock)
    assert head.startswith(b"HTTP/1.1 101 Switching Protocols"), head
    assert b"Sec-WebSocket-Accept: " + accept_for(client_key) in head.split(b"\r\n")
    return rest


def test_frames_in_the_same_segment_as_the_head_are_not_lost(server):
    client_key = key()
    with raw_connect(server.port) as sock:
        sock.sendall(upgrade(client_key) + frame(0x1, b"first") + frame(0x2, b"second"))
        rest = assert_upgraded(sock, client_key)
        first_opcode, first, rest = read_frame(sock, rest)
        second_opcode, second, _ = read_frame(sock, rest)
        assert (first_opcode, first, second_opcode, second) == (0x1, b"first", 0x2, b"second")


def test_a_head_in_pieces_upgrades(server):
    client_key = key()
    request = upgrade(client_key)
    with raw_connect(server.port) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(request), 7):
            sock.sendall(request[start:start + 7])
            time.sleep(0.002)
        assert_upgraded(sock, client_key)
        sock.sendall(frame(0x1, b"after pieces"))
        assert read_frame(sock)[:2] == (0x1, b"after pieces")


def test_a_request_before_the_upgrade_on_one_connection(server):
    client_key = key()
    with raw_connect(server.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" + upgrade(client_key) + frame(0x1, b"hi"))
        head, rest = read_head(sock)
        assert status_of(head) == 200
        while not rest.startswith(b"ok\n"):
            rest += sock.recv(4096)
        rest = rest[3:]
        while b"\r\n\r\n" not in rest:
            rest += sock.recv(4096)
        answer, _, rest = rest.partition(b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 101") and b"Sec-WebSocket-Accept: " + accept_for(client_key) in answer
        assert read_frame(sock, rest)[:2] == (0x1, b"hi")


def test_the_parsers_leniencies_still_upgrade(server):
    """Bare LF line endings and an empty line before the request line are the parser's; the upgrade is the same."""
    for request_bytes in (lambda k: upgrade(k, eol="\n"), lambda k: b"\r\n" + upgrade(k)):
        client_key = key()
        with raw_connect(server.port) as sock:
            sock.sendall(request_bytes(client_key))
            assert_upgraded(sock, client_key)
            sock.sendall(frame(0x1, b"x"))
            assert read_frame(sock)[:2] == (0x1, b"x")


def test_heads_the_in_place_read_declines_get_the_parsers_answers(server):
    cases = {
        # a repeated Host: 400 from the parser
        upgrade(key(), extra="Host: other\r\n"): 400,
        # a space before the colon: 400
        upgrade(key(), extra="X-Bad : 1\r\n"): 400,
        # a control byte in a value: 400
        upgrade(key(), extra="X-Bad: a\x01b\r\n"): 400,
        # HTTP/1.0: the handshake's refusal
        upgrade(key()).replace(b"HTTP/1.1", b"HTTP/1.0", 1): 400,
        # the wrong method on the route: 405
        upgrade(key()).replace(b"GET", b"PUT", 1): 405,
        # an unknown route: 404
        upgrade(key(), path="/ws/other"): 404,
        # an invalid key: the handshake's refusal
        upgrade("not-a-key"): 400,
        # no version field: 426
        upgrade(key()).replace(b"Sec-WebSocket-Version: 13\r\n", b""): 426,
        # a target that is not origin-form: 400
        upgrade(key(), path="ws/echo"): 400,
    }
    for request_bytes, status in cases.items():
        with raw_connect(server.port) as sock:
            sock.sendall(request_bytes)
            response = read_until_closed(sock)
        assert response and status_of(response) == status, (request_bytes, response[:200])


def test_a_request_line_over_the_limit_is_refused(server):
    with raw_connect(server.port) as sock:
        sock.sendall(upgrade(key(), path="/ws/echo?" + "a" * 9000))
        assert status_of(read_until_closed(sock)) == 414


def test_many_fields_beyond_the_in_place_capacity_still_upgrade(server):
    """40 fields (more than the in-place read keeps on its stack) go through the parser and upgrade the same."""
    client_key = key()
    extra = "".join(f"X-Field-{index}: {index}\r\n" for index in range(40))
    with raw_connect(server.port) as sock:
        sock.sendall(upgrade(client_key, extra=extra) + frame(0x1, b"many"))
        rest = assert_upgraded(sock, client_key)
        assert read_frame(sock, rest)[:2] == (0x1, b"many")
