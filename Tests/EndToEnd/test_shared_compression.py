"""Room pushes compressed once for every member (permessage-deflate without server context takeover) and large
bodies written straight from the shared buffer, read by real clients: Python `websockets` inflates every frame
itself, over sockets whose small receive buffers force partial writes."""

import json
import socket
import time

from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.sync.client import connect

from phx import Phoenix, sign_token

SECRET = "c" * 48
ROOM = "room:shared"
# Enough members that presence_state passes the server's 16 KiB direct-write threshold uncompressed.
CROWD = 260
DEVICE = "d" * 60


def member(server, user, **options):
    return Phoenix(server, token=sign_token(SECRET.encode(), user), **options)


def small_buffer_socket(server) -> socket.socket:
    """A connected socket that can hold only a little unread data, so the server's writes to it end part-way."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    return sock


def state_keys(client, topic=ROOM):
    return set(client.event(topic, "presence_state", timeout=10)["payload"])


def test_members_with_and_without_deflate_see_the_same_room(server_factory):
    # A small kernel send buffer, so writes to a socket whose reader lags end part-way.
    server = server_factory(
        {"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_CHANNELS_PRESENCE_WINDOW_MS": "20", "HOLDFAST_SOCKET_SEND_BUFFER": "8192"}
    )
    crowd = [member(server, f"crowd{index}", compression=None) for index in range(CROWD)]
    refs = [client.push(ROOM, "phx_join", {"device": DEVICE}, join_ref="1") for client in crowd]
    for client, ref in zip(crowd, refs):
        assert client.reply_to(ref, timeout=20)["payload"]["status"] == "ok"
    everyone = {f"crowd{index}" for index in range(CROWD)}

    observers = {
        "plain": member(server, "plain", compression=None),
        "deflate": member(server, "deflate"),  # the library's default offer
        "narrow": member(
            server, "narrow", compression=None, extensions=[ClientPerMessageDeflateFactory(server_max_window_bits=9)]
        ),
        "v1": member(server, "v1", vsn="1.0.0"),
        "plain-slow": member(server, "plain-slow", compression=None, sock=small_buffer_socket(server)),
        "deflate-slow": member(server, "deflate-slow", sock=small_buffer_socket(server)),
    }
    for name in ("deflate", "narrow", "v1", "deflate-slow"):
        extensions = observers[name].ws.response.headers.get("Sec-WebSocket-Extensions", "")
        assert "permessage-deflate" in extensions and "server_no_context_takeover" in extensions, (name, extensions)
    assert "server_max_window_bits=9" in observers["narrow"].ws.response.headers["Sec-WebSocket-Extensions"]

    # All join in one presence window: one state encoded (and compressed) once for all of them.
    refs = {name: client.push(ROOM, "phx_join", {"device": name}, join_ref="1") for name, client in observers.items()}
    time.sleep(0.5)  # the slow sockets' buffers fill; the server holds the rest of their frames
    assert server.wait_for_log("large write queued in part")
    for name, client in observers.items():
        assert client.reply_to(refs[name], timeout=10)["payload"]["status"] == "ok", name
        state = client.event(ROOM, "presence_state", timeout=10)["payload"]
        assert everyone <= set(state), name
        assert state["crowd7"]["metas"][0]["device"] == DEVICE, name
        assert state[name]["metas"][0]["device"] == name, name

    # A broadcast of a large message reaches every observer intact, once.
    body = "".join(chr(ord("a") + index % 26) for index in range(8000))
    sender = observers["plain"]
    ack = sender.reply_to(sender.push(ROOM, "new_msg", {"body": body, "client_id": "big"}, join_ref="1"), timeout=10)
    assert ack["payload"]["status"] == "ok"
    for name, client in observers.items():
        message = client.wait_for(lambda m: m["event"] == "new_msg" and m["payload"].get("client_id") == "big", 10)
        assert message["payload"]["body"] == body, name
        assert message["payload"]["id"] == ack["payload"]["response"]["id"], name

    # A crowd member leaving reaches every observer as one diff naming it.
    crowd[3].close()
    for name, client in observers.items():
        diff = client.wait_for(lambda m: m["event"] == "presence_diff" and "crowd3" in m["payload"]["leaves"], 10)
        assert diff["payload"]["leaves"]["crowd3"]["metas"][0]["device"] == DEVICE, name

    # Dropping the sockets is enough: the close handshake behind hundreds of unread diffs takes long.
    for client in [*observers.values(), *crowd]:
        client.ws.socket.close()


def test_context_takeover_when_configured(server_factory):
    server = server_factory(
        {"HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_WEBSOCKET_DEFLATE_SERVER_NO_CONTEXT_TAKEOVER": "false"}
    )
    alice = member(server, "alice")
    assert "server_no_context_takeover" not in alice.ws.response.headers["Sec-WebSocket-Extensions"]
    alice.join("room:takeover", {"device": "laptop"})
    assert "alice" in state_keys(alice, "room:takeover")
    bob = member(server, "bob")
    bob.join("room:takeover", {"device": "phone"})
    assert {"alice", "bob"} <= state_keys(bob, "room:takeover")
    # Repeated messages compress against the connection's own history and still decode.
    for index in range(5):
        body = json.dumps({"index": index, "text": "same words again " * 40})  # above the size sent uncompressed
        ack = alice.reply_to(alice.push("room:takeover", "new_msg", {"body": body}, join_ref="1"))
        assert ack["payload"]["status"] == "ok"
        for client in (alice, bob):
            message = client.wait_for(lambda m: m["event"] == "new_msg" and m["payload"]["id"] == ack["payload"]["response"]["id"])
            assert message["payload"]["body"] == body
    alice.close()
    bob.close()
