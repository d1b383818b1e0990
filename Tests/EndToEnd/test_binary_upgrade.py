"""Whole-binary upgrade by socket handoff, over real sockets: every connection (plaintext and TLS, with and
without permessage-deflate) survives repeated upgrades old -> new -> old with nothing lost, duplicated or
reordered, no presence_diff and the same phx_refs; connections opened during an upgrade are served; every
failure mode rolls back with the old process serving on."""

import asyncio
import json
import os
import shutil
import signal
import ssl
import stat
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import holdfast_binary, process_alive
from phx import Phoenix, sign_token

SECRET = "b" * 48
TOKEN = "handoff-admin-token"
TAG_PREFIX = b"HOLDFAST-BUILD-TAG:"
TAG_FIELD = TAG_PREFIX + b"dev".ljust(24, b".")


def admin(server, method: str, path: str, body=None, timeout: float = 60):
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.admin_port}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="session")
def variant_binary(tmp_path_factory):
    """A different build of the server: the same binary with another build tag compiled in (the field release
    tooling relabels), next to links to the libraries it loads from its own directory."""
    original = holdfast_binary().resolve()
    directory = tmp_path_factory.mktemp("variant")
    data = original.read_bytes()
    assert data.count(TAG_FIELD) == 1, "build tag marker not found in the binary"
    patched = data.replace(TAG_FIELD, TAG_PREFIX + b"variant-b".ljust(24, b"."))
    assert len(patched) == len(data)
    target = directory / "holdfast"
    target.write_bytes(patched)
    target.chmod(0o755)
    for library in ("libHoldfastHandlerAPI.so", "libChatHandlers.so"):
        (directory / library).symlink_to(original.parent / library)
    return target


@pytest.fixture
def handoff_server(server_factory, certificate):
    cert, key = certificate

    def start(extra=None):
        env = {
            "HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": TOKEN,
            "HOLDFAST_TLS_LISTEN": "127.0.0.1:0", "HOLDFAST_TLS_CERT": str(cert), "HOLDFAST_TLS_KEY": str(key),
            "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000", "HOLDFAST_LOG_LEVEL": "info",
            # Test hooks make every upgrade check that each connection it does not send again in the pause is
            # byte for byte what was staged ("stale staged copy" in the log otherwise).
            "HOLDFAST_TEST_HOOKS": "true",
        }
        env.update(extra or {})
        return server_factory(env)

    return start


def status_of(server):
    status, document = admin(server, "GET", "/admin/status")
    assert status == 200, document
    return document


def wait_until_gone(pid: int, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not process_alive(pid)


@pytest.mark.parametrize("batches", ["off", "paced"])
def test_chat_traffic_survives_repeated_binary_upgrades(handoff_server, variant_binary, certificate, batches):
    """240 clients in 6 rooms (a quarter over TLS, half with permessage-deflate) send numbered messages through
    four binary upgrades (old, variant, old, variant): every message arrives once and in order, every send is
    acknowledged, no socket closes, no presence_diff, the same phx_refs, and connections opened while the
    upgrades run are all served; also with the rooms' commits paced after their fan-outs (`paced`), whose waiting
    messages an upgrade carries in the rooms' snapshots."""
    from websockets.asyncio.client import connect

    server = handoff_server({"HOLDFAST_CHANNELS_JOIN_DURABLE_BATCHES": batches})
    original = holdfast_binary().resolve()
    first_pid = status_of(server)["pid"]
    rooms, per_room, messages_each = 6, 40, 16
    total = rooms * per_room
    tls_context = ssl.create_default_context(cafile=str(certificate[0]))
    tls_context.check_hostname = False
    joined, acked, late = [], [], {"ok": 0, "failed": []}

    async def client(index, results, settled, go, finish, leave):
        user = f"user{index}"
        topic = f"room:handoff{index % rooms}"
        tls = index % 4 == 0
        base = server.tls_url if tls else server.url
        url = f"{base}/socket/websocket?vsn=2.0.0&token={sign_token(SECRET.encode(), user)}"
        compression = "deflate" if index % 2 == 0 else None
        received, acks, view = [], {}, {}
        diffs = 0
        async with connect(url, ping_interval=None, max_queue=None, ssl=tls_context if tls else None,
                           compression=compression) as ws:
            await ws.send(json.dumps(["1", "1", topic, "phx_join", {"device": "d"}]))

            async def reader():
                nonlocal diffs
                async for raw in ws:
                    _, ref, _, event, payload = json.loads(raw)
                    if event == "phx_reply" and ref == "1":
                        joined.append(index)
                    elif event == "new_msg":
                        received.append(payload)
                    elif event == "phx_reply" and ref and ref.startswith("m"):
                        acks[ref] = payload
                    elif event == "presence_state":
                        view.clear()
                        view.update({k: sorted(m["phx_ref"] for m in v["metas"]) for k, v in payload.items()})
                    elif event == "presence_diff":
                        if settled.is_set():
                            diffs += 1
                        for key in payload["leaves"]:
                            view.pop(key, None)
                        for key, value in payload["joins"].items():
                            view[key] = sorted(m["phx_ref"] for m in value["metas"])

            reading = asyncio.create_task(reader())
            await go.wait()
            for seq in range(messages_each):
                await ws.send(json.dumps(["1", f"m{seq}", topic, "new_msg", {"body": f"{user}:{seq}"}]))
                await asyncio.sleep(0.08)
            deadline = time.monotonic() + 60
            while len(acks) < messages_each and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            acked.append(index)
            await finish.wait()
            results[index] = {"topic": topic, "received": list(received), "acks": dict(acks), "diffs": diffs,
                              "open": ws.state.name == "OPEN", "view": dict(view), "tls": tls}
            await leave.wait()
            reading.cancel()

    async def newcomers(stop: asyncio.Event):
        """Connections opened while upgrades run: each must connect, join and get its reply."""
        number = 0
        while not stop.is_set():
            number += 1
            url = f"{server.url}/socket/websocket?vsn=2.0.0&token={sign_token(SECRET.encode(), f'late{number}')}"
            try:
                async with connect(url, ping_interval=None, open_timeout=15) as ws:
                    await ws.send(json.dumps(["1", "1", "room:late", "phx_join", {}]))
                    while True:
                        _, ref, _, event, payload = json.loads(await asyncio.wait_for(ws.recv(), 15))
                        if event == "phx_reply" and ref == "1":
                            assert payload["status"] == "ok"
                            late["ok"] += 1
                            break
            except Exception as error:  # noqa: BLE001 - every failure is reported by the assertion below
                late["failed"].append(repr(error))
            await asyncio.sleep(0.02)

    def upgrader(outcomes: list):
        time.sleep(0.3)
        for target in (variant_binary, original, variant_binary, original):
            outcomes.append(admin(server, "POST", "/admin/upgrade", {"binary": str(target)}))
            time.sleep(0.25)

    async def scenario():
        results = {}
        settled, go, finish, leave = (asyncio.Event() for _ in range(4))
        tasks = [asyncio.create_task(client(i, results, settled, go, finish, leave)) for i in range(total)]
        deadline = time.monotonic() + 60
        while len(joined) < total and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # the joins' presence diffs are delivered; from now on presence must not move
        settled.set()
        go.set()
        outcomes = []
        thread = threading.Thread(target=upgrader, args=(outcomes,))
        stop_newcomers = asyncio.Event()
        arrivals = asyncio.create_task(newcomers(stop_newcomers))
        thread.start()
        while thread.is_alive():
            await asyncio.sleep(0.05)
        stop_newcomers.set()
        await arrivals
        deadline = time.monotonic() + 90
        while len(acked) < total and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
        finish.set()
        while len(results) < total and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        settled.clear()
        probes = {}
        for room in range(rooms):
            probe = Phoenix(server, token=sign_token(SECRET.encode(), f"probe{room}"))
            state = probe.join(f"room:handoff{room}")
            presence = probe.event(f"room:handoff{room}", "presence_state")["payload"]
            probes[f"room:handoff{room}"] = {k: sorted(m["phx_ref"] for m in v["metas"])
                                             for k, v in presence.items() if not k.startswith("probe")}
            assert state["payload"]["status"] == "ok"
            probe.close()
        leave.set()
        await asyncio.gather(*tasks)
        return results, outcomes, probes

    results, outcomes, probes = asyncio.run(scenario())

    assert [status for status, _ in outcomes] == [200, 200, 200, 200], outcomes
    pids = [answer["new_pid"] for _, answer in outcomes]
    assert len(set(pids + [first_pid])) == 5, "every upgrade starts a new process"
    assert all(answer["connections"] >= total for _, answer in outcomes), outcomes
    # Both builds stage the rooms' assigns and authors, so the pause sends the rooms as changes since staging.
    assert all(answer["rooms_as_changes"] is True for _, answer in outcomes), outcomes
    assert late["ok"] > 0 and not late["failed"], late
    assert len(results) == total
    for index, result in results.items():
        assert result["open"], f"client {index} was disconnected"
        assert len(result["acks"]) == messages_each and all(a["status"] == "ok" for a in result["acks"].values())
        assert result["diffs"] == 0, f"client {index} saw {result['diffs']} presence_diff during the upgrades"
        ids = [m["id"] for m in result["received"]]
        assert ids == sorted(ids) and len(ids) == len(set(ids)), f"client {index}: reordered or duplicated"
    for room in range(rooms):
        topic = f"room:handoff{room}"
        members = [r for r in results.values() if r["topic"] == topic]
        expected = per_room * messages_each
        for result in members:
            bodies = [m["body"] for m in result["received"]]
            assert len(bodies) == expected, f"{topic}: got {len(bodies)} of {expected}"
            for other in range(room, total, rooms):
                assert [b for b in bodies if b.startswith(f"user{other}:")] == [f"user{other}:{s}" for s in range(messages_each)]
            # What every member saw at the start is exactly what a newcomer sees after four upgrades.
            assert result["view"] == probes[topic], f"{topic}: presence changed across the upgrades"
    assert not [line for line in server.log().splitlines() if "stale staged copy" in line]
    document = status_of(server)
    assert document["pid"] == pids[-1]
    assert document["last_upgrade"]["kind"] == "binary" and document["last_upgrade"]["outcome"] == "ok"


def test_a_different_build_is_visible_after_the_upgrade_and_the_cli_drives_it(handoff_server, variant_binary):
    server = handoff_server()
    before = status_of(server)
    assert before["version"].endswith("+dev")
    alice = Phoenix(server, token=sign_token(SECRET.encode(), "alice"))
    join = alice.join("room:cli")
    result = subprocess.run(
        [str(holdfast_binary()), "upgrade", "--admin", f"127.0.0.1:{server.admin_port}", "--token", TOKEN,
         "--binary", str(variant_binary)], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["kind"] == "binary" and answer["new_version"].endswith("+variant-b")
    after = status_of(server)
    assert after["version"].endswith("+variant-b") and after["pid"] == answer["new_pid"] != before["pid"]
    assert wait_until_gone(before["pid"]), "the old process exits after the handoff"
    # The same socket, now served by the new build.
    ref = alice.push("room:cli", "new_msg", {"body": "after"}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"
    assert alice.event("room:cli", "new_msg")["payload"]["body"] == "after"
    assert server.wait_for_log("took over from the previous process")


def test_sigusr2_upgrades_to_the_configured_binary(handoff_server, variant_binary):
    server = handoff_server({"HOLDFAST_UPGRADE_BINARY": str(variant_binary)})
    alice = Phoenix(server, token=sign_token(SECRET.encode(), "alice"))
    join = alice.join("room:signal")
    old_pid = status_of(server)["pid"]
    os.kill(old_pid, signal.SIGUSR2)
    assert wait_until_gone(old_pid), "the old process hands over and exits"
    assert status_of(server)["version"].endswith("+variant-b")
    ref = alice.push("room:signal", "new_msg", {"body": "still here"}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"


def write_script(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def plain_file(path):
    path.write_text("not a program\n")
    return path


FAILURES = [
    # (name, make target, extra server env, expected status, expected check)
    ("missing", lambda d, b: d / "no-such-binary", {}, 422, "binary_missing"),
    ("not executable", lambda d, b: plain_file(d / "plain.txt"), {}, 422, "binary_not_executable"),
    ("exits at start", lambda d, b: shutil.which("false"), {}, 502, "ready_failed"),
    ("never ready", lambda d, b: write_script(d / "sleeper", "#!/bin/sh\nexec sleep 30\n"),
     {"HOLDFAST_UPGRADE_READY_TIMEOUT_MS": "800"}, 504, "ready_timeout"),
    ("rebuild fails", lambda d, b: write_script(d / "no-tls", f"#!/bin/sh\nunset HOLDFAST_TLS_CERT\nexec {b} \"$@\"\n"),
     {}, 502, "rebuild_failed"),
    ("never done", lambda d, b: write_script(d / "slow", f"#!/bin/sh\nexport HOLDFAST_TEST_TAKEOVER_DELAY_MS=5000\nexec {b} \"$@\"\n"),
     {"HOLDFAST_UPGRADE_DONE_TIMEOUT_MS": "800", "HOLDFAST_TEST_HOOKS": "true"}, 504, "done_timeout"),
]


@pytest.mark.parametrize("name,target,extra,expected_status,expected_check", FAILURES, ids=[f[0] for f in FAILURES])
def test_a_failing_upgrade_rolls_back_and_clients_notice_nothing(
        handoff_server, tmp_path, name, target, extra, expected_status, expected_check):
    server = handoff_server(extra)
    before = status_of(server)
    alice = Phoenix(server, token=sign_token(SECRET.encode(), "alice"))
    bob = Phoenix(server, token=sign_token(SECRET.encode(), "bob"), vsn="1.0.0")
    join = alice.join("room:rollback")
    bob.join("room:rollback")
    alice.event("room:rollback", "presence_state")
    time.sleep(0.2)
    alice.collect(0.2)
    path = str(target(tmp_path, holdfast_binary().resolve()))

    status, answer = admin(server, "POST", "/admin/upgrade", {"binary": path})
    assert (status, answer.get("check")) == (expected_status, expected_check), answer
    assert answer["error"]

    after = status_of(server)
    assert after["pid"] == before["pid"], "the old process keeps serving"
    assert after["last_upgrade"]["outcome"] == "refused"
    # Both sockets still work, and nothing happened to presence.
    ref = alice.push("room:rollback", "new_msg", {"body": "after rollback"}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"
    assert bob.event("room:rollback", "new_msg")["payload"]["body"] == "after rollback"
    assert not [m for m in alice.collect(0.3) if m["event"] in ("presence_diff", "phx_close", "phx_error")]
    # New connections are served again.
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as response:
        assert response.status == 200
    # A second attempt is possible (the upgrade slot was released).
    status, answer = admin(server, "POST", "/admin/upgrade", {"binary": str(tmp_path / "still-missing")})
    assert status == 422


def test_an_openssl_s_client_session_survives_upgrades_with_key_updates(handoff_server, variant_binary):
    """A real TLS client of another implementation keeps one TLS 1.3 session across two binary upgrades,
    requests a KeyUpdate (answered in kind) after each, and gets every HTTP answer on the same connection."""
    server = handoff_server()
    client = subprocess.Popen(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{server.tls_port}", "-tls1_3", "-crlf", "-no_ign_eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = []
    threading.Thread(target=lambda: output.extend(iter(client.stdout.readline, b"")), daemon=True).start()

    def answers():
        return sum(1 for line in output if line.startswith(b"HTTP/1.1 200"))

    def request_and_wait(expected):
        client.stdin.write(b"GET /healthz HTTP/1.1\nHost: holdfast\n\n")
        client.stdin.flush()
        deadline = time.monotonic() + 10
        while answers() < expected and time.monotonic() < deadline:
            time.sleep(0.02)
        assert answers() == expected, b"".join(output).decode(errors="replace")

    try:
        request_and_wait(1)
        for number, target in enumerate((variant_binary, holdfast_binary().resolve())):
            status, answer = admin(server, "POST", "/admin/upgrade", {"binary": str(target)})
            assert status == 200, answer
            client.stdin.write(b"k\n")  # s_client: send a KeyUpdate asking the server to update too
            client.stdin.flush()
            time.sleep(0.2)
            request_and_wait(number + 2)
        assert client.poll() is None, "the TLS session is still open"
        text = b"".join(output).decode(errors="replace")
        assert text.count("KEYUPDATE") == 2, text
        assert not [line for line in server.log().splitlines() if "stale staged copy" in line]
    finally:
        client.stdin.close()
        client.wait(timeout=10)


def test_the_load_harness_upgrade_run_passes_and_reports_every_upgrade(handoff_server, variant_binary, tmp_path):
    """`holdfast-bench upgrade`, as an operator would run it before trusting a deploy: chat traffic from 120 users
    (a fifth over TLS) in two client processes through two binary upgrades; it exits 0 only if every check is 0."""
    server = handoff_server()
    bench = holdfast_binary().parent / "holdfast-bench"
    report = tmp_path / "upgrade.json"
    result = subprocess.run(
        [str(bench), "upgrade", "--url", f"{server.url}/socket/websocket", "--tls-url", server.tls_url,
         "--tls-share", "0.2", "--secret", SECRET, "--connections", "120", "--rooms", "6", "--rate", "4",
         "--processes", "2", "--warmup", "0.5", "--admin-url", f"http://127.0.0.1:{server.admin_port}",
         "--admin-token", TOKEN, "--binary", str(variant_binary), "--binary", str(holdfast_binary().resolve()),
         "--upgrades", "2", "--interval", "3", "--json", str(report)],
        capture_output=True, timeout=180)
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 0, output
    upgrades = json.loads(report.read_text())["upgrade"]
    assert [entry["status"] for entry in upgrades] == [200, 200], upgrades
    for entry in upgrades:
        assert (entry["closed"], entry["lost"], entry["duplicated"], entry["reordered"], entry["presence_diffs"]) == (0, 0, 0, 0, 0)
        assert entry["server_pause_ms"] > 0 and entry["deliveries_during"] > 0
    assert status_of(server)["version"].endswith("+dev")


def test_connections_that_cannot_move_get_a_grace_period_and_then_an_answer(handoff_server, variant_binary):
    """A TLS handshake still in progress and a half-received HTTP request cannot be carried over: the upgrade waits
    `upgrade.handshake_grace_ms` for them, then drops the handshake and answers the request with 503, and goes on."""
    import socket

    server = handoff_server({"HOLDFAST_UPGRADE_HANDSHAKE_GRACE_MS": "300"})
    handshaking = socket.create_connection(("127.0.0.1", server.tls_port))  # never sends its ClientHello
    requesting = socket.create_connection(("127.0.0.1", server.port))
    requesting.sendall(b"GET /healthz HTTP/1.1\r\nHost: holdfast\r\n")  # the blank line never comes
    alice = Phoenix(server, token=sign_token(SECRET.encode(), "alice"))
    join = alice.join("room:grace")
    time.sleep(0.2)

    started = time.monotonic()
    status, answer = admin(server, "POST", "/admin/upgrade", {"binary": str(variant_binary)})
    assert status == 200, answer
    assert time.monotonic() - started >= 0.3, "the upgrade waited for the grace period"
    handshaking.settimeout(5)
    assert handshaking.recv(100) == b"", "the handshake in progress was closed"
    requesting.settimeout(5)
    response = requesting.recv(4096)
    assert response.startswith(b"HTTP/1.1 503"), response
    assert server.wait_for_log("cannot be handed over")
    # Everything that could move did.
    ref = alice.push("room:grace", "new_msg", {"body": "moved"}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"
    handshaking.close()
    requesting.close()
