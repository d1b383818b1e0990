"""Presence across three Holdfast nodes on one real redis-server (the fixtures of test_cluster.py): a joiner's
presence_state lists the members of every node; one user on two devices on two nodes is one key with two metas;
diffs cross nodes; a node killed with -9 leaves the other nodes' views in one diff per room and its clients recover
their history on another node; a Redis restart closes nothing and sends no presence_diff; a binary upgrade of one
node sends no presence diff anywhere; a second process under a node's name refuses to run; /admin/status lists
the live nodes. Clients: the Phoenix test client."""

import os
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import holdfast_binary
from test_cluster import (  # noqa: F401  (fixtures)
    TOPIC, admin, client, cluster, joined, messages, no_more_messages, redis, send, start_node, variant_binary,
    wait_for_redis,
)

TIMEOUT_MS = "1000"
FAST = {"HOLDFAST_CLUSTER_NODE_TIMEOUT_MS": TIMEOUT_MS}


@pytest.fixture
def fast_cluster(start_node):  # noqa: F811
    """Three nodes with node_timeout_ms = 1000, so a dead node leaves within a second or so."""
    return [start_node(index, FAST) for index in (1, 2, 3)]


def presence_state(phoenix, topic=TOPIC, timeout=10):
    return phoenix.event(topic, "presence_state", timeout)["payload"]


def diff_with(phoenix, side, key, topic=TOPIC, timeout=10):
    return phoenix.wait_for(
        lambda m: m["topic"] == topic and m["event"] == "presence_diff" and key in m["payload"][side], timeout
    )["payload"]


def await_keys(phoenix, side, keys, topic=TOPIC, timeout=10):
    """Waits for diffs of `topic` until every key of `keys` was on `side` (windows may coalesce several)."""
    missing = set(keys)
    deadline = time.monotonic() + timeout
    while missing:
        diff = phoenix.wait_for(
            lambda m: m["topic"] == topic and m["event"] == "presence_diff" and missing & set(m["payload"][side]),
            max(0.05, deadline - time.monotonic()))["payload"]
        missing -= set(diff[side])


def redis_get(redis, key):
    """`GET key` over RESP on a plain socket (bulk string or nil)."""
    with socket.create_connection(("127.0.0.1", redis.port), timeout=5) as sock:
        sock.sendall(f"*2\r\n$3\r\nGET\r\n${len(key)}\r\n{key}\r\n".encode())
        data = b""
        while b"\r\n" not in data or (data.startswith(b"$") and not data.startswith(b"$-1") and
                                       len(data) < int(data[1:data.index(b"\r\n")]) + data.index(b"\r\n") + 4):
            data += sock.recv(4096)
    if data.startswith(b"$-1"):
        return None
    header = data.index(b"\r\n")
    return data[header + 2:header + 2 + int(data[1:header])].decode()


def diffs(received, topic=TOPIC):
    return [m["payload"] for m in received if m["topic"] == topic and m["event"] == "presence_diff"]


def test_a_joiner_sees_the_members_of_every_node_and_diffs_cross_nodes(fast_cluster):
    # Each join is awaited as a diff on another node before the next (a diff is published after its write).
    cy, _ = joined(fast_cluster[2], "cy")
    assert set(presence_state(cy)) == {"cy"}
    ann, _ = joined(fast_cluster[0], "ann")
    assert set(presence_state(ann)) == {"ann", "cy"}
    assert set(diff_with(cy, "joins", "ann")["joins"]) == {"ann"}  # node 1's join reached node 3
    ben, _ = joined(fast_cluster[1], "ben")
    state = presence_state(ben)
    assert set(state) == {"ann", "ben", "cy"}
    assert all(len(state[key]["metas"]) == 1 for key in state)
    diff_with(ann, "joins", "ben")
    diff_with(cy, "joins", "ben")
    ben.close()
    assert set(diff_with(ann, "leaves", "ben")["leaves"]) == {"ben"}
    assert set(diff_with(cy, "leaves", "ben")["leaves"]) == {"ben"}
    assert diffs(ann.collect(0.5)) == [] and diffs(cy.collect(0.1)) == []  # each change once


def test_one_user_on_two_nodes_is_one_key_with_two_metas(fast_cluster):
    watcher, _ = joined(fast_cluster[2], "watcher")
    presence_state(watcher)
    phone, _ = joined(fast_cluster[0], "dana")
    diff_with(watcher, "joins", "dana")
    laptop, _ = joined(fast_cluster[1], "dana")
    assert len(presence_state(laptop)["dana"]["metas"]) == 2
    assert len(diff_with(watcher, "joins", "dana")["joins"]["dana"]["metas"]) == 1
    late, _ = joined(fast_cluster[2], "late")
    metas = presence_state(late)["dana"]["metas"]
    assert len(metas) == 2 and metas[0]["phx_ref"] != metas[1]["phx_ref"]
    phone.close()
    left = diff_with(watcher, "leaves", "dana")
    assert len(left["leaves"]["dana"]["metas"]) == 1  # one device left, the user stays
    diff_with(late, "leaves", "dana")
    later, _ = joined(fast_cluster[0], "later")
    assert len(presence_state(later)["dana"]["metas"]) == 1


def test_a_node_killed_leaves_every_view_in_one_diff_per_room_and_its_clients_recover(fast_cluster):
    other = "room:cluster-other"
    watcher, _ = joined(fast_cluster[0], "watcher")
    assert watcher.join(other)["payload"]["status"] == "ok"
    presence_state(watcher)
    presence_state(watcher, other)
    doomed = [joined(fast_cluster[2], f"doomed{index}")[0] for index in range(3)]
    for phoenix in doomed:
        assert phoenix.join(other)["payload"]["status"] == "ok"
    await_keys(watcher, "joins", {f"doomed{index}" for index in range(3)})
    await_keys(watcher, "joins", {f"doomed{index}" for index in range(3)}, other)
    acknowledged = []
    for index, phoenix in enumerate(doomed):
        reply = phoenix.reply_to(send(phoenix, f"acked{index}"))
        assert reply["payload"]["status"] == "ok", reply
        acknowledged.append((reply["payload"]["response"]["id"], f"acked{index}"))
    watcher.collect(0.3)
    os.kill(fast_cluster[2].process.pid, signal.SIGKILL)
    fast_cluster[2].process.wait()
    # Within the node timeout (1 s) plus a survey; the bound here only catches a diff that never comes.
    gone = {f"doomed{index}" for index in range(3)}
    for topic in (TOPIC, other):
        diff = diff_with(watcher, "leaves", "doomed0", topic, timeout=15)
        assert set(diff["leaves"]) == gone and diff["joins"] == {}
    later = watcher.collect(1.5)
    assert diffs(later) == [] and diffs(later, other) == []  # one diff per room
    # The dead node's clients come back on node 2 and recover every acknowledged message.
    back = client(fast_cluster[1], "doomed0")
    reply = back.join(TOPIC, {"last_seen_id": 0})
    assert reply["payload"]["status"] == "ok", reply
    recovered = messages(back, len(acknowledged))
    assert recovered == acknowledged


def test_a_redis_restart_closes_nothing_and_sends_no_presence_diff(fast_cluster, redis):  # noqa: F811
    watcher, _ = joined(fast_cluster[0], "watcher")
    presence_state(watcher)
    remote, _ = joined(fast_cluster[1], "remote")
    diff_with(watcher, "joins", "remote")
    watcher.collect(0.3)
    redis.stop()
    redis.start()
    for server in fast_cluster:
        wait_for_redis(server, "ready")
    received = watcher.collect(3.0)
    assert diffs(received) == []
    states = [m for m in received if m["event"] == "presence_state"]
    assert len(states) <= 1
    for state in states:
        assert set(state["payload"]) == {"watcher", "remote"}
    # Both sockets are open and the room works.
    deadline = time.monotonic() + 20
    while True:
        reply = remote.reply_to(send(remote, "after the restart"), timeout=10)
        if reply["payload"]["status"] == "ok" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert reply["payload"]["status"] == "ok", reply
    assert messages(watcher, 1)[0][1] == "after the restart"
    late, _ = joined(fast_cluster[2], "late")
    assert set(presence_state(late)) == {"watcher", "remote", "late"}


def test_a_binary_upgrade_of_one_node_sends_no_presence_diff(cluster, variant_binary, redis):  # noqa: F811
    local, _ = joined(cluster[0], "local")
    watcher, _ = joined(cluster[1], "watcher")
    presence_state(watcher)
    diff_with(local, "joins", "watcher")
    local.collect(0.3)
    watcher.collect(0.3)
    old_pid = admin(cluster[0], "GET", "/admin/status")[1]["pid"]
    token = redis_get(redis, "hf:node:node-1")
    assert token and f":{old_pid}:" in token
    status, answer = admin(cluster[0], "POST", "/admin/upgrade", {"binary": str(variant_binary)})
    assert status == 200, answer
    assert wait_for_redis(cluster[0], "ready")["pid"] != old_pid
    assert redis_get(redis, "hf:node:node-1") == token  # the same node continues, under the same token
    assert diffs(watcher.collect(2.0)) == []
    assert diffs(local.collect(0.5)) == []
    # The upgraded node is the same node: a joiner on it sees both, and node 2 sees the joiner once.
    late, _ = joined(cluster[0], "late")
    assert set(presence_state(late)) == {"local", "watcher", "late"}
    assert set(diff_with(watcher, "joins", "late")["joins"]) == {"late"}
    nodes = admin(cluster[1], "GET", "/admin/status")[1]["cluster"]["nodes"]
    assert sorted(node["name"] for node in nodes) == ["node-1", "node-2", "node-3"]


class SlowStartProxy:
    """A TCP relay to Redis whose connections opened after `hold()` pass nothing on for `delay` seconds: a new
    process behind it logs in to Redis that much later (as on a loaded machine), while the connections already
    open keep flowing."""

    def __init__(self, port, delay):
        self.target, self.delay, self.held = port, delay, False
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def hold(self):
        self.held = True

    def _accept(self):
        while True:
            try:
                inbound, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(inbound, self.held), daemon=True).start()

    def _relay(self, inbound, held):
        outbound = socket.create_connection(("127.0.0.1", self.target))
        if held:
            time.sleep(self.delay)
        for source, sink in ((inbound, outbound), (outbound, inbound)):
            threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


def test_an_upgrade_whose_new_process_logs_in_late_is_neither_reaped_nor_rewritten(
        start_node, variant_binary, redis):  # noqa: F811
    """With node_timeout_ms 1000 a node is dead 600 ms after its last beat; the new process of node 1 reaches Redis
    1.5 s after its start. The old process's beats carry a grace through the upgrade, so nobody reaps node 1 and
    it does not rewrite its entries: no member anywhere gets a presence_diff."""
    proxy = SlowStartProxy(redis.port, 1.5)
    try:
        first = start_node(1, {**FAST, "HOLDFAST_CLUSTER_REDIS_URL": f"redis://127.0.0.1:{proxy.port}"})
        nodes = [first] + [start_node(index, FAST) for index in (2, 3)]
        local, _ = joined(nodes[0], "local")
        watcher, _ = joined(nodes[1], "watcher")
        presence_state(watcher)
        diff_with(local, "joins", "watcher")
        local.collect(0.3)
        watcher.collect(0.3)
        old_pid = admin(first, "GET", "/admin/status")[1]["pid"]
        token = redis_get(redis, "hf:node:node-1")
        proxy.hold()
        status, answer = admin(first, "POST", "/admin/upgrade", {"binary": str(variant_binary)})
        assert status == 200, answer
        assert wait_for_redis(first, "ready")["pid"] != old_pid
        assert redis_get(redis, "hf:node:node-1") == token
        assert diffs(watcher.collect(2.0)) == [], "\n".join(node.log() for node in nodes)
        assert diffs(local.collect(0.5)) == []
        for node in nodes[1:]:
            assert "cluster node reaped" not in node.log()
        assert "token lost" not in first.log()
    finally:
        proxy.close()


def test_an_upgraded_node_without_rooms_that_logs_in_after_its_old_process_exited_keeps_its_token(
        start_node, variant_binary, redis):  # noqa: F811
    """No room asks for the carried presence early, so the new process reads the handoff file at its first login,
    1.5 s late, when the old process has exited and the new one's parent is another process: the file still counts
    (it names the parent at start), the node continues under its token, nobody reaps it, and it keeps running."""
    proxy = SlowStartProxy(redis.port, 1.5)
    try:
        first = start_node(1, {**FAST, "HOLDFAST_CLUSTER_REDIS_URL": f"redis://127.0.0.1:{proxy.port}"})
        nodes = [first] + [start_node(index, FAST) for index in (2, 3)]
        old_pid = admin(first, "GET", "/admin/status")[1]["pid"]
        token = redis_get(redis, "hf:node:node-1")
        proxy.hold()
        status, answer = admin(first, "POST", "/admin/upgrade", {"binary": str(variant_binary)})
        assert status == 200, answer
        new_pid = wait_for_redis(first, "ready")["pid"]
        assert new_pid != old_pid
        time.sleep(2.0)  # past the claim's deadline (1.2 · node_timeout_ms) and the old beat's grace
        logs = "\n".join(node.log() for node in nodes)
        assert admin(first, "GET", "/admin/status")[1]["pid"] == new_pid, logs
        assert redis_get(redis, "hf:node:node-1") == token, logs
        assert "cluster node reaped" not in logs and "refused" not in logs
    finally:
        proxy.close()


def test_status_lists_the_live_nodes(fast_cluster):
    deadline = time.monotonic() + 10
    while True:
        nodes = admin(fast_cluster[0], "GET", "/admin/status")[1]["cluster"]["nodes"]
        names = sorted(node["name"] for node in nodes or [])
        if names == ["node-1", "node-2", "node-3"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert names == ["node-1", "node-2", "node-3"]
    assert all(node["last_heartbeat_ms"] > 0 for node in nodes)


def test_a_second_process_under_a_live_nodes_name_refuses_to_start(start_node):  # noqa: F811
    first = start_node(1, FAST)
    env = {**first.env, "HOLDFAST_STATE_DIR": first.env["HOLDFAST_STATE_DIR"] + "-twin"}
    second = subprocess.run([str(holdfast_binary()), "serve"], env=env, capture_output=True, timeout=60)
    log = second.stderr.decode(errors="replace")
    assert second.returncode != 0
    assert "cannot start" in log and "node-1 is held by another live process" in log, log
    assert "listening" not in log  # refused before it served anyone
    assert first.process.poll() is None
    assert admin(first, "GET", "/admin/status")[1]["cluster"]["redis"] == "ready"


def test_an_api_disconnect_on_one_node_closes_the_users_sockets_on_every_node(fast_cluster):
    from holdfast_api import HoldfastAPI
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    from phx import Phoenix, sign_token
    from test_cluster import BACKEND, SECRET

    bystander, _ = joined(fast_cluster[0], "bystander")
    token = sign_token(SECRET.encode(), "mallory")
    sockets = [Phoenix(server, "mallory", token=token) for server in fast_cluster[1:]]
    for socket in sockets:
        assert socket.join(TOPIC)["payload"]["status"] == "ok"
    await_keys(bystander, "joins", {"mallory"})
    api = HoldfastAPI(f"http://127.0.0.1:{fast_cluster[0].api_port}", BACKEND)
    answer = api.disconnect("mallory", reason="banned", code=4003, refuse_older_tokens=True)
    assert answer["closed"] == 0  # none on node 1 itself; the other nodes close theirs
    for socket in sockets:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                socket.next(timeout=10)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4003, "banned")
    # Both devices leave the room's view everywhere.
    await_keys(bystander, "leaves", {"mallory"})
    # The older token is refused on every node (each recorded "not before" in its own state dir).
    for server in fast_cluster:
        deadline = time.monotonic() + 10
        while True:
            try:
                Phoenix(server, "mallory", token=token).close()
            except InvalidStatus as refused:
                assert refused.response.status_code == 403
                break
            assert time.monotonic() < deadline, "an older token was still accepted"
            time.sleep(0.1)
    time.sleep(1.1)  # token times are whole seconds
    fresh = Phoenix(fast_cluster[2], "mallory", token=sign_token(SECRET.encode(), "mallory"))
    assert fresh.join(TOPIC)["payload"]["status"] == "ok"


def test_the_api_presence_of_a_clustered_node_is_every_nodes(fast_cluster):
    from holdfast_api import HoldfastAPI

    from test_cluster import BACKEND

    phone, _ = joined(fast_cluster[1], "dana")
    laptop, _ = joined(fast_cluster[2], "dana")
    other, _ = joined(fast_cluster[2], "eve")
    await_keys(phone, "joins", {"eve"})
    api = HoldfastAPI(f"http://127.0.0.1:{fast_cluster[0].api_port}", BACKEND)  # node 1 has no member here
    deadline = time.monotonic() + 10
    while True:
        presence = api.presence(TOPIC)
        if len(presence.get("dana", {}).get("metas", [])) == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert set(presence) == {"dana", "eve"} and len(presence["dana"]["metas"]) == 2
    assert api.presence_stats(TOPIC) == {"clients": 3, "users": 2}


def test_a_graceful_stop_leaves_at_once_and_frees_the_name(start_node, redis):  # noqa: F811
    # A long node timeout: only the stop itself can release the name this fast.
    fast_cluster = [start_node(index, {"HOLDFAST_CLUSTER_NODE_TIMEOUT_MS": "60000"}) for index in (1, 2, 3)]
    watcher, _ = joined(fast_cluster[0], "watcher")
    presence_state(watcher)
    for index in range(2):
        joined(fast_cluster[2], f"leaving{index}")
    await_keys(watcher, "joins", {"leaving0", "leaving1"})
    assert redis_get(redis, "hf:node:node-3") is not None
    fast_cluster[2].process.send_signal(signal.SIGTERM)
    assert fast_cluster[2].process.wait(timeout=30) == 0
    assert redis_get(redis, "hf:node:node-3") is None  # released before the process ended
    await_keys(watcher, "leaves", {"leaving0", "leaving1"})
    # A new process under the name starts at once (a held name would block it for the 60 s timeout).
    again = start_node(3, {"HOLDFAST_CLUSTER_NODE_TIMEOUT_MS": "60000"})
    assert again.wait_for_log("cluster node registered", timeout=10)
    assert again.process.poll() is None
