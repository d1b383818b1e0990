"""A crash after which nothing acknowledged is lost: the serving process is killed with SIGKILL under chat traffic
and started again on the same state directory (as systemd's Restart=always does). Clients reconnect and rejoin
with `last_seen_id`; every message that was acknowledged reaches every member exactly once."""
import os
import signal
import time

from websockets.exceptions import ConnectionClosed

from phx import Phoenix

ROOM = "room:crash"
USERS = ["ana", "ben", "cid", "dee"]


def drain(client, seconds):
    """Everything the client receives within `seconds`, until its connection closes."""
    received = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            received.append(client.next(timeout=max(0.01, end - time.monotonic())))
        except TimeoutError:
            break
        except ConnectionClosed:
            break
    return received


def test_a_killed_server_restarted_on_its_state_loses_no_acknowledged_message(server_factory):
    env = {"HOLDFAST_SECRET_KEY": "c" * 40}
    server = server_factory(env)
    clients = {user: Phoenix(server, user) for user in USERS}
    joins = {user: client.join(ROOM) for user, client in clients.items()}
    acked, seen = set(), {user: [] for user in USERS}

    def absorb(user, messages):
        for message in messages:
            if message["event"] == "new_msg" and message["topic"] == ROOM:
                seen[user].append(message["payload"]["id"])
            elif message["event"] == "phx_reply" and message["payload"].get("status") == "ok":
                identifier = message["payload"].get("response", {}).get("id")
                if identifier is not None:
                    acked.add(identifier)

    # Steady traffic, then a burst in flight when the process dies.
    for round_number in range(5):
        for user, client in clients.items():
            client.push(ROOM, "new_msg", {"body": f"{user} {round_number}"}, join_ref=joins[user]["join_ref"])
        for user, client in clients.items():
            absorb(user, drain(client, 0.05))
    sent = 5 * len(USERS)
    for burst in range(30):
        for user, client in clients.items():
            client.push(ROOM, "new_msg", {"body": f"{user} burst {burst}"}, join_ref=joins[user]["join_ref"])
            sent += 1
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    for user, client in clients.items():
        absorb(user, drain(client, 1.0))
    assert acked, "some messages were acknowledged before the crash"

    killed_at = time.monotonic()
    restarted = server_factory(env)
    reconnected = {}
    for user in USERS:
        client = Phoenix(restarted, user)
        last_seen = max(seen[user], default=0)
        reply = client.join(ROOM, {"last_seen_id": last_seen})
        assert reply["payload"]["status"] == "ok", reply
        assert reply["payload"]["response"]["recovered"] is True
        reconnected[user] = client
    reconnect_seconds = time.monotonic() - killed_at
    for user, client in reconnected.items():
        absorb(user, drain(client, 0.5))
        client.close()

    newest = max(acked)
    for user in USERS:
        ids = seen[user]
        assert len(ids) == len(set(ids)), f"{user} got a message twice: {ids}"
        assert ids == sorted(ids), f"{user} got messages out of order: {ids}"
        missing = acked - set(ids)
        assert not missing, f"{user} never got acknowledged messages {sorted(missing)}"
        # Durable but unacknowledged messages (committed just before the kill) may arrive too, once.
        assert set(range(min(ids), newest + 1)) <= set(ids), f"{user} has a gap: {ids}"
    print(f"sent {sent}, acknowledged {len(acked)} before the kill; every member got each exactly once; "
          f"restart and rejoin of {len(USERS)} clients took {reconnect_seconds:.2f} s")
