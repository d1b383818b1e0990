"""Binary upgrades whose catch-up rounds and pause visit only the connections changed since they were last staged,
over real sockets with the test hooks on (every round then also checks each connection it did not visit against
its staged copy, and logs "stale staged copy" for one that changed unnoted). Connections idle since staging are not
visited, yet cross as they are: each gets the broadcast sent after the upgrades, in its room, on its socket.
Connections that change between staging and the pause (they chat, join another room, close, or only read: a client
sending its frames a byte at a time, whose reads queue no output) cross with their newest state: every push is
answered once and in order, a frame split across the pause arrives whole, a room joined meanwhile delivers."""

import json
import socket
import threading
import time

import rawws
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

    # A client whose frames arrive a byte at a time, 2 ms apart: most of its reads complete no frame and queue no
    # output, so only its read notes it as changed (the test hooks' check catches a read that noted nothing).
    trickle = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    trickle.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    token = sign_token(SECRET.encode(), "trickler")
    rest = rawws.handshake(trickle, f"/socket/websocket?token={token}&vsn=2.0.0")
    trickle.sendall(rawws.frame(0x1, json.dumps(["1", "1", "room:trickle", "phx_join", {}]).encode()))
    _, payload, rest = rawws.read_frame(trickle, rest)
    assert json.loads(payload)[4]["status"] == "ok"
    trickled: list = []

    def trickler():
        while not stop.is_set():
            ref = str(len(trickled) + 2)
            body = {"body": f"trickled {ref} " + "." * 60}
            for byte in rawws.frame(0x1, json.dumps(["1", ref, "room:trickle", "new_msg", body]).encode()):
                trickle.sendall(bytes([byte]))
                time.sleep(0.002)
            trickled.append(ref)

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
    threads.append(threading.Thread(target=trickler))
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

    # Every trickled frame whole, answered once and in order, and broadcast back.
    replies, bodies = [], []
    deadline = time.monotonic() + 20
    while len(replies) < len(trickled) and time.monotonic() < deadline:
        opcode, payload, rest = rawws.read_frame(trickle, rest)
        message = json.loads(payload)
        if message[3] == "phx_reply":
            replies.append((message[1], message[4]["status"]))
        elif message[3] == "new_msg":
            bodies.append(message[4]["body"])
    assert len(trickled) > 3
    assert replies == [(ref, "ok") for ref in trickled]
    trickle.close()

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
