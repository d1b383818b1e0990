"""Hot swap of the handler code under real traffic: new behaviour right after the answer, nothing lost,
duplicated or reordered, no connection closed, no presence flap; bad plugins refused with the server unaffected."""

import asyncio
import json
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import ROOT
from phx import Phoenix, sign_token

SECRET = "u" * 48


@pytest.fixture(scope="session")
def v2_plugin():
    result = subprocess.run(
        ["sh", str(ROOT / "Examples" / "ChatHandlersV2" / "build.sh")], capture_output=True, timeout=1200, check=True)
    return result.stdout.decode().strip().splitlines()[-1]


def admin(server, method: str, path: str, body=None):
    token = (server.env.get("HOLDFAST_ADMIN_TOKEN") or "")
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.admin_port}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture
def upgradable(server_factory, certificate):
    cert, key = certificate
    return server_factory({
        "HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": "admin-secret-token",
        "HOLDFAST_TLS_LISTEN": "127.0.0.1:0", "HOLDFAST_TLS_CERT": str(cert), "HOLDFAST_TLS_KEY": str(key),
        "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000",
    })


def test_upgrade_to_v2_changes_behaviour_and_rollback_restores_it(upgradable, v2_plugin):
    server = upgradable
    alice = Phoenix(server, token=sign_token(SECRET.encode(), "alice"))
    join = alice.join("room:swap")
    ref = alice.push("room:swap", "new_msg", {"body": "v1"}, join_ref=join["join_ref"])
    alice.reply_to(ref)
    assert "handler_version" not in alice.event("room:swap", "new_msg")["payload"]

    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": v2_plugin})
    assert status == 200, answer
    assert (answer["from"], answer["to"]) == ("1.0.0", "2.0.0")
    assert answer["pause_ms"] >= 0
    ref = alice.push("room:swap", "new_msg", {"body": "v2"}, join_ref=join["join_ref"])
    alice.reply_to(ref)
    assert alice.event("room:swap", "new_msg")["payload"]["handler_version"] == "2.0.0"
    status, state = admin(server, "GET", "/admin/status")
    assert state["handlers"]["current"] == "2.0.0" and state["handlers"]["previous"] == "1.0.0"
    # The v1 counter (one message) was migrated into v2's richer per-room state, then counted on.
    room_state = state["handlers"]["state"]["rooms"]["room:swap"]
    assert room_state["messages"] == 2 and room_state["last_user"] == "alice"
    assert state["last_upgrade"]["outcome"] == "ok"

    status, answer = admin(server, "POST", "/admin/rollback", {})
    assert status == 200, answer
    assert answer["to"] == "1.0.0"
    ref = alice.push("room:swap", "new_msg", {"body": "back"}, join_ref=join["join_ref"])
    alice.reply_to(ref)
    assert "handler_version" not in alice.event("room:swap", "new_msg")["payload"]
    status, answer = admin(server, "POST", "/admin/rollback", {})
    assert status == 422 and answer["check"] == "no_previous_version"
    alice.close()


@pytest.mark.parametrize(
    "make_path,check",
    [
        (lambda tmp, v2: str(tmp / "missing.so"), "file_not_found"),
        (lambda tmp, v2: (tmp / "text.so").write_text("not a library") and str(tmp / "text.so"), "not_a_shared_object"),
        (lambda tmp, v2: "/lib/x86_64-linux-gnu/libz.so.1", "not_a_holdfast_plugin"),
    ],
)
def test_bad_plugins_are_refused_and_nothing_changes(upgradable, v2_plugin, tmp_path, make_path, check):
    server = upgradable
    alice = Phoenix(server, token=sign_token(SECRET.encode(), "alice"))
    join = alice.join("room:safe")
    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": make_path(tmp_path, v2_plugin)})
    assert 400 <= status < 500, answer
    assert answer["check"] == check, answer
    ref = alice.push("room:safe", "new_msg", {"body": "still here"}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"
    status, state = admin(server, "GET", "/admin/status")
    assert state["handlers"]["current"] == "1.0.0"
    assert state["last_upgrade"]["outcome"] == "refused"
    alice.close()


def test_upgrade_needs_the_admin_token(upgradable, v2_plugin):
    request = urllib.request.Request(
        f"http://127.0.0.1:{upgradable.admin_port}/admin/upgrade", method="POST",
        data=json.dumps({"handlers": v2_plugin}).encode())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401


def test_cli_upgrade_and_rollback(upgradable, v2_plugin):
    from conftest import holdfast_binary

    env = dict(upgradable.env)
    common = ["--admin", f"127.0.0.1:{upgradable.admin_port}", "--token", "admin-secret-token"]
    result = subprocess.run([str(holdfast_binary()), "upgrade", "--handlers", v2_plugin, *common],
                            env=env, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["to"] == "2.0.0"
    result = subprocess.run([str(holdfast_binary()), "rollback", *common], env=env, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    result = subprocess.run([str(holdfast_binary()), "upgrade", "--handlers", "/nonexistent.so", *common],
                            env=env, capture_output=True, timeout=60)
    assert result.returncode != 0
    assert b"file_not_found" in result.stdout


def test_repeated_upgrades_under_chat_traffic_lose_nothing(upgradable, v2_plugin, certificate):
    """200 clients (a quarter over TLS) in several rooms send numbered messages while the handlers are swapped back and forth: every
    client sees every message of its room exactly once, in id order; every send is acknowledged; no socket closes;
    no presence_diff appears after the rooms settled."""
    from websockets.asyncio.client import connect

    import ssl

    server = upgradable
    rooms, per_room, messages_each = 8, 25, 12
    context = ssl.create_default_context(cafile=str(certificate[0]))
    context.check_hostname = False

    joined, acked = [], []

    finish = leave = None

    async def client(index: int, results: dict, settled: asyncio.Event, go: asyncio.Event):
        user = f"user{index}"
        topic = f"room:load{index % rooms}"
        received, acks, diffs_after_settle = [], {}, 0
        tls = index % 4 == 0  # a quarter of the clients over TLS
        base = server.tls_url if tls else server.url
        url = f"{base}/socket/websocket?vsn=2.0.0&token={sign_token(SECRET.encode(), user)}"
        async with connect(url, ping_interval=None, max_queue=None, ssl=context if tls else None) as ws:
            await ws.send(json.dumps(["1", "1", topic, "phx_join", {"device": "d"}]))
            sent = 0
            async def reader():
                nonlocal diffs_after_settle
                async for raw in ws:
                    join_ref, ref, t, event, payload = json.loads(raw)
                    if event == "phx_reply" and ref == "1":
                        joined.append(index)
                    if event == "new_msg":
                        received.append(payload)
                    elif event == "phx_reply" and ref and ref.startswith("m"):
                        acks[ref] = payload
                    elif event == "presence_diff" and settled.is_set():
                        diffs_after_settle += 1
                    if len(acks) == messages_each and results.get("done_reading", {}).get(index):
                        return
            reading = asyncio.create_task(reader())
            await go.wait()
            for seq in range(messages_each):
                await ws.send(json.dumps(["1", f"m{seq}", topic, "new_msg", {"body": f"{user}:{seq}", "client_id": f"{user}:{seq}"}]))
                sent += 1
                await asyncio.sleep(0.05)
            deadline = time.monotonic() + 60
            while len(acks) < messages_each and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            acked.append(index)
            await finish.wait()  # every client's messages were acknowledged, then delivered everywhere
            results[index] = {"topic": topic, "received": list(received), "acks": dict(acks),
                              "diffs": diffs_after_settle, "open": ws.state.name == "OPEN"}
            await leave.wait()  # everyone leaves together, after the counting stopped
            reading.cancel()

    def swapper(stop: threading.Event, outcomes: list):
        time.sleep(0.2)
        for round_number in range(6):
            if stop.is_set():
                break
            path = "/admin/upgrade" if round_number % 2 == 0 else "/admin/rollback"
            outcomes.append(admin(server, "POST", path, {"handlers": v2_plugin} if round_number % 2 == 0 else {}))
            time.sleep(0.1)

    async def scenario():
        nonlocal finish, leave
        finish, leave = asyncio.Event(), asyncio.Event()
        results: dict = {}
        settled, go = asyncio.Event(), asyncio.Event()
        tasks = [asyncio.create_task(client(i, results, settled, go)) for i in range(rooms * per_room)]
        deadline = time.monotonic() + 30
        while len(joined) < rooms * per_room and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the joins' presence diffs are delivered; from now on presence must not move
        settled.set()
        go.set()
        stop, outcomes = threading.Event(), []
        thread = threading.Thread(target=swapper, args=(stop, outcomes))
        thread.start()
        deadline = time.monotonic() + 90
        while len(acked) < rooms * per_room and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # acknowledged messages are broadcast before their ack; let delivery finish
        finish.set()
        while len(results) < rooms * per_room and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        settled.clear()
        leave.set()
        await asyncio.gather(*tasks)
        stop.set()
        thread.join()
        return results, outcomes

    results, outcomes = asyncio.run(scenario())
    assert outcomes and all(status == 200 for status, _ in outcomes), outcomes
    for index, result in results.items():
        assert result["open"], f"client {index} was disconnected"
        assert len(result["acks"]) == messages_each and all(a["status"] == "ok" for a in result["acks"].values())
        assert result["diffs"] == 0, f"client {index} saw {result['diffs']} presence_diff during upgrades"
        ids = [m["id"] for m in result["received"]]
        assert ids == sorted(ids) and len(ids) == len(set(ids)), f"client {index}: reordered or duplicated"
    for room in range(rooms):
        members = [r for r in results.values() if r["topic"] == f"room:load{room}"]
        expected = per_room * messages_each
        for result in members:
            bodies = [m["body"] for m in result["received"]]
            assert len(bodies) == expected, f"{result['topic']}: got {len(bodies)} of {expected}"
            for other in range(room, rooms * per_room, rooms):
                own = [b for b in bodies if b.startswith(f"user{other}:")]
                assert own == [f"user{other}:{seq}" for seq in range(messages_each)]


def test_a_second_upgrade_while_one_runs_is_refused_with_409(server_factory, v2_plugin):
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": "admin-secret-token",
                             "HOLDFAST_TEST_HOOKS": "true"})
    alice = Phoenix(server, token=sign_token(SECRET.encode(), "alice"))
    alice.join("room:busy")  # a room to suspend
    first = {}
    thread = threading.Thread(target=lambda: first.update(
        answer=admin(server, "POST", "/admin/upgrade", {"handlers": v2_plugin, "test_hold_ms": 800})))
    thread.start()
    time.sleep(0.3)
    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": v2_plugin})
    assert status == 409 and answer["check"] == "upgrade_in_progress"
    thread.join()
    assert first["answer"][0] == 200
    status, state = admin(server, "GET", "/admin/status")
    assert state["handlers"]["current"] == "2.0.0"
    alice.close()


FIXTURES = ROOT / "Tests" / "HoldfastUpgradeTests" / "Fixtures"


def build_fake_c_plugin(tmp, flavour: str) -> str:
    output = tmp / f"libfake-{flavour}.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-D", flavour, str(FIXTURES / "fake_plugins.c"), "-o", str(output)],
                   check=True, capture_output=True, timeout=60)
    return str(output)


def build_faulty_swift_plugin(tmp, flavour: str) -> str:
    from conftest import holdfast_binary

    bin_dir = holdfast_binary().parent
    output = tmp / f"libFaulty-{flavour}.so"
    subprocess.run(
        ["swiftc", "-swift-version", "6", "-parse-as-library", "-emit-library", "-module-name", "FaultyHandlers",
         "-D", flavour, str(FIXTURES / "FaultyHandlers.swift"), "-I", str(bin_dir / "Modules"), "-L", str(bin_dir),
         "-lHoldfastHandlerAPI", "-Xlinker", "-rpath", "-Xlinker", str(bin_dir), "-o", str(output)],
        check=True, capture_output=True, timeout=300)
    return str(output)


@pytest.mark.parametrize(
    "build,check",
    [
        (lambda tmp: build_fake_c_plugin(tmp, "FAKE_WRONG_ABI"), "abi_mismatch"),
        (lambda tmp: build_fake_c_plugin(tmp, "FAKE_WRONG_TAG"), "build_tag_mismatch"),
        (lambda tmp: build_faulty_swift_plugin(tmp, "MIGRATE_THROWS"), "migration_failed"),
        (lambda tmp: build_faulty_swift_plugin(tmp, "INIT_THROWS"), "init_failed"),
    ],
)
def test_plugins_failing_a_check_or_their_migration_change_nothing(upgradable, tmp_path, build, check):
    server = upgradable
    alice = Phoenix(server, token=sign_token(SECRET.encode(), "alice"))
    join = alice.join("room:checks")
    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": build(tmp_path)})
    assert 400 <= status < 500 and answer["check"] == check, (status, answer)
    ref = alice.push("room:checks", "new_msg", {"body": "unaffected"}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"
    assert "handler_version" not in alice.event("room:checks", "new_msg")["payload"]
    status, state = admin(server, "GET", "/admin/status")
    assert state["handlers"]["current"] == "1.0.0"
    alice.close()
