"""`holdfast-bench presence-burst` against a real server: every view completes, compressed pushes decode through the
bench's per-loop cache, and probe rejoins are timed at every member."""

import json
import subprocess

import pytest

from conftest import holdfast_binary

SECRET = "p" * 48
USERS = 200
PROBES = 3


def run_burst(server, tmp_path, *options):
    """Runs `holdfast-bench presence-burst` with USERS users against `server`; returns (its JSON report, output)."""
    report_path = tmp_path / "burst.json"
    command = [
        str(holdfast_binary().parent / "holdfast-bench"), "presence-burst",
        "--url", f"ws://127.0.0.1:{server.port}/socket/websocket", "--secret", SECRET,
        "--connections", str(USERS), "--join-concurrency", "1000", "--duration", "30", "--json", str(report_path),
        *options,
    ]
    result = subprocess.run(command, capture_output=True, timeout=90)
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 0, output
    return json.loads(report_path.read_text()), output

@pytest.mark.parametrize("deflate", [False, True])
def test_presence_burst_completes_every_view_and_times_every_probe(server_factory, tmp_path, deflate):
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET})
    report, output = run_burst(
        server, tmp_path, "--processes", "2", "--hold", "0", "--probes", str(PROBES), "--probe-interval", "0.2",
        *(["--deflate"] if deflate else []))
    assert report["joined"] == USERS and report["membersComplete"] == USERS, output
    assert report["presenceStateFrames"] == USERS
    assert report["probeDiffsTimed"] == USERS * PROBES, output
    errors = report["errors"]
    assert errors["badFrames"] == 0 and errors["protocolViolations"] == 0 and errors["unexpectedCloses"] == 0, output
    if deflate:
        # The same compressed push reaches many members and is inflated once per client loop.
        assert report["inflateCacheHits"] > report["inflated"] > 0
        assert report["textBytesReceived"] > 2 * report["bytesReceived"]
    else:
        assert report["inflated"] == 0 and report["textBytesReceived"] == report["bytesReceived"]


def test_presence_burst_charges_the_anonymous_part_of_the_server_memory_apart(server_factory, tmp_path):
    """With --server-pid the report gives the RSS and, apart, its anonymous part (RssAnon, without mapped files)
    before connecting and after the hold, each per joined connection."""
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET})
    report, output = run_burst(server, tmp_path, "--hold", "0.5", "--server-pid", str(server.process.pid))
    assert report["joined"] == USERS, output
    for moment in ["Before", "After"]:
        anonymous, resident = report[f"serverAnonymous{moment}KiB"], report[f"serverRSS{moment}KiB"]
        assert 0 < anonymous < resident, output
    growth = report["serverAnonymousAfterKiB"] - report["serverAnonymousBeforeKiB"]
    assert report["anonymousKiBPerJoinedConnection"] == pytest.approx(growth / USERS), output
    assert "of it anonymous (RssAnon, no mapped files)" in output
