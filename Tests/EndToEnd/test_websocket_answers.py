"""A WebSocket's own answers (echoes, pongs, the close reply) are written right after the input that asked for
them: many frames in one segment, a close behind them, and a client that stops reading while it keeps sending
must all get every answer, whole and in order."""

import os
import socket
import struct
import threading

import rawws


def connect_echo(server) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock, rawws.handshake(sock)


def test_frames_sent_together_are_answered_in_order_then_closed(server):
    sock, rest = connect_echo(server)
    payloads = [struct.pack("!I", index) + os.urandom(index % 40) for index in range(300)]
    burst = b"".join(rawws.frame(0x2, payload) for payload in payloads)
    burst += rawws.frame(0x9, b"ping in the burst") + rawws.frame(0x1, "last ✓".encode())
    burst += rawws.frame(0x8, struct.pack("!H", 1000) + b"bye")
    sock.sendall(burst)
    answers = []
    while True:
        result = rawws.read_frame(sock, rest)
        assert result is not None, f"connection closed after {len(answers)} answers"
        opcode, payload, rest = result
        answers.append((opcode, payload))
        if opcode == 0x8:
            break
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
    for index, message in enumerate(messages):
        result = rawws.read_frame(sock, rest)
        assert result is not None, f"connection closed before echo {index}"
        opcode, payload, rest = result
        assert (opcode, payload) == (0x2, message), f"echo {index} differs"
    sender.join(timeout=30)
    assert not sender.is_alive() and failure == []
    sock.close()


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
    answers = []
    while True:
        result = rawws.read_frame(sock, rest)
        assert result is not None, f"connection closed after {len(answers)} answers"
        opcode, payload, rest = result
        answers.append((opcode, payload))
        if opcode == 0x8:
            break
    assert answers[:-1] == expected
    assert struct.unpack("!H", answers[-1][1][:2])[0] == 1007
    sock.close()


def test_a_client_that_stops_reading_gets_every_16_bit_length_echo(server):
    # Frames with 16-bit lengths take the answer-in-place path; a full socket leaves the unsent rest queued.
    messages = [struct.pack("!I", index) + os.urandom(60_000 + index) for index in range(150)]  # about 9 MiB
    echo_to_a_client_that_stops_reading(server, messages, lambda message: rawws.frame(0x2, message))
