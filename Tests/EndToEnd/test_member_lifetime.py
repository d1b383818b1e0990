"""Members whose sockets vanish while their room is busy, over real sockets: a room keeps a member until its leave
arrives, and every delivery meanwhile must skip the closed socket (never reach it, never stop the others)."""

import socket
import threading

from phx import Phoenix


def vanish(client: Phoenix) -> None:
    """Drops the TCP connection without a close frame, as a peer that goes away does (the client's reader thread
    holds the socket, so it is shut down rather than closed)."""
    client.ws.socket.shutdown(socket.SHUT_RDWR)


def test_sockets_that_vanish_mid_broadcast_leave_and_the_others_get_every_message(server):
    topic = "room:vanishing"
    bob = Phoenix(server, "bob")
    assert bob.join(topic)["payload"]["status"] == "ok"
    bob.event(topic, "presence_state")
    carol = Phoenix(server, "carol")
    carol_join = carol.join(topic)
    assert carol_join["payload"]["status"] == "ok"

    leaving = [Phoenix(server, f"gone{index}") for index in range(24)]
    for client in leaving:
        assert client.join(topic)["payload"]["status"] == "ok"
    expected = {f"gone{index}" for index in range(24)}
    # Bob has seen every join first: a join and a leave within one presence window coalesce to nothing.
    seen = set()
    while seen != expected:
        seen |= set(bob.event(topic, "presence_diff", timeout=10)["payload"]["joins"]) & expected

    # Carol publishes while the sockets go: rooms deliver to members whose connections closed before their
    # leaves reached the room.
    sent = 60
    refs = []

    def publish():
        for index in range(sent):
            refs.append(carol.push(topic, "new_msg", {"body": f"m{index}"}, join_ref=carol_join["join_ref"]))

    publisher = threading.Thread(target=publish)
    publisher.start()
    for client in leaving:
        vanish(client)
    publisher.join()
    for ref in refs:
        assert carol.reply_to(ref, timeout=10)["payload"]["status"] == "ok"

    bodies = []
    gone = set()
    while len(bodies) < sent or gone != expected:
        message = bob.next(timeout=10)
        if message["event"] == "new_msg":
            bodies.append(message["payload"]["body"])
        elif message["event"] == "presence_diff":
            gone |= set(message["payload"]["leaves"]) & expected
    assert bodies == [f"m{index}" for index in range(sent)]

    # The room is whole: a newcomer sees bob and carol only, and the same user can come back.
    dave = Phoenix(server, "dave")
    assert dave.join(topic)["payload"]["status"] == "ok"
    state = dave.event(topic, "presence_state")["payload"]
    assert set(state) == {"bob", "carol", "dave"}
    again = Phoenix(server, "gone0")
    assert again.join(topic)["payload"]["status"] == "ok"
    bob.wait_for(lambda m: m["event"] == "presence_diff" and "gone0" in m["payload"]["joins"], timeout=10)
    for client in (bob, carol, dave, again):
        client.close()


def test_a_socket_that_rejoins_and_closes_again_and_again_leaves_no_member_behind(server):
    topic = "room:churn"
    bob = Phoenix(server, "bob")
    bob_join = bob.join(topic)
    assert bob_join["payload"]["status"] == "ok"
    bob.event(topic, "presence_state")
    for round in range(20):
        alice = Phoenix(server, "alice")
        first = alice.join(topic)
        assert first["payload"]["status"] == "ok"
        # A second join of the same topic replaces the first member while the room may still deliver to it.
        ref = bob.push(topic, "new_msg", {"body": f"r{round}"}, join_ref=bob_join["join_ref"])
        second = alice.join(topic)
        assert second["payload"]["status"] == "ok"
        assert bob.reply_to(ref)["payload"]["status"] == "ok"
        if round % 2:
            vanish(alice)
        else:
            alice.close()
    ref = bob.push(topic, "new_msg", {"body": "last"}, join_ref=bob_join["join_ref"])
    assert bob.reply_to(ref)["payload"]["status"] == "ok"
    bob.wait_for(lambda m: m["event"] == "new_msg" and m["payload"]["body"] == "last", timeout=10)
    # Every alice left: a newcomer's state has bob alone (and itself).
    dave = Phoenix(server, "dave")
    assert dave.join(topic)["payload"]["status"] == "ok"
    state = dave.event(topic, "presence_state")["payload"]
    if "alice" in state:
        # The last leave may still be in the window: it arrives as a diff.
        dave.wait_for(lambda m: m["event"] == "presence_diff" and "alice" in m["payload"]["leaves"], timeout=10)
    else:
        assert set(state) == {"bob", "dave"}
    bob.close()
    dave.close()
