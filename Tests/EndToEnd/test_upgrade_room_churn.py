"""Binary upgrades while members join and leave rooms, over real sockets. The new process files room members as
their connections are staged and starts the staged rooms before the pause, so joins and leaves that land between
staging and the pause, and rooms first joined then, must still come out right: every member that is joined after
the upgrades gets every message of its room once and in order (its own included), members that left get nothing
more, and a newcomer's presence_state lists exactly the members still joined."""

import asyncio
import json
import threading
import time

from conftest import holdfast_binary
from phx import Phoenix, sign_token
from test_binary_upgrade import SECRET, admin, handoff_server, status_of, variant_binary  # noqa: F401 - fixtures

STAYING_ROOMS = 3
STAYERS_PER_ROOM = 6
CHURNERS = 24


def test_members_joining_and_leaving_around_the_pause_are_filed_in_their_rooms(handoff_server, variant_binary):
    from websockets.asyncio.client import connect

    server = handoff_server()
    original = holdfast_binary().resolve()
    outcomes: list = []

    async def stayer(index, joined, stop, release, results):
        """Stays joined throughout and records every message of its room."""
        topic = f"room:stay{index % STAYING_ROOMS}"
        url = f"{server.url}/socket/websocket?vsn=2.0.0&token={sign_token(SECRET.encode(), f'stayer{index}')}"
        bodies = []
        async with connect(url, ping_interval=None, max_queue=None) as ws:
            await ws.send(json.dumps(["1", "1", topic, "phx_join", {}]))
            async def reader():
                async for raw in ws:
                    _, ref, _, event, payload = json.loads(raw)
                    if event == "phx_reply" and ref == "1":
                        joined.append(index)
                    elif event == "new_msg":
                        bodies.append(payload["body"])
            reading = asyncio.create_task(reader())
            await stop.wait()
            await asyncio.sleep(1.5)  # the last messages arrive
            reading.cancel()
            results[index] = {"topic": topic, "bodies": bodies, "open": ws.state.name == "OPEN"}
            await release.wait()  # joined while the probes look at presence

    async def churner(index, stop, release, results):
        """Joins a room (a staying room, or one of its own never joined before), publishes one message, waits for
        its ack and its own broadcast, leaves, and again, until told to stop; ends joined to a fresh room."""
        url = f"{server.url}/socket/websocket?vsn=2.0.0&token={sign_token(SECRET.encode(), f'churner{index}')}"
        cycles, failures, sent = 0, [], []
        async with connect(url, ping_interval=None, max_queue=None, open_timeout=15) as ws:
            replies: dict = {}
            own: list = []

            async def reader():
                async for raw in ws:
                    _, ref, topic, event, payload = json.loads(raw)
                    if event == "phx_reply":
                        replies[ref] = payload
                    elif event == "new_msg" and payload["body"].startswith(f"churner{index}:"):
                        own.append(payload["body"])

            async def reply(ref, timeout=30):
                deadline = time.monotonic() + timeout
                while ref not in replies and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                return replies.pop(ref, None)

            async def arrived(body, timeout=30):
                deadline = time.monotonic() + timeout
                while body not in own and time.monotonic() < deadline:
                    await asyncio.sleep(0.005)
                return body in own

            reading = asyncio.create_task(reader())
            while True:
                last = stop.is_set()
                topic = f"room:fresh{index}-{cycles}" if cycles % 2 or last else f"room:stay{cycles % STAYING_ROOMS}"
                join_ref = f"j{cycles}"
                await ws.send(json.dumps([join_ref, join_ref, topic, "phx_join", {}]))
                answer = await reply(join_ref)
                if not answer or answer["status"] != "ok":
                    failures.append((topic, "join", answer))
                    break
                body = f"churner{index}:{cycles}"
                await ws.send(json.dumps([join_ref, f"m{cycles}", topic, "new_msg", {"body": body}]))
                answer = await reply(f"m{cycles}")
                if not answer or answer["status"] != "ok":
                    failures.append((topic, "publish", answer))
                    break
                sent.append((topic, body))
                if not await arrived(body):
                    failures.append((topic, "own message not delivered", body))
                    break
                if last:
                    break  # stays joined to this fresh room
                await ws.send(json.dumps([join_ref, f"l{cycles}", topic, "phx_leave", {}]))
                answer = await reply(f"l{cycles}")
                if not answer or answer["status"] != "ok":
                    failures.append((topic, "leave", answer))
                    break
                cycles += 1
            await asyncio.sleep(1.5)
            reading.cancel()
            results[index] = {"cycles": cycles, "failures": failures, "sent": sent, "open": ws.state.name == "OPEN",
                              "last": topic}
            await release.wait()

    def upgrader():
        time.sleep(0.3)
        for target in (variant_binary, original, variant_binary, original):
            outcomes.append(admin(server, "POST", "/admin/upgrade", {"binary": str(target)}))
            time.sleep(0.1)

    async def scenario():
        joined, stayers, churners = [], {}, {}
        stop, release = asyncio.Event(), asyncio.Event()
        staying = [asyncio.create_task(stayer(i, joined, stop, release, stayers))
                   for i in range(STAYING_ROOMS * STAYERS_PER_ROOM)]
        deadline = time.monotonic() + 30
        while len(joined) < len(staying) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        churning = [asyncio.create_task(churner(i, stop, release, churners)) for i in range(CHURNERS)]
        thread = threading.Thread(target=upgrader)
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        stop.set()
        deadline = time.monotonic() + 60
        while len(churners) + len(stayers) < CHURNERS + len(staying) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        views = await asyncio.to_thread(probe_views, [result["last"] for result in list(churners.values())[:4]])
        release.set()
        await asyncio.gather(*churning, *staying)
        return stayers, churners, views

    def probe_views(fresh_topics):
        """What a newcomer sees in each staying room and in a few churners' last rooms (everyone still joined)."""
        views = {}
        for number, topic in enumerate([f"room:stay{room}" for room in range(STAYING_ROOMS)] + fresh_topics):
            probe = Phoenix(server, token=sign_token(SECRET.encode(), f"probe{number}"))
            assert probe.join(topic)["payload"]["status"] == "ok"
            views[topic] = set(probe.event(topic, "presence_state")["payload"]) - {f"probe{number}"}
            probe.close()
        return views

    stayers, churners, views = asyncio.run(scenario())

    assert [status for status, _ in outcomes] == [200, 200, 200, 200], outcomes
    # Joins and leaves moved connections after staging: sent whole again by a catch-up round or by the pause.
    moved = [int(step.split()[1].split("+")[0]) for _, answer in outcomes for step in answer["steps_ms"]
             if step.startswith(("restaging ", "export "))]
    print("connections sent whole after staging, per round and pause:", moved)
    assert sum(moved) > 0, outcomes
    for index, result in churners.items():
        assert result["open"] and not result["failures"], f"churner {index}: {result}"
    assert sum(result["cycles"] for result in churners.values()) >= 4 * CHURNERS, "joins and leaves kept going"
    # Every message published in a staying room reached each of its stayers once, in the publisher's order.
    for index, result in stayers.items():
        assert result["open"], f"stayer {index} was disconnected"
        expected = [body for churner in churners.values() for topic, body in churner["sent"] if topic == result["topic"]]
        assert sorted(result["bodies"]) == sorted(expected), f"stayer {index} in {result['topic']}"
        for churner in range(CHURNERS):
            mine = [b for b in result["bodies"] if b.startswith(f"churner{churner}:")]
            assert mine == sorted(mine, key=lambda b: int(b.split(":")[1])), f"stayer {index}: reordered"
    # Presence: the staying rooms hold their stayers only (every churner left them), and each churner's last,
    # fresh room holds that churner.
    for room in range(STAYING_ROOMS):
        expected = {f"stayer{i}" for i in range(room, STAYING_ROOMS * STAYERS_PER_ROOM, STAYING_ROOMS)}
        assert views[f"room:stay{room}"] == expected, f"room:stay{room}"
    for index, result in list(churners.items())[:4]:
        assert views[result["last"]] == {f"churner{index}"}, result["last"]
    assert not [line for line in server.log().splitlines() if "stale staged copy" in line]
    assert status_of(server)["last_upgrade"]["outcome"] == "ok"
