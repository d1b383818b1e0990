"""Who acknowledged and who received which chat message, for tests that kill a server under traffic and check
that every acknowledged message reaches every member exactly once after clients reconnect with `last_seen_id`."""
import time

from websockets.exceptions import ConnectionClosed

from phx import Phoenix


def drain(client, seconds):
    """Everything the client receives within `seconds`, until its connection closes."""
    received = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            received.append(client.next(timeout=max(0.01, end - time.monotonic())))
        except TimeoutError:
            break
        except ConnectionClosed:
            break
    return received


class ChatLedger:
    def __init__(self, server, room, users):
        self.room = room
        self.users = users
        self.clients = {user: Phoenix(server, user) for user in users}
        self.joins = {user: client.join(room) for user, client in self.clients.items()}
        self.acked = set()
        self.seen = {user: [] for user in users}
        self.sent = 0

    def absorb(self, user, messages):
        for message in messages:
            if message["event"] == "new_msg" and message["topic"] == self.room:
                self.seen[user].append(message["payload"]["id"])
            elif message["event"] == "phx_reply" and message["payload"].get("status") == "ok":
                identifier = message["payload"].get("response", {}).get("id")
                if identifier is not None:
                    self.acked.add(identifier)

    def steady(self, rounds):
        """Each user sends one message per round, and everyone reads what arrived."""
        for round_number in range(rounds):
            for user, client in self.clients.items():
                client.push(self.room, "new_msg", {"body": f"{user} {round_number}"},
                            join_ref=self.joins[user]["join_ref"])
                self.sent += 1
            for user, client in self.clients.items():
                self.absorb(user, drain(client, 0.05))

    def burst(self, count):
        """Sends without reading: messages in flight when something happens to the server."""
        for number in range(count):
            for user, client in self.clients.items():
                client.push(self.room, "new_msg", {"body": f"{user} burst {number}"},
                            join_ref=self.joins[user]["join_ref"])
                self.sent += 1

    def read_until_closed(self, seconds):
        for user, client in self.clients.items():
            self.absorb(user, drain(client, seconds))

    def rejoin(self, server):
        """Every user reconnects to `server` and rejoins with the newest id it saw; the history replays the rest."""
        for user in self.users:
            self.clients[user].close()
            client = Phoenix(server, user)
            reply = client.join(self.room, {"last_seen_id": max(self.seen[user], default=0)})
            assert reply["payload"]["status"] == "ok", reply
            assert reply["payload"]["response"]["recovered"] is True
            self.clients[user] = client
        for user, client in self.clients.items():
            self.absorb(user, drain(client, 0.5))
            client.close()

    def verify_exactly_once(self):
        assert self.acked, "some messages were acknowledged"
        newest = max(self.acked)
        for user in self.users:
            ids = self.seen[user]
            assert len(ids) == len(set(ids)), f"{user} got a message twice: {ids}"
            assert ids == sorted(ids), f"{user} got messages out of order: {ids}"
            missing = self.acked - set(ids)
            assert not missing, f"{user} never got acknowledged messages {sorted(missing)}"
            # Durable but unacknowledged messages (committed just before the kill) may arrive too, once.
            assert set(range(min(ids), newest + 1)) <= set(ids), f"{user} has a gap: {ids}"
