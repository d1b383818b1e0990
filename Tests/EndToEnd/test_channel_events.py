"""The events of handler API 2's built-in chat handlers (react, read, unknown events), seen by a third-party Phoenix
client, and how they follow a swap to an API 1 plugin and back."""
import asyncio

from phx import Phoenix, make_token, sign_token
from test_upgrade import SECRET, admin, upgradable, v2_plugin  # noqa: F401 (fixtures)


def test_react_and_read_reach_a_third_party_client(server):
    from phoenix_channels_python_client import PHXChannelsClient

    token = make_token(server, "watcher")

    async def scenario():
        received = []
        async with PHXChannelsClient(
            websocket_url=f"{server.url}/socket/websocket?token={token}", api_key="unused", protocol_version="1.0",
        ) as client:
            async def on_message(message):
                received.append(message)

            await client.subscribe_to_topic("room:events", on_message)
            alice = Phoenix(server, "alice")
            join = alice.join("room:events", {"device": "laptop"})
            ref = alice.push("room:events", "new_msg", {"body": "react to me"}, join_ref=join["join_ref"])
            message_id = alice.reply_to(ref)["payload"]["response"]["id"]

            ref = alice.push("room:events", "react", {"id": message_id, "emoji": "👍"}, join_ref=join["join_ref"])
            reply = alice.reply_to(ref)["payload"]
            assert reply == {"status": "ok", "response": {"count": 1}}
            reaction = alice.event("room:events", "reaction")["payload"]
            assert reaction == {"id": message_id, "emoji": "👍", "user": "alice", "count": 1}

            ref = alice.push("room:events", "read", {"up_to": message_id}, join_ref=join["join_ref"])
            assert alice.reply_to(ref)["payload"] == {"status": "ok", "response": {"last_read": message_id}}

            ref = alice.push("room:events", "react", {"id": "x", "emoji": "👍"}, join_ref=join["join_ref"])
            assert alice.reply_to(ref)["payload"]["status"] == "error"
            ref = alice.push("room:events", "no_such_event", {}, join_ref=join["join_ref"])
            assert alice.reply_to(ref)["payload"] == {"status": "error", "response": {"reason": "unknown event"}}

            def metas():
                return [meta for m in received if getattr(m, "event", None) == "presence_diff"
                        for meta in m.payload.get("joins", {}).get("alice", {}).get("metas", [])]

            for _ in range(100):
                if any(getattr(m, "event", None) == "reaction" for m in received) and any(
                        "last_read" in meta for meta in metas()):
                    break
                await asyncio.sleep(0.05)
            alice.close()
            await client.unsubscribe_from_topic("room:events")
        return received, metas()

    received, metas = asyncio.run(scenario())
    reactions = [m.payload for m in received if getattr(m, "event", None) == "reaction"]
    assert reactions and reactions[0]["emoji"] == "👍" and reactions[0]["count"] == 1
    read = [meta for meta in metas if "last_read" in meta]
    assert read and read[0]["device"] == "laptop" and isinstance(read[0]["last_read"], int)


def test_a_second_user_counts_and_a_repeat_does_not(server):
    alice, bob = Phoenix(server, "alice"), Phoenix(server, "bob")
    a, b = alice.join("room:count"), bob.join("room:count")
    ref = alice.push("room:count", "new_msg", {"body": "x"}, join_ref=a["join_ref"])
    message_id = alice.reply_to(ref)["payload"]["response"]["id"]
    counts = []
    for client, join in ((alice, a), (alice, a), (bob, b)):
        ref = client.push("room:count", "react", {"id": message_id, "emoji": "🎉"}, join_ref=join["join_ref"])
        counts.append(client.reply_to(ref)["payload"]["response"]["count"])
    assert counts == [1, 1, 2]
    alice.close()
    bob.close()


def test_react_is_unknown_under_an_api1_plugin_and_works_again_after_rollback(upgradable, v2_plugin):  # noqa: F811
    server = upgradable
    alice = Phoenix(server, token=sign_token(SECRET.encode(), "alice"))
    join = alice.join("room:swapped")
    ref = alice.push("room:swapped", "new_msg", {"body": "one"}, join_ref=join["join_ref"])
    message_id = alice.reply_to(ref)["payload"]["response"]["id"]
    ref = alice.push("room:swapped", "react", {"id": message_id, "emoji": "a"}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"

    status, answer = admin(server, "POST", "/admin/upgrade", {"handlers": v2_plugin})
    assert status == 200, answer
    ref = alice.push("room:swapped", "react", {"id": message_id, "emoji": "b"}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"] == {"status": "error", "response": {"reason": "unknown event"}}
    ref = alice.push("room:swapped", "new_msg", {"body": "two"}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"

    status, answer = admin(server, "POST", "/admin/rollback")
    assert status == 200, answer
    # The room state written before the swap came back through both migrations: the count goes on.
    ref = alice.push("room:swapped", "react", {"id": message_id, "emoji": "a"}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"] == {"status": "ok", "response": {"count": 1}}
    ref = alice.push("room:swapped", "react", {"id": message_id, "emoji": "c"}, join_ref=join["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"
    alice.close()
