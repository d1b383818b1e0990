"""A durable room's fan-out to more members than the event loop flushes between two looks at its task queue: the
next durable batch, and any other task, can then run while the writes of the one before are made. Every member
must still get every message once, in the room's order, and a publisher its own copy before its reply, in the
busy room and in a quiet room on the same loop."""

from broadcast_load import BroadcastLoad, probe_copy_then_reply

SECRET = "c" * 48
TOPIC = "room:bench"
PROBE_TOPIC = "room:probe"


def test_a_room_of_hundreds_gets_every_message_once_in_order_with_the_copy_before_the_reply(server_factory,
                                                                                              tmp_path):
    # One loop, so every member's flush is in one batch, well above the 128 handlers between two looks.
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_EVENT_LOOPS": "1",
                             "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000000", "HOLDFAST_LOG_LEVEL": "info"})
    load = BroadcastLoad(server, SECRET, TOPIC, 400, tmp_path / "broadcast.json")

    # A publisher of its own room on the same loop while the load runs: each message's copy, then its reply. (The
    # load generator checks every body it gets, so the probe keeps out of the busy room.)
    orders, _ = probe_copy_then_reply(server, SECRET, PROBE_TOPIC)
    load.assert_clean()
    assert orders == [["copy", "reply"]] * 20
