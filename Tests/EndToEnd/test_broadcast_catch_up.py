"""A durable room's fan-out to more members than the event loop flushes between two looks at its task queue: the
next durable batch, and any other task, can then run while the writes of the one before are made. Every member
must still get every message once, in the room's order, and a publisher its own copy before its reply, in the
busy room and in a quiet room on the same loop."""

import json
import subprocess
import threading

from conftest import holdfast_binary
from phx import Phoenix, sign_token

SECRET = "c" * 48
TOPIC = "room:bench"
PROBE_TOPIC = "room:probe"


def test_a_room_of_hundreds_gets_every_message_once_in_order_with_the_copy_before_the_reply(server_factory,
                                                                                              tmp_path):
    # One loop, so every member's flush is in one batch, well above the 128 handlers between two looks.
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_EVENT_LOOPS": "1",
                             "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000000", "HOLDFAST_LOG_LEVEL": "info"})
    report_path = tmp_path / "broadcast.json"
    bench = holdfast_binary().parent / "holdfast-bench"
    load = subprocess.Popen(
        [str(bench), "broadcast", "--url", f"{server.url}/socket/websocket", "--secret", SECRET, "--room", TOPIC,
         "--connections", "400", "--publishers", "4", "--in-flight", "8", "--size", "64", "--warmup", "0.5",
         "--duration", "3", "--connect-timeout", "60", "--json", str(report_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = []
    drain = threading.Thread(target=lambda: output.append(load.stdout.read().decode(errors="replace")), daemon=True)
    drain.start()

    # A publisher of its own room on the same loop while the load runs: each message's copy, then its reply. (The
    # load generator checks every body it gets, so the probe keeps out of the busy room.)
    probe = Phoenix(server, token=sign_token(SECRET.encode(), "probe"))
    join = probe.join(PROBE_TOPIC)
    assert join["payload"]["status"] == "ok", join
    orders = []
    for index in range(20):
        body = f"probe {index}"
        ref = probe.push(PROBE_TOPIC, "new_msg", {"body": body}, join_ref=join["join_ref"])
        seen = []
        while True:
            message = probe.next(timeout=30)
            if message["event"] == "new_msg" and message["payload"].get("body") == body:
                seen.append("copy")
            elif message["event"] == "phx_reply" and message["ref"] == ref:
                seen.append("reply")
                assert message["payload"]["status"] == "ok", message
                break
        orders.append(seen)
    probe.close()

    assert load.wait(timeout=120) == 0, output
    drain.join(10)
    assert orders == [["copy", "reply"]] * 20
    report = json.loads(report_path.read_text())
    assert report["subscribersJoined"] == 400, report
    assert report["messagesAcked"] > 0 and report["deliveriesMeasured"] > 0, report
    assert report["missingDeliveries"] == 0, report
    assert (report["duplicatedDeliveries"], report["reorderedDeliveries"]) == (0, 0), report
    errors = {key: value for key, value in report["errors"].items() if key != "samples"}
    assert set(errors.values()) == {0}, report["errors"]
