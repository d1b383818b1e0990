"""`holdfast-bench broadcast --raw` against a plain WebSocket relay, the kind of server it compares Holdfast's rooms
with: every message reaches every subscriber, each publisher's own copy acknowledges its message, nothing is missing."""

import asyncio
import json
import os
import subprocess
import threading

import pytest
from websockets.asyncio.server import broadcast, serve

from conftest import holdfast_binary


def start_relay(hold_after: float | None = None, hold_for: float = 0.0):
    """A websockets server on a free loopback port that sends every message to every client, the sender included.
    With `hold_after`, it relays nothing from that many seconds after the first message for `hold_for` seconds (a
    server that stops), then goes on. Returns its URL and a function that stops it."""
    ready = threading.Event()
    state = {}

    async def handler(connection):
        clients = state["clients"]
        clients.add(connection)
        try:
            async for message in connection:
                if hold_after is not None:
                    now = asyncio.get_running_loop().time()
                    first = state.setdefault("first", now)
                    if first + hold_after <= now < first + hold_after + hold_for:
                        await asyncio.sleep(first + hold_after + hold_for - now)
                broadcast(clients, message)
        finally:
            clients.discard(connection)

    async def main():
        state["clients"] = set()
        state["stop"] = asyncio.get_running_loop().create_future()
        async with serve(handler, "127.0.0.1", 0) as server:
            state["port"] = server.sockets[0].getsockname()[1]
            ready.set()
            await state["stop"]

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    assert ready.wait(10), "relay did not start"

    def stop():
        loop.call_soon_threadsafe(state["stop"].set_result, None)
        thread.join(10)

    return f"ws://127.0.0.1:{state['port']}/", stop


@pytest.fixture
def relay():
    url, stop = start_relay()
    yield url
    stop()


@pytest.mark.parametrize("processes", [1, 2])
def test_raw_broadcast_counts_every_delivery_of_every_acknowledged_message(relay, tmp_path, processes):
    bench = holdfast_binary().parent / "holdfast-bench"
    report_path = tmp_path / "broadcast.json"
    result = subprocess.run(
        [str(bench), "broadcast", "--raw", "--url", relay, "--connections", "20", "--publishers", "2",
         "--in-flight", "2", "--size", "100", "--warmup", "0.2", "--duration", "1", "--processes", str(processes),
         "--json", str(report_path)],
        capture_output=True, timeout=60)
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 0, output
    report = json.loads(report_path.read_text())
    assert report["transport"] == "raw"
    assert report["subscribersJoined"] == 20
    assert report["messagesAcked"] > 0 and report["deliveriesMeasured"] > 0
    assert report["missingDeliveries"] == 0
    # Publishers get every message too: their own (the acknowledgements) and each other's.
    assert report["publisherDeliveries"] >= report["messagesAcked"]
    errors = {key: value for key, value in report["errors"].items() if key != "samples"}
    assert set(errors.values()) == {0}, report["errors"]


def test_raw_broadcast_reports_a_stalled_server_and_what_the_machine_did_meanwhile(tmp_path):
    """A relay that holds every message for 2.5 s in the middle of the window: the report counts the seconds with
    nothing delivered, and says how long the client and the server (this process) waited for a CPU and what the
    kernel's network lost, so a stalled round can be told apart from a starved or a lossy one."""
    url, stop = start_relay(hold_after=1.5, hold_for=2.5)
    try:
        bench = holdfast_binary().parent / "holdfast-bench"
        report_path = tmp_path / "broadcast.json"
        result = subprocess.run(
            [str(bench), "broadcast", "--raw", "--url", url, "--connections", "10", "--publishers", "1",
             "--in-flight", "1", "--size", "100", "--warmup", "0.2", "--duration", "5", "--processes", "2",
             "--server-pid", str(os.getpid()), "--json", str(report_path)],
            capture_output=True, timeout=90)
    finally:
        stop()
    output = (result.stdout + result.stderr).decode(errors="replace")
    assert result.returncode == 0, output
    report = json.loads(report_path.read_text())
    assert report["missingDeliveries"] == 0
    # The hold covers window seconds 1.3 to 3.8, so second 2 at least saw nothing.
    assert report["perSecond"][2] == 0, report["perSecond"]
    assert report["stalledSeconds"] >= 1, report["perSecond"]
    assert "stalled seconds" in output
    assert report["clientRunQueueWaitSeconds"] >= 0 and report["serverRunQueueWaitSeconds"] >= 0
    for counters in (report["kernelNetworkUntilWindow"], report["kernelNetworkInWindow"]):
        assert set(counters) == {"backlogDrops", "retransmissionTimeouts", "synRetransmits", "retransmittedSegments",
                                 "receivePrunes", "receiveCollapsed"}
        assert all(isinstance(value, int) and value >= 0 for value in counters.values())
