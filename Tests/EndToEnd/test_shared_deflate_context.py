"""Sockets that negotiated permessage-deflate without server context takeover start on one shared set of
compression settings and take a decompressor of their own with the first compressed message they send. Real
`websockets` clients compress with context takeover, so each client's messages refer back to its own earlier
ones: if two sockets ever shared a decompressor, their messages would fail to inflate or decode to the wrong text."""

import json

from phx import Phoenix, sign_token

SECRET = "e" * 48
ROOM = "room:shared-settings"


def member(server, user, **options):
    return Phoenix(server, token=sign_token(SECRET.encode(), user), **options)


def test_compressing_senders_and_quiet_members_share_one_room(server_factory):
    server = server_factory({"HOLDFAST_SECRET_KEY": SECRET})
    senders = [member(server, f"sender{index}") for index in range(3)]
    quiet = [member(server, f"quiet{index}") for index in range(3)]
    plain = member(server, "plain", compression=None)
    for client in [*senders, *quiet]:
        extensions = client.ws.response.headers.get("Sec-WebSocket-Extensions", "")
        assert "permessage-deflate" in extensions and "server_no_context_takeover" in extensions, extensions
    everyone = [*senders, *quiet, plain]
    for client in everyone:
        client.join(ROOM, {"device": "desk"})

    # The senders interleave messages that repeat their own earlier text (compressed against each one's history).
    sent = []
    for round_index in range(4):
        for index, sender in enumerate(senders):
            body = json.dumps({"from": index, "round": round_index, "text": f"sender {index} says the same again " * 12})
            ack = sender.reply_to(sender.push(ROOM, "new_msg", {"body": body}, join_ref="1"), timeout=10)
            assert ack["payload"]["status"] == "ok", ack
            sent.append((ack["payload"]["response"]["id"], body))
    for client in everyone:
        for message_id, body in sent:
            message = client.wait_for(lambda m: m["event"] == "new_msg" and m["payload"]["id"] == message_id, 10)
            assert message["payload"]["body"] == body

    # A socket that joins later still starts on the shared settings, and its first message inflates on its own.
    late = member(server, "late")
    late.join(ROOM, {"device": "phone"})
    body = "a late sender's first words " * 20
    ack = late.reply_to(late.push(ROOM, "new_msg", {"body": body}, join_ref="1"), timeout=10)
    assert ack["payload"]["status"] == "ok", ack
    for client in [*everyone, late]:
        message = client.wait_for(lambda m: m["event"] == "new_msg" and m["payload"]["id"] == ack["payload"]["response"]["id"], 10)
        assert message["payload"]["body"] == body
    for client in [*everyone, late]:
        client.close()
