"""systemd's watchdog (`WatchdogSec=`): the server pings `WATCHDOG=1` while its event loops answer, the new process
of a binary upgrade takes the pings over, and a process that hangs where nothing else can cut it (the new binary
stuck after the old one committed) stops pinging, so the service manager kills and restarts it; clients then
recover every acknowledged message from history. The test plays systemd: it owns the notification socket and
learns each sender's pid from its credentials."""
import os
import signal
import socket
import struct
import tempfile
import time
from pathlib import Path

import pytest

from chat_ledger import ChatLedger
from conftest import process_alive
from test_binary_upgrade import TOKEN, admin, handoff_server, variant_binary  # noqa: F401 (fixtures)

PERIOD_SECONDS = 1.0


class NotifySocket:
    """A datagram socket standing in for systemd's: every message with the pid that sent it."""

    def __init__(self):
        self.directory = tempfile.mkdtemp(prefix="holdfast-notify-")
        self.path = str(Path(self.directory) / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.sock.bind(self.path)

    def messages(self, seconds):
        """(pid, text) of every message within `seconds`."""
        received = []
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, ancillary, _, _ = self.sock.recvmsg(4096, socket.CMSG_SPACE(12))
            except (TimeoutError, socket.timeout):
                break
            pid = next((struct.unpack("iII", payload)[0] for level, kind, payload in ancillary
                        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), None)
            received.append((pid, data.decode()))
        return received

    def drop_pending(self):
        """Forgets what was sent so far (a process that just exited may have pinged before)."""
        self.sock.setblocking(False)
        try:
            while True:
                self.sock.recv(4096)
        except BlockingIOError:
            pass

    def pings_from(self, seconds):
        return [pid for pid, text in self.messages(seconds) if "WATCHDOG=1" in text.split("\n")]

    def close(self):
        self.sock.close()
        os.unlink(self.path)
        os.rmdir(self.directory)


@pytest.fixture
def notify_socket():
    listener = NotifySocket()
    yield listener
    listener.close()


def watchdog_env(notify_socket, extra=None):
    return {"NOTIFY_SOCKET": notify_socket.path, "WATCHDOG_USEC": str(int(PERIOD_SECONDS * 1_000_000)),
            **(extra or {})}


def test_the_serving_process_pings_and_the_new_one_takes_the_pings_over(handoff_server, variant_binary,
                                                                        notify_socket):
    server = handoff_server(watchdog_env(notify_socket))
    old = server.process.pid
    pings = notify_socket.pings_from(3 * PERIOD_SECONDS)
    assert pings.count(old) >= 4, pings

    status, answer = admin(server, "POST", "/admin/upgrade", {"binary": str(variant_binary)})
    assert status == 200, answer
    new = answer["new_pid"]
    assert new != old
    deadline = time.monotonic() + 10
    while process_alive(old) and time.monotonic() < deadline:
        time.sleep(0.05)
    notify_socket.drop_pending()
    pings = notify_socket.pings_from(3 * PERIOD_SECONDS)
    assert pings.count(new) >= 4 and old not in pings, pings
    os.kill(new, signal.SIGTERM)


def test_a_new_process_stuck_after_the_commit_stops_pinging_and_a_restart_loses_nothing(
        handoff_server, variant_binary, notify_socket):
    env = watchdog_env(notify_socket, {
        "HOLDFAST_TEST_FAULT": "new:commit:hang", "HOLDFAST_TEST_FAULTS_ALLOWED": "1",
        "HOLDFAST_UPGRADE_READY_TIMEOUT_MS": "2000", "HOLDFAST_UPGRADE_DONE_TIMEOUT_MS": "2000",
        "HOLDFAST_UPGRADE_STEP_TIMEOUT_MS": "4000",
    })
    server = handoff_server(env)
    ledger = ChatLedger(server, "room:stuck", ["ana", "ben", "cid"])
    ledger.steady(4)
    ledger.burst(10)
    # The old process sends COMMIT, waits for an ACK that never comes, and exits: the stuck new process owns
    # every socket.
    status, answer = admin(server, "POST", "/admin/upgrade", {"binary": str(variant_binary)})
    assert status == 200 and answer["acknowledged"] is False, answer
    stuck = answer["new_pid"]
    try:
        server.process.wait(timeout=15)
        notify_socket.drop_pending()
        pings = notify_socket.pings_from(3 * PERIOD_SECONDS)
        assert stuck not in pings and not pings, pings
        assert process_alive(stuck)
        ledger.read_until_closed(0.2)
    finally:
        # What systemd does once WatchdogSec passes without a ping: kill it, then Restart=.
        os.kill(stuck, signal.SIGKILL)
    restarted = handoff_server(env | {"HOLDFAST_TEST_FAULT": ""})
    assert restarted.process.pid in notify_socket.pings_from(2 * PERIOD_SECONDS)
    ledger.rejoin(restarted)
    ledger.verify_exactly_once()
