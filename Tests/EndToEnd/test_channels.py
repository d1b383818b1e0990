"""Phoenix Channels over real sockets: connect auth, the socket protocol's edge cases, presence, chat and history."""

import json
import time

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from phx import Phoenix, make_token, sign_token


def metas_of(state: dict, key: str) -> list[dict]:
    return state.get(key, {}).get("metas", [])


# --- connecting ------------------------------------------------------------------------------------------------

def test_connect_without_a_token_is_refused_with_403(server):
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{server.url}/socket/websocket?vsn=2.0.0")
    assert refused.value.response.status_code == 403
    assert server.wait_for_log("socket connect refused")


def test_connect_with_a_forged_token_is_refused(server):
    token = make_token(server, "mallory")
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{server.url}/socket/websocket?vsn=2.0.0&token={forged}")
    assert refused.value.response.status_code == 403


def test_expired_token_is_refused(server):
    token = make_token(server, "late", ttl=1)
    time.sleep(2.1)
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{server.url}/socket/websocket?vsn=2.0.0&token={token}")
    assert refused.value.response.status_code == 403


def test_unknown_serializer_version_is_400(server):
    token = make_token(server, "alice")
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{server.url}/socket/websocket?vsn=9.9.9&token={token}")
    assert refused.value.response.status_code == 400


def test_plain_user_id_param_only_when_enabled(server_factory):
    server = server_factory({"HOLDFAST_ALLOW_USER_ID_PARAM": "true"})
    with connect(f"{server.url}/socket/websocket?vsn=2.0.0&user_id=trial") as ws:
        ws.send(json.dumps([None, "1", "phoenix", "heartbeat", {}]))
        assert json.loads(ws.recv(timeout=5))[3] == "phx_reply"
    assert server.wait_for_log("allow_user_id_param is on")


# --- socket protocol ---------------------------------------------------------------------------------------------

def test_heartbeat_gets_an_ok_reply(server):
    client = Phoenix(server)
    ref = client.push("phoenix", "heartbeat", {})
    reply = client.reply_to(ref)
    assert reply["payload"] == {"status": "ok", "response": {}}
    client.close()


def test_push_to_a_topic_not_joined_is_unmatched(server):
    client = Phoenix(server)
    ref = client.push("room:nowhere", "new_msg", {"body": "hi"})
    reply = client.reply_to(ref)
    assert reply["payload"]["status"] == "error"
    assert reply["payload"]["response"] == {"reason": "unmatched topic"}
    client.close()


@pytest.mark.parametrize("frame", ["this is not json", json.dumps(["1", "2", "room:x"]), json.dumps({"a": 1})])
def test_malformed_frames_close_that_socket_only_as_phoenix_does(server, frame):
    bystander = Phoenix(server, "bystander")
    client = Phoenix(server)
    client.send_raw(frame)
    with pytest.raises(ConnectionClosed):
        for _ in range(10):
            client.next(timeout=5)
    ref = bystander.push("phoenix", "heartbeat", {})
    assert bystander.reply_to(ref)["payload"]["status"] == "ok"
    bystander.close()


def test_rejoining_a_topic_closes_the_earlier_channel(server):
    client = Phoenix(server)
    first = client.join("room:rejoin")
    assert first["payload"]["status"] == "ok"
    first_join_ref = first["join_ref"]
    second = client.join("room:rejoin")
    assert second["payload"]["status"] == "ok"
    close = client.event("room:rejoin", "phx_close")
    assert close["join_ref"] == first_join_ref
    client.close()


def test_leave_replies_ok_and_closes_the_channel(server):
    client = Phoenix(server)
    join = client.join("room:leaving")
    ref = client.push("room:leaving", "phx_leave", {}, join_ref=join["join_ref"])
    assert client.reply_to(ref)["payload"]["status"] == "ok"
    client.close()


def test_missed_heartbeats_close_the_socket(server_factory):
    server = server_factory({"HOLDFAST_CHANNELS_HEARTBEAT_TIMEOUT_MS": "1000"})
    client = Phoenix(server)
    with pytest.raises(ConnectionClosed):
        for _ in range(50):
            client.next(timeout=5)
    assert server.wait_for_log("heartbeat")


def test_rate_limit_answers_with_an_error(server_factory):
    server = server_factory({"HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "5"})
    client = Phoenix(server)
    join = client.join("room:busy")
    refs = [client.push("room:busy", "typing", {}, join_ref=join["join_ref"]) for _ in range(10)]
    replies = client.wait_for(lambda m: m["event"] == "phx_reply" and m["ref"] in refs)
    assert replies["payload"]["status"] == "error"
    assert "rate" in json.dumps(replies["payload"]["response"])
    client.close()


# --- presence ------------------------------------------------------------------------------------------------------

def test_presence_state_then_diffs_for_joins_and_leaves(server):
    alice = Phoenix(server, "alice")
    join = alice.join("room:presence", {"device": "laptop"})
    assert join["payload"]["status"] == "ok"
    state = alice.event("room:presence", "presence_state")["payload"]
    assert [m["device"] for m in metas_of(state, "alice")] == ["laptop"]
    assert metas_of(state, "alice")[0]["phx_ref"]

    bob = Phoenix(server, "bob")
    bob.join("room:presence", {"device": "phone"})
    bob_state = bob.event("room:presence", "presence_state")["payload"]
    assert set(bob_state) == {"alice", "bob"}
    diff = alice.wait_for(lambda m: m["event"] == "presence_diff" and "bob" in m["payload"]["joins"])
    assert diff["payload"]["leaves"] == {}

    bob.close()
    diff = alice.wait_for(lambda m: m["event"] == "presence_diff" and "bob" in m["payload"]["leaves"])
    assert [m["device"] for m in metas_of(diff["payload"]["leaves"], "bob")] == ["phone"]
    alice.close()


def test_one_user_on_two_devices_is_one_key_with_two_metas(server):
    phone = Phoenix(server, "carol")
    phone.join("room:devices", {"device": "phone"})
    laptop = Phoenix(server, "carol")
    laptop.join("room:devices", {"device": "laptop"})
    state = laptop.event("room:devices", "presence_state")["payload"]
    assert sorted(m["device"] for m in metas_of(state, "carol")) == ["laptop", "phone"]
    laptop.close()
    diff = phone.wait_for(lambda m: m["event"] == "presence_diff" and "carol" in m["payload"]["leaves"])
    assert [m["device"] for m in metas_of(diff["payload"]["leaves"], "carol")] == ["laptop"]
    phone.close()


def test_tokens_signed_elsewhere_with_the_shared_secret_are_accepted(server_factory):
    secret = "s" * 48
    server = server_factory({"HOLDFAST_SECRET_KEY": secret})
    client = Phoenix(server, token=sign_token(secret.encode(), "backend-user"))
    assert client.join("room:backend")["payload"]["status"] == "ok"
    state = client.event("room:backend", "presence_state")["payload"]
    assert "backend-user" in state
    client.close()


def test_a_burst_of_joins_reaches_a_member_as_few_diffs(server_factory):
    secret = "b" * 48
    server = server_factory({"HOLDFAST_SECRET_KEY": secret, "HOLDFAST_CHANNELS_PRESENCE_WINDOW_MS": "200"})
    watcher = Phoenix(server, "watcher", token=sign_token(secret.encode(), "watcher"))
    watcher.join("room:burst")
    watcher.event("room:burst", "presence_state")
    crowd = [Phoenix(server, token=sign_token(secret.encode(), f"user{index}")) for index in range(30)]
    for client in crowd:
        client.push("room:burst", "phx_join", {}, join_ref="1")
    seen = set()
    diffs = 0
    deadline = time.monotonic() + 10
    users = {f"user{index}" for index in range(30)}
    while not users <= seen and time.monotonic() < deadline:
        message = watcher.next(timeout=5)
        if message["event"] == "presence_diff":
            diffs += 1
            seen.update(message["payload"]["joins"])
    assert users <= seen
    assert diffs < 30
    for client in crowd:
        client.close()
    watcher.close()


# --- chat ----------------------------------------------------------------------------------------------------------

def test_new_msg_is_acknowledged_and_broadcast_with_increasing_ids(server):
    alice = Phoenix(server, "alice")
    bob = Phoenix(server, "bob", vsn="1.0.0")
    join = alice.join("room:chat")
    bob.join("room:chat")
    ids = []
    for index in range(3):
        ref = alice.push("room:chat", "new_msg", {"body": f"hello {index}", "client_id": f"c{index}"}, join_ref=join["join_ref"])
        reply = alice.reply_to(ref)
        assert reply["payload"]["status"] == "ok"
        ids.append(reply["payload"]["response"]["id"])
        message = bob.event("room:chat", "new_msg")["payload"]
        assert message["body"] == f"hello {index}"
        assert message["user"] == "alice"
        assert message["client_id"] == f"c{index}"
        assert message["id"] == ids[-1]
        assert isinstance(message["ts"], int)
    assert ids == sorted(ids) and len(set(ids)) == 3
    alice.close()
    bob.close()


def test_typing_is_relayed_to_others_only(server):
    alice = Phoenix(server, "alice")
    bob = Phoenix(server, "bob")
    join = alice.join("room:typing")
    bob.join("room:typing")
    alice.push("room:typing", "typing", {}, join_ref=join["join_ref"])
    assert bob.event("room:typing", "typing")["payload"] == {"user": "alice"}
    assert not [m for m in alice.collect(0.3) if m["event"] == "typing"]
    alice.close()
    bob.close()


def test_recovery_after_a_server_restart(server_factory, tmp_path):
    env = {"HOLDFAST_SECRET_KEY": "k" * 40}
    server = server_factory(env)
    alice = Phoenix(server, "alice")
    join = alice.join("room:durable")
    for index in range(5):
        ref = alice.push("room:durable", "new_msg", {"body": f"m{index}"}, join_ref=join["join_ref"])
        assert alice.reply_to(ref)["payload"]["status"] == "ok"
    alice.close()
    server.stop()

    restarted = server_factory(env)
    bob = Phoenix(restarted, "bob")
    reply = bob.join("room:durable", {"last_seen_id": 2})
    assert reply["payload"]["response"] == {"last_id": 5, "recovered": True}
    bodies = [bob.event("room:durable", "new_msg")["payload"]["body"] for _ in range(3)]
    assert bodies == ["m2", "m3", "m4"]
    bob.close()


def test_recovery_from_too_far_back_says_so(server_factory):
    server = server_factory({"HOLDFAST_CHANNELS_HISTORY_PER_ROOM": "3"})
    alice = Phoenix(server, "alice")
    join = alice.join("room:short")
    for index in range(6):
        ref = alice.push("room:short", "new_msg", {"body": f"m{index}"}, join_ref=join["join_ref"])
        alice.reply_to(ref)
    bob = Phoenix(server, "bob")
    reply = bob.join("room:short", {"last_seen_id": 1})
    assert reply["payload"]["response"]["recovered"] is False
    alice.close()
    bob.close()


# --- a real third-party Phoenix client ----------------------------------------------------------------------------

def test_phoenix_channels_python_client_joins_and_receives(server):
    import asyncio

    from phoenix_channels_python_client import PHXChannelsClient

    token = make_token(server, "pyclient")

    async def scenario():
        received = []
        async with PHXChannelsClient(
            websocket_url=f"{server.url}/socket/websocket?token={token}", api_key="unused", protocol_version="1.0",
        ) as client:
            async def on_message(message):
                received.append(message)

            await client.subscribe_to_topic("room:pyclient", on_message)
            sender = Phoenix(server, "sender")
            join = sender.join("room:pyclient")
            ref = sender.push("room:pyclient", "new_msg", {"body": "to the python client"}, join_ref=join["join_ref"])
            sender.reply_to(ref)
            for _ in range(100):
                if any(getattr(m, "event", None) == "new_msg" for m in received):
                    break
                await asyncio.sleep(0.05)
            sender.close()
            await client.unsubscribe_from_topic("room:pyclient")
        return received

    received = asyncio.run(scenario())
    events = [getattr(m, "event", None) for m in received]
    assert "presence_state" in events
    new_msgs = [m for m in received if getattr(m, "event", None) == "new_msg"]
    assert new_msgs and new_msgs[0].payload["body"] == "to the python client"


# --- supervision ---------------------------------------------------------------------------------------------------

def test_a_crashed_room_is_restarted_without_closing_anyone(server_factory):
    import urllib.request

    server = server_factory({"HOLDFAST_TEST_HOOKS": "true"})
    alice = Phoenix(server, "alice")
    bob = Phoenix(server, "bob")
    join = alice.join("room:fragile", {"device": "a"})
    bob.join("room:fragile", {"device": "b"})
    before = bob.event("room:fragile", "presence_state")["payload"]
    ref = alice.push("room:fragile", "new_msg", {"body": "before"}, join_ref=join["join_ref"])
    first_id = alice.reply_to(ref)["payload"]["response"]["id"]
    alice.wait_for(lambda m: m["event"] == "presence_diff" and "bob" in m["payload"]["joins"])
    time.sleep(0.1)
    alice.collect(0.1)
    bob.collect(0.1)

    alice.push("room:fragile", "holdfast:crash_room", {}, join_ref=join["join_ref"])
    ref = alice.push("room:fragile", "new_msg", {"body": "after"}, join_ref=join["join_ref"])
    # The message that crashed the room is dropped (as in OTP); the next one is served by the new instance.
    resync = bob.event("room:fragile", "presence_state")["payload"]
    assert resync == before  # same keys, same phx_refs: no flap, never an empty room
    reply = alice.reply_to(ref)
    assert reply["payload"]["status"] == "ok"
    assert reply["payload"]["response"]["id"] == first_id + 1
    assert bob.wait_for(lambda m: m["event"] == "new_msg" and m["payload"]["body"] == "after")
    assert not [m for m in bob.collect(0.3) if m["event"] == "presence_diff"]
    assert server.wait_for_log("room restarted")
    metrics = urllib.request.urlopen(f"http://127.0.0.1:{server.port}/metrics", timeout=5).read().decode()
    assert "holdfast_room_restarts_total 1" in metrics
    alice.close()
    bob.close()


def test_crash_hook_is_off_by_default(server):
    alice = Phoenix(server, "alice")
    join = alice.join("room:sturdy")
    alice.push("room:sturdy", "holdfast:crash_room", {}, join_ref=join["join_ref"])
    assert alice.event("room:sturdy", "phx_error")
    alice.close()


def test_too_many_topics_and_oversized_payloads_get_error_replies(server_factory):
    server = server_factory({"HOLDFAST_CHANNELS_MAX_TOPICS": "2", "HOLDFAST_CHANNELS_MAX_PAYLOAD_BYTES": "200"})
    client = Phoenix(server)
    assert client.join("room:one")["payload"]["status"] == "ok"
    assert client.join("room:two")["payload"]["status"] == "ok"
    third = client.join("room:three")
    assert third["payload"]["status"] == "error"
    ref = client.push("room:one", "new_msg", {"body": "x" * 500}, join_ref=None)
    reply = client.reply_to(ref)
    assert reply["payload"]["status"] == "error"
    ref = client.push("phoenix", "heartbeat", {})
    assert client.reply_to(ref)["payload"]["status"] == "ok"
    client.close()


def binary_push(join_ref: str | None, ref: str, topic: str, event: str, payload: bytes) -> bytes:
    """Phoenix's v2 binary push: kind 0, the four string lengths, the strings, then the raw payload."""
    fields = [(join_ref or "").encode(), ref.encode(), topic.encode(), event.encode()]
    return bytes([0, *(len(field) for field in fields)]) + b"".join(fields) + payload


def test_binary_pushes_get_the_protocols_answers(server_factory):
    server = server_factory({
        "HOLDFAST_CHANNELS_MAX_PAYLOAD_BYTES": "200",
        "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "5",
        "HOLDFAST_CHANNELS_RATE_LIMIT_WINDOW_MS": "600000",
    })
    client = Phoenix(server)
    join_ref = client.join("room:bin")["join_ref"]  # the 1st message of the rate window

    def push(join_ref, topic, payload=b"\x00\x01") -> str:
        client.ref += 1
        client.ws.send(binary_push(join_ref, str(client.ref), topic, "upload", payload))
        return str(client.ref)

    def reason(ref) -> str:
        reply = client.reply_to(ref)
        assert reply["payload"]["status"] == "error"
        return reply["payload"]["response"]["reason"]

    assert reason(push(join_ref, "room:bin")) == "binary payloads are not supported"
    assert server.wait_for_log('refused binary push "upload" on "room:bin"')
    assert reason(push(join_ref, "room:bin", b"x" * 300)) == "payload too large"  # not counted
    assert reason(push(None, "room:elsewhere")) == "unmatched topic"
    # A push of an earlier join of the topic is dropped without an answer, as Phoenix drops stale messages.
    stale = push("not-" + join_ref, "room:bin")
    heartbeat = client.push("phoenix", "heartbeat", {})
    assert client.reply_to(heartbeat)["payload"]["status"] == "ok"
    assert not [m for m in client.inbox + client.collect(0.3) if m.get("ref") == stale]
    # 5 counted so far (join, refused, unmatched, stale, and this one); the 6th is over the limit.
    assert reason(push(join_ref, "room:bin")) == "binary payloads are not supported"
    assert reason(push(join_ref, "room:bin")) == "rate limited"
    assert server.wait_for_log("socket rate limited")
    # A refused push is an answer, not a fault: the socket stays open.
    heartbeat = client.push("phoenix", "heartbeat", {})
    assert client.reply_to(heartbeat)["payload"]["status"] == "ok"
    client.close()


def test_binary_frames_that_are_not_pushes_close_the_socket(server):
    client = Phoenix(server)
    client.ws.send(bytes([1, 0, 0, 0, 0]))  # kind 1 is a reply: clients do not send those
    with pytest.raises(ConnectionClosed):
        client.next(timeout=5)
    assert server.wait_for_log("binary frame is not a Phoenix push")


def test_join_of_a_topic_without_a_channel_is_refused(server):
    client = Phoenix(server)
    reply = client.join("lobby:elsewhere")
    assert reply["payload"]["status"] == "error"
    assert reply["payload"]["response"] == {"reason": "unmatched topic"}
    client.close()
