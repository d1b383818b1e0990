"""One socket in several rooms, and presence updates, over real sockets: what a socket's topics and a room's
members keep once their bookkeeping is compact (the first topic inline, a meta stored once per member)."""

from phx import Phoenix


def metas_of(state: dict, key: str) -> list[dict]:
    return state.get(key, {}).get("metas", [])


def test_leaving_the_first_of_three_topics_keeps_the_other_two(server):
    alice = Phoenix(server, "alice")
    joins = {topic: alice.join(topic) for topic in ("room:t1", "room:t2", "room:t3")}
    assert all(join["payload"]["status"] == "ok" for join in joins.values())
    leave = alice.push("room:t1", "phx_leave", {}, join_ref=joins["room:t1"]["join_ref"])
    assert alice.reply_to(leave)["payload"]["status"] == "ok"

    bob = Phoenix(server, "bob")
    bob_joins = {}
    for topic in ("room:t1", "room:t2", "room:t3"):
        bob_joins[topic] = bob.join(topic)
        assert bob_joins[topic]["payload"]["status"] == "ok"
        state = bob.event(topic, "presence_state")["payload"]
        assert ("alice" in state) == (topic != "room:t1")
    for topic in ("room:t2", "room:t3"):
        ref = bob.push(topic, "new_msg", {"body": f"to {topic}"}, join_ref=bob_joins[topic]["join_ref"])
        assert bob.reply_to(ref)["payload"]["status"] == "ok"
        message = alice.event(topic, "new_msg")
        assert message["payload"]["body"] == f"to {topic}"
        assert message["topic"] == topic  # a broadcast, encoded once for every member: no join_ref

    # The first topic is gone from the socket: a push there is answered as unmatched, and it can be joined again.
    ref = alice.push("room:t1", "new_msg", {"body": "late"}, join_ref=joins["room:t1"]["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "error"
    again = alice.join("room:t1")
    assert again["payload"]["status"] == "ok"
    diff = bob.wait_for(lambda m: m["topic"] == "room:t1" and m["event"] == "presence_diff"
                        and "alice" in m["payload"]["joins"])
    assert len(metas_of(diff["payload"]["joins"], "alice")) == 1
    alice.close()
    for topic in ("room:t1", "room:t2", "room:t3"):
        bob.wait_for(lambda m, t=topic: m["topic"] == t and m["event"] == "presence_diff"
                     and "alice" in m["payload"]["leaves"])
    bob.close()


def test_a_presence_update_replaces_the_meta_with_a_new_ref_and_the_previous_one(server):
    alice = Phoenix(server, "alice")
    join = alice.join("room:update", {"device": "phone"})
    assert join["payload"]["status"] == "ok"
    before = metas_of(alice.event("room:update", "presence_state")["payload"], "alice")
    assert len(before) == 1
    bob = Phoenix(server, "bob")
    bob.join("room:update")
    bob.event("room:update", "presence_state")

    ref = alice.push("room:update", "read", {"up_to": 7}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"
    diff = bob.wait_for(lambda m: m["event"] == "presence_diff" and "alice" in m["payload"]["joins"])
    joined = metas_of(diff["payload"]["joins"], "alice")
    left = metas_of(diff["payload"]["leaves"], "alice")
    assert [meta["phx_ref"] for meta in left] == [before[0]["phx_ref"]]
    assert len(joined) == 1 and joined[0]["last_read"] == 7
    assert joined[0]["phx_ref_prev"] == before[0]["phx_ref"] and joined[0]["phx_ref"] != before[0]["phx_ref"]

    # A later joiner sees the updated meta, once, under the new ref.
    carol = Phoenix(server, "carol")
    carol.join("room:update")
    state = carol.event("room:update", "presence_state")["payload"]
    assert [meta["phx_ref"] for meta in metas_of(state, "alice")] == [joined[0]["phx_ref"]]
    assert metas_of(state, "alice")[0]["last_read"] == 7
    for client in (alice, bob, carol):
        client.close()
