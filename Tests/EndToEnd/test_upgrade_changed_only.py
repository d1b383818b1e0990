"""Binary upgrades whose catch-up rounds and pause visit only the connections changed since they were last staged,
over real sockets with the test hooks on (every round then also checks each connection it did not visit against
its staged copy, and logs "stale staged copy" for one that changed unnoted). Connections idle since staging are not
visited, yet cross as they are: each gets the broadcast sent after the upgrades, in its room, on its socket.
Connections that change between staging and the pause (they chat, join another room, close) cross with their
newest state: every push is answered once, a room joined meanwhile delivers, a closed one is gone."""

import threading
import time

from phx import Phoenix, sign_token
from test_binary_upgrade import SECRET, admin, handoff_server, status_of, variant_binary  # noqa: F401 - fixtures
from conftest import holdfast_binary

IDLE = 40
CHATTERS = 4
CLOSERS = 6


def client(server, user):
    return Phoenix(server, token=sign_token(SECRET.encode(), user))


def test_idle_connections_cross_unvisited_and_changed_ones_with_their_newest_state(handoff_server, variant_binary):
    server = handoff_server()
    original = holdfast_binary().resolve()
    idle = [client(server, f"idle{index}") for index in range(IDLE)]
    idle_joins = [member.join("room:idle") for member in idle]
    assert all(join["payload"]["status"] == "ok" for join in idle_joins)
    closers = [client(server, f"closer{index}") for index in range(CLOSERS)]
    for closer in closers:
        assert closer.join("room:idle")["payload"]["status"] == "ok"

    stop = threading.Event()
    results: dict = {}

    def chatter(index):
        """Pushes, waits for each answer, and joins one more room every tenth push, throughout the upgrades."""
        member = client(server, f"chatter{index}")
        topic = f"room:busy{index}"
        join_ref = member.join(topic)["join_ref"]
        answered, failures, extra = 0, [], []
        try:
            while not stop.is_set():
                ref = member.push(topic, "new_msg", {"body": f"{index}-{answered}"}, join_ref=join_ref)
                reply = member.reply_to(ref, timeout=20)
                if reply["payload"]["status"] != "ok":
                    failures.append(reply)
                answered += 1
                if answered % 10 == 0:
                    room = f"room:extra{index}-{answered}"
                    joined = member.join(room, {})
                    if joined["payload"]["status"] != "ok":
                        failures.append(joined)
                    extra.append((room, joined["join_ref"]))
        except Exception as error:  # noqa: BLE001 - reported by the assertions below
            failures.append(repr(error))
        results[index] = (member, answered, failures, extra)

    def closer_thread():
        """Closes one connection after another while the upgrades run."""
        for closer in closers:
            time.sleep(0.15)
            closer.close()

    threads = [threading.Thread(target=chatter, args=(index,)) for index in range(CHATTERS)]
    threads.append(threading.Thread(target=closer_thread))
    for thread in threads:
        thread.start()
    outcomes = []
    for target in (variant_binary, original, variant_binary):
        time.sleep(0.3)
        outcomes.append(admin(server, "POST", "/admin/upgrade", {"binary": str(target)}))
    time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    assert [status for status, _ in outcomes] == [200, 200, 200], outcomes
    assert all(answer.get("left_behind", 0) == 0 for _, answer in outcomes), outcomes
    for index in range(CHATTERS):
        member, answered, failures, extra = results[index]
        assert failures == [] and answered > 0, (index, failures)
        # A room joined between staging and the pause (or after) is served by the last process.
        for room, join_ref in extra[-2:]:
            ref = member.push(room, "new_msg", {"body": "extra"}, join_ref=join_ref)
            assert member.reply_to(ref, timeout=10)["payload"]["status"] == "ok"
            assert member.event(room, "new_msg", timeout=10)["payload"]["body"] == "extra"

    # The idle connections, never visited by a round or the pause, are served as they were staged.
    speaker = idle[0]
    ref = speaker.push("room:idle", "new_msg", {"body": "after the upgrades"}, join_ref=idle_joins[0]["join_ref"])
    assert speaker.reply_to(ref, timeout=10)["payload"]["status"] == "ok"
    for member in idle:
        message = member.wait_for(
            lambda m: m["topic"] == "room:idle" and m["event"] == "new_msg"
            and m["payload"].get("body") == "after the upgrades", timeout=10)
        assert message["payload"]["body"] == "after the upgrades"
    assert status_of(server)["connections"] >= IDLE + CHATTERS
    assert "stale staged copy" not in server.log()
    for member in idle:
        member.close()
