"""Fixtures for end-to-end tests: a real `holdfast serve` process on loopback, real clients."""

import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def holdfast_binary() -> Path:
    explicit = os.environ.get("HOLDFAST_BIN")
    if explicit:
        return Path(explicit)
    return ROOT / ".build" / "debug" / "holdfast"


def process_alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, which nobody may reap in a container, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


class RunningServer:
    """A server process plus the log lines it printed (stderr), collected by a background thread."""

    def __init__(self, process: subprocess.Popen, env: dict):
        self.process = process
        self.env = env
        self.lines: list[str] = []
        self.lock = threading.Lock()
        self.port = None
        self.tls_port = None
        self.admin_port = None
        self.api_port = None
        self.listening = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for raw in self.process.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            with self.lock:
                self.lines.append(line)
            if "listening" in line and self.port is None:
                match = re.search(r"(?<![\w-])address=\S*:(\d+)", line)
                tls = re.search(r"tls-address=\S*:(\d+)", line)
                if match:
                    self.port = int(match.group(1))
                if tls:
                    self.tls_port = int(tls.group(1))
                admin = re.search(r"admin-address=\S*:(\d+)", line)
                if admin:
                    self.admin_port = int(admin.group(1))
                api = re.search(r"api-address=\S*:(\d+)", line)
                if api:
                    self.api_port = int(api.group(1))
                self.listening.set()

    def log(self) -> str:
        with self.lock:
            return "\n".join(self.lines)

    def wait_for_log(self, needle: str, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.log():
                return True
            time.sleep(0.02)
        return False

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"wss://127.0.0.1:{self.tls_port}"

    def serving_pid(self) -> int:
        """The pid that serves now: after a binary upgrade, the new process (from its "listening" log line)."""
        with self.lock:
            pids = [int(m.group(1)) for line in self.lines if "listening" in line
                    for m in [re.search(r"\bpid=(\d+)", line)] if m]
        return pids[-1] if pids else self.process.pid

    def stop(self):
        serving = self.serving_pid()
        if serving != self.process.pid:
            # A binary upgrade replaced the process we started; stop its successor (not our child).
            try:
                os.kill(serving, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 10
            while process_alive(serving) and time.monotonic() < deadline:
                time.sleep(0.05)
            if process_alive(serving):
                os.kill(serving, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(extra_env=None, args=None, tmp_path=None) -> RunningServer:
    env = dict(os.environ)
    env.update(
        {
            "HOLDFAST_LISTEN": "127.0.0.1:0",
            "HOLDFAST_ADMIN_LISTEN": "127.0.0.1:0",
            "HOLDFAST_API_LISTEN": "127.0.0.1:0",
            "HOLDFAST_EVENT_LOOPS": "2",
            "HOLDFAST_LOG_LEVEL": "debug",
        }
    )
    if tmp_path is not None:
        env["HOLDFAST_STATE_DIR"] = str(tmp_path / "state")
    env.update(extra_env or {})
    process = subprocess.Popen(
        [str(holdfast_binary()), "serve", *(args or [])],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = RunningServer(process, env)
    if not server.listening.wait(15):
        server.stop()
        raise RuntimeError("server did not start:\n" + server.log())
    return server


@pytest.fixture
def server_factory(tmp_path):
    started: list[RunningServer] = []

    def factory(extra_env=None, args=None):
        server = start_server(extra_env, args, tmp_path)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def server(server_factory):
    return server_factory()


@pytest.fixture(scope="session")
def certificate(tmp_path_factory):
    """A throwaway self-signed certificate for 127.0.0.1/localhost (openssl CLI)."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(server_factory, certificate):
    cert, key = certificate
    return server_factory(
        {"HOLDFAST_TLS_LISTEN": "127.0.0.1:0", "HOLDFAST_TLS_CERT": str(cert), "HOLDFAST_TLS_KEY": str(key)}
    )


def raw_connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    return sock


def read_until_closed(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    data = b""
    while len(data) < limit:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    return data
