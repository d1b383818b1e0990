"""`holdfast-bench chat --reconnect` across a crash: the serving process is killed with SIGKILL under chat traffic
(a fifth of the users over TLS) and started again on the same ports and state directory, as systemd's restart does.
The bench's users reconnect with phoenix.js's backoff and rejoin with `last_seen_id`; the run passes only if every
acknowledged message reached every member of its room exactly once and in order, and it reports the reconnects."""
import json
import os
import signal
import subprocess
import time

from conftest import holdfast_binary
from test_binary_upgrade import TOKEN, admin

SECRET = "r" * 48
USERS = 60


def wait_for_connections(server, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, document = admin(server, "GET", "/admin/status", timeout=5)
        if status == 200 and document.get("connections", 0) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"the bench did not connect {count} users in time")


def test_bench_reconnects_after_a_crash_and_loses_no_acknowledged_message(server_factory, certificate, tmp_path):
    cert, key = certificate
    env = {
        "HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": TOKEN, "HOLDFAST_LOG_LEVEL": "info",
        "HOLDFAST_TLS_LISTEN": "127.0.0.1:0", "HOLDFAST_TLS_CERT": str(cert), "HOLDFAST_TLS_KEY": str(key),
        "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000",
    }
    server = server_factory(env)
    report = tmp_path / "chat.json"
    bench = subprocess.Popen(
        [str(holdfast_binary().parent / "holdfast-bench"), "chat", "--reconnect",
         "--url", f"{server.url}/socket/websocket", "--tls-url", server.tls_url, "--tls-share", "0.2",
         "--secret", SECRET, "--connections", str(USERS), "--rooms", "3", "--rate", "4", "--warmup", "0.5",
         "--duration", "8", "--json", str(report)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_connections(server, USERS)
        time.sleep(2.5)  # into the measured window, with messages in flight
        os.kill(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=10)
        time.sleep(0.3)  # a moment with nobody listening: reconnect attempts are refused and retried
        restarted = server_factory({
            **env, "HOLDFAST_LISTEN": f"127.0.0.1:{server.port}", "HOLDFAST_TLS_LISTEN": f"127.0.0.1:{server.tls_port}",
            "HOLDFAST_ADMIN_LISTEN": f"127.0.0.1:{server.admin_port}",
        })
        assert restarted.port == server.port and restarted.tls_port == server.tls_port
        output, _ = bench.communicate(timeout=120)
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
    text = output.decode(errors="replace")
    print(text)
    result = json.loads(report.read_text())
    assert (result["lost"], result["reordered"], result["closed"]) == (0, 0, 0), text
    # A rejoin replays only what the room has already broadcast: nothing arrives twice (the bench counts a
    # duplicate of the newest messages at a rejoin apart, as `duplicated_within_rejoin`, to name that race).
    assert (result["duplicated"], result["duplicated_within_rejoin"]) == (0, 0), text
    assert bench.returncode == 0, text
    assert result["joined"] == USERS and result["tls_joined"] == USERS // 5, text
    # Every user lost its connection once and came back.
    assert result["drops"] == USERS and result["reconnects"] == USERS, text
    assert result["reconnect_attempts_failed"] > 0, text  # the restart took longer than the first backoff steps
    reconnect = result["reconnect_ms"]
    assert reconnect["count"] == USERS and 0 < reconnect["p50"] <= reconnect["p99"] <= reconnect["max"], text
    # Traffic went on after the restart: more was acknowledged than could have been before the kill.
    assert result["messages_acked"] > 0 and result["messages_sent"] >= result["messages_acked"], text
    # What was in flight at the kill never got an answer: reported apart, not as lost.
    assert result["unacknowledged"] == result["messages_sent"] - result["messages_acked"], text
    # Members that came back later got what the earlier ones sent meanwhile through last_seen_id.
    assert result["recovered_deliveries"] > 0, text
    assert "reconnects: 60 dropped, 60 rejoined" in text, text
