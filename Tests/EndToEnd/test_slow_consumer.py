"""A client that stops reading while its room keeps talking: closed as a slow consumer with a close frame it sees
once it reads again, while the rest of the room gets every message."""

import json
import socket

import rawws
from phx import Phoenix, make_token

# Small queues so a few hundred broadcasts overflow them; the limits agree with each other (checked at start).
SMALL_QUEUES = {
    "HOLDFAST_MAX_OUTBOUND_BYTES": "16384", "HOLDFAST_OUTBOUND_HIGH_WATER_BYTES": "4096",
    "HOLDFAST_WEBSOCKET_MAX_MESSAGE_SIZE": "16384", "HOLDFAST_WEBSOCKET_MAX_FRAME_SIZE": "16384",
    "HOLDFAST_CHANNELS_MAX_PAYLOAD_BYTES": "16384", "HOLDFAST_SOCKET_SEND_BUFFER": "4096",
    "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "100000",
}


def raw_phoenix_member(server, user: str, topic: str) -> tuple[socket.socket, bytes]:
    """A Phoenix socket over a raw TCP socket with a small receive buffer, joined to `topic`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect(("127.0.0.1", server.port))
    rest = rawws.handshake(sock, f"/socket/websocket?token={make_token(server, user)}&vsn=2.0.0")
    sock.sendall(rawws.frame(1, json.dumps(["1", "1", topic, "phx_join", {}]).encode()))
    opcode, payload, rest = rawws.read_frame(sock, rest)
    assert opcode == 1 and json.loads(payload)[3] == "phx_reply", payload
    return sock, rest


def test_a_client_that_stops_reading_gets_a_close_frame_and_others_get_everything(server_factory):
    server = server_factory(SMALL_QUEUES)
    topic = "room:slow"
    slow, rest = raw_phoenix_member(server, "sleepy", topic)
    # Unbounded client-side queues: these two must read everything the server sends, whenever the test looks.
    talker = Phoenix(server, "talker", max_queue=None)
    join = talker.join(topic)
    listener = Phoenix(server, "listener", max_queue=None)
    listener.join(topic)

    count = 200
    for index in range(count):
        # One message in flight at a time: the readers that keep up stay far below the small limit however busy
        # the machine is, while the client that stopped reading still overflows it.
        ref = talker.push(topic, "new_msg", {"body": f"{index:04d}" + "x" * 1000}, join_ref=join["join_ref"])
        assert talker.reply_to(ref)["payload"]["status"] == "ok"
    bodies = [listener.event(topic, "new_msg")["payload"]["body"][:4] for _ in range(count)]
    assert bodies == [f"{index:04d}" for index in range(count)]
    assert server.wait_for_log("slow consumer")

    # Reading again: the queued broadcasts, then the close frame saying why.
    messages = 0
    while True:
        frame = rawws.read_frame(slow, rest)
        assert frame is not None, "TCP closed without a close frame"
        opcode, payload, rest = frame
        if opcode == 8:
            break
        messages += 1
    assert int.from_bytes(payload[:2], "big") == 1008
    assert payload[2:] == b"slow consumer"
    # The limit is checked when output is flushed, so what one loop iteration queued may still come first.
    assert messages > 0
    assert server.log().count("slow consumer") == 1
    slow.close()

    # The room carries on.
    ref = talker.push(topic, "new_msg", {"body": "still here"}, join_ref=join["join_ref"])
    assert talker.reply_to(ref)["payload"]["status"] == "ok"
    assert listener.event(topic, "new_msg")["payload"]["body"] == "still here"
