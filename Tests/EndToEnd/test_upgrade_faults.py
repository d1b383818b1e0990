"""Binary upgrades that go wrong on purpose, under chat traffic with TLS users: a test-only fault hook
(`HOLDFAST_TEST_FAULT=<side>:<step>:<action>`) makes one process kill itself, hang, close the handoff channel or
write junk on it at one step. Before the commit point the old process must keep serving with nothing closed,
lost, duplicated or reordered and no presence change, and answer a typed error."""
import json
import subprocess

import pytest

from conftest import holdfast_binary, start_server
from test_binary_upgrade import (  # noqa: F401 (fixtures)
    SECRET, TOKEN, handoff_server, status_of, variant_binary, wait_until_gone)

NEW_STEPS_BEFORE_DONE = ["ready", "staging", "rebuild", "done"]
NEW_ACTIONS = ["exit9", "hang", "close-channel", "garbage"]
OLD_STEPS_BEFORE_COMMIT = ["ready", "staging", "staging-batch", "restaging", "drain", "export", "send", "send-batch"]
OLD_ACTIONS = ["hang", "close-channel", "garbage"]

CASES = [f"new:{step}:{action}" for step in NEW_STEPS_BEFORE_DONE for action in NEW_ACTIONS]
CASES += [f"old:{step}:{action}" for step in OLD_STEPS_BEFORE_COMMIT for action in OLD_ACTIONS]
# Before COMMIT is sent the old process still owns the connections: a hang there is cut by its watchdog too.
CASES += ["old:commit:hang"]

# Deadlines short enough for a test: a hung new process is cut by the answer timeouts, a hung step of the old
# process by its watchdog (which must wait longer than those).
DEADLINES = {
    "HOLDFAST_UPGRADE_READY_TIMEOUT_MS": "2000", "HOLDFAST_UPGRADE_DONE_TIMEOUT_MS": "2000",
    "HOLDFAST_UPGRADE_STEP_TIMEOUT_MS": "4000",
}


def upgrade_under_traffic(server, binary, report, connections=60):
    bench = holdfast_binary().parent / "holdfast-bench"
    result = subprocess.run(
        [str(bench), "upgrade", "--url", f"{server.url}/socket/websocket", "--tls-url", server.tls_url,
         "--tls-share", "0.2", "--secret", SECRET, "--connections", str(connections), "--rooms", "3", "--rate", "4",
         "--warmup", "0.5", "--admin-url", f"http://127.0.0.1:{server.admin_port}", "--admin-token", TOKEN,
         "--binary", str(binary), "--upgrades", "1", "--interval", "1", "--json", str(report)],
        capture_output=True, timeout=180)
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert report.exists(), output
    return json.loads(report.read_text())["upgrade"], output


@pytest.mark.parametrize("fault", CASES)
def test_a_fault_before_the_commit_point_leaves_the_old_process_serving(handoff_server, variant_binary, tmp_path,
                                                                         fault):
    server = handoff_server({"HOLDFAST_TEST_FAULT": fault, "HOLDFAST_TEST_FAULTS_ALLOWED": "1", **DEADLINES})
    serving = server.process.pid
    upgrades, output = upgrade_under_traffic(server, variant_binary, tmp_path / "upgrade.json")
    assert len(upgrades) == 1, output
    entry = upgrades[0]
    assert entry["status"] in (422, 500, 502, 503, 504), output
    if fault.startswith("old:") and fault.endswith(":hang"):
        assert entry["status"] == 504 and "step_stalled" in output, output
    assert (entry["closed"], entry["lost"], entry["duplicated"], entry["reordered"], entry["presence_diffs"]) \
        == (0, 0, 0, 0, 0), output
    status = status_of(server)
    assert status["pid"] == serving
    assert status["last_upgrade"]["outcome"] == "refused", status["last_upgrade"]
    if fault.startswith("old:"):
        # The old process logs the fault it fires (the new process's log is its own).
        assert f"fault={fault}" in server.log() and "test fault fires" in server.log(), server.log()


def test_a_fault_hook_without_its_allow_variable_stops_the_start(tmp_path):
    with pytest.raises(RuntimeError, match="refusing to start without HOLDFAST_TEST_FAULTS_ALLOWED=1"):
        start_server({"HOLDFAST_TEST_FAULT": "new:ready:exit9"}, tmp_path=tmp_path)


def test_a_fault_at_a_later_batch_of_a_stream_rolls_back_too(handoff_server, variant_binary, tmp_path):
    """300 connections and the listeners do not fit one message of fds: the second message of the staging stream
    is where the new process gets junk instead."""
    fault = "old:staging-batch@2:garbage"
    server = handoff_server({"HOLDFAST_TEST_FAULT": fault, "HOLDFAST_TEST_FAULTS_ALLOWED": "1", **DEADLINES})
    serving = server.process.pid
    upgrades, output = upgrade_under_traffic(server, variant_binary, tmp_path / "upgrade.json", connections=300)
    entry = upgrades[0]
    assert entry["status"] in (502, 504), output
    assert (entry["closed"], entry["lost"], entry["duplicated"], entry["reordered"], entry["presence_diffs"]) \
        == (0, 0, 0, 0, 0), output
    assert status_of(server)["pid"] == serving
    assert f"fault={fault}" in server.log(), server.log()


AROUND_THE_COMMIT = ["old:commit:close-channel", "old:commit:garbage", "old:ack:close-channel", "old:ack:garbage",
                     "new:commit:close-channel", "new:commit:garbage", "new:ack:close-channel", "new:ack:garbage",
                     # The old process dies with DONE in, COMMIT not yet sent or sent: the new one finishes alone.
                     "old:commit:exit9", "old:ack:exit9",
                     # The old process hangs after COMMIT: its watchdog ends it, the new one serves.
                     "old:ack:hang"]


@pytest.mark.parametrize("fault", AROUND_THE_COMMIT)
def test_a_broken_channel_around_the_commit_point_loses_nothing(handoff_server, variant_binary, tmp_path, fault):
    """Whichever process ends up holding the connections serves them: the new one once it has COMMIT (or the
    channel closed after DONE), else the old one after killing the new one."""
    server = handoff_server({"HOLDFAST_TEST_FAULT": fault, "HOLDFAST_TEST_FAULTS_ALLOWED": "1", **DEADLINES})
    upgrades, output = upgrade_under_traffic(server, variant_binary, tmp_path / "upgrade.json")
    assert len(upgrades) == 1, output
    entry = upgrades[0]
    assert (entry["closed"], entry["lost"], entry["duplicated"], entry["reordered"], entry["presence_diffs"]) \
        == (0, 0, 0, 0, 0), output
    assert status_of(server)["pid"] == (entry["pid_after"] if "pid_after" in entry else status_of(server)["pid"])
    if fault == "old:ack:hang":
        # Its watchdog ends the old process once the wait for ACK has stalled past the step deadline.
        assert wait_until_gone(server.process.pid, timeout=30), server.log()
        assert "a step stalled" in server.log(), server.log()
