"""Members that join in a burst with metas that encode alike share one stored meta in the server (and with their
assigns). Over real sockets every member's meta still arrives exactly as its own join made it: the same device and
timestamp per member in the diffs and in a later joiner's presence_state, strings that are canonically equivalent
but differ in bytes kept apart, and a change to one member's meta leaving the others' alone."""

from phx import Phoenix

TOPIC = "room:shared-metas"


def metas_by_user(payload: dict) -> dict:
    return {user: entry["metas"] for user, entry in payload.items()}


def test_a_burst_of_alike_metas_arrives_as_each_members_own(server):
    observer = Phoenix(server, "observer")
    assert observer.join(TOPIC, {"device": "watch"})["payload"]["status"] == "ok"
    observer.event(TOPIC, "presence_state")

    devices = {f"web{index}": "web" for index in range(20)}
    devices |= {"composed": "caf\u00e9", "decomposed": "cafe\u0301", "composed2": "caf\u00e9"}
    clients = {user: Phoenix(server, user) for user in devices}
    # Every join goes out before any reply is read, so the room tracks them back to back.
    refs = {user: client.push(TOPIC, "phx_join", {"device": devices[user]}, join_ref="1")
            for user, client in clients.items()}
    for user, client in clients.items():
        assert client.reply_to(refs[user], timeout=10)["payload"]["status"] == "ok"

    seen = {}
    while set(seen) != set(devices):
        seen |= metas_by_user(observer.event(TOPIC, "presence_diff", timeout=10)["payload"]["joins"])
    for user, metas in seen.items():
        assert len(metas) == 1 and metas[0]["device"] == devices[user], user
        assert isinstance(metas[0]["online_at"], int)
    assert seen["composed"][0]["device"] == "caf\u00e9" and seen["decomposed"][0]["device"] == "cafe\u0301"
    assert len({metas[0]["phx_ref"] for metas in seen.values()}) == len(devices)

    late = Phoenix(server, "late")
    assert late.join(TOPIC, {"device": "late"})["payload"]["status"] == "ok"
    state = metas_by_user(late.event(TOPIC, "presence_state", timeout=10)["payload"])
    for user in devices:
        assert state[user] == seen[user], user

    # One member's meta changes (a read marker): it alone gets a new meta, the others keep theirs.
    reader = clients["web3"]
    ref = reader.push(TOPIC, "read", {"up_to": 0}, join_ref="1")
    assert reader.reply_to(ref)["payload"]["response"] == {"last_read": 0}
    diff = late.event(TOPIC, "presence_diff", timeout=10)["payload"]
    assert set(diff["joins"]) == {"web3"} and set(diff["leaves"]) == {"web3"}
    changed = diff["joins"]["web3"]["metas"][0]
    assert changed["last_read"] == 0 and changed["device"] == "web"
    assert changed["online_at"] == seen["web3"][0]["online_at"]
    assert changed["phx_ref_prev"] == seen["web3"][0]["phx_ref"]

    again = Phoenix(server, "again")
    assert again.join(TOPIC, {"device": "again"})["payload"]["status"] == "ok"
    state = metas_by_user(again.event(TOPIC, "presence_state", timeout=10)["payload"])
    assert state["web3"] == [changed]
    for user in devices.keys() - {"web3"}:
        assert state[user] == seen[user], user
    for client in [observer, late, again, *clients.values()]:
        client.close()
