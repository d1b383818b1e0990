"""The events of handler API 2's built-in chat handlers (react, read, edit_msg and delete_msg, unknown events), seen
by a third-party Phoenix client; how they follow a swap to an API 1 plugin and back; edits and deletes replayed on
recovery, after a restart, and their author rule across a binary upgrade."""
import asyncio

from phx import Phoenix, make_token, sign_token
from test_binary_upgrade import handoff_server, variant_binary  # noqa: F401 (fixtures)
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


def test_edit_and_delete_reach_a_third_party_client_and_only_the_author_may(server):
    from phoenix_channels_python_client import PHXChannelsClient

    token = make_token(server, "watcher")

    async def scenario():
        received = []
        async with PHXChannelsClient(
            websocket_url=f"{server.url}/socket/websocket?token={token}", api_key="unused", protocol_version="1.0",
        ) as client:
            async def on_message(message):
                received.append(message)

            await client.subscribe_to_topic("room:edits", on_message)
            alice, bob = Phoenix(server, "alice"), Phoenix(server, "bob")
            a, b = alice.join("room:edits"), bob.join("room:edits")
            ref = alice.push("room:edits", "new_msg", {"body": "helo"}, join_ref=a["join_ref"])
            message_id = alice.reply_to(ref)["payload"]["response"]["id"]

            ref = bob.push("room:edits", "edit_msg", {"id": message_id, "body": "mine now"}, join_ref=b["join_ref"])
            assert bob.reply_to(ref)["payload"] == {"status": "error", "response": {"reason": "not your message"}}
            ref = bob.push("room:edits", "delete_msg", {"id": message_id}, join_ref=b["join_ref"])
            assert bob.reply_to(ref)["payload"] == {"status": "error", "response": {"reason": "not your message"}}
            ref = alice.push("room:edits", "edit_msg", {"id": 999, "body": "x"}, join_ref=a["join_ref"])
            assert alice.reply_to(ref)["payload"] == {"status": "error", "response": {"reason": "message not found"}}

            ref = alice.push("room:edits", "edit_msg", {"id": message_id, "body": "hello"}, join_ref=a["join_ref"])
            edit_id = alice.reply_to(ref)["payload"]["response"]["id"]
            assert edit_id == message_id + 1
            edited = bob.event("room:edits", "msg_edited")["payload"]
            assert (edited["id"], edited["entry_id"], edited["body"], edited["user"]) == (
                message_id, edit_id, "hello", "alice")

            ref = alice.push("room:edits", "delete_msg", {"id": message_id}, join_ref=a["join_ref"])
            delete_id = alice.reply_to(ref)["payload"]["response"]["id"]
            deleted = bob.event("room:edits", "msg_deleted")["payload"]
            assert (deleted["id"], deleted["entry_id"], deleted["kind"]) == (message_id, delete_id, "delete")
            assert "body" not in deleted
            # The tombstone is final: a deleted message can be neither edited nor deleted again.
            ref = alice.push("room:edits", "edit_msg", {"id": message_id, "body": "back"}, join_ref=a["join_ref"])
            assert alice.reply_to(ref)["payload"]["response"] == {"reason": "message not found"}

            for _ in range(100):
                if any(getattr(m, "event", None) == "msg_deleted" for m in received):
                    break
                await asyncio.sleep(0.05)
            alice.close()
            bob.close()
            await client.unsubscribe_from_topic("room:edits")
        return [(m.event, m.payload) for m in received if getattr(m, "event", None) in
                ("new_msg", "msg_edited", "msg_deleted")]

    seen = asyncio.run(scenario())
    assert [event for event, _ in seen] == ["new_msg", "msg_edited", "msg_deleted"]
    assert seen[1][1]["body"] == "hello" and seen[2][1]["id"] == seen[0][1]["id"]


def test_a_client_that_missed_an_edit_and_a_delete_gets_them_on_recovery(server):
    alice = Phoenix(server, "alice")
    a = alice.join("room:recover-edits")
    ids = []
    for body in ("first", "second", "third"):
        ref = alice.push("room:recover-edits", "new_msg", {"body": body}, join_ref=a["join_ref"])
        ids.append(alice.reply_to(ref)["payload"]["response"]["id"])
    bob = Phoenix(server, "bob")
    bob.join("room:recover-edits")
    last_seen = ids[-1]
    bob.close()

    ref = alice.push("room:recover-edits", "edit_msg", {"id": ids[0], "body": "first, edited"}, join_ref=a["join_ref"])
    edit_id = alice.reply_to(ref)["payload"]["response"]["id"]
    ref = alice.push("room:recover-edits", "delete_msg", {"id": ids[1]}, join_ref=a["join_ref"])
    delete_id = alice.reply_to(ref)["payload"]["response"]["id"]
    ref = alice.push("room:recover-edits", "new_msg", {"body": "fourth"}, join_ref=a["join_ref"])
    fourth = alice.reply_to(ref)["payload"]["response"]["id"]

    bob = Phoenix(server, "bob")
    reply = bob.join("room:recover-edits", {"last_seen_id": last_seen})
    assert reply["payload"]["status"] == "ok"
    assert reply["payload"]["response"]["recovered"] is True
    assert reply["payload"]["response"]["last_id"] == fourth
    replayed = [m for m in bob.collect(1.0) if m["event"] in ("new_msg", "msg_edited", "msg_deleted")]
    assert [(m["event"], m["payload"]["id"]) for m in replayed] == [
        ("msg_edited", ids[0]), ("msg_deleted", ids[1]), ("new_msg", fourth)]
    assert replayed[0]["payload"]["entry_id"] == edit_id and replayed[0]["payload"]["body"] == "first, edited"
    assert replayed[1]["payload"]["entry_id"] == delete_id

    # From scratch, the whole append-only log comes back in order: messages, then the entries that change them.
    carol = Phoenix(server, "carol")
    carol.join("room:recover-edits", {"last_seen_id": 0})
    everything = [(m["event"], m["payload"]["id"]) for m in carol.collect(1.0)
                  if m["event"] in ("new_msg", "msg_edited", "msg_deleted")]
    assert everything == [("new_msg", ids[0]), ("new_msg", ids[1]), ("new_msg", ids[2]), ("msg_edited", ids[0]),
                          ("msg_deleted", ids[1]), ("new_msg", fourth)]
    alice.close()
    bob.close()
    carol.close()


def test_edits_and_deletes_survive_a_restart_and_replay_after_it(server_factory):
    server = server_factory()
    alice = Phoenix(server, "alice")
    a = alice.join("room:durable-edits")
    ref = alice.push("room:durable-edits", "new_msg", {"body": "draft"}, join_ref=a["join_ref"])
    message_id = alice.reply_to(ref)["payload"]["response"]["id"]
    ref = alice.push("room:durable-edits", "edit_msg", {"id": message_id, "body": "final"}, join_ref=a["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"
    alice.close()
    env = dict(server.env)
    server.stop()

    restarted = server_factory({key: value for key, value in env.items() if key.startswith("HOLDFAST_")})
    bob = Phoenix(restarted, "bob")
    bob.join("room:durable-edits", {"last_seen_id": 0})
    replayed = [(m["event"], m["payload"].get("body")) for m in bob.collect(1.0)
                if m["event"] in ("new_msg", "msg_edited")]
    assert replayed == [("new_msg", "draft"), ("msg_edited", "final")]
    # A rejoin taught the restarted room who wrote the message: the author may still delete it.
    alice = Phoenix(restarted, "alice")
    a = alice.join("room:durable-edits", {"last_seen_id": 0})
    ref = alice.push("room:durable-edits", "delete_msg", {"id": message_id}, join_ref=a["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"
    alice.close()
    bob.close()


def test_who_wrote_what_crosses_a_binary_upgrade(handoff_server, variant_binary):  # noqa: F811
    """The room's memory of its recent authors travels in the room record (handoff format 2): after a binary
    upgrade, with no rejoin, the author may still delete and nobody else may edit."""
    from test_binary_upgrade import SECRET as HANDOFF_SECRET, admin as handoff_admin, status_of

    server = handoff_server()
    alice = Phoenix(server, token=sign_token(HANDOFF_SECRET.encode(), "alice"))
    bob = Phoenix(server, token=sign_token(HANDOFF_SECRET.encode(), "bob"))
    a, b = alice.join("room:handoff-edits"), bob.join("room:handoff-edits")
    ref = alice.push("room:handoff-edits", "new_msg", {"body": "before"}, join_ref=a["join_ref"])
    message_id = alice.reply_to(ref)["payload"]["response"]["id"]
    old_pid = status_of(server)["pid"]

    status, answer = handoff_admin(server, "POST", "/admin/upgrade", {"binary": str(variant_binary)})
    assert status == 200, answer
    assert status_of(server)["pid"] != old_pid

    ref = bob.push("room:handoff-edits", "edit_msg", {"id": message_id, "body": "x"}, join_ref=b["join_ref"])
    assert bob.reply_to(ref)["payload"]["response"] == {"reason": "not your message"}
    ref = alice.push("room:handoff-edits", "delete_msg", {"id": message_id}, join_ref=a["join_ref"])
    assert alice.reply_to(ref)["payload"]["status"] == "ok"
    assert bob.event("room:handoff-edits", "msg_deleted")["payload"]["id"] == message_id
    alice.close()
    bob.close()
