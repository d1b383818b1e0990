"""`holdfast-bench broadcast --server-counts-url`: the server's CPU divided by the deliveries the server counted
itself in the window, beside those its clients received. The two counts cover the same window, so they differ by
at most what was in flight at its two edges, and the server's count includes the publishers' own copies."""

import shutil

import pytest

from broadcast_load import BroadcastLoad

SECRET = "d" * 48
TOPIC = "room:bench"
MEMBERS = 200
PUBLISHERS = 4
IN_FLIGHT = 8


def counted_load(server_factory, tmp_path, extra=()):
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_EVENT_LOOPS": "1",
                             "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000000"})
    counts_url = f"http://127.0.0.1:{server.port}/metrics"
    load = BroadcastLoad(server, SECRET, TOPIC, MEMBERS, tmp_path / "broadcast.json",
                         ["--server-pid", str(server.serving_pid()), "--server-counts-url", counts_url, *extra])
    return load.assert_clean()


def test_the_server_counted_deliveries_match_the_received_ones_up_to_what_was_in_flight(server_factory, tmp_path):
    report = counted_load(server_factory, tmp_path)
    received = report["deliveriesMeasured"]
    own = report["serverDeliveries"]
    # Every message goes to the subscribers and to the publishers; at each edge of the window at most every
    # publisher's messages in flight may have been counted on one side and not yet on the other.
    expected = received * (MEMBERS + PUBLISHERS) / MEMBERS
    slack = 2 * PUBLISHERS * IN_FLIGHT * (MEMBERS + PUBLISHERS)
    assert abs(own - expected) <= slack, (own, expected, slack)
    cpu = report["serverCPUSeconds"]
    assert report["serverCPUMicrosecondsPerServerDelivery"] == pytest.approx(cpu * 1e6 / own)
    assert report["serverUserSeconds"] + report["serverSystemSeconds"] == pytest.approx(cpu)


def test_a_counter_the_server_does_not_have_leaves_the_figure_out(server_factory, tmp_path):
    report = counted_load(server_factory, tmp_path, ["--server-deliveries-metric", "no_such_counter_total"])
    assert report.get("serverDeliveries") is None
    assert report.get("serverCPUMicrosecondsPerServerDelivery") is None
    assert report["serverCPUMicrosecondsPerDelivery"] > 0


@pytest.mark.skipif(shutil.which("perf") is None, reason="perf (Debian linux-perf, scripts/setup.sh "
                    "--with-benchmarks) counts the system calls")
def test_the_server_system_calls_give_its_deliveries_per_write(server_factory, tmp_path):
    report = counted_load(server_factory, tmp_path, ["--count-server-syscalls"])
    calls = report["serverSyscalls"]
    writes = sum(calls.get(name, 0) for name in ("sendto", "sendmsg", "writev", "write"))
    assert calls["sendto"] > 0 and calls["epoll_wait"] > 0, calls
    # One write per member per fan-out at most, and a closed loop of 32 messages lets several share one write.
    assert report["serverDeliveriesPerWrite"] == pytest.approx(report["serverDeliveries"] / writes)
    assert report["serverDeliveriesPerWrite"] >= 1, report
