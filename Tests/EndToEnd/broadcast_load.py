"""A closed-loop `holdfast-bench broadcast` load in one room, a probe publishing in a quiet room of its own on
the same server, and the checks of the load's report: what the room fan-out tests share."""

import json
import subprocess
import threading

from conftest import holdfast_binary
from phx import Phoenix, sign_token


class BroadcastLoad:
    """Four publishers with eight messages in flight each to `connections` members of `topic`, for 3 s."""

    def __init__(self, server, secret: str, topic: str, connections: int, report_path, extra_args=()):
        self.connections = connections
        self.report_path = report_path
        bench = holdfast_binary().parent / "holdfast-bench"
        self.process = subprocess.Popen(
            [str(bench), "broadcast", "--url", f"{server.url}/socket/websocket", "--secret", secret, "--room", topic,
             "--connections", str(connections), "--publishers", "4", "--in-flight", "8", "--size", "64",
             "--warmup", "0.5", "--duration", "3", "--connect-timeout", "60", "--json", str(report_path),
             *extra_args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.output = []
        self.drain = threading.Thread(
            target=lambda: self.output.append(self.process.stdout.read().decode(errors="replace")), daemon=True)
        self.drain.start()

    def assert_clean(self):
        """Waits for the load and checks that every member got every message once, in order, with no error."""
        assert self.process.wait(timeout=120) == 0, self.output
        self.drain.join(10)
        report = json.loads(self.report_path.read_text())
        assert report["subscribersJoined"] == self.connections, report
        assert report["messagesAcked"] > 0 and report["deliveriesMeasured"] > 0, report
        assert report["missingDeliveries"] == 0, report
        assert (report["duplicatedDeliveries"], report["reorderedDeliveries"]) == (0, 0), report
        errors = {key: value for key, value in report["errors"].items() if key != "samples"}
        assert set(errors.values()) == {0}, report["errors"]
        return report


def probe_copy_then_reply(server, secret: str, topic: str, count: int = 20) -> tuple[list, list]:
    """Publishes `count` messages one at a time in `topic`: for each, the order in which its own copy and its reply
    arrived, and the ids the replies gave."""
    probe = Phoenix(server, token=sign_token(secret.encode(), "probe"))
    join = probe.join(topic)
    assert join["payload"]["status"] == "ok", join
    orders, ids = [], []
    for index in range(count):
        body = f"probe {index}"
        ref = probe.push(topic, "new_msg", {"body": body}, join_ref=join["join_ref"])
        seen = []
        while True:
            message = probe.next(timeout=30)
            if message["event"] == "new_msg" and message["payload"].get("body") == body:
                seen.append("copy")
            elif message["event"] == "phx_reply" and message["ref"] == ref:
                seen.append("reply")
                assert message["payload"]["status"] == "ok", message
                ids.append(message["payload"]["response"]["id"])
                break
        orders.append(seen)
    probe.close()
    return orders, ids
