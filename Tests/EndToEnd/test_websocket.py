"""WebSocket echo with a real third-party client (the `websockets` package): messages, fragments, ping/pong,
close handshake and permessage-deflate."""

import os

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect


def test_text_and_binary_messages_are_echoed(server):
    with connect(server.url + "/ws/echo") as ws:
        ws.send("hello, holdfast ✓")
        assert ws.recv(timeout=5) == "hello, holdfast ✓"
        ws.send(b"\x00\x01\x02\xff")
        assert ws.recv(timeout=5) == b"\x00\x01\x02\xff"


def test_large_messages_with_16_and_64_bit_lengths_are_echoed(server):
    with connect(server.url + "/ws/echo", compression=None, max_size=2**21) as ws:
        for size in (125, 126, 65535, 65536, 300_000):
            payload = os.urandom(size)
            ws.send(payload)
            assert ws.recv(timeout=10) == payload


def test_fragmented_messages_are_reassembled(server):
    with connect(server.url + "/ws/echo", compression=None) as ws:
        ws.send(["frag", "mented ", "text ✓"])
        assert ws.recv(timeout=5) == "fragmented text ✓"
        ws.send([b"\x01", b"\x02", b"\x03"])
        assert ws.recv(timeout=5) == b"\x01\x02\x03"


def test_ping_is_answered_with_pong(server):
    with connect(server.url + "/ws/echo") as ws:
        pong = ws.ping(b"are you there")
        assert pong.wait(5)


def test_close_handshake_completes_with_the_clients_code(server):
    ws = connect(server.url + "/ws/echo").__enter__()
    ws.close(code=1000, reason="bye")
    assert ws.protocol.close_rcvd is not None
    assert ws.protocol.close_rcvd.code == 1000


def test_permessage_deflate_is_negotiated_and_works(server):
    with connect(server.url + "/ws/echo", compression="deflate") as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        assert "permessage-deflate" in extensions
        text = "compress me please " * 500
        for _ in range(3):  # context takeover across messages
            ws.send(text)
            assert ws.recv(timeout=5) == text
        ws.send("tiny")
        assert ws.recv(timeout=5) == "tiny"


def test_permessage_deflate_without_context_takeover(server):
    from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

    factory = ClientPerMessageDeflateFactory(
        server_no_context_takeover=True, client_no_context_takeover=True, server_max_window_bits=10
    )
    with connect(server.url + "/ws/echo", extensions=[factory], compression=None) as ws:
        extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        assert "server_no_context_takeover" in extensions
        for index in range(3):
            text = f"message {index} " + "abcdefgh" * 300
            ws.send(text)
            assert ws.recv(timeout=5) == text


def test_deflate_can_be_switched_off(server_factory):
    server = server_factory({"HOLDFAST_WEBSOCKET_PERMESSAGE_DEFLATE": "false"})
    with connect(server.url + "/ws/echo", compression="deflate") as ws:
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        ws.send("plain")
        assert ws.recv(timeout=5) == "plain"


# The Phoenix payload limit may not exceed the message limit (checked at start), so it comes down with it.
SMALL_MESSAGES = {
    "HOLDFAST_WEBSOCKET_MAX_MESSAGE_SIZE": "1000", "HOLDFAST_WEBSOCKET_MAX_FRAME_SIZE": "1000",
    "HOLDFAST_CHANNELS_MAX_PAYLOAD_BYTES": "1000",
}


def test_message_over_the_limit_is_closed_with_1009(server_factory):
    server = server_factory(SMALL_MESSAGES)
    with connect(server.url + "/ws/echo", compression=None) as ws:
        ws.send("x" * 500)
        assert ws.recv(timeout=5) == "x" * 500
        ws.send("x" * 5000)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 1009


def test_fragmented_message_over_the_limit_is_closed_with_1009(server_factory):
    server = server_factory(SMALL_MESSAGES)
    with connect(server.url + "/ws/echo", compression=None) as ws:
        # The server may close (1009) before the second fragment is sent, so the send may see the close first.
        with pytest.raises(ConnectionClosed) as closed:
            ws.send(["y" * 600, "y" * 600])
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 1009


def test_echo_endpoint_can_be_switched_off(server_factory):
    server = server_factory({"HOLDFAST_ECHO_ENDPOINT": "false"})
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url + "/ws/echo")
    assert refused.value.response.status_code == 404


def test_wrong_websocket_version_is_426(server):
    from conftest import raw_connect, read_until_closed

    with raw_connect(server.port) as sock:
        sock.sendall(
            b"GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
        )
        response = read_until_closed(sock)
    assert response.startswith(b"HTTP/1.1 426")
    assert b"Sec-WebSocket-Version: 13" in response


def test_disallowed_origin_is_403(server_factory):
    server = server_factory({"HOLDFAST_ALLOWED_ORIGINS": "https://chat.example"})
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url + "/ws/echo", origin="https://evil.example")
    assert refused.value.response.status_code == 403
    with connect(server.url + "/ws/echo", origin="https://chat.example") as ws:
        ws.send("ok")
        assert ws.recv(timeout=5) == "ok"
