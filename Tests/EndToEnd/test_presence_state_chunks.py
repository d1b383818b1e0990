"""A large room's presence_state across presence changes: the server keeps the state's encoding (and its
compression) in chunks that a change rewrites one at a time. Every joiner must still get the whole room, exactly
as it is after the changes, whether it reads the state compressed (shared, no context takeover) or plain, with
either serializer. Over raw sockets, so the compressed bytes themselves are decoded."""

import json
import selectors
import socket
import threading
import zlib

import pytest

from phx import sign_token
from rawws import frame, handshake, next_frame

SECRET = "c" * 48
ROOM = "room:chunks"
MEMBERS = 1300  # above the size from which the state is kept in chunks by default (1,024 metas)


class Member:
    """A Phoenix member over a raw socket; offers permessage-deflate without context takeover when asked."""

    def __init__(self, server, user, vsn="2.0.0", deflate=False):
        self.vsn = vsn
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
        extension = "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n" if deflate else ""
        token = sign_token(SECRET.encode(), user)
        self.rest = handshake(self.sock, f"/socket/websocket?token={token}&vsn={vsn}", extension)

    def join(self):
        if self.vsn == "2.0.0":
            text = json.dumps(["1", "1", ROOM, "phx_join", {"device": "raw"}])
        else:
            text = json.dumps({"topic": ROOM, "event": "phx_join", "payload": {"device": "raw"}, "ref": "1"})
        self.sock.sendall(frame(1, text.encode()))

    def message(self):
        """The next message as (compressed, [join_ref, ref, topic, event, payload])."""
        first, payload, self.rest = next_frame(self.sock, self.rest)
        compressed = bool(first & 0x40)
        if compressed:  # no context takeover: every message decodes on its own
            payload = zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")
        message = json.loads(payload)
        if isinstance(message, dict):
            message = [message.get(field) for field in ("join_ref", "ref", "topic", "event", "payload")]
        return compressed, message

    def until(self, event):
        while True:
            compressed, message = self.message()
            if message[3] == event:
                return compressed, message


class Drain(threading.Thread):
    """Reads and discards what the members are sent, so the room's diffs never back up."""

    def __init__(self, members):
        super().__init__(daemon=True)
        self.selector = selectors.DefaultSelector()
        for member in members:
            member.sock.setblocking(False)
            self.selector.register(member.sock, selectors.EVENT_READ)
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            for key, _ in self.selector.select(0.1):
                try:
                    data = key.fileobj.recv(1 << 16)
                except OSError:  # closed by the test meanwhile
                    data = b""
                if not data:
                    self.drop(key.fileobj)

    def drop(self, sock):
        try:
            self.selector.unregister(sock)
        except (KeyError, ValueError):
            pass


def full_room(server_factory, settings=None):
    """Starts a server, joins MEMBERS raw members to the room and starts draining them.

    Returns (server, the members by user, the drain).
    """
    server = server_factory(
        {
            "HOLDFAST_SECRET_KEY": SECRET,
            "HOLDFAST_CHANNELS_PRESENCE_WINDOW_MS": "20",
            # The raw members send no heartbeats; on a loaded machine the 1,300 joins alone can outlast the
            # default 60 s, and a member closed for it would leave the room the probes check.
            "HOLDFAST_CHANNELS_HEARTBEAT_TIMEOUT_MS": "600000",
            "HOLDFAST_IDLE_TIMEOUT_MS": "0",
            **(settings or {}),
        }
    )
    members = {}
    for index in range(MEMBERS):
        member = Member(server, f"u{index}")
        member.join()
        _, reply = member.until("phx_reply")
        assert reply[4]["status"] == "ok"
        members[f"u{index}"] = member
    drain = Drain(members.values())
    drain.start()
    return server, members, drain

def state_of(member):
    """Joins and returns (compressed, the presence_state payload) after checking its metas are whole."""
    member.join()
    _, reply = member.until("phx_reply")
    assert reply[4]["status"] == "ok"
    compressed, state = member.until("presence_state")
    for key, entry in state[4].items():
        assert len(entry["metas"]) == 1, key
        assert entry["metas"][0]["device"] == "raw" and entry["metas"][0]["phx_ref"], key
    return compressed, state[4]


@pytest.mark.parametrize("chunks_from", ["1024", "0"])  # kept in chunks (the default), and encoded whole each time
def test_joiners_get_the_whole_room_after_changes_in_a_room_kept_in_chunks(server_factory, chunks_from):
    server, members, drain = full_room(server_factory, {"HOLDFAST_CHANNELS_PRESENCE_STATE_CHUNKS_FROM": chunks_from})
    expected = set(members)
    try:
        # The first large state: compressed once from its chunks, decoded by a client without any history.
        first = Member(server, "probe-1", deflate=True)
        compressed, state = state_of(first)
        assert compressed
        assert set(state) == expected | {"probe-1"}, (expected - set(state), set(state) - expected)
        expected.add("probe-1")

        for round_number, leaving in enumerate((["u10", "u700"], ["u1299"], ["u0", "u640", "u641"])):
            # Leaves in old chunks and a rejoin at the end of tracking order; then joiners of both serializers and
            # both kinds of client read the state, which must be the room as it is now.
            for user in leaving:
                drain.drop(members[user].sock)
                members.pop(user).sock.close()
                expected.discard(user)
            left = set()
            while not left >= set(leaving):  # the first probe watches the room: the leaves are in once it sees them
                _, diff = first.until("presence_diff")
                left |= set(diff[4]["leaves"])
            rejoined = Member(server, leaving[0])
            rejoined.join()
            _, reply = rejoined.until("phx_reply")
            assert reply[4]["status"] == "ok"
            expected.add(leaving[0])
            vsn = "2.0.0" if round_number % 2 == 0 else "1.0.0"
            probe = Member(server, f"probe-{round_number + 2}", vsn=vsn, deflate=True)
            expected.add(f"probe-{round_number + 2}")
            compressed, state = state_of(probe)
            assert compressed and set(state) == expected, (expected - set(state), set(state) - expected)
            plain = Member(server, f"plain-{round_number}", vsn=vsn)
            expected.add(f"plain-{round_number}")
            compressed, state = state_of(plain)
            assert not compressed and set(state) == expected, (expected - set(state), set(state) - expected)
            members[leaving[0]] = rejoined
            members[f"probe-{round_number + 2}"] = probe
            members[f"plain-{round_number}"] = plain
            drain.selector.register(rejoined.sock, selectors.EVENT_READ)
            drain.selector.register(probe.sock, selectors.EVENT_READ)
            drain.selector.register(plain.sock, selectors.EVENT_READ)
    finally:
        drain.stopped.set()
        drain.join(5)
        for member in list(members.values()) + [first]:
            member.sock.close()


def raw_state_of(member):
    """Joins and returns (compressed, the presence_state payload's JSON text as sent, byte for byte)."""
    member.join()
    _, reply = member.until("phx_reply")
    assert reply[4]["status"] == "ok"
    while True:
        first, payload, member.rest = next_frame(member.sock, member.rest)
        compressed = bool(first & 0x40)
        if compressed:
            payload = zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff")
        if b'"presence_state"' not in payload[:200]:
            continue
        opening = payload.index(b'"presence_state",') + len(b'"presence_state",')
        assert payload.endswith(b"]"), payload[-20:]
        return compressed, payload[opening:-1]


def test_plain_and_compressed_joiners_read_the_same_bytes_of_a_room_kept_in_chunks(server_factory):
    # A compressed joiner's state leaves the room's chunks held as their compression alone; a plain joiner then
    # reads their text rebuilt from it, and every later joiner, plain or compressed, reads the same bytes for the
    # same members: each state is the one before it with the newest member appended.
    server, members, drain = full_room(server_factory)
    probes = []
    try:
        previous = None
        for number, deflate in enumerate((True, False, True, True, False, False, True)):
            probe = Member(server, f"probe-{number}", deflate=deflate)
            probes.append(probe)
            compressed, state = raw_state_of(probe)
            assert compressed == deflate
            users = list(json.loads(state))
            assert len(users) == MEMBERS + number + 1 and users[-1] == f"probe-{number}"
            if previous is not None:
                assert state.startswith(previous[:-1] + b","), number
            previous = state
            drain.selector.register(probe.sock, selectors.EVENT_READ)
            probe.sock.setblocking(False)
    finally:
        drain.stopped.set()
        drain.join(5)
        for member in list(members.values()) + probes:
            member.sock.close()
