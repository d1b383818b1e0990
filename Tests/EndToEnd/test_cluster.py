"""Three Holdfast nodes sharing rooms and history through one real redis-server (started here on a free port, no
persistence): a chat message sent on any node reaches the members on every node once and in one order, with ids
that increase; a client recovers with `last_seen_id` on another node than the one it left; a Redis restart closes
no client connection, messages sent during the outage get an error reply and traffic flows again after it; a server
API publish on one node reaches members on another; a binary upgrade of one node loses and duplicates nothing.
Clients: the Phoenix test client (serializers 2.0.0 and 1.0.0) and the Python server API client."""

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import holdfast_binary
from phx import Phoenix, sign_token

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
from holdfast_api import HoldfastAPI, HoldfastAPIError  # noqa: E402

REDIS_SERVER = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists()
                                                else None)
pytestmark = pytest.mark.skipif(REDIS_SERVER is None,
                                reason="redis-server is not installed (scripts/setup.sh installs it)")

SECRET = "c" * 48
ADMIN = "cluster-admin-token"
BACKEND = "backend-key-0123456789abcdef"
TOPIC = "room:cluster"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Redis:
    """A redis-server on a free loopback port with no persistence; `restart` comes back empty on the same port."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process = None
        self.start()

    def start(self):
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("redis-server did not listen")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"


@pytest.fixture
def redis(tmp_path):
    server = Redis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def start_node(server_factory, redis, tmp_path):
    """Starts node `index` on the test's Redis, with its own state directory and name."""
    def node(index, extra=None):
        env = {
            "HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": ADMIN,
            "HOLDFAST_CLUSTER_REDIS_URL": redis.url, "HOLDFAST_CLUSTER_NODE_NAME": f"node-{index}",
            "HOLDFAST_STATE_DIR": str(tmp_path / f"state-{index}"),
            "HOLDFAST_API_KEYS": f"backend:all:{BACKEND}", "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "1000",
            "HOLDFAST_LOG_LEVEL": "info",
        }
        env.update(extra or {})
        server = server_factory(env)
        wait_for_redis(server, "ready")
        return server

    return node


@pytest.fixture
def cluster(start_node):
    """Three nodes on one Redis; each serves the server API too."""
    return [start_node(index) for index in (1, 2, 3)]


def admin(server, method, path, body=None, timeout=60):
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.admin_port}{path}", method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_for_redis(server, state, timeout=20):
    deadline = time.monotonic() + timeout
    document = None
    while time.monotonic() < deadline:
        _, document = admin(server, "GET", "/admin/status")
        if document.get("cluster", {}).get("redis") == state:
            return document
        time.sleep(0.05)
    raise AssertionError(f"redis link not {state}: {document}")


def client(server, user, vsn="2.0.0"):
    return Phoenix(server, user, vsn=vsn, token=sign_token(SECRET.encode(), user))


def joined(server, user, vsn="2.0.0", payload=None):
    phoenix = client(server, user, vsn)
    reply = phoenix.join(TOPIC, payload)
    assert reply["payload"]["status"] == "ok", reply
    return phoenix, reply["payload"]["response"]


def send(phoenix, body):
    return phoenix.push(TOPIC, "new_msg", {"body": body}, join_ref="1")


def messages(phoenix, count, timeout=20):
    """The next `count` new_msg pushes of the room, as (id, body)."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        message = phoenix.wait_for(lambda m: m["event"] == "new_msg", max(0.05, deadline - time.monotonic()))
        got.append((message["payload"]["id"], message["payload"]["body"]))
    return got


def no_more_messages(phoenix, seconds=0.5):
    return [m for m in phoenix.collect(seconds) if m["event"] == "new_msg"]


def test_status_names_the_node_and_its_redis_links(cluster):
    document = admin(cluster[1], "GET", "/admin/status")[1]["cluster"]
    assert document["node"] == "node-2"
    assert document["redis"] == "ready"
    assert document["subscriber"]["state"] == "ready"
    assert all(link["state"] == "ready" for link in document["commands"])
    assert "nodes" in document  # the registry's list; null until a registry is attached


def test_a_node_without_redis_url_has_no_cluster(server_factory, tmp_path):
    server = server_factory({"HOLDFAST_ADMIN_TOKEN": ADMIN, "HOLDFAST_SECRET_KEY": SECRET})
    status, document = admin(server, "GET", "/admin/status")
    assert status == 200 and "cluster" not in document
    phoenix, response = joined(server, "solo")
    assert response["last_id"] == 0
    assert phoenix.reply_to(send(phoenix, "on sqlite"))["payload"]["response"]["id"] == 1
    assert (tmp_path / "state" / "history.sqlite3").exists()


def test_messages_from_every_node_reach_every_member_once_in_one_order(cluster):
    members = []
    for index, server in enumerate(cluster):
        for vsn in ("2.0.0", "1.0.0"):
            members.append(joined(server, f"user{index}-{vsn[0]}", vsn)[0])
    senders = members[0::2]  # one per node
    per_sender = 15
    refs = []
    for round_ in range(per_sender):
        for index, sender in enumerate(senders):
            refs.append((sender, send(sender, f"n{index}-{round_}")))
    ids = []
    for sender, ref in refs:
        reply = sender.reply_to(ref, timeout=20)
        assert reply["payload"]["status"] == "ok", reply
        ids.append(reply["payload"]["response"]["id"])
    total = per_sender * len(senders)
    assert sorted(ids) == list(range(1, total + 1)), ids

    seen = [messages(member, total) for member in members]
    for got in seen:
        assert got == seen[0]  # the same messages in the same order on every node and serializer
    assert [message_id for message_id, _ in seen[0]] == sorted(ids)  # increasing, each once
    # Each sender's own messages in the order it sent them.
    for index in range(len(senders)):
        mine = [body for _, body in seen[0] if body.startswith(f"n{index}-")]
        assert mine == [f"n{index}-{round_}" for round_ in range(per_sender)]
    for member in members:
        assert no_more_messages(member) == []


def test_recovery_with_last_seen_id_on_another_node_gets_exactly_what_was_missed(cluster):
    watcher, _ = joined(cluster[1], "watcher")
    leaver, _ = joined(cluster[0], "leaver")
    for body in ("a", "b", "c"):
        assert leaver.reply_to(send(leaver, body))["payload"]["status"] == "ok"
    last_seen = messages(leaver, 3)[-1][0]
    leaver.close()
    missed = []
    for body in ("d", "e", "f", "g"):
        reply = watcher.reply_to(send(watcher, body))
        missed.append((reply["payload"]["response"]["id"], body))
    back = client(cluster[2], "leaver")
    reply = back.join(TOPIC, {"last_seen_id": last_seen})
    assert reply["payload"]["status"] == "ok", reply
    assert reply["payload"]["response"]["recovered"] is True
    assert reply["payload"]["response"]["last_id"] == missed[-1][0]
    assert messages(back, 4) == missed
    # Live traffic follows the replay.
    live = watcher.reply_to(send(watcher, "live"))["payload"]["response"]["id"]
    assert messages(back, 1) == [(live, "live")]
    assert no_more_messages(back) == []


def test_a_redis_restart_closes_nothing_refuses_messages_during_it_and_traffic_flows_after(cluster, redis):
    one, _ = joined(cluster[0], "one")
    two, _ = joined(cluster[1], "two")
    first = one.reply_to(send(one, "before"))["payload"]["response"]["id"]
    assert messages(two, 1) == [(first, "before")]

    redis.stop()
    wait_for_redis(cluster[0], "degraded")
    reply = one.reply_to(send(one, "during"), timeout=15)
    assert reply["payload"]["status"] == "error", reply
    assert reply["payload"]["response"] == {"reason": "unavailable"}

    redis.start()  # empty: no persistence
    for server in cluster:
        wait_for_redis(server, "ready")
    # The subscriber re-subscribes on its own; poll until a message sent on node 1 reaches node 2.
    deadline = time.monotonic() + 20
    delivered = None
    while delivered is None and time.monotonic() < deadline:
        reply = one.reply_to(send(one, "after"), timeout=15)
        if reply["payload"]["status"] == "ok":
            delivered = reply["payload"]["response"]["id"]
        else:
            time.sleep(0.2)
    assert delivered is not None
    assert delivered > first  # ids continue above what the nodes delivered, though Redis lost them
    assert messages(two, 1) == [(delivered, "after")]
    assert messages(one, 2) == [(first, "before"), (delivered, "after")]
    # No connection was closed: both still push and receive.
    again = two.reply_to(send(two, "still here"))["payload"]["response"]["id"]
    assert messages(one, 1) == [(again, "still here")]
    assert again > delivered


def test_typing_crosses_nodes_and_is_not_stored(cluster):
    typist, _ = joined(cluster[0], "typist")
    local, _ = joined(cluster[0], "local")
    remote = [joined(server, f"remote{index}", vsn)[0] for index, (server, vsn) in
              enumerate([(cluster[1], "2.0.0"), (cluster[2], "1.0.0")])]
    # An event is not stored, so only a room already subscribed to its bus gets it: a stored message that reached
    # every node shows each node's subscription is in place (docs/cluster.md).
    assert typist.reply_to(send(typist, "subscribed"), timeout=20)["payload"]["response"]["id"] == 1
    for member in [local] + remote:
        assert messages(member, 1) == [(1, "subscribed")]
    typist.push(TOPIC, "typing", {}, join_ref="1")
    for member in [local] + remote:
        assert member.event(TOPIC, "typing")["payload"] == {"user": "typist"}
    assert [m for m in typist.collect(0.5) if m["event"] == "typing"] == []  # not back to its sender
    for member in [local] + remote:
        assert [m for m in member.collect(0.3) if m["event"] == "typing"] == []  # once
    # Not stored: the next message is id 2.
    assert typist.reply_to(send(typist, "hello"))["payload"]["response"]["id"] == 2


def test_a_server_api_publish_on_one_node_reaches_members_on_another(cluster):
    member, _ = joined(cluster[1], "member")
    api = HoldfastAPI(f"http://127.0.0.1:{cluster[0].api_port}", BACKEND)
    answer = api.publish(TOPIC, "new_msg", {"body": "from the backend"}, as_user="backend")
    assert answer["id"] >= 1, answer
    assert messages(member, 1) == [(answer["id"], "from the backend")]
    # And the member's own message on node 2 is numbered after it.
    reply = member.reply_to(send(member, "reply"))
    assert reply["payload"]["response"]["id"] == answer["id"] + 1
    # The history the API answers on node 3 is the Stream's, whichever node stored each message.
    history = HoldfastAPI(f"http://127.0.0.1:{cluster[2].api_port}", BACKEND).history(TOPIC)
    assert [(m["id"], m["body"]) for m in history["messages"]] == [(answer["id"], "from the backend"),
                                                                    (answer["id"] + 1, "reply")]


def test_each_stored_message_is_one_webhook_event_with_its_redis_id(start_node):
    from test_webhooks import HOOK_SECRET, Receiver
    receiver = Receiver()
    try:
        hooks = {"HOLDFAST_WEBHOOKS_URL": f"http://127.0.0.1:{receiver.port}/hooks",
                 "HOLDFAST_WEBHOOKS_SECRET": HOOK_SECRET, "HOLDFAST_WEBHOOKS_CLIENT_MESSAGES": "true"}
        nodes = [start_node(index, hooks) for index in (1, 2)]
        members = [joined(server, f"hook{index}")[0] for index, server in enumerate(nodes)]
        sent = []
        for round_ in range(3):
            for index, member in enumerate(members):
                reply = member.reply_to(send(member, f"h{index}-{round_}"))
                sent.append((reply["payload"]["response"]["id"], f"h{index}-{round_}"))
        events = [e for e in receiver.wait_for(len(sent) + 4) if e["name"] == "client_message"]
        deadline = time.monotonic() + 10
        while len(events) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.05)
            events = [e for e in receiver.events() if e["name"] == "client_message"]
        # Once each (by the node that stored it), with the id Redis gave it.
        assert sorted((e["id"], e["body"]) for e in events) == sorted(sent)
        assert receiver.all_signed()
    finally:
        receiver.stop()


TAG_PREFIX = b"HOLDFAST-BUILD-TAG:"
TAG_FIELD = TAG_PREFIX + b"dev".ljust(24, b".")


@pytest.fixture
def variant_binary(tmp_path):
    """The same build under another build tag, in a directory of its own (never over a running binary)."""
    original = holdfast_binary().resolve()
    directory = tmp_path / "variant"
    directory.mkdir()
    data = original.read_bytes()
    assert data.count(TAG_FIELD) == 1, "build tag marker not found in the binary"
    target = directory / "holdfast"
    target.write_bytes(data.replace(TAG_FIELD, TAG_PREFIX + b"cluster-b".ljust(24, b".")))
    target.chmod(0o755)
    for library in ("libHoldfastHandlerAPI.so", "libChatHandlers.so"):
        (directory / library).symlink_to(original.parent / library)
    return target


def test_a_binary_upgrade_of_one_node_loses_and_duplicates_nothing(cluster, variant_binary):
    """Node 1 upgrades while node 2 keeps sending: node 1's member gets every message once, in order, on the same
    connection; the new process continues the room's last delivered id and opens its own Redis links."""
    stay, _ = joined(cluster[0], "stay")
    talker, _ = joined(cluster[1], "talker")
    old_pid = admin(cluster[0], "GET", "/admin/status")[1]["pid"]
    ids = []
    for index in range(10):
        ids.append(talker.reply_to(send(talker, f"pre{index}"))["payload"]["response"]["id"])
    result = {}
    upgrade = threading.Thread(
        target=lambda: result.update(answer=admin(cluster[0], "POST", "/admin/upgrade",
                                                  {"binary": str(variant_binary)})))
    upgrade.start()
    index, own_refs = 0, []
    while upgrade.is_alive() or index < 20:
        # Node 1's member sends too: what it sends in the pause travels as pending and is stored by the new process.
        own_refs.append(send(stay, f"own{index}"))
        ids.append(talker.reply_to(send(talker, f"mid{index}"))["payload"]["response"]["id"])
        index += 1
    upgrade.join()
    assert result["answer"][0] == 200, result
    for ref in own_refs:
        reply = stay.reply_to(ref, timeout=20)
        assert reply["payload"]["status"] == "ok", reply
        ids.append(reply["payload"]["response"]["id"])
    for index in range(10):
        ids.append(talker.reply_to(send(talker, f"post{index}"))["payload"]["response"]["id"])
    ids.sort()
    assert ids == list(range(1, len(ids) + 1))
    got = messages(stay, len(ids), timeout=30)
    assert [message_id for message_id, _ in got] == ids
    assert no_more_messages(stay) == []
    status = wait_for_redis(cluster[0], "ready")
    assert status["pid"] != old_pid
    assert status["cluster"]["node"] == "node-1"
    # The upgraded node still stores and delivers: its member's message reaches node 2.
    own = stay.reply_to(send(stay, "from the new process"))["payload"]["response"]["id"]
    assert messages(talker, len(ids) + 1, timeout=30)[-1] == (own, "from the new process")


def test_an_edit_and_a_delete_cross_nodes_and_replay_on_recovery_at_a_third(cluster):
    """Edit and delete entries travel like messages: stored by the script with their kind and target, delivered as
    msg_edited / msg_deleted on every node, replayed from the Stream on recovery; only the author may edit, on any
    node (each node learns the authors from what it delivers)."""
    author, _ = joined(cluster[0], "author")
    reader, _ = joined(cluster[1], "reader")
    absent, _ = joined(cluster[2], "absent")
    message_id = author.reply_to(send(author, "helo"))["payload"]["response"]["id"]
    assert messages(absent, 1) == [(message_id, "helo")]
    absent.close()
    assert messages(reader, 1) == [(message_id, "helo")]
    refused = reader.reply_to(reader.push(TOPIC, "edit_msg", {"id": message_id, "body": "mine"}, join_ref="1"))
    assert refused["payload"] == {"status": "error", "response": {"reason": "not your message"}}
    reply = author.reply_to(author.push(TOPIC, "edit_msg", {"id": message_id, "body": "hello"}, join_ref="1"))
    assert reply["payload"]["status"] == "ok", reply
    edit_id = reply["payload"]["response"]["id"]
    assert edit_id == message_id + 1
    edited = reader.event(TOPIC, "msg_edited", timeout=20)["payload"]
    assert (edited["id"], edited["entry_id"], edited["kind"], edited["body"], edited["user"]) == (
        message_id, edit_id, "edit", "hello", "author")
    assert author.event(TOPIC, "msg_edited", timeout=20)["payload"]["entry_id"] == edit_id  # its own node too
    reply = author.reply_to(author.push(TOPIC, "delete_msg", {"id": message_id}, join_ref="1"))
    delete_id = reply["payload"]["response"]["id"]
    deleted = reader.event(TOPIC, "msg_deleted", timeout=20)["payload"]
    assert (deleted["id"], deleted["entry_id"], deleted["kind"]) == (message_id, delete_id, "delete")
    # Recovery at node 3 replays both entries as what they are, in order.
    back = client(cluster[2], "absent")
    reply = back.join(TOPIC, {"last_seen_id": message_id})
    assert reply["payload"]["status"] == "ok" and reply["payload"]["response"]["recovered"] is True, reply
    replayed = [back.wait_for(lambda m: m["event"] in ("new_msg", "msg_edited", "msg_deleted"), 20) for _ in range(2)]
    assert [(m["event"], m["payload"]["entry_id"]) for m in replayed] == [
        ("msg_edited", edit_id), ("msg_deleted", delete_id)]
    assert replayed[0]["payload"]["body"] == "hello" and "body" not in replayed[1]["payload"]
    # The author, back on another node, may still not edit the deleted message.
    again = client(cluster[1], "author")
    assert again.join(TOPIC)["payload"]["status"] == "ok"
    refused = again.reply_to(again.push(TOPIC, "edit_msg", {"id": message_id, "body": "x"}, join_ref="1"))
    assert refused["payload"]["response"] == {"reason": "message not found"}


def test_an_oversized_message_is_refused_before_anything_reaches_redis(cluster, redis):
    sender, _ = joined(cluster[0], "big-sender")
    listener, _ = joined(cluster[1], "big-listener")
    ok = sender.reply_to(send(sender, "fits"), timeout=20)
    assert ok["payload"]["status"] == "ok", ok
    assert messages(listener, 1) == [(ok["payload"]["response"]["id"], "fits")]

    def redis_integer(*command):
        result = subprocess.run(["redis-cli", "-p", str(redis.port), *command], capture_output=True, text=True,
                                timeout=10)
        return int(result.stdout.strip() or 0)

    key = "{" + TOPIC + "}"
    before = (redis_integer("GET", f"hf:{key}:seq"), redis_integer("XLEN", f"hf:{key}:log"))
    refused = sender.reply_to(send(sender, "x" * (8 * 1024 + 1)), timeout=20)
    assert refused["payload"]["status"] == "error", refused
    assert refused["payload"]["response"] == {"reason": "message too long"}
    # Neither numbered nor stored nor published: the next message takes the next id on every node.
    assert (redis_integer("GET", f"hf:{key}:seq"), redis_integer("XLEN", f"hf:{key}:log")) == before
    assert no_more_messages(listener) == []
    after = sender.reply_to(send(sender, "fits again"), timeout=20)
    assert after["payload"]["response"]["id"] == ok["payload"]["response"]["id"] + 1


def test_a_server_api_event_reaches_members_on_other_nodes_when_the_receiving_node_has_none(cluster):
    # Node 1 has never seen the room: the event still reaches the members on nodes 2 and 3, once each.
    members = [joined(cluster[1], "event-member-2")[0], joined(cluster[2], "event-member-3")[0]]
    # An event is not stored, so only a room already subscribed to its bus gets it: a stored message that reached
    # both members came over their nodes' subscriptions, which are therefore in place.
    reply = members[0].reply_to(send(members[0], "subscribed"), timeout=20)
    for member in members:
        assert messages(member, 1) == [(reply["payload"]["response"]["id"], "subscribed")]
    api = HoldfastAPI(f"http://127.0.0.1:{cluster[0].api_port}", BACKEND)
    api.publish(TOPIC, "announcement", {"text": "maintenance at noon"})
    api.broadcast([TOPIC], "announcement", {"text": "and again"})
    for member in members:
        got = [member.wait_for(lambda m: m["event"] == "announcement", 20)["payload"] for _ in range(2)]
        assert got == [{"text": "maintenance at noon"}, {"text": "and again"}]
        assert [m for m in member.collect(0.5) if m["event"] == "announcement"] == []
