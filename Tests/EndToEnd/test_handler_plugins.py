"""The example handler plugins in a running server: the moderation handlers swapped in under traffic (kick, slow mode
and the word filter work from the swap's answer on, and are unknown again after the rollback), both examples swapped
in under `holdfast-bench upgrade` traffic with nothing lost, and the handler-call budget."""
import json
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import ROOT, holdfast_binary
from phx import Phoenix, sign_token
from test_upgrade import SECRET, admin, v2_plugin  # noqa: F401 (fixture)

ADMIN_TOKEN = "admin-secret-token"
MODERATION_VERSION = "1.0.0-moderation"


@pytest.fixture(scope="session")
def moderation_plugin():
    """Examples/ModerationHandlers built out of tree by its own script, as a plugin author would."""
    result = subprocess.run(
        ["sh", str(ROOT / "Examples" / "ModerationHandlers" / "build.sh")], capture_output=True, timeout=1200,
        check=True)
    return result.stdout.decode().strip().splitlines()[-1]


@pytest.fixture
def moderated(server_factory, tmp_path):
    """A server whose handler settings name mia as moderator, block "spam" and allow one message in 3 seconds."""
    settings = tmp_path / "handlers.json"
    settings.write_text(json.dumps({"moderators": ["mia"], "blocked_words": ["spam"], "slow_mode_seconds": 3}))
    return server_factory({
        "HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": ADMIN_TOKEN,
        "HOLDFAST_HANDLER_CONFIG": str(settings), "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000",
    })


def client(server, user):
    return Phoenix(server, token=sign_token(SECRET.encode(), user))


def send(user, join, topic, event, payload):
    ref = user.push(topic, event, payload, join_ref=join["join_ref"])
    return user.reply_to(ref)["payload"]


class Traffic:
    """One user sending a message every 20 ms to a room another user watches, on threads of their own."""

    def __init__(self, server, topic):
        self.topic = topic
        self.sender, self.watcher = client(server, "talker"), client(server, "listener")
        self.watcher.join(topic)
        self.watcher.event(topic, "presence_state")
        self.join = self.sender.join(topic)
        # The talker's join reaches the watcher as a diff; after it, the room's presence must not change again.
        self.watcher.wait_for(lambda m: m["event"] == "presence_diff" and "talker" in m["payload"]["joins"])
        self.stop = threading.Event()
        self.pushed, self.acked, self.refused, self.delivered, self.other = 0, [], [], [], []
        self.threads = [threading.Thread(target=self._send), threading.Thread(target=self._watch)]
        for thread in self.threads:
            thread.start()

    def _send(self):
        while not self.stop.is_set():
            self.pushed += 1
            reply = send(self.sender, self.join, self.topic, "new_msg", {"body": f"m{self.pushed}"})
            (self.acked if reply["status"] == "ok" else self.refused).append(reply["response"])
            time.sleep(0.02)

    def _watch(self):
        while not self.stop.is_set() or len(self.delivered) < len(self.acked):
            try:
                message = self.watcher.next(timeout=0.5)
            except TimeoutError:
                if self.stop.is_set():
                    return
                continue
            if message["event"] == "new_msg":
                self.delivered.append(message["payload"]["id"])
            else:
                self.other.append(message)

    def finish(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)
        self.sender.close()
        self.watcher.close()


def test_the_moderation_handlers_work_from_the_swap_on_and_are_unknown_after_the_rollback(moderated,
                                                                                           moderation_plugin):
    server = moderated
    traffic = Traffic(server, "room:mod-traffic")
    mia, bob, eve = client(server, "mia"), client(server, "bob"), client(server, "eve")
    m, b, e = mia.join("room:mod"), bob.join("room:mod"), eve.join("room:mod")
    assert send(mia, m, "room:mod", "kick", {"user": "bob"}) == {"status": "error", "response": {"reason": "unknown event"}}
    ref = bob.push("room:mod", "new_msg", {"body": "hello"}, join_ref=b["join_ref"])
    message_id = bob.reply_to(ref)["payload"]["response"]["id"]
    time.sleep(0.3)

    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": moderation_plugin})
    assert status == 200, answer
    # Right after the answer: the word filter, slow mode and kick.
    assert send(eve, e, "room:mod", "new_msg", {"body": "buy SPAM now"}) == {
        "status": "error", "response": {"reason": "message blocked"}}
    assert send(eve, e, "room:mod", "new_msg", {"body": "one"})["status"] == "ok"
    refused = send(eve, e, "room:mod", "new_msg", {"body": "two"})
    assert refused["status"] == "error" and refused["response"]["reason"] == "slow mode"
    assert 0 <= refused["response"]["retry_after_ms"] <= 3000
    # The edit rule carried over with the room: bob's message from before the swap is still his alone.
    assert send(eve, e, "room:mod", "delete_msg", {"id": message_id})["response"] == {"reason": "not your message"}
    assert send(bob, b, "room:mod", "kick", {"user": "mia"})["response"] == {"reason": "not a moderator"}
    assert send(mia, m, "room:mod", "kick", {"user": "bob"}) == {"status": "ok", "response": {"kicked": "bob"}}
    assert bob.event("room:mod", "kicked")["payload"] == {"user": "bob", "by": "mia"}
    assert bob.event("room:mod", "phx_close")["join_ref"] == b["join_ref"]
    assert eve.event("room:mod", "kicked")["payload"]["user"] == "bob"
    # The slow-mode timer ends eve's window: a message is accepted again once it fired.
    deadline = time.monotonic() + 10
    while True:
        reply = send(eve, e, "room:mod", "new_msg", {"body": "three"})
        if reply["status"] == "ok" or time.monotonic() > deadline:
            break
        assert reply["response"]["reason"] == "slow mode"
        time.sleep(reply["response"]["retry_after_ms"] / 1000 + 0.05)
    assert reply["status"] == "ok", reply
    state = admin(server, "GET", "/admin/status")[1]
    assert state["handlers"]["current"] == MODERATION_VERSION

    status, answer = admin(server, "POST", "/admin/rollback")
    assert status == 200, answer
    assert send(mia, m, "room:mod", "kick", {"user": "eve"}) == {"status": "error", "response": {"reason": "unknown event"}}
    assert send(eve, e, "room:mod", "new_msg", {"body": "spam is fine here"})["status"] == "ok"
    assert send(eve, e, "room:mod", "new_msg", {"body": "and so is speed"})["status"] == "ok"
    traffic.finish()

    # Traffic across both swaps: every push answered, every accepted message delivered once, in order; the watcher
    # saw no close, no error and no presence change.
    assert traffic.pushed == len(traffic.acked) + len(traffic.refused)
    assert all(refusal["reason"] == "slow mode" for refusal in traffic.refused)
    acked_ids = [response["id"] for response in traffic.acked]
    assert traffic.delivered == acked_ids and acked_ids == sorted(set(acked_ids))
    assert [m["event"] for m in traffic.other] == [], traffic.other
    for user in (mia, bob, eve):
        user.close()


def test_an_unreadable_settings_file_refuses_the_swap_and_nothing_changes(server_factory, tmp_path,
                                                                            moderation_plugin):
    settings = tmp_path / "handlers.json"
    settings.write_text(json.dumps({"moderators": "mia"}))
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": ADMIN_TOKEN,
                             "HOLDFAST_HANDLER_CONFIG": str(settings)})
    # The built-in handlers ignore their settings, so the server starts; the moderation handlers refuse them.
    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": moderation_plugin})
    assert status == 422 and answer["check"] == "init_failed", answer
    assert "moderators must be an array of strings" in json.dumps(answer)
    settings.write_text("{not json")
    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": moderation_plugin})
    assert status == 422 and answer["check"] == "config_invalid", answer
    settings.write_text(json.dumps({"moderators": ["mia"]}))
    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": moderation_plugin})
    assert status == 200, answer
    bob = client(server, "bob")
    join = bob.join("room:settings")
    assert send(bob, join, "room:settings", "kick", {"user": "mia"})["response"] == {"reason": "not a moderator"}
    # Edited settings take effect with the next swap, to the same plugin too.
    settings.write_text(json.dumps({"moderators": ["bob"]}))
    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": moderation_plugin})
    assert status == 200, answer
    assert send(bob, join, "room:settings", "kick", {"user": "mia"})["status"] == "ok"
    bob.close()


def test_both_example_plugins_swap_in_under_the_load_harness_with_nothing_lost(server_factory, moderation_plugin,
                                                                                 v2_plugin):  # noqa: F811
    """`holdfast-bench upgrade` chat traffic from 120 users in 6 rooms while the handlers go built-in → moderation →
    built-in → 2.0.0 → built-in: each swap answered 200, with 0 closed, lost, duplicated or reordered, no presence
    diff."""
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": ADMIN_TOKEN,
                             "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000"})
    built_in = str((holdfast_binary().parent / "libChatHandlers.so").resolve())
    report = server.env["HOLDFAST_STATE_DIR"] + "/bench-upgrade.json"
    result = subprocess.run(
        [str(holdfast_binary().parent / "holdfast-bench"), "upgrade", "--url", f"{server.url}/socket/websocket",
         "--secret", SECRET, "--connections", "120", "--rooms", "6", "--rate", "4", "--processes", "2",
         "--warmup", "0.5", "--admin-url", f"http://127.0.0.1:{server.admin_port}", "--admin-token", ADMIN_TOKEN,
         "--handlers", moderation_plugin, "--handlers", built_in, "--handlers", v2_plugin, "--handlers", built_in,
         "--upgrades", "4", "--interval", "3", "--json", report],
        capture_output=True, timeout=300)
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 0, output
    upgrades = json.loads(open(report).read())["upgrade"]
    print(json.dumps([{key: entry.get(key) for key in ("status", "handlers_after", "closed", "lost", "duplicated",
                                                     "reordered", "presence_diffs", "deliveries_during")}
                      for entry in upgrades]))
    assert [entry["status"] for entry in upgrades] == [200, 200, 200, 200], upgrades
    assert [entry.get("handlers_after") for entry in upgrades] == [MODERATION_VERSION, "1.0.0", "2.0.0", "1.0.0"], upgrades
    for entry in upgrades:
        assert (entry["closed"], entry["lost"], entry["duplicated"], entry["reordered"], entry["presence_diffs"]) == (
            0, 0, 0, 0, 0), entry
        assert entry["deliveries_during"] > 0


@pytest.fixture(scope="session")
def slow_plugin(tmp_path_factory):
    """Built once per session against the server's own HoldfastHandlerAPI (same build tag)."""
    bin_dir = holdfast_binary().parent
    output = tmp_path_factory.mktemp("plugins") / "libSlowHandlers.so"
    subprocess.run(
        ["swiftc", "-swift-version", "6", "-parse-as-library", "-emit-library", "-module-name", "SlowHandlers",
         str(ROOT / "Tests" / "EndToEnd" / "plugins" / "SlowHandlers.swift"), "-I", str(bin_dir / "Modules"),
         "-L", str(bin_dir), "-lHoldfastHandlerAPI", "-Xlinker", "-rpath", "-Xlinker", str(bin_dir),
         "-o", str(output)],
        check=True, capture_output=True, timeout=600)
    return str(output)


def slow_calls(server) -> int:
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5).read().decode()
    lines = [line for line in metrics.splitlines() if line.startswith("holdfast_handler_slow_calls_total")]
    return int(float(lines[0].split()[-1])) if lines else 0


def test_a_handler_call_over_its_budget_is_logged_and_counted(server_factory, slow_plugin):
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_HANDLERS": slow_plugin,
                             "HOLDFAST_UPGRADE_HANDLER_CALL_BUDGET_MS": "30"})
    alice = client(server, "alice")
    join = alice.join("room:slow")
    assert join["payload"]["status"] == "ok", join
    assert send(alice, join, "room:slow", "spin", {"ms": 0})["status"] == "ok"
    assert slow_calls(server) == 0
    assert "handler call over budget" not in server.log()

    # A call of at least 120 ms is over a 30 ms budget however loaded the machine is.
    assert send(alice, join, "room:slow", "spin", {"ms": 120})["status"] == "ok"
    assert server.wait_for_log("handler call over budget")
    line = next(line for line in server.log().splitlines() if "handler call over budget" in line)
    assert "call=handleIn" in line
    nanoseconds = int(line.split("ns=")[1].split()[0])
    assert nanoseconds >= 120_000_000
    assert slow_calls(server) == 1
    # The room went on serving: the next quick call is answered and not counted.
    assert send(alice, join, "room:slow", "spin", {"ms": 0})["status"] == "ok"
    assert slow_calls(server) == 1
    alice.close()
