"""Presence diffs to members that negotiated permessage-deflate: a small diff arrives as the one frame every member
gets, uncompressed (RSV1 clear, as RFC 7692 allows), while a large broadcast still arrives compressed; both decode
to the same room the uncompressing members see, in the room's order, for both serializers. Read over raw sockets,
so the frame bits themselves are checked."""

import json
import socket
import zlib

import pytest

from phx import Phoenix, sign_token
from rawws import frame, handshake, next_frame

SECRET = "p" * 48
ROOM = "room:diffs"


class RawMember:
    """A Phoenix member over a raw socket that offers permessage-deflate and records each message's RSV1 bit."""

    def __init__(self, server, user, vsn, extension):
        self.vsn = vsn
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        token = sign_token(SECRET.encode(), user)
        self.rest = handshake(
            self.sock, f"/socket/websocket?token={token}&vsn={vsn}", f"Sec-WebSocket-Extensions: {extension}\r\n"
        )
        # Without server_no_context_takeover, compressed messages continue one deflate stream.
        self.takeover = "server_no_context_takeover" not in extension
        self.inflater = zlib.decompressobj(-15)
        self.ref = 0

    def push(self, event, payload, join_ref="1"):
        self.ref += 1
        if self.vsn == "2.0.0":
            text = json.dumps([join_ref, str(self.ref), ROOM, event, payload])
        else:
            text = json.dumps({"topic": ROOM, "event": event, "payload": payload, "ref": str(self.ref)})
        self.sock.sendall(frame(1, text.encode()))
        return str(self.ref)

    def message(self):
        """The next message as (compressed, decoded JSON in the v2 list shape)."""
        first, payload, self.rest = next_frame(self.sock, self.rest)
        assert first & 0x80, "fragmented messages are not expected here"
        compressed = bool(first & 0x40)
        if compressed:
            inflater = self.inflater if self.takeover else zlib.decompressobj(-15)
            payload = inflater.decompress(payload + b"\x00\x00\xff\xff")
        message = json.loads(payload)
        if isinstance(message, dict):
            fields = ("join_ref", "ref", "topic", "event", "payload")
            message = [message.get(field) for field in fields]
        return compressed, message

    def until(self, predicate):
        while True:
            compressed, message = self.message()
            if predicate(message):
                return compressed, message


@pytest.mark.parametrize("vsn", ["2.0.0", "1.0.0"])
def test_deflate_members_get_small_diffs_uncompressed_and_large_broadcasts_compressed(server_factory, vsn):
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_CHANNELS_PRESENCE_WINDOW_MS": "20"})
    member = RawMember(server, "raw", vsn, "permessage-deflate; server_no_context_takeover")
    ref = member.push("phx_join", {"device": "raw"})
    _, reply = member.until(lambda m: m[3] == "phx_reply" and m[1] == ref)
    assert reply[4]["status"] == "ok"
    _, state = member.until(lambda m: m[3] == "presence_state")
    assert set(state[4]) == {"raw"}
    plain = Phoenix(server, token=sign_token(SECRET.encode(), "plain"), compression=None)

    # A join: every member gets one small diff naming it, as the same uncompressed frame.
    bob = Phoenix(server, token=sign_token(SECRET.encode(), "bob"))
    bob.join(ROOM, {"device": "phone"})
    compressed, diff = member.until(lambda m: m[3] == "presence_diff" and "bob" in m[4]["joins"])
    assert not compressed
    assert diff[4]["joins"]["bob"]["metas"][0]["device"] == "phone"
    assert diff[4]["leaves"] == {}

    # A leave, then a join and a large chat message: the diffs plain, the message compressed once for all.
    body = "presence " * 200
    bob.close()
    compressed, diff = member.until(lambda m: m[3] == "presence_diff")
    assert not compressed
    assert list(diff[4]["leaves"]) == ["bob"] and diff[4]["joins"] == {}
    plain.join(ROOM, {"device": "desk"})
    ack = plain.reply_to(plain.push(ROOM, "new_msg", {"body": body}, join_ref="1"), timeout=10)
    assert ack["payload"]["status"] == "ok"
    seen = {}
    while len(seen) < 2:  # the join's diff and the message, in whichever order the presence window allows
        compressed, message = member.message()
        if message[3] in ("presence_diff", "new_msg"):
            seen[message[3]] = (compressed, message)
    compressed, diff = seen["presence_diff"]
    assert not compressed and "plain" in diff[4]["joins"]
    compressed, message = seen["new_msg"]
    assert compressed
    assert message[4]["body"] == body and message[4]["id"] == ack["payload"]["response"]["id"]
    delivered = plain.wait_for(lambda m: m["event"] == "new_msg", 10)
    assert delivered["payload"]["body"] == body
    plain.close()
    member.sock.close()


def test_members_keeping_a_deflate_context_decode_plain_diffs_between_compressed_messages(server_factory):
    server = server_factory(
        {
            "HOLDFAST_SECRET_KEY": SECRET,
            "HOLDFAST_CHANNELS_PRESENCE_WINDOW_MS": "20",
            "HOLDFAST_WEBSOCKET_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER": "false",
        }
    )
    member = RawMember(server, "raw", "2.0.0", "permessage-deflate")
    ref = member.push("phx_join", {"device": "raw"})
    member.until(lambda m: m[3] == "phx_reply" and m[1] == ref)
    sender = Phoenix(server, token=sign_token(SECRET.encode(), "sender"), compression=None)
    sender.join(ROOM, {"device": "desk"})
    # Compressed messages share one context; the uncompressed diffs between them do not enter it.
    for index in range(3):
        body = f"{index} " + "same words again " * 40
        ack = sender.reply_to(sender.push(ROOM, "new_msg", {"body": body}, join_ref="1"), timeout=10)
        compressed, message = member.until(lambda m: m[3] == "new_msg")
        assert compressed and message[4]["body"] == body and message[4]["id"] == ack["payload"]["response"]["id"]
    other = Phoenix(server, token=sign_token(SECRET.encode(), "other"), compression=None)
    other.join(ROOM, {"device": "tablet"})
    compressed, diff = member.until(lambda m: m[3] == "presence_diff" and "other" in m[4]["joins"])
    assert not compressed
    body = "after the diff " * 60
    sender.reply_to(sender.push(ROOM, "new_msg", {"body": body}, join_ref="1"), timeout=10)
    compressed, message = member.until(lambda m: m[3] == "new_msg")
    assert compressed and message[4]["body"] == body
    for client in (sender, other):
        client.close()
    member.sock.close()
