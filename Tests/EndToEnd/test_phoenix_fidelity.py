"""Small things Phoenix does that clients rely on: refs keep their JSON type, and a channel's replies come back in
the order of its pushes."""
import json

from phx import Phoenix


def test_refs_come_back_with_the_json_type_they_arrived_with(server):
    client = Phoenix(server, "alice")
    # Integers, as non-JS clients send them.
    client.send_raw(json.dumps([7, 7, "room:refs", "phx_join", {}]))
    reply = client.wait_for(lambda m: m["event"] == "phx_reply" and m["ref"] == 7)
    assert reply["join_ref"] == 7 and reply["payload"]["status"] == "ok"
    client.send_raw(json.dumps([7, 8, "room:refs", "new_msg", {"body": "hi"}]))
    ack = client.wait_for(lambda m: m["event"] == "phx_reply" and m["ref"] == 8)
    assert ack["payload"]["status"] == "ok" and ack["join_ref"] == 7
    client.send_raw(json.dumps([None, 9, "phoenix", "heartbeat", {}]))
    assert client.wait_for(lambda m: m["event"] == "phx_reply" and m["ref"] == 9)["payload"]["status"] == "ok"
    # Strings stay strings, digits or not.
    client.send_raw(json.dumps([None, "10", "phoenix", "heartbeat", {}]))
    assert client.wait_for(lambda m: m["event"] == "phx_reply" and m["ref"] == "10")
    client.close()

    v1 = Phoenix(server, "bob", vsn="1.0.0")
    v1.send_raw(json.dumps({"topic": "phoenix", "event": "heartbeat", "payload": {}, "ref": 3}))
    assert v1.wait_for(lambda m: m["event"] == "phx_reply")["ref"] == 3
    v1.close()


def test_replies_to_one_channels_pushes_come_back_in_push_order(server):
    client = Phoenix(server, "alice")
    join = client.join("room:order")
    refs = []
    # An accepted message (its ok waits for the history commit), then pushes refused at once: the session's
    # own refusal (a body that is not a string) and the handler's (an empty body), then another good one.
    for payload in ({"body": "first"}, {"body": 5}, {"body": ""}, {"body": "last"}):
        refs.append(client.push("room:order", "new_msg", payload, join_ref=join["join_ref"]))
    replies = []
    while len(replies) < len(refs):
        message = client.next()
        if message["event"] == "phx_reply" and message["ref"] in refs:
            replies.append(message)
    assert [reply["ref"] for reply in replies] == refs
    assert [reply["payload"]["status"] for reply in replies] == ["ok", "error", "error", "ok"]
    client.close()
