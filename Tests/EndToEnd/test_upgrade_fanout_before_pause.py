"""A binary upgrade under chat traffic writes the fan-outs of the batches already made durable before it pauses
socket I/O, then sends the connections those writes moved in a last catch-up round: the old process's steps are
`commits`, `flushed`, a `restaging` round, then `pausing`. Every member still gets every message once and in
order, every send is acknowledged, no socket closes and no presence_diff arrives; with
HOLDFAST_UPGRADE_THREAD_CPU=1 the log names the threads that spent each step's CPU. Over real sockets, plaintext
and TLS, with the test hooks checking every connection not sent again in the pause against its staged copy."""

import asyncio
import json
import re
import ssl
import threading
import time

from conftest import holdfast_binary
from phx import sign_token
from test_binary_upgrade import SECRET, admin, handoff_server, status_of, variant_binary  # noqa: F401 - fixtures


def test_fan_outs_are_written_before_the_pause_and_nothing_is_lost(handoff_server, variant_binary, certificate):
    from websockets.asyncio.client import connect

    server = handoff_server({"HOLDFAST_UPGRADE_THREAD_CPU": "1"})
    original = holdfast_binary().resolve()
    rooms, per_room, messages_each = 2, 30, 30
    total = rooms * per_room
    tls_context = ssl.create_default_context(cafile=str(certificate[0]))
    tls_context.check_hostname = False
    joined, done = [], []

    async def client(index, results, go, finish):
        user, topic, tls = f"user{index}", f"room:fan{index % rooms}", index % 5 == 0
        base = server.tls_url if tls else server.url
        url = f"{base}/socket/websocket?vsn=2.0.0&token={sign_token(SECRET.encode(), user)}"
        received, acks, diffs = [], {}, 0
        async with connect(url, ping_interval=None, max_queue=None, ssl=tls_context if tls else None) as ws:
            await ws.send(json.dumps(["1", "1", topic, "phx_join", {}]))

            async def reader():
                nonlocal diffs
                async for raw in ws:
                    _, ref, _, event, payload = json.loads(raw)
                    if event == "phx_reply" and ref == "1":
                        joined.append(index)
                    elif event == "new_msg":
                        received.append(payload["body"])
                    elif event == "phx_reply" and ref and ref.startswith("m"):
                        acks[ref] = payload["status"]
                    elif event == "presence_diff" and go.is_set():
                        diffs += 1

            reading = asyncio.create_task(reader())
            await go.wait()
            # Every member sends all through the upgrades, so batches are being made durable when commits are held.
            for seq in range(messages_each):
                await ws.send(json.dumps(["1", f"m{seq}", topic, "new_msg", {"body": f"{user}:{seq}"}]))
                await asyncio.sleep(0.03)
            deadline = time.monotonic() + 60
            while (len(acks) < messages_each or len(received) < per_room * messages_each) \
                    and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            done.append(index)
            await finish.wait()
            results[index] = {"topic": topic, "received": list(received), "acks": dict(acks), "diffs": diffs,
                              "open": ws.state.name == "OPEN"}
            reading.cancel()

    def upgrader(outcomes):
        time.sleep(0.2)
        for target in (variant_binary, original):
            outcomes.append(admin(server, "POST", "/admin/upgrade", {"binary": str(target)}))
            time.sleep(0.2)

    async def scenario():
        results, outcomes = {}, []
        go, finish = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(client(i, results, go, finish)) for i in range(total)]
        deadline = time.monotonic() + 60
        while len(joined) < total and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        go.set()
        thread = threading.Thread(target=upgrader, args=(outcomes,))
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.05)
        deadline = time.monotonic() + 90
        while len(done) < total and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        finish.set()
        await asyncio.gather(*tasks)
        return results, outcomes

    results, outcomes = asyncio.run(scenario())

    assert [status for status, _ in outcomes] == [200, 200], outcomes
    assert all("flushed" in answer["steps_cpu_ms"] for _, answer in outcomes), outcomes
    for index, result in results.items():
        assert result["open"], f"client {index} was disconnected"
        assert len(result["acks"]) == messages_each and set(result["acks"].values()) == {"ok"}, result["acks"]
        assert result["diffs"] == 0, f"client {index} saw a presence_diff during the upgrades"
        for other in range(index % rooms, total, rooms):
            mine = [body for body in result["received"] if body.startswith(f"user{other}:")]
            assert mine == [f"user{other}:{seq}" for seq in range(messages_each)], f"client {index} from {other}"
    log = server.log()
    assert "stale staged copy" not in log
    done_lines = [line for line in log.splitlines() if "binary upgrade done" in line]
    assert len(done_lines) == 2 and all("steps-threads=" in line and "hf-loop-0/" in line for line in done_lines)
    for line in done_lines:
        # The log keeps every step in order (the answer's JSON object merges two rounds of the same counts).
        steps = [step.split("=")[0] for step in re.search(r"steps-ms=(\S+(?: \S+)*?) steps-threads=", line)[1]
                 .split(",")]
        held = steps.index("commits")
        # Held, written, one more round, and only then the pause.
        assert steps[held + 1] == "flushed", steps
        assert steps[held + 2].startswith("restaging "), steps
        assert steps[held + 3] == "pausing", steps
    assert status_of(server)["pid"] == outcomes[-1][1]["new_pid"]
