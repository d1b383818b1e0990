"""`holdfast-bench handshakes` against a real server: every connection is upgraded and closed at once, the report
counts each handshake and charges the server's CPU time to them, and the server counts the same accepts and
closes in its metrics (each label set's counter is made once and kept)."""

import json
import re
import socket
import subprocess
import time

import pytest

from conftest import holdfast_binary


def metrics(port: int) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).split(b"\r\n\r\n", 1)[1].decode()


def counter(body: str, series: str) -> int:
    match = re.search(r"^" + re.escape(series) + r" (\d+)", body, re.M)
    return int(match.group(1)) if match else 0


def run_bench(tmp_path, *arguments):
    report_path = tmp_path / "handshakes.json"
    bench = holdfast_binary().parent / "holdfast-bench"
    result = subprocess.run([str(bench), "handshakes", *arguments, "--json", str(report_path)],
                            capture_output=True, timeout=120)
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 0, output
    return json.loads(report_path.read_text())


def test_handshakes_are_counted_and_every_connection_is_closed(server, tmp_path):
    report = run_bench(tmp_path, "--url", server.url + "/ws/echo", "--connections", "300", "--concurrency", "8",
                       "--processes", "2", "--server-pid", str(server.serving_pid()))
    assert report["scenario"] == "handshakes"
    assert report["handshakes"] == 300
    assert report["tlsHandshakes"] == 0
    assert report["errors"]["connectFailures"] == 0
    assert report["errors"]["unexpectedCloses"] == 0
    assert report["serverCPUSeconds"] >= 0
    assert report["serverCPUMicrosecondsPerHandshake"] == pytest.approx(report["serverCPUSeconds"] * 1e6 / 300)
    # Each connection was closed by the client's close frame, and none stays open.
    deadline = time.monotonic() + 10
    while True:
        body = metrics(server.port)
        closes = counter(body, 'holdfast_websocket_closes_total{code="1000",initiator="client"}')
        if closes >= 300 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert closes == 300
    assert counter(body, 'holdfast_connections_total{transport="plain"}') >= 301  # and the metrics requests
    assert counter(body, "holdfast_connections_open") <= 1  # the metrics request itself


def test_tls_handshakes_go_to_the_tls_listener(tls_server, tmp_path):
    report = run_bench(tmp_path, "--url", tls_server.url + "/ws/echo", "--tls-share", "1", "--tls-url",
                       tls_server.tls_url + "/ws/echo", "--connections", "20", "--concurrency", "4")
    assert report["handshakes"] == 20
    assert report["tlsHandshakes"] == 20
    assert report.get("serverCPUSeconds") is None  # no --server-pid
    body = metrics(tls_server.port)
    assert counter(body, 'holdfast_connections_total{transport="tls"}') == 20
