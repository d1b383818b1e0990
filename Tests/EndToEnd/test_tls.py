"""TLS (wss/https) with real clients: Python's ssl, websockets over TLS, openssl s_client and curl."""

import socket
import ssl
import subprocess

import pytest
from websockets.sync.client import connect

import rawws


def client_context(certificate, version=None, ciphers=None):
    cert, _ = certificate
    context = ssl.create_default_context(cafile=str(cert))
    if version is not None:
        context.minimum_version = version
        context.maximum_version = version
    if ciphers:
        context.set_ciphers(ciphers)
    return context


def tls_request(tls_server, context, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            negotiated = sock.version(), sock.cipher()[0], sock.selected_alpn_protocol()
            sock.sendall(request)
            data = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except (ssl.SSLEOFError, ConnectionResetError):
                    break
                if not chunk:
                    break
                data += chunk
            return (data, *negotiated)


@pytest.mark.parametrize(
    "version,ciphers",
    [
        (ssl.TLSVersion.TLSv1_3, None),
        (ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-GCM-SHA256"),
        (ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES256-GCM-SHA384"),
        (ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-CHACHA20-POLY1305"),
    ],
)
def test_https_health_check_over_each_version_and_suite(tls_server, certificate, version, ciphers):
    context = client_context(certificate, version, ciphers)
    context.set_alpn_protocols(["http/1.1"])
    data, negotiated, cipher, alpn = tls_request(
        tls_server, context, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert data.startswith(b"HTTP/1.1 200")
    assert negotiated == ("TLSv1.3" if version == ssl.TLSVersion.TLSv1_3 else "TLSv1.2")
    if ciphers:
        assert cipher == ciphers
    assert alpn == "http/1.1"


class SClient:
    """`openssl s_client` as a subprocess whose output is collected in the background."""

    def __init__(self, port, *options):
        import threading

        self.process = subprocess.Popen(
            ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *options],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        self.output = b""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for chunk in iter(lambda: self.process.stdout.read1(65536), b""):
            self.output += chunk

    def send(self, data: bytes):
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def wait_for(self, needle: bytes, count: int = 1, timeout: float = 10) -> bool:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.output.count(needle) >= count:
                return True
            time.sleep(0.02)
        return False

    def close(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()


def test_tls13_suites_each_work_with_s_client(tls_server):
    for suite in ("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"):
        client = SClient(tls_server.tls_port, "-tls1_3", "-ciphersuites", suite)
        client.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert client.wait_for(b"HTTP/1.1 200"), (suite, client.output[-2000:])
        assert suite.encode() in client.output
        client.close()


def test_tls12_with_s_client(tls_server):
    client = SClient(tls_server.tls_port, "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384")
    client.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert client.wait_for(b"HTTP/1.1 200"), client.output[-2000:]
    client.close()


def test_s_client_key_updates_keep_the_session_working(tls_server):
    # In interactive mode s_client turns a line "K" into a KeyUpdate that requests ours, "k" into one that does not.
    client = SClient(tls_server.tls_port, "-tls1_3")
    client.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert client.wait_for(b"HTTP/1.1 200", 1)
    client.send(b"K\n")
    assert client.wait_for(b"KEYUPDATE", 1)
    client.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert client.wait_for(b"HTTP/1.1 200", 2), client.output[-2000:]
    client.send(b"k\n")
    assert client.wait_for(b"KEYUPDATE", 2)
    client.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert client.wait_for(b"HTTP/1.1 200", 3), client.output[-2000:]
    client.close()


def test_secure_websocket_echo_with_compression(tls_server, certificate):
    with connect(tls_server.tls_url + "/ws/echo", ssl=client_context(certificate)) as ws:
        ws.send("over TLS ✓")
        assert ws.recv(timeout=5) == "over TLS ✓"
        big = "z" * 200_000
        ws.send(big)
        assert ws.recv(timeout=10) == big
        assert ws.ping(b"x").wait(5)


def test_secure_websocket_protocol_error_gets_its_close_code(tls_server, certificate):
    context = client_context(certificate)
    with socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as sock:
            rest = rawws.handshake(sock)
            sock.sendall(rawws.frame(1, b"\xff"))
            assert rawws.read_close_code(sock, rest) == 1007


def test_curl_fetches_health_over_https(tls_server, certificate):
    cert, _ = certificate
    result = subprocess.run(
        ["curl", "-sS", "--cacert", str(cert), f"https://localhost:{tls_server.tls_port}/healthz",
         "--resolve", f"localhost:{tls_server.tls_port}:127.0.0.1"],
        capture_output=True,
        timeout=10,
    )
    assert result.stdout == b"ok\n", result.stderr


def test_plaintext_on_the_tls_port_is_refused_and_logged(tls_server):
    with socket.create_connection(("127.0.0.1", tls_server.tls_port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        try:
            while chunk := sock.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
    assert b"HTTP/1.1 200" not in data
    assert tls_server.wait_for_log("TLS handshake failed")


def test_missing_certificate_is_a_clear_startup_error(tmp_path):
    from conftest import holdfast_binary

    result = subprocess.run(
        [str(holdfast_binary()), "serve", "--listen", "127.0.0.1:0", "--tls-port", "0",
         "--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(tmp_path / "missing-key.pem")],
        capture_output=True, timeout=20,
    )
    assert result.returncode != 0
    assert b"missing.pem" in result.stderr


def test_mismatched_key_is_a_clear_startup_error(tmp_path, certificate):
    from conftest import holdfast_binary

    cert, _ = certificate
    other_key = tmp_path / "other.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-out", str(other_key)], check=True, capture_output=True)
    result = subprocess.run(
        [str(holdfast_binary()), "serve", "--listen", "127.0.0.1:0", "--tls-port", "0",
         "--tls-cert", str(cert), "--tls-key", str(other_key)],
        capture_output=True, timeout=20,
    )
    assert result.returncode != 0
    assert b"match" in result.stderr.lower()


def test_idle_tls_connection_resumes_after_releasing_its_cipher_contexts(tls_server, certificate):
    import time

    # The sweep (every 250 ms) drops an idle connection's cipher contexts; traffic afterwards re-creates them.
    with connect(tls_server.tls_url + "/ws/echo", ssl=client_context(certificate), ping_interval=None) as ws:
        for round_number in range(3):
            ws.send(f"round {round_number}")
            assert ws.recv(timeout=5) == f"round {round_number}"
            time.sleep(0.7)
