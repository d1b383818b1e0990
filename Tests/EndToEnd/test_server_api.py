"""The server API for the application's backend, over real sockets: publishes reach joined Phoenix clients and
are stored like theirs, disconnect closes every socket of a user and refuses their old token, presence and history
answer what clients see, bad input gets JSON errors with the right statuses, and the API keeps working (on the
same port, on a kept-alive connection) across a binary upgrade, and publishes caught by one are answered once by
whichever process stores them. Clients: curl, urllib (clients/python), http.client
and the Phoenix test client."""

import http.client
import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from conftest import holdfast_binary, process_alive
from phx import Phoenix, sign_token

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
from holdfast_api import HoldfastAPI, HoldfastAPIError  # noqa: E402

SECRET = "s" * 48
BACKEND = "backend-key-0123456789abcdef"
READER = "reader-key-0123456789abcdef"
ADMIN = "api-test-admin-token"


@pytest.fixture
def api_server(server_factory):
    def start(extra=None):
        env = {
            "HOLDFAST_SECRET_KEY": SECRET, "HOLDFAST_ADMIN_TOKEN": ADMIN,
            "HOLDFAST_API_KEYS": f"backend:all:{BACKEND},reader:presence+history:{READER}",
            "HOLDFAST_CHANNELS_PRESENCE_WINDOW_MS": "0",
        }
        env.update(extra or {})
        server = server_factory(env)
        assert server.api_port, server.log()
        return server
    return start


def client(server, key=BACKEND):
    return HoldfastAPI(f"http://127.0.0.1:{server.api_port}", key)


def curl(server, *args, key=BACKEND):
    result = subprocess.run(
        ["curl", "-s", "-w", "\n%{http_code}", "-H", f"Authorization: Bearer {key}", *args], capture_output=True,
        timeout=20, check=True)
    body, status = result.stdout.decode().rsplit("\n", 1)
    return int(status), (json.loads(body) if body else None)


def url(server, path):
    return f"http://127.0.0.1:{server.api_port}{path}"


def test_a_publish_reaches_joined_clients_and_a_read_only_key_is_refused(api_server):
    server = api_server()
    alice, bob = Phoenix(server, "alice", token=sign_token(SECRET.encode(), "alice")), \
        Phoenix(server, "bob", vsn="1.0.0", token=sign_token(SECRET.encode(), "bob"))
    for member in (alice, bob):
        assert member.join("room:api")["payload"]["status"] == "ok"
    first = client(server).publish("room:api", "new_msg", {"body": "your order shipped", "client_id": "o-1"})
    second = client(server).publish("room:api", "new_msg", {"body": "as someone"}, as_user="support")
    assert second["id"] == first["id"] + 1
    for member in (alice, bob):
        got = member.event("room:api", "new_msg")["payload"]
        assert (got["id"], got["user"], got["body"], got["client_id"]) == (first["id"], "backend", "your order shipped", "o-1")
        assert member.event("room:api", "new_msg")["payload"]["user"] == "support"
    # A client message after it is numbered after it: one order for both.
    ref = alice.push("room:api", "new_msg", {"body": "thanks"}, join_ref=alice_join_ref(alice))
    assert alice.reply_to(ref)["payload"]["response"]["id"] == second["id"] + 1
    status, answer = curl(server, "-X", "POST", "-d", json.dumps(
        {"topic": "room:api", "event": "announcement", "payload": {"text": "maintenance at 5"}}), url(server, "/api/publish"))
    assert (status, answer) == (200, {"ok": True})
    assert bob.event("room:api", "announcement")["payload"] == {"text": "maintenance at 5"}
    status, answer = curl(server, "-X", "POST", "-d", json.dumps(
        {"topics": ["room:api", "room:other"], "event": "new_msg", "payload": {"body": "to both"}}), url(server, "/api/broadcast"))
    assert status == 200 and [r["topic"] for r in answer["results"]] == ["room:api", "room:other"]
    assert alice.wait_for(lambda m: m["event"] == "new_msg" and m["payload"]["body"] == "to both")
    status, answer = curl(server, "-X", "POST", "-d", json.dumps(
        {"topic": "room:api", "event": "new_msg", "payload": {"body": "not allowed"}}), url(server, "/api/publish"),
        key=READER)
    assert status == 403 and answer["error"]["code"] == "missing_scope"
    assert [m for m in alice.collect(0.3) if m["payload"].get("body") == "not allowed"] == []
    alice.close()
    bob.close()


def alice_join_ref(member):
    return "1"


def test_disconnect_closes_every_socket_of_the_user_and_their_old_token_is_refused(api_server):
    server = api_server()
    token = sign_token(SECRET.encode(), "mallory")
    sockets = [Phoenix(server, "mallory", token=token), Phoenix(server, "mallory", token=token)]
    bystander = Phoenix(server, "bob", token=sign_token(SECRET.encode(), "bob"))
    for member in (*sockets, bystander):
        assert member.join("room:ban")["payload"]["status"] == "ok"
    answer = client(server).disconnect("mallory", reason="banned", code=4003, refuse_older_tokens=True)
    assert answer["closed"] == 2 and answer["not_before"] >= int(time.time()) - 1
    for socket in sockets:
        closing = socket.event("room:ban", "phx_close")
        assert closing["payload"] == {}
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                socket.next(timeout=5)
        assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4003, "banned")
    leave = bystander.event("room:ban", "presence_diff")["payload"]
    assert "mallory" in leave["leaves"]
    assert client(server).presence_stats("room:ban") == {"clients": 1, "users": 1}
    with pytest.raises(InvalidStatus) as refused:
        Phoenix(server, "mallory", token=token)
    assert refused.value.response.status_code == 403
    time.sleep(1.1)  # token times are whole seconds: a token from the next second is accepted
    fresh = Phoenix(server, "mallory", token=sign_token(SECRET.encode(), "mallory"))
    assert fresh.join("room:ban")["payload"]["status"] == "ok"
    assert "mallory" in (Path(server.env["HOLDFAST_STATE_DIR"]) / "not-before.json").read_text()
    fresh.close()
    bystander.close()


def test_presence_and_history_answers_match_what_clients_see(api_server):
    server = api_server()
    alice = Phoenix(server, "alice", token=sign_token(SECRET.encode(), "alice"))
    alice.join("room:seen", {"device": "phone"})
    phone2 = Phoenix(server, "alice", token=sign_token(SECRET.encode(), "alice"))
    phone2.join("room:seen", {"device": "laptop"})
    bob = Phoenix(server, "bob", token=sign_token(SECRET.encode(), "bob"))
    bob.join("room:seen")
    seen = bob.event("room:seen", "presence_state")["payload"]
    assert client(server).presence("room:seen") == seen
    assert client(server).presence_stats("room:seen") == {"clients": 3, "users": 2}
    received = []
    for index in range(5):
        ref = bob.push("room:seen", "new_msg", {"body": f"m{index}", "client_id": f"c{index}"}, join_ref="1")
        bob.reply_to(ref)
    for _ in range(5):
        received.append(alice.event("room:seen", "new_msg")["payload"])
    history = client(server).history("room:seen")
    strip = lambda m: {k: v for k, v in m.items() if k != "replay"}  # noqa: E731
    assert [strip(m) for m in history["messages"]] == [strip(m) for m in received]
    assert history["last_id"] == received[-1]["id"]
    later = client(server).history("room:seen", since_id=received[2]["id"], limit=1)
    assert [m["body"] for m in later["messages"]] == ["m3"]
    rooms = client(server).rooms()
    assert {"topic": "room:seen", "members": 3} in rooms["rooms"]
    assert client(server).presence("room:never-started") == {}
    for member in (alice, phone2, bob):
        member.close()


def test_bad_input_gets_json_errors_with_the_right_status(api_server):
    server = api_server({"HOLDFAST_API_RATE_LIMIT_PER_SECOND": "1", "HOLDFAST_API_RATE_LIMIT_BURST": "12"})
    publish = url(server, "/api/publish")
    cases = [
        (["-X", "POST", "-d", "{not json", publish], BACKEND, 400, "bad_request"),
        (["-X", "POST", "-d", json.dumps({"topic": "lobby", "event": "new_msg", "payload": {"body": "x"}}), publish],
         BACKEND, 404, "unknown_topic"),
        (["-X", "POST", "-d", json.dumps({"topic": "room:a", "event": "new_msg", "payload": {"body": 3}}), publish],
         BACKEND, 400, "bad_request"),
        (["-X", "POST", "-d", json.dumps({"topic": "room:a", "event": "phx_close", "payload": {}}), publish],
         BACKEND, 400, "bad_request"),
        (["-X", "POST", "-d", "{}", publish], "wrong-key-0123456789abcdef", 401, "unauthorized"),
        ([url(server, "/api/history?topic=room:a")], "", 401, "unauthorized"),
        (["-X", "POST", "-d", json.dumps({"user": "x"}), url(server, "/api/disconnect")], READER, 403, "missing_scope"),
        ([url(server, "/api/history?topic=room:a&limit=0")], BACKEND, 400, "bad_request"),
        ([url(server, "/api/publish")], BACKEND, 405, "method_not_allowed"),
        ([url(server, "/api/nothing")], BACKEND, 404, "not_found"),
    ]
    for args, key, status, code in cases:
        got_status, answer = curl(server, *args, key=key)
        assert (got_status, answer["error"]["code"]) == (status, code), (args, answer)
        assert answer["error"]["message"]
    huge = json.dumps({"topic": "room:a", "event": "new_msg", "payload": {"body": "x" * 200_000}}).encode()
    request = urllib.request.Request(publish, data=huge, method="POST", headers={"Authorization": f"Bearer {BACKEND}"})
    with pytest.raises(urllib.error.HTTPError) as too_large:
        urllib.request.urlopen(request, timeout=10)
    assert too_large.value.code == 413 and json.loads(too_large.value.read())["error"]["code"] == "body_too_large"
    # A burst of 12 refilled at 1/s: a quick run of requests exhausts it and then gets 429 with Retry-After.
    with pytest.raises(HoldfastAPIError) as limited:
        for _ in range(30):
            client(server).presence("room:a")
    assert limited.value.status == 429 and int(limited.value.retry_after) >= 1
    assert client(server, READER).presence("room:a") == {}  # another key has its own bucket


def test_the_api_works_after_a_binary_upgrade_on_the_same_kept_alive_connection(api_server):
    server = api_server({"HOLDFAST_LOG_LEVEL": "info"})
    alice = Phoenix(server, "alice", token=sign_token(SECRET.encode(), "alice"))
    alice.join("room:up")
    connection = http.client.HTTPConnection("127.0.0.1", server.api_port, timeout=10)

    def post(body):
        connection.request("POST", "/api/publish", body=json.dumps(body),
                           headers={"Authorization": f"Bearer {BACKEND}", "Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())

    status, first = post({"topic": "room:up", "event": "new_msg", "payload": {"body": "before"}})
    assert status == 200
    old_pid = server.serving_pid()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.admin_port}/admin/upgrade", method="POST",
        data=json.dumps({"binary": str(holdfast_binary().resolve())}).encode(),
        headers={"Authorization": f"Bearer {ADMIN}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
    deadline = time.monotonic() + 10
    while process_alive(old_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(old_pid)
    status, second = post({"topic": "room:up", "event": "new_msg", "payload": {"body": "after"}})
    assert status == 200 and second["id"] == first["id"] + 1
    bodies = [alice.event("room:up", "new_msg")["payload"]["body"] for _ in range(2)]
    assert bodies == ["before", "after"]
    assert client(server).presence_stats("room:up") == {"clients": 1, "users": 1}
    connection.close()
    alice.close()


def test_publishes_caught_by_a_binary_upgrade_are_answered_once_on_their_kept_alive_connections(api_server):
    """Four backends keep publishing, one request at a time each on its own kept-alive connection, while the
    binary is upgraded: those in flight when the old process pauses (their messages are pending, commits held)
    get their answer from the new process on the same connection. Every publish gets exactly one 200 with an id,
    the ids are distinct, and a joined client receives every message once, in the order of the ids."""
    server = api_server({
        "HOLDFAST_LOG_LEVEL": "info", "HOLDFAST_API_RATE_LIMIT_PER_SECOND": "1000000",
        "HOLDFAST_API_RATE_LIMIT_BURST": "1000000"})
    alice = Phoenix(server, "alice", token=sign_token(SECRET.encode(), "alice"))
    alice.join("room:busy")
    stop = threading.Event()
    results: dict[int, list] = {}
    errors: list[str] = []

    def publisher(number):
        connection = http.client.HTTPConnection("127.0.0.1", server.api_port, timeout=20)
        sent, port, index = [], None, 0
        try:
            while not stop.is_set() or index < 20:
                body = f"p{number}-{index}"
                connection.request(
                    "POST", "/api/publish",
                    body=json.dumps({"topic": "room:busy", "event": "new_msg", "payload": {"body": body}}),
                    headers={"Authorization": f"Bearer {BACKEND}", "Content-Type": "application/json"})
                port = port or connection.sock.getsockname()[1]
                assert connection.sock.getsockname()[1] == port, "the kept-alive connection was replaced"
                response = connection.getresponse()
                raw = response.read()
                sent.append((body, response.status, json.loads(raw) if response.status == 200 else raw))
                index += 1
        except Exception as error:  # noqa: BLE001 - reported by the main thread
            errors.append(f"publisher {number} after {index}: {error!r}")
        finally:
            results[number] = sent
            connection.close()

    threads = [threading.Thread(target=publisher, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    old_pid = server.serving_pid()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.admin_port}/admin/upgrade", method="POST",
        data=json.dumps({"binary": str(holdfast_binary().resolve())}).encode(),
        headers={"Authorization": f"Bearer {ADMIN}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status == 200
        upgrade = json.loads(response.read())
    deadline = time.monotonic() + 10
    while process_alive(old_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not process_alive(old_pid)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a publish was never answered"
    assert errors == [], (upgrade["connections"], upgrade["left_behind"])
    answers = [item for number in sorted(results) for item in results[number]]
    assert [a for a in answers if a[1] != 200 or not isinstance(a[2].get("id"), int)] == [], upgrade
    id_of = {body: reply["id"] for body, _, reply in answers}
    assert len(set(id_of.values())) == len(answers)
    received = []
    deadline = time.monotonic() + 20
    while len(received) < len(answers) and time.monotonic() < deadline:
        received.append(alice.event("room:busy", "new_msg", timeout=max(0.1, deadline - time.monotonic())))
    assert not [m for m in alice.collect(0.5) if m["event"] == "new_msg"]  # nothing more: none twice
    bodies = [message["payload"]["body"] for message in received]
    assert sorted(bodies) == sorted(id_of)
    assert [id_of[body] for body in bodies] == sorted(id_of.values())  # in the order of their ids
    for number in results:  # and each backend's messages in the order it sent them
        mine = [body for body in bodies if body.startswith(f"p{number}-")]
        assert mine == [body for body, _, _ in results[number]]
    alice.close()
