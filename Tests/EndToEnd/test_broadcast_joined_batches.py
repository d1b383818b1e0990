"""`channels.join_durable_batches`: a durable batch reported while the room's next batches are being committed waits
for them, and all of them go out as one run (`all`: the whole batch waits; `others`: its senders get it and their
replies at once, only the other members' copies wait; `paced`: `others`, and a room's next commit starts once its
last fan-out is written). Under a closed-loop load of four publishers every member must
still get every message once, in the room's order, every publisher an ok for each message, and a publisher its own
copy before its reply; a quiet room on the same loop, whose batches have nothing after them, must not wait at all."""

import re

import pytest

from broadcast_load import BroadcastLoad, probe_copy_then_reply
from phx import Phoenix, sign_token


SECRET = "j" * 48
TOPIC = "room:bench"
PROBE_TOPIC = "room:probe"


@pytest.mark.parametrize("mode", ["true", "others", "paced"])
def test_joined_batches_reach_every_member_once_in_order_with_the_copy_before_the_reply(server_factory, tmp_path, mode):
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_EVENT_LOOPS": "1",
                             "HOLDFAST_CHANNELS_JOIN_DURABLE_BATCHES": mode,
                             "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000000", "HOLDFAST_LOG_LEVEL": "info",
                             "HOLDFAST_CHANNELS_BATCH_COUNTS_EVERY": "5"})
    load = BroadcastLoad(server, SECRET, TOPIC, 300, tmp_path / "broadcast.json")

    # One message at a time in a room of its own: each batch is alone, so it goes out as soon as it is durable.
    orders, ids = probe_copy_then_reply(server, SECRET, PROBE_TOPIC)
    load.assert_clean()
    assert orders == [["copy", "reply"]] * 20
    assert ids == sorted(ids) and len(set(ids)) == 20, ids
    # The rooms counted their durable batches: each was held or went out at once, for a reason counted.
    lines = [line for line in server.log().splitlines() if "durable batches:" in line]
    assert lines, server.log()[-2000:]
    for line in lines:
        counts = {key: int(value) for key, value in re.findall(r"([a-z-]+)=(\d+)", line.split("durable batches:")[1])}
        assert counts["durable"] >= 5 and counts["messages"] >= counts["durable"], line
        assert counts["held"] + counts["not-held-ends-hold"] + counts["not-held-nothing-later"] \
            + counts["not-held-setting"] == counts["durable"], line
        assert counts["joined"] + counts["later-failed"] + counts["second-durable"] + counts["delivery"] \
            + counts["upgrade-or-restart"] <= counts["held"], line
        if mode == "paced":
            assert counts["commits-paced"] > 0, line
            # A wait that ended once the window refilled is one of the waits; a commit not paced because the
            # room was behind is not.
            assert counts["paced-early"] <= counts["commits-paced"], line
            assert counts["commits-paced"] + counts["pacing-skipped"] <= counts["durable"] + 1, line
        else:
            assert counts["commits-paced"] == counts["paced-early"] == counts["pacing-skipped"] == 0, line


@pytest.mark.parametrize("mode", ["true", "others", "paced"])
def test_a_rejoin_replays_every_acknowledged_message_from_the_history(server_factory, mode):
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_CHANNELS_JOIN_DURABLE_BATCHES": mode})
    writers = [Phoenix(server, token=sign_token(SECRET.encode(), f"w{index}")) for index in range(3)]
    joins = [writer.join(TOPIC) for writer in writers]
    assert all(join["payload"]["status"] == "ok" for join in joins), joins
    listener = Phoenix(server, token=sign_token(SECRET.encode(), "listener"))
    assert listener.join(TOPIC)["payload"]["status"] == "ok"
    # Three publishers, ten messages each in flight at once: batches queue behind each other's commits.
    bodies = {}  # (writer, ref) -> body
    for round_ in range(10):
        for index, writer in enumerate(writers):
            body = f"w{index} m{round_}"
            bodies[(index, writer.push(TOPIC, "new_msg", {"body": body}, join_ref=joins[index]["join_ref"]))] = body
    acked = {}
    for index, writer in enumerate(writers):
        copies, replies = [], 0
        while len(copies) < 30 or replies < 10:
            message = writer.next(timeout=30)
            if message["event"] == "new_msg":
                copies.append(message["payload"]["id"])
            elif message["event"] == "phx_reply" and (index, message["ref"]) in bodies:
                assert message["payload"]["status"] == "ok", message
                acked[(index, message["ref"])] = message["payload"]["response"]["id"]
                # Its own copy came first.
                assert message["payload"]["response"]["id"] in copies, (message, copies)
                replies += 1
        # Every message once, in the room's order.
        assert copies == sorted(copies) and len(set(copies)) == 30, copies
    assert len(acked) == 30 and len(set(acked.values())) == 30
    # A member that never sends gets all of them too, once, in order.
    heard = []
    while len(heard) < 30:
        message = listener.next(timeout=30)
        if message["event"] == "new_msg":
            heard.append(message["payload"]["id"])
    assert heard == sorted(acked.values()), heard
    listener.close()
    for writer in writers:
        writer.close()
    reader = Phoenix(server, token=sign_token(SECRET.encode(), "reader"))
    join = reader.join(TOPIC, payload={"last_seen_id": 0})
    assert join["payload"]["status"] == "ok", join
    replayed = []
    while len(replayed) < 30:
        message = reader.next(timeout=30)
        if message["event"] == "new_msg":
            replayed.append((message["payload"]["id"], message["payload"]["body"]))
    assert [id_ for id_, _ in replayed] == sorted(acked.values())
    assert {body for _, body in replayed} == set(bodies.values())
    reader.close()
