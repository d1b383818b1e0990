"""HTTP/1.1 on the client listener: health check and every refusal status, over real sockets."""

from conftest import raw_connect, read_until_closed


def exchange(port: int, request: bytes) -> bytes:
    with raw_connect(port) as sock:
        sock.sendall(request)
        return read_until_closed(sock)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_healthz_answers_ok(server):
    response = exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(response) == 200
    assert response.endswith(b"ok\n")


def test_keep_alive_serves_pipelined_requests(server):
    with raw_connect(server.port) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response = read_until_closed(sock)
    assert response.count(b"HTTP/1.1 200") == 2


def test_unknown_path_is_404(server):
    assert status_of(exchange(server.port, b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == 404


def test_wrong_method_is_405_with_allow(server):
    response = exchange(server.port, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    assert status_of(response) == 405
    assert b"Allow: GET, HEAD" in response


def test_garbage_is_400_and_logged(server):
    response = exchange(server.port, b"\x01\x02 what is this\r\n\r\n")
    assert status_of(response) == 400
    assert server.wait_for_log("bad HTTP request")


def test_missing_host_is_400(server):
    assert status_of(exchange(server.port, b"GET /healthz HTTP/1.1\r\n\r\n")) == 400


def test_too_many_headers_is_431(server):
    headers = b"".join(b"X-H%d: v\r\n" % i for i in range(200))
    assert status_of(exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")) == 431


def test_oversized_header_section_is_431(server):
    big = b"X-Big: " + b"a" * 20000 + b"\r\n"
    assert status_of(exchange(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n")) == 431


def test_long_request_line_is_414(server):
    assert status_of(exchange(server.port, b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")) == 414


def test_oversized_body_is_413_before_the_body_arrives(server):
    response = exchange(server.port, b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
    assert status_of(response) == 413


def test_unsupported_http_version_is_505(server):
    assert status_of(exchange(server.port, b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n")) == 505


def test_request_split_into_single_bytes_is_served(server):
    import time

    with raw_connect(server.port) as sock:
        for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n":
            sock.sendall(bytes([byte]))
            time.sleep(0.001)
        assert status_of(read_until_closed(sock)) == 200


def test_metrics_are_prometheus_text_with_connection_and_close_counters(server):
    from websockets.sync.client import connect

    with connect(server.url + "/ws/echo") as ws:
        ws.send("x")
        ws.recv(timeout=5)
        response = exchange(server.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(response) == 200
    body = response.split(b"\r\n\r\n", 1)[1].decode()
    assert "# TYPE holdfast_connections_open gauge" in body
    assert 'holdfast_connections_total{transport="plain"}' in body
    import re
    assert int(re.search(r"^holdfast_connections_open (\d+)", body, re.M).group(1)) >= 2
    time_out = 50
    while time_out and 'holdfast_websocket_closes_total{code="1000",initiator="client"}' not in body:
        import time
        time.sleep(0.05)
        time_out -= 1
        body = exchange(server.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").decode()
    assert 'holdfast_websocket_closes_total{code="1000",initiator="client"} 1' in body


def test_admin_status_needs_the_bearer_token(server):
    import json
    import subprocess
    from conftest import holdfast_binary

    response = exchange(server.admin_port, b"GET /admin/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(response) == 401
    response = exchange(
        server.admin_port,
        b"GET /admin/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nConnection: close\r\n\r\n")
    assert status_of(response) == 401
    result = subprocess.run(
        [str(holdfast_binary()), "status", "--admin", f"127.0.0.1:{server.admin_port}"],
        env=server.env, capture_output=True, timeout=20)
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["pid"] == server.process.pid
    assert status["handlers"]["current"]
    assert status["connections"] >= 1


def test_admin_endpoints_are_not_on_the_client_listener(server):
    response = exchange(server.port, b"GET /admin/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(response) == 404
