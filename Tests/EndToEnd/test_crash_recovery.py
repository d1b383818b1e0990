"""A crash after which nothing acknowledged is lost: the serving process is killed with SIGKILL under chat traffic
and started again on the same state directory (as systemd's Restart=always does). Clients reconnect and rejoin
with `last_seen_id`; every message that was acknowledged reaches every member exactly once."""
import os
import signal
import time

from chat_ledger import ChatLedger


def test_a_killed_server_restarted_on_its_state_loses_no_acknowledged_message(server_factory):
    env = {"HOLDFAST_SECRET_KEY": "c" * 40}
    server = server_factory(env)
    ledger = ChatLedger(server, "room:crash", ["ana", "ben", "cid", "dee"])
    # Steady traffic, then a burst in flight when the process dies.
    ledger.steady(5)
    ledger.burst(30)
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    ledger.read_until_closed(1.0)

    killed_at = time.monotonic()
    ledger.rejoin(server_factory(env))
    reconnect_seconds = time.monotonic() - killed_at
    ledger.verify_exactly_once()
    print(f"sent {ledger.sent}, acknowledged {len(ledger.acked)} before the kill; every member got each exactly "
          f"once; restart and rejoin of {len(ledger.users)} clients took {reconnect_seconds:.2f} s")
