"""A WebSocket's own answers (echoes, pongs, the close reply) are written right after the input that asked for
them: many frames in one segment, a close behind them, and a client that stops reading while it keeps sending
must all get every answer, whole and in order."""

import os
import re
import socket
import struct
import threading
import time

import pytest

import rawws
from phx import make_token


def connect_echo(server) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock, rawws.handshake(sock)


def answers_until_close(sock: socket.socket, rest: bytes, name: str = "connection"):
    """Every frame the server sends, as (opcode, payload), up to and including its close frame; and what is left."""
    answers = []
    while True:
        result = rawws.read_frame(sock, rest)
        assert result is not None, f"{name} closed after {len(answers)} answers"
        opcode, payload, rest = result
        answers.append((opcode, payload))
        if opcode == 0x8:
            return answers, rest


def metrics_text(server) -> str:
    """The body of `GET /metrics`."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    body = b""
    while chunk := sock.recv(65536):
        body += chunk
    sock.close()
    return body.split(b"\r\n\r\n", 1)[1].decode()


def expect_answers_then_join(
    sock: socket.socket, rest: bytes, expected: list[tuple[int, bytes]], name: str, sender: threading.Thread,
    failure: list,
) -> None:
    """Reads `expected` frames in order, then waits for the sender thread, which must have met no error."""
    for index, answer in enumerate(expected):
        result = rawws.read_frame(sock, rest)
        assert result is not None, f"connection closed before {name} {index}"
        opcode, payload, rest = result
        assert (opcode, payload) == answer, f"{name} {index} differs"
    sender.join(timeout=30)
    assert not sender.is_alive() and failure == []
    sock.close()


def test_frames_sent_together_are_answered_in_order_then_closed(server):
    sock, rest = connect_echo(server)
    payloads = [struct.pack("!I", index) + os.urandom(index % 40) for index in range(300)]
    burst = b"".join(rawws.frame(0x2, payload) for payload in payloads)
    burst += rawws.frame(0x9, b"ping in the burst") + rawws.frame(0x1, "last ✓".encode())
    burst += rawws.frame(0x8, struct.pack("!H", 1000) + b"bye")
    sock.sendall(burst)
    answers, rest = answers_until_close(sock, rest)
    assert answers[:300] == [(0x2, payload) for payload in payloads]
    assert answers[300:302] == [(0xA, b"ping in the burst"), (0x1, "last ✓".encode())]
    assert answers[302][0] == 0x8 and struct.unpack("!H", answers[302][1][:2])[0] == 1000
    assert len(answers) == 303
    # After the close reply the server closes its side: nothing more arrives.
    assert rest == b"" and sock.recv(1) == b""
    sock.close()


def zero_key_frame(payload: bytes) -> bytes:
    """A masked binary frame whose key is zero (valid, and cheap to build for megabytes)."""
    return bytes([0x82, 0x80 | 127]) + struct.pack("!Q", len(payload)) + b"\0\0\0\0" + payload


def echo_to_a_client_that_stops_reading(server, messages: list[bytes], frame) -> None:
    """Sends every message as `frame(message)` without reading, from a socket with a small receive buffer, then
    reads: every echo must come back whole and in order."""
    sock = socket.socket()
    # A small receive buffer: the server's writes meet a full socket early, so its backpressure path runs.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", server.port))
    rest = rawws.handshake(sock)
    failure = []

    def send_all():
        try:
            for message in messages:
                sock.sendall(frame(message))
        except OSError as error:  # surfaced by the assertion below
            failure.append(error)

    sender = threading.Thread(target=send_all)
    sender.start()
    # Not reading while the sender runs: the server's queue for this socket fills, so it stops reading it until
    # the socket drains (far below the slow-consumer limit), and the sender blocks; then everything must come back.
    sender.join(timeout=1.5)
    expect_answers_then_join(sock, rest, [(0x2, message) for message in messages], "echo", sender, failure)


def test_a_client_that_stops_reading_gets_every_echo_once_it_reads_again(server):
    messages = [struct.pack("!I", index) + os.urandom(65_532) for index in range(160)]  # about 10 MiB
    echo_to_a_client_that_stops_reading(server, messages, zero_key_frame)


def test_whole_messages_around_fragments_and_faults_are_answered_in_order(server):
    # Whole messages are answered straight from the receive buffer; fragments, control frames and a fault are left
    # to the parser. Every answer must still come back whole and in the order asked, then the fault's close.
    sock, rest = connect_echo(server)
    expected = []
    burst = b""
    for index in range(200):
        payload = struct.pack("!I", index) + os.urandom([0, 3, 8, 121, 122, 200, 4000][index % 7])
        burst += rawws.frame(0x2, payload)
        expected.append((0x2, payload))
        if index % 50 == 7:
            burst += rawws.frame(0x1, b"frag", fin=False) + rawws.frame(0x9, b"between")
            burst += rawws.frame(0x0, "mented ✓".encode())
            expected += [(0xA, b"between"), (0x1, "fragmented ✓".encode())]
        if index % 50 == 30:
            burst += rawws.frame(0x1, "text ✓".encode())
            expected.append((0x1, "text ✓".encode()))
    burst += rawws.frame(0x1, b"bad \xff text") + rawws.frame(0x2, b"never answered")
    sock.sendall(burst)
    answers, rest = answers_until_close(sock, rest)
    assert answers[:-1] == expected
    assert struct.unpack("!H", answers[-1][1][:2])[0] == 1007
    sock.close()


def test_a_client_that_stops_reading_gets_every_16_bit_length_echo(server):
    # Frames with 16-bit lengths take the answer-in-place path; a full socket leaves the unsent rest queued.
    messages = [struct.pack("!I", index) + os.urandom(60_000 + index) for index in range(150)]  # about 9 MiB
    echo_to_a_client_that_stops_reading(server, messages, lambda message: rawws.frame(0x2, message))


def test_answers_of_many_connections_in_one_turn_stay_their_own(server):
    # Answers made while a connection reads (pongs, fragmented echoes, close replies, HTTP responses) take the loop's
    # spare output buffer when the connection holds none, and give it back once written. A connection whose answers
    # the kernel does not take keeps the buffer they are in; the others must each get their own bytes, whole.
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    stalled.settimeout(30)
    stalled.connect(("127.0.0.1", server.port))
    stalled_rest = rawws.handshake(stalled)
    pings = [struct.pack("!I", index) + os.urandom(100) for index in range(20_000)]  # about 2 MiB of pongs
    failure = []

    def send_pings():  # not read meanwhile: the pongs back up until the server stops reading this socket
        try:
            stalled.sendall(b"".join(rawws.frame(0x9, ping) for ping in pings))
        except OSError as error:  # surfaced by the assertion below
            failure.append(error)

    sender = threading.Thread(target=send_pings)
    sender.start()
    sender.join(timeout=1.5)

    sockets = [connect_echo(server) for _ in range(40)]
    plain = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(5)]
    for index, (sock, _) in enumerate(sockets):
        tag = struct.pack("!I", index) + os.urandom(16)
        sock.sendall(rawws.frame(0x9, tag) + rawws.frame(0x1, b"part:", fin=False)
                     + rawws.frame(0x0, tag.hex().encode()) + rawws.frame(0x8, struct.pack("!H", 1000)))
    for sock in plain:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 2 + b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")

    for index, (sock, rest) in enumerate(sockets):
        answers, rest = answers_until_close(sock, rest, f"connection {index}")
        tag = answers[0][1]
        assert tag[:4] == struct.pack("!I", index)
        assert answers[:2] == [(0xA, tag), (0x1, b"part:" + tag.hex().encode())]
        assert answers[2][0] == 0x8 and answers[2][1][:2] == struct.pack("!H", 1000) and len(answers) == 3
        sock.close()
    for sock in plain:
        received = b""
        while received.count(b"HTTP/1.1 ") < 3 or not received.endswith(b"not found\n"):
            chunk = sock.recv(65536)
            assert chunk, received
            received += chunk
        assert received.count(b"HTTP/1.1 200 ") == 2 and received.count(b"HTTP/1.1 404 ") == 1
        sock.close()

    expect_answers_then_join(stalled, stalled_rest, [(0xA, ping) for ping in pings], "pong", sender, failure)


# A peer's close and what it must get back: the code echoed without a reason (an empty close gets an empty one), or
# the server's own close for a close that breaks RFC 6455 (1005 is never sent, a reason must be UTF-8, a payload is
# 0 or at least 2 bytes).
PEER_CLOSES = [
    (b"", b"", ("1005", "client")),
    (struct.pack("!H", 1000), struct.pack("!H", 1000), ("1000", "client")),
    (struct.pack("!H", 4000) + "au revoir ✓".encode(), struct.pack("!H", 4000), ("4000", "client")),
    (struct.pack("!H", 1005), 1002, ("1002", "server")),
    (struct.pack("!H", 1000) + b"\xff", 1007, ("1007", "server")),
    (b"\x03", 1002, ("1002", "server")),
]


def test_closes_alone_and_behind_echoes_get_the_same_answers_and_counts(server):
    """The close reply is written in place on the echo route (alone, and in the same write as the echoes before
    it): every kind of close gets the answer the parser gives, the connection drains and shuts, and the closes are
    counted by code and initiator as before."""
    expected_counts: dict[tuple[str, str], int] = {}
    for ahead in (b"", rawws.frame(0x2, b"first") + rawws.frame(0x1, "second ✓".encode())):
        for payload, expected, label in PEER_CLOSES:
            sock, rest = connect_echo(server)
            sock.sendall(ahead + rawws.frame(0x8, payload) + rawws.frame(0x2, b"after the close, dropped"))
            answers, rest = answers_until_close(sock, rest, name=f"close {payload!r}")
            if ahead:
                assert answers[:2] == [(0x2, b"first"), (0x1, "second ✓".encode())]
            assert len(answers) == (3 if ahead else 1)
            reply = answers[-1][1]
            if isinstance(expected, bytes):
                assert reply == expected, f"close {payload!r}"
            else:
                assert struct.unpack("!H", reply[:2])[0] == expected, f"close {payload!r}"
            assert rest == b"" and sock.recv(1) == b""  # the server shut its side after the reply
            sock.close()
            expected_counts[label] = expected_counts.get(label, 0) + 1
    deadline = time.monotonic() + 10
    while True:
        text = metrics_text(server)
        counts = {
            label: int(match.group(1)) if (match := re.search(
                r'^holdfast_websocket_closes_total\{code="%s",initiator="%s"\} (\d+)' % label, text, re.M)) else 0
            for label in expected_counts
        }
        if counts == expected_counts or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert counts == expected_counts
    assert "WebSocket protocol error, closing" in server.log()  # the refused closes are logged


def open_connections(server) -> int:
    """`holdfast_connections_open`, counting the metrics request itself."""
    return int(re.search(r"^holdfast_connections_open (\d+)", metrics_text(server), re.M).group(1))


@pytest.mark.parametrize("route", ["echo", "phoenix"])
def test_after_the_peers_close_the_server_closes_first_without_waiting_for_its_fin(server, route):
    """RFC 6455 §7.1.1: once the close handshake is done the server closes TCP first. Its FIN follows the close's
    answer and the socket is closed (no longer counted open) by the time it arrives, while the client still holds
    its side open; the client reads the whole answer, then EOF, with no reset."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    if route == "echo":  # answered in place, the echo ahead of it in the same write
        rest = rawws.handshake(sock)
        ahead = rawws.frame(0x1, b"before the close")
    else:  # answered through the output queue
        rest = rawws.handshake(sock, f"/socket/websocket?token={make_token(server, 'closer')}&vsn=2.0.0")
        ahead = b""
    sock.sendall(ahead + rawws.frame(0x8, struct.pack("!H", 1000) + b"done"))
    answers, rest = answers_until_close(sock, rest)
    assert answers == ([(0x1, b"before the close")] if ahead else []) + [(0x8, struct.pack("!H", 1000))]
    assert rest == b"" and sock.recv(1) == b""
    assert open_connections(server) == 1, "the server kept the socket open after its FIN"
    sock.close()
