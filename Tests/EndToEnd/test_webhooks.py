"""Webhooks to a real receiver (a Python HTTP server in the test): signed batches of room_occupied, member_added,
member_removed and room_vacated (per user, not per device), delivered at least once and in order per room after
the receiver was down for 30 s, kept on disk across a restart, and silent over a handler swap and a binary
upgrade, where nobody joined or left."""

import json
import shutil
import socket
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import holdfast_binary, process_alive, start_server
from phx import Phoenix, sign_token

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
from holdfast_api import verify_signature  # noqa: E402

SECRET = "w" * 48
HOOK_SECRET = "webhook-secret-0123456789"
ADMIN = "webhook-test-admin-token"


class Receiver:
    """Collects every POST: its body, whether the signature checks out, and the events in arrival order."""

    def __init__(self, port=0):
        self.batches, self.lock = [], threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                valid = verify_signature(HOOK_SECRET, body, self.headers.get("X-Holdfast-Signature", ""))
                with outer.lock:
                    outer.batches.append((valid, json.loads(body)))
                self.send_response(204 if valid else 400)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.http.server_address[1]
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def stop(self):
        self.http.shutdown()
        self.http.server_close()

    def events(self):
        with self.lock:
            return [event for _, batch in self.batches for event in batch["events"]]

    def all_signed(self):
        with self.lock:
            return all(valid for valid, _ in self.batches)

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.events()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.events()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def hook_env(port, **extra):
    env = {
        "HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": ADMIN, "HOLDFAST_LOG_LEVEL": "info",
        "HOLDFAST_WEBHOOKS_URL": f"http://127.0.0.1:{port}/hooks", "HOLDFAST_WEBHOOKS_SECRET": HOOK_SECRET,
        "HOLDFAST_WEBHOOKS_MAX_BACKOFF_MS": "1000",
    }
    env.update(extra)
    return env


def summary(events, topic):
    return [(e["name"], e.get("user_id")) for e in events if e["topic"] == topic]


def member(server, user):
    return Phoenix(server, user, token=sign_token(SECRET.encode(), user))


def test_every_event_arrives_signed_and_in_order_per_room_after_the_receiver_was_down_30_s(server_factory):
    port = free_port()
    server = server_factory(hook_env(port))
    alice_phone, alice_laptop, bob = member(server, "alice"), member(server, "alice"), member(server, "bob")
    alice_phone.join("room:a")
    alice_laptop.join("room:a")  # a second device of the same user: no second member_added
    bob.join("room:a")
    bob.join("room:b")
    time.sleep(0.3)
    alice_phone.close()  # alice still has her laptop: no member_removed
    time.sleep(0.3)
    alice_laptop.close()
    bob.close()
    time.sleep(30)  # the receiver is down all along: the server retries with backoff
    assert "webhook delivery failed, retrying" in server.log()
    receiver = Receiver(port)
    try:
        events = receiver.wait_for(9, timeout=15)
        time.sleep(0.5)
        events = receiver.events()
        assert summary(events, "room:a") == [
            ("room_occupied", None), ("member_added", "alice"), ("member_added", "bob"),
            ("member_removed", "alice"), ("member_removed", "bob"), ("room_vacated", None)]
        assert summary(events, "room:b") == [("room_occupied", None), ("member_added", "bob"),
                                             ("member_removed", "bob"), ("room_vacated", None)]
        assert receiver.all_signed()
        assert all(isinstance(e["time_ms"], int) for e in events)
    finally:
        receiver.stop()


def test_queued_events_survive_a_restart(server_factory, tmp_path):
    port = free_port()
    server = server_factory(hook_env(port))
    carol = member(server, "carol")
    carol.join("room:r")
    time.sleep(0.3)
    server.stop()  # carol's socket closes with the server: her leave is queued too
    again = server_factory(hook_env(port))
    receiver = Receiver(port)
    try:
        events = receiver.wait_for(4, timeout=15)
        assert summary(events, "room:r") == [("room_occupied", None), ("member_added", "carol"),
                                             ("member_removed", "carol"), ("room_vacated", None)]
        assert receiver.all_signed()
    finally:
        receiver.stop()
        again.stop()


def admin(server, body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.admin_port}/admin/upgrade", method="POST", data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {ADMIN}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


def test_no_webhook_fires_during_a_handler_swap_or_a_binary_upgrade(server_factory, tmp_path):
    receiver = Receiver()
    try:
        server = server_factory(hook_env(receiver.port))
        members = [member(server, user) for user in ("dave", "erin", "dave")]
        for each in members:
            each.join("room:stay")
        settled = receiver.wait_for(3)
        time.sleep(0.5)
        assert summary(receiver.events(), "room:stay") == [
            ("room_occupied", None), ("member_added", "dave"), ("member_added", "erin")]
        library = holdfast_binary().resolve().parent / "libChatHandlers.so"
        copy = tmp_path / "handlers-copy.so"
        shutil.copy(library, copy)
        status, answer = admin(server, {"handlers": str(copy)})
        assert status == 200, answer
        old_pid = server.serving_pid()
        status, answer = admin(server, {"binary": str(holdfast_binary().resolve())})
        assert status == 200, answer
        deadline = time.monotonic() + 10
        while process_alive(old_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)
        assert len(receiver.events()) == len(settled), receiver.events()[len(settled):]
        # The new process delivers: erin leaving is reported, and only that.
        members[1].close()
        events = receiver.wait_for(len(settled) + 1)
        time.sleep(0.3)
        assert summary(receiver.events(), "room:stay")[3:] == [("member_removed", "erin")]
        assert receiver.all_signed()
        for each in (members[0], members[2]):
            each.close()
    finally:
        receiver.stop()
