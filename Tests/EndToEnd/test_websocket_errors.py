"""Protocol violations sent as raw frames: each is answered with the right close code and a log line, and other
connections are unaffected."""

import struct

import pytest
from websockets.sync.client import connect

import rawws
from conftest import raw_connect

CASES = {
    "unmasked client frame": (rawws.frame(1, b"hi", mask=False), 1002),
    "reserved bits without an extension": (rawws.frame(1, b"hi", rsv=0b010), 1002),
    "unknown opcode": (rawws.frame(3, b"hi"), 1002),
    "fragmented control frame": (rawws.frame(9, b"ping", fin=False), 1002),
    "oversized control frame": (rawws.frame(9, b"p" * 126), 1002),
    "close payload of one byte": (rawws.frame(8, b"\x03"), 1002),
    "close with a reserved code": (rawws.frame(8, struct.pack("!H", 1005)), 1002),
    "continuation without a message": (rawws.frame(0, b"orphan"), 1002),
    "new message inside a fragmented one": (rawws.frame(1, b"a", fin=False) + rawws.frame(1, b"b"), 1002),
    "invalid UTF-8 text": (rawws.frame(1, b"\xff\xfe"), 1007),
    "invalid UTF-8 split across fragments": (rawws.frame(1, b"ok\xe2\x82", fin=False) + rawws.frame(0, b"\x28"), 1007),
    "invalid UTF-8 close reason": (rawws.frame(8, struct.pack("!H", 1000) + b"\xc3\x28"), 1007),
    "frame over the size limit": (rawws.frame(2, b"", length_override=1 << 40), 1009),
}


@pytest.mark.parametrize("name", list(CASES))
def test_protocol_violation_gets_its_close_code(server, name):
    data, expected = CASES[name]
    with raw_connect(server.port) as sock:
        rest = rawws.handshake(sock)
        sock.sendall(data)
        assert rawws.read_close_code(sock, rest) == expected
    assert server.wait_for_log("WebSocket protocol error")


def test_client_close_is_answered_with_the_same_code(server):
    with raw_connect(server.port) as sock:
        rest = rawws.handshake(sock)
        sock.sendall(rawws.frame(8, struct.pack("!H", 4001) + b"bye"))
        assert rawws.read_close_code(sock, rest) == 4001
        assert sock.recv(10) == b""  # server closes TCP after the close handshake


def test_control_frames_interleaved_in_a_fragmented_message(server):
    with raw_connect(server.port) as sock:
        rest = rawws.handshake(sock)
        sock.sendall(rawws.frame(1, b"hel", fin=False) + rawws.frame(9, b"pp") + rawws.frame(0, b"lo"))
        opcode, payload, rest = rawws.read_frame(sock, rest)
        assert (opcode, payload) == (10, b"pp")
        opcode, payload, rest = rawws.read_frame(sock, rest)
        assert (opcode, payload) == (1, b"hello")


def test_frames_split_byte_by_byte_are_parsed(server):
    with raw_connect(server.port) as sock:
        rest = rawws.handshake(sock)
        for byte in rawws.frame(1, "split ✓".encode()):
            sock.sendall(bytes([byte]))
        opcode, payload, _ = rawws.read_frame(sock, rest)
        assert (opcode, payload) == (1, "split ✓".encode())


def test_a_misbehaving_client_does_not_affect_others(server):
    with connect(server.url + "/ws/echo") as good:
        for name, (data, _) in CASES.items():
            with raw_connect(server.port) as sock:
                rest = rawws.handshake(sock)
                sock.sendall(data)
                rawws.read_close_code(sock, rest)
            good.send(name)
            assert good.recv(timeout=5) == name
