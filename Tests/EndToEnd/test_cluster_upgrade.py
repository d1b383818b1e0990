"""A rolling binary upgrade of a three-node cluster under chat traffic, as an operator would rehearse a deploy:
three Holdfast nodes (each with a TLS listener) on one real redis-server (started on a free port, no
persistence), `holdfast-bench upgrade` spreading its users over the three nodes (every room has members on every
node, a quarter of them over TLS) and upgrading node 1, then node 2, then node 3 to a build in a new directory, then
all three back. Nothing may notice: 0 connections closed, 0 messages lost, duplicated or reordered (checked across
nodes, in one order per room) and 0 presence diffs, cluster-wide. No timing is asserted: the bench's intervals are
generous, and only its counts and the nodes' state are checked."""

import json
import subprocess
import threading
import time

from conftest import holdfast_binary
from test_cluster import ADMIN, REDIS_SERVER, SECRET, admin, redis, start_node, variant_binary, wait_for_redis  # noqa: F401
import pytest

pytestmark = pytest.mark.skipif(REDIS_SERVER is None,
                                reason="redis-server is not installed (scripts/setup.sh installs it)")


@pytest.fixture
def tls_cluster(start_node, certificate):
    """Three nodes on the test's Redis, each with its own plain, TLS and admin listener."""
    cert, key = certificate
    tls = {"HOLDFAST_TLS_LISTEN": "127.0.0.1:0", "HOLDFAST_TLS_CERT": str(cert), "HOLDFAST_TLS_KEY": str(key),
           # Every upgrade checks that each connection it does not send again is byte for byte what was staged.
           "HOLDFAST_TEST_HOOKS": "true"}
    return [start_node(index, tls) for index in (1, 2, 3)]


def status(node):
    code, document = admin(node, "GET", "/admin/status")
    assert code == 200, document
    return document


def watch_connections(nodes, stop: threading.Event, seen: list):
    """Records the most connections each node served at once while the bench runs."""
    while not stop.is_set():
        for index, node in enumerate(nodes):
            try:
                seen[index] = max(seen[index], status(node).get("connections") or 0)
            except Exception:  # noqa: BLE001 - a node answering slowly mid-upgrade is not the test's subject
                pass
        stop.wait(0.5)


def test_a_rolling_binary_upgrade_of_three_nodes_under_chat_traffic_breaks_nothing(
        tls_cluster, variant_binary, tmp_path):
    nodes = tls_cluster
    original = holdfast_binary().resolve()
    bench = holdfast_binary().parent / "holdfast-bench"
    pids_before = [status(node)["pid"] for node in nodes]
    report_path = tmp_path / "rolling.json"
    command = [str(bench), "upgrade", "--secret", SECRET, "--connections", "90", "--rooms", "3", "--rate", "2",
               "--processes", "2", "--tls-share", "0.25", "--warmup", "1", "--connect-timeout", "90",
               "--drain-timeout", "30", "--drain", "2", "--admin-token", ADMIN, "--binary", str(variant_binary),
               "--binary", str(original), "--upgrades", "2", "--interval", "15", "--answer-timeout", "90",
               "--json", str(report_path)]
    for node in nodes:
        command += ["--url", f"{node.url}/socket/websocket", "--tls-url", node.tls_url,
                    "--admin-url", f"http://127.0.0.1:{node.admin_port}"]

    seen = [0, 0, 0]
    stop = threading.Event()
    watcher = threading.Thread(target=watch_connections, args=(nodes, stop, seen), daemon=True)
    watcher.start()
    try:
        result = subprocess.run(command, capture_output=True, timeout=400)
    finally:
        stop.set()
        watcher.join()
    output = (result.stdout + result.stderr).decode(errors="replace")
    print(output)  # the bench's report, shown with -s
    if result.returncode != 0:
        for index, node in enumerate(nodes, start=1):
            print(f"--- node {index} log ---\n" + node.log())
    assert result.returncode == 0, output

    report = json.loads(report_path.read_text())
    chat = report["chat"]
    # Users were spread over all three nodes (30 each), a quarter over TLS, and every one joined.
    assert chat["urls"] == [f"{node.url}/socket/websocket" for node in nodes]
    assert chat["joined"] == chat["users"] == 90, output
    assert chat["tls_users"] > 0 and chat["tls_joined"] == chat["tls_users"], output
    assert all(count >= 30 for count in seen), (seen, output)
    # Traffic crossed the nodes and every check is 0, cluster-wide.
    assert chat["delivered_total"] > 0 and chat["messages_acked"] == chat["messages_sent"], output
    assert (chat["closed"], chat["lost"], chat["duplicated"], chat["reordered"], chat["presence_diffs"]) == \
        (0, 0, 0, 0, 0), output
    assert report["before_upgrades"] == {"closed": 0, "lost": 0, "duplicated": 0, "reordered": 0,
                                         "presence_diffs": 0}, output

    # Two rounds, each node 1, 2, 3 in turn, every one answered 200 with nothing broken while it handed over.
    entries = report["upgrade"]
    assert [(entry["round"], entry["node"]) for entry in entries] == \
        [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3)], output
    for entry in entries:
        assert entry["status"] == 200, entry
        assert (entry["closed"], entry["lost"], entry["duplicated"], entry["reordered"], entry["presence_diffs"]) == \
            (0, 0, 0, 0, 0), entry
        assert entry["server_pause_ms"] > 0, entry
    assert [round_["round"] for round_ in report["rounds"]] == [1, 2]
    for round_ in report["rounds"]:
        assert len(round_["pause_ms"]) == 3 and round_["pause_ms_total"] > 0, round_
    assert report["failures"] == []

    # Each node is served by a new process of the original build again, still on Redis.
    for node, before, entry in zip(nodes, pids_before, entries[3:]):
        document = status(node)
        assert document["pid"] != before and document["pid"] == entry["pid_after"], document
        assert document["version"].endswith("+dev"), document
        assert wait_for_redis(node, "ready")["cluster"]["node"] == f"node-{nodes.index(node) + 1}"


def test_a_node_that_refuses_its_upgrade_stops_the_roll_and_the_rest_keep_their_build(tls_cluster, tmp_path):
    """Node 1 refuses (no binary at the path given): the bench asks no other node, reports the refusal and exits
    non-zero; every node still serves the build it started with, its connections untouched."""
    nodes = tls_cluster
    pids_before = [status(node)["pid"] for node in nodes]
    bench = holdfast_binary().parent / "holdfast-bench"
    report_path = tmp_path / "refused.json"
    command = [str(bench), "upgrade", "--secret", SECRET, "--connections", "30", "--rooms", "3", "--rate", "2",
               "--warmup", "0.5", "--connect-timeout", "60", "--drain-timeout", "30", "--admin-token", ADMIN,
               "--binary", str(tmp_path / "no-such-build" / "holdfast"), "--interval", "4", "--answer-timeout", "60",
               "--json", str(report_path)]
    for node in nodes:
        command += ["--url", f"{node.url}/socket/websocket", "--admin-url", f"http://127.0.0.1:{node.admin_port}"]
    result = subprocess.run(command, capture_output=True, timeout=300)
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 1, output

    report = json.loads(report_path.read_text())
    assert [(entry["round"], entry["node"]) for entry in report["upgrade"]] == [(1, 1)], output
    assert report["upgrade"][0]["status"] != 200, output
    assert any("stopped after 1 of 3" in failure for failure in report["failures"]), report["failures"]
    # The refusal broke nothing: the traffic's own checks are all 0.
    chat = report["chat"]
    assert chat["joined"] == 30 and (chat["closed"], chat["lost"], chat["duplicated"], chat["reordered"]) == \
        (0, 0, 0, 0), output
    assert [status(node)["pid"] for node in nodes] == pids_before
