"""Handler swaps that go wrong on purpose, under chat traffic with TLS users: a plugin whose migrate throws, traps
or hangs, whose makeHandler or exportState traps, whose downgrade traps on a rollback, and one that hangs only in
the server (its rehearsal passed). Each swap is refused with a typed error while the old handlers keep serving:
0 connections closed, every acknowledged message delivered exactly once and in order to every member of its room,
0 presence_diff; and a good swap (ChatHandlersV2) succeeds afterwards.

The misbehaving plugin (plugins/MisbehavingHandlers.swift) reads its fault from a file at each hook, so a fault is
armed and cleared on a running server."""
import json
import ssl
import subprocess
import threading
import time

import pytest

from conftest import ROOT, holdfast_binary
from phx import Phoenix, sign_token
from test_upgrade import SECRET, admin, v2_plugin  # noqa: F401 (fixture)

MISBEHAVING_VERSION = "9.0.0-misbehaving"
ADMIN_TOKEN = "admin-secret-token"


@pytest.fixture(scope="session")
def misbehaving_plugin(tmp_path_factory):
    """Built once per session against the server's own HoldfastHandlerAPI (same build tag)."""
    bin_dir = holdfast_binary().parent
    output = tmp_path_factory.mktemp("plugins") / "libMisbehavingHandlers.so"
    subprocess.run(
        ["swiftc", "-swift-version", "6", "-parse-as-library", "-emit-library", "-module-name", "MisbehavingHandlers",
         str(ROOT / "Tests" / "EndToEnd" / "plugins" / "MisbehavingHandlers.swift"), "-I", str(bin_dir / "Modules"),
         "-L", str(bin_dir), "-lHoldfastHandlerAPI", "-Xlinker", "-rpath", "-Xlinker", str(bin_dir),
         "-o", str(output)],
        check=True, capture_output=True, timeout=600)
    return str(output)


@pytest.fixture
def swap_server(server_factory, certificate, tmp_path):
    cert, key = certificate
    fault_file = tmp_path / "plugin-fault"
    fault_file.write_text("")
    server = server_factory({
        "HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": ADMIN_TOKEN,
        "HOLDFAST_TLS_LISTEN": "127.0.0.1:0", "HOLDFAST_TLS_CERT": str(cert), "HOLDFAST_TLS_KEY": str(key),
        "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000",
        "HOLDFAST_TEST_PLUGIN_FAULT_FILE": str(fault_file),
        # Deadlines short enough for a test, long enough for a loaded 2-core machine to rehearse a good plugin.
        "HOLDFAST_UPGRADE_PLUGIN_VALIDATION_TIMEOUT_MS": "4000",
        "HOLDFAST_UPGRADE_HANDLER_SWAP_TIMEOUT_MS": "1500",
    })
    server.fault_file = fault_file
    return server


class Member:
    """One user in one room, driven by its own thread: one message in flight at a time."""

    def __init__(self, server, index: int, topic: str, tls_context):
        self.user = f"user{index}"
        self.topic = topic
        options = {"base_url": server.tls_url, "ssl": tls_context} if tls_context else {}
        self.phx = Phoenix(server, token=sign_token(SECRET.encode(), self.user), **options)
        self.join_ref = self.phx.join(topic, {"device": "test"})["join_ref"]
        self.acked: list[int] = []
        self.statuses: list[str] = []
        self.received: list[dict] = []
        self.presence_diffs = 0
        self.error = None

    def take(self, message):
        if message["event"] == "new_msg" and message["topic"] == self.topic:
            self.received.append(message["payload"])
        elif message["event"] == "presence_diff":
            self.presence_diffs += 1

    def settle(self):
        """Reads up to a heartbeat's reply: what the joins broadcast is behind us, presence must not move now."""
        ref = self.phx.push("phoenix", "heartbeat", {})
        self.phx.reply_to(ref, timeout=10)
        self.phx.inbox.clear()

    def chat(self, stop: threading.Event):
        try:
            seq = 0
            while not stop.is_set():
                seq += 1
                body = f"{self.user}:{seq}"
                ref = self.phx.push(self.topic, "new_msg", {"body": body, "client_id": body}, join_ref=self.join_ref)
                while True:
                    message = self.phx.next(timeout=30)
                    if message["event"] == "phx_reply" and message["ref"] == ref:
                        self.statuses.append(message["payload"]["status"])
                        self.acked.append(seq)
                        break
                    self.take(message)
                time.sleep(0.02)
        except Exception as error:  # a closed connection or a missing reply fails the test below
            self.error = repr(error)

    def drain(self, expected: int, deadline: float):
        while len(self.received) < expected and time.monotonic() < deadline and self.error is None:
            try:
                self.take(self.phx.next(timeout=max(0.05, deadline - time.monotonic())))
            except TimeoutError:
                break
            except Exception as error:
                self.error = repr(error)

    def alive(self) -> bool:
        ref = self.phx.push("phoenix", "heartbeat", {})
        return self.phx.reply_to(ref, timeout=10)["payload"]["status"] == "ok"


class ChatTraffic:
    """Six users in two rooms, one per room over TLS, chatting until stopped."""

    def __init__(self, server, certificate, rooms: int = 2, per_room: int = 3):
        context = ssl.create_default_context(cafile=str(certificate[0]))
        context.check_hostname = False
        self.members = [Member(server, index, f"room:faults{index % rooms}", context if index < rooms else None)
                        for index in range(rooms * per_room)]
        time.sleep(0.3)  # the joins' presence diffs go out (presence window 20 ms)
        for member in self.members:
            member.settle()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=member.chat, args=(self.stop,)) for member in self.members]
        for thread in self.threads:
            thread.start()

    def finish(self):
        """Stops the senders, waits for every acknowledged message to reach every member, and checks the zeros."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in self.threads), "a sender hung"
        deadline = time.monotonic() + 20
        for member in self.members:
            room = [other for other in self.members if other.topic == member.topic]
            member.drain(sum(len(other.acked) for other in room), deadline)
        for member in self.members:
            assert member.error is None, f"{member.user}: {member.error}"
            assert member.acked and all(status == "ok" for status in member.statuses), (member.user, member.statuses)
            assert member.presence_diffs == 0, f"{member.user} saw {member.presence_diffs} presence_diff"
            room = [other for other in self.members if other.topic == member.topic]
            ids = [payload["id"] for payload in member.received]
            assert ids == sorted(set(ids)), f"{member.user}: messages duplicated or reordered"
            for other in room:
                got = [p["body"] for p in member.received if p["user"] == other.user]
                assert got == [f"{other.user}:{seq}" for seq in other.acked], \
                    f"{member.user} got {len(got)} of {len(other.acked)} acknowledged messages of {other.user}"
            assert len(member.received) == sum(len(other.acked) for other in room), f"{member.user}: extra messages"
            assert member.alive(), f"{member.user}: no heartbeat reply"
        return sum(len(member.acked) for member in self.members)

    def close(self):
        for member in self.members:
            member.phx.close()


def status_of(server):
    status, state = admin(server, "GET", "/admin/status")
    assert status == 200, state
    return state


def wait_until_swappable(server, timeout: float = 15):
    """After an abandoned swap returns from plugin code, the registry is free again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": "/nonexistent/probe.so"})
        if answer.get("check") != "upgrade_in_progress":
            return
        time.sleep(0.1)
    raise AssertionError("the abandoned swap never returned")


# fault line, swap attempted, status, check, step named in the reason (None: not a process-level failure)
CASES = [
    ("migrate:throw", "upgrade", 422, "migration_failed", None),
    ("migrate:trap", "upgrade", 422, "plugin_trapped", "migrate"),
    ("migrate:hang", "upgrade", 504, "plugin_timeout", "migrate"),
    ("make_handler:throw", "upgrade", 422, "init_failed", None),
    ("make_handler:trap", "upgrade", 422, "plugin_trapped", "make_handler"),
    ("export_state:trap", "upgrade", 422, "plugin_trapped", "export_state"),
    ("downgrade:trap", "rollback", 422, "plugin_trapped", "downgrade"),
    ("migrate:hang-in-server", "upgrade", 504, "swap_timeout", None),
]


@pytest.mark.parametrize("fault,swap,expected_status,check,step", CASES, ids=[case[0] for case in CASES])
def test_a_misbehaving_plugin_is_refused_and_nothing_moves(swap_server, certificate, misbehaving_plugin, v2_plugin,
                                                            fault, swap, expected_status, check, step):
    server = swap_server
    pid = server.process.pid
    if swap == "rollback":
        # The misbehaving plugin serves first (its rehearsal and swap pass); the rollback away from it misbehaves.
        status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": misbehaving_plugin})
        assert status == 200 and answer["to"] == MISBEHAVING_VERSION, answer
    serving = status_of(server)["handlers"]["current"]
    server.fault_file.write_text(fault + "\n")

    traffic = ChatTraffic(server, certificate)
    try:
        time.sleep(0.4)
        started = time.monotonic()
        if swap == "upgrade":
            status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": misbehaving_plugin})
        else:
            status, answer = admin(server, "POST", "/admin/rollback", {})
        took = time.monotonic() - started
        time.sleep(0.4)
        state = status_of(server)
        delivered = traffic.finish()
    finally:
        traffic.close()

    assert (status, answer.get("check")) == (expected_status, check), (status, answer, server.log()[-3000:])
    if step is not None:
        assert f"step {step} " in answer["error"], answer
    if check == "plugin_trapped":
        assert "SIGILL" in answer["error"] or "SIGTRAP" in answer["error"], answer
        assert f"{fault.split(':')[0]} traps on purpose" in answer["error"], answer  # the runtime's message
    assert took < 30, took
    assert delivered > 0
    assert server.process.poll() is None and state["pid"] == pid
    assert state["handlers"]["current"] == serving, state["handlers"]
    assert state["last_upgrade"]["outcome"] == "refused", state["last_upgrade"]
    assert state["last_upgrade"]["error"].startswith(check), state["last_upgrade"]

    server.fault_file.write_text("")
    if fault.endswith("hang-in-server"):
        # The stuck call returns once the fault is cleared; the swap it belonged to must not publish late.
        wait_until_swappable(server)
        assert status_of(server)["handlers"]["current"] == serving
    if swap == "rollback":
        status, answer = admin(server, "POST", "/admin/rollback", {})
        assert status == 200 and answer["to"] == "1.0.0", answer
    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": v2_plugin})
    assert status == 200 and answer["to"] == "2.0.0", answer
    assert status_of(server)["handlers"]["current"] == "2.0.0"


def test_the_rehearsal_runs_while_rooms_keep_serving(swap_server, misbehaving_plugin):
    """The rehearsal happens before any room is suspended: a room answers while a rehearsal hangs."""
    server = swap_server
    server.fault_file.write_text("migrate:hang\n")
    alice = Phoenix(server, token=sign_token(SECRET.encode(), "alice"))
    join = alice.join("room:during")
    answers = {}
    thread = threading.Thread(target=lambda: answers.update(
        upgrade=admin(server, "POST", "/admin/upgrade", {"handlers": misbehaving_plugin})))
    thread.start()
    try:
        assert server.wait_for_log("handler upgrade requested", timeout=10)
        round_trips = 0
        while thread.is_alive() and round_trips < 20:
            ref = alice.push("room:during", "new_msg", {"body": f"during {round_trips}"}, join_ref=join["join_ref"])
            assert alice.reply_to(ref, timeout=10)["payload"]["status"] == "ok"
            round_trips += 1
            time.sleep(0.05)
    finally:
        thread.join(timeout=30)
        alice.close()
    assert answers["upgrade"][0] == 504 and answers["upgrade"][1]["check"] == "plugin_timeout", answers
    assert round_trips >= 3, "messages were not answered while the rehearsal ran"
