"""Connection lifecycle: handshake timeout, the connection limit, idle timeout and graceful shutdown."""

import os
import signal
import subprocess
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from conftest import holdfast_binary, raw_connect, read_until_closed


def test_half_sent_request_is_dropped_after_the_handshake_timeout(server_factory):
    server = server_factory({"HOLDFAST_HANDSHAKE_TIMEOUT_MS": "500"})
    with raw_connect(server.port, timeout=10) as sock:
        sock.sendall(b"GET /ws/echo HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        read_until_closed(sock)
        assert time.monotonic() - started < 5
    assert server.wait_for_log("timeout")


def test_silent_tls_client_is_dropped_after_the_handshake_timeout(server_factory, certificate):
    cert, key = certificate
    server = server_factory({
        "HOLDFAST_HANDSHAKE_TIMEOUT_MS": "500", "HOLDFAST_TLS_LISTEN": "127.0.0.1:0",
        "HOLDFAST_TLS_CERT": str(cert), "HOLDFAST_TLS_KEY": str(key),
    })
    with raw_connect(server.tls_port, timeout=10) as sock:
        started = time.monotonic()
        assert read_until_closed(sock) == b""
        assert time.monotonic() - started < 5


def test_connections_over_the_limit_get_503(server_factory):
    server = server_factory({"HOLDFAST_MAX_CONNECTIONS": "2"})
    first = connect(server.url + "/ws/echo").__enter__()
    second = connect(server.url + "/ws/echo").__enter__()
    with pytest.raises(InvalidStatus) as refused:
        connect(server.url + "/ws/echo")
    assert refused.value.response.status_code == 503
    assert server.wait_for_log("over the connection limit")
    first.close()
    time.sleep(0.2)
    with connect(server.url + "/ws/echo") as third:
        third.send("room again")
        assert third.recv(timeout=5) == "room again"
    second.close()


def test_idle_websocket_is_closed(server_factory):
    server = server_factory({"HOLDFAST_IDLE_TIMEOUT_MS": "600"})
    with connect(server.url + "/ws/echo", ping_interval=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 1000


def test_sigterm_sends_1001_to_every_client_and_exits_zero(server):
    clients = [connect(server.url + "/ws/echo").__enter__() for _ in range(3)]
    for index, ws in enumerate(clients):
        ws.send(f"before {index}")
        assert ws.recv(timeout=5) == f"before {index}"
    server.process.send_signal(signal.SIGTERM)
    for ws in clients:
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd.code == 1001
    assert server.process.wait(timeout=10) == 0


def test_sigterm_with_an_unresponsive_client_still_exits_within_the_bound(server_factory):
    server = server_factory({"HOLDFAST_SHUTDOWN_TIMEOUT_MS": "1000"})
    sock = raw_connect(server.port)
    import rawws
    rawws.handshake(sock)  # then never reads or answers the close frame
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=10) == 0
    assert time.monotonic() - started < 5
    sock.close()


def test_limits_that_contradict_each_other_are_refused_at_start(tmp_path):
    env = dict(os.environ, HOLDFAST_LISTEN="127.0.0.1:0", HOLDFAST_ADMIN_LISTEN="127.0.0.1:0",
               HOLDFAST_STATE_DIR=str(tmp_path / "state"), HOLDFAST_WEBSOCKET_MAX_MESSAGE_SIZE=str(16 << 20))
    result = subprocess.run([str(holdfast_binary()), "serve"], env=env, capture_output=True, timeout=20)
    message = result.stderr.decode()
    assert result.returncode != 0, message
    assert "websocket.max_message_size" in message and "server.max_outbound_bytes" in message, message
    assert "listening" not in message
