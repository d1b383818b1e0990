"""`holdfast-bench broadcast --raw` against a plain WebSocket relay, the kind of server it compares Holdfast's rooms
with: every message reaches every subscriber, each publisher's own copy acknowledges its message, nothing is missing."""

import asyncio
import json
import subprocess
import threading

import pytest
from websockets.asyncio.server import broadcast, serve

from conftest import holdfast_binary


@pytest.fixture
def relay():
    """A websockets server on a free loopback port that sends every message to every client, the sender included."""
    ready = threading.Event()
    state = {}

    async def handler(connection):
        clients = state["clients"]
        clients.add(connection)
        try:
            async for message in connection:
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
    yield f"ws://127.0.0.1:{state['port']}/"
    loop.call_soon_threadsafe(state["stop"].set_result, None)
    thread.join(10)


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
