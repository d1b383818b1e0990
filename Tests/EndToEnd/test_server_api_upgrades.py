"""The server API through binary upgrades, with backends that never pause: four publishers on kept-alive
connections (Python's http.client; two of them send each request's head and body in separate writes, so the
upgrade's pause often finds a request partly received) plus one that pipelines three requests at a time, and
broadcasters to several rooms. Through eight upgrades
in a row every request gets exactly one answer on its own connection (no reset, no reconnect, nothing extra on
the wire), and every acknowledged id is in the rooms' history exactly once, with its body. Also: requests
pipelined on one connection are answered in order."""

import http.client
import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import holdfast_binary, process_alive

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python"))
from holdfast_api import HoldfastAPI  # noqa: E402

BACKEND = "backend-key-0123456789abcdef"
ADMIN = "api-upgrade-test-admin-token"
HEADERS = {"Authorization": f"Bearer {BACKEND}", "Content-Type": "application/json"}


@pytest.fixture
def api_server(server_factory):
    server = server_factory({
        "HOLDFAST_SECRET_KEY": "s" * 48, "HOLDFAST_ADMIN_TOKEN": ADMIN, "HOLDFAST_API_KEYS": f"backend:all:{BACKEND}",
        "HOLDFAST_LOG_LEVEL": "info", "HOLDFAST_API_RATE_LIMIT_PER_SECOND": "1000000",
        "HOLDFAST_API_RATE_LIMIT_BURST": "1000000", "HOLDFAST_CHANNELS_HISTORY_PER_ROOM": "1000000"})
    assert server.api_port, server.log()
    return server


# Refusals a loaded machine can cause (a step out of time, another upgrade still finishing): the old process
# rolls back and keeps serving, which the API's clients must not notice either; the upgrade is tried again.
# Any other refusal (say, the new process cannot read the state handed over) fails the test.
RETRIED = {"upgrade_in_progress", "not_quiescent", "rooms_busy", "rooms_unresponsive", "loops_unresponsive",
           "step_stalled", "ready_timeout", "staged_timeout", "done_timeout"}


def upgrade(server, refusals):
    """One binary upgrade to the same build; returns once the new process serves and the old one is gone."""
    for _ in range(5):
        old_pid = server.serving_pid()
        request = urllib.request.Request(
            f"http://127.0.0.1:{server.admin_port}/admin/upgrade", method="POST",
            data=json.dumps({"binary": str(holdfast_binary().resolve())}).encode(),
            headers={"Authorization": f"Bearer {ADMIN}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                record = json.loads(response.read())
        except urllib.error.HTTPError as refused:
            answer = json.loads(refused.read() or b"{}")
            refusals.append((refused.code, answer))
            assert answer.get("check") in RETRIED, (refused.code, answer)
            time.sleep(0.5)
            continue
        deadline = time.monotonic() + 15
        while (process_alive(old_pid) or server.serving_pid() == old_pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not process_alive(old_pid) and server.serving_pid() != old_pid, record
        return record
    raise AssertionError(f"no upgrade in 5 attempts: {refusals}")


class Sender(threading.Thread):
    """Sends one request after another on one kept-alive connection until told to stop; records every answer."""

    def __init__(self, server, path, body_of, split):
        super().__init__(daemon=True)
        self.server, self.path, self.body_of, self.split = server, path, body_of, split
        self.stop = threading.Event()
        self.answers: list[tuple[str, int, dict]] = []
        self.error = None
        self.connection = http.client.HTTPConnection("127.0.0.1", server.api_port, timeout=30)

    def send(self, body):
        data = json.dumps(body).encode()
        if not self.split:
            self.connection.request("POST", self.path, body=data, headers=HEADERS)
            return
        # The head and the body in two writes, a moment apart.
        self.connection.putrequest("POST", self.path)
        for name, value in {**HEADERS, "Content-Length": str(len(data))}.items():
            self.connection.putheader(name, value)
        self.connection.endheaders()
        time.sleep(0.001)
        self.connection.send(data)

    def run(self):
        index, port = 0, None
        try:
            while not self.stop.is_set():
                label = f"{self.name}-{index}"
                self.send(self.body_of(label))
                port = port or self.connection.sock.getsockname()[1]
                assert self.connection.sock.getsockname()[1] == port, "the kept-alive connection was replaced"
                response = self.connection.getresponse()
                self.answers.append((label, response.status, json.loads(response.read())))
                index += 1
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.error = f"{self.name} after {index} answers: {error!r}"

    def finish(self):
        """Stops after the request in flight; then nothing more may arrive on the connection."""
        self.stop.set()
        self.join(timeout=60)
        assert not self.is_alive(), f"{self.name}: a request was never answered"
        sock = self.connection.sock
        if sock is not None:
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                extra = sock.recv(1)
                raise AssertionError(f"{self.name}: bytes after the last answer: {extra!r}")
        self.connection.close()


class PipeliningSender(Sender):
    """Like `Sender`, but writes three requests at once and only then reads their answers: the upgrade's pause
    finds requests received but not yet served behind the one being answered."""

    def __init__(self, server, path, body_of):
        super().__init__(server, path, body_of, split=False)
        self.sock = socket.create_connection(("127.0.0.1", server.api_port), timeout=30)
        self.reader = self.sock.makefile("rb")

    def run(self):
        index = 0
        try:
            while not self.stop.is_set():
                labels = [f"{self.name}-{index + n}" for n in range(3)]
                self.sock.sendall(b"".join(request_bytes(self.path, self.body_of(label)) for label in labels))
                for label in labels:
                    status, answer = read_response(self.reader)
                    self.answers.append((label, status, answer))
                index += 3
        except Exception as error:  # noqa: BLE001 - reported by the test
            self.error = f"{self.name} after {len(self.answers)} answers: {error!r}"

    def finish(self):
        self.stop.set()
        self.join(timeout=60)
        assert not self.is_alive(), f"{self.name}: a request was never answered"
        self.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            extra = self.sock.recv(1)
            raise AssertionError(f"{self.name}: bytes after the last answer: {extra!r}")
        self.sock.close()


def request_bytes(path, body, method="POST"):
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {BACKEND}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return head.encode() + b"\r\n" + data


def read_response(reader):
    """One response from a buffered reader of the socket: its status and JSON body."""
    line = reader.readline()
    assert line.startswith(b"HTTP/1.1 "), line
    headers = {}
    for raw in iter(reader.readline, b"\r\n"):
        name, value = raw.decode().split(":", 1)
        headers[name.strip().lower()] = value.strip()
    return int(line.split()[1]), json.loads(reader.read(int(headers["content-length"])))


def history(server, topic):
    api, messages, since = HoldfastAPI(f"http://127.0.0.1:{server.api_port}", BACKEND), [], 0
    while True:
        page = api.history(topic, since_id=since, limit=1000)["messages"]
        if not page:
            return messages
        messages += page
        since = page[-1]["id"]


def run_through_upgrades(server, senders, upgrades):
    for sender in senders:
        sender.start()
    time.sleep(0.3)
    records, refusals = [], []
    for _ in range(upgrades):
        records.append(upgrade(server, refusals))
        time.sleep(0.2)
    for sender in senders:
        sender.finish()
    errors = [sender.error for sender in senders if sender.error]
    assert errors == [], (errors, [r.get("left_behind") for r in records])
    assert all(record.get("left_behind") == 0 for record in records), records
    pauses = [round(record.get("pause_ms", 0), 1) for record in records]
    print(f"{len(records)} upgrades ({len(refusals)} refused and retried: {refusals}), pauses {pauses} ms, "
          f"answers per connection {[len(sender.answers) for sender in senders]}")
    return records


def test_publishers_that_never_pause_get_one_answer_each_through_eight_binary_upgrades(api_server):
    body_of = lambda label: {"topic": "room:busy", "event": "new_msg", "payload": {"body": label}}  # noqa: E731
    senders = [Sender(api_server, "/api/publish", body_of, split=number >= 2) for number in range(4)]
    senders.append(PipeliningSender(api_server, "/api/publish", body_of))
    for number, sender in enumerate(senders):
        sender.name = f"p{number}"
    run_through_upgrades(api_server, senders, upgrades=8)
    answers = [answer for sender in senders for answer in sender.answers]
    assert all(len(sender.answers) > 20 for sender in senders), [len(s.answers) for s in senders]
    assert [a for a in answers if a[1] != 200 or not isinstance(a[2].get("id"), int)] == []
    id_of = {label: answer["id"] for label, _, answer in answers}
    assert len(set(id_of.values())) == len(answers)
    stored = history(api_server, "room:busy")
    assert sorted(m["id"] for m in stored) == sorted(id_of.values())  # each acknowledged id once, nothing else
    assert {m["id"]: m["body"] for m in stored} == {ident: label for label, ident in id_of.items()}
    for sender in senders:  # each backend's messages stored in the order it sent them
        mine = [m["body"] for m in stored if m["body"].startswith(f"{sender.name}-")]
        assert mine == [label for label, _, _ in sender.answers]


def test_broadcasts_to_several_rooms_are_answered_through_binary_upgrades(api_server):
    topics = ["room:b1", "room:b2", "room:b3"]
    senders = [
        Sender(api_server, "/api/broadcast",
               lambda label: {"topics": topics, "event": "new_msg", "payload": {"body": label}}, split=number == 1)
        for number in range(2)]
    for number, sender in enumerate(senders):
        sender.name = f"b{number}"
    run_through_upgrades(api_server, senders, upgrades=4)
    answers = [answer for sender in senders for answer in sender.answers]
    assert all(len(sender.answers) > 10 for sender in senders), [len(s.answers) for s in senders]
    for label, status, answer in answers:
        assert status == 200 and [r["topic"] for r in answer["results"]] == topics, (label, answer)
        assert all(isinstance(r.get("id"), int) for r in answer["results"]), (label, answer)
    for index, topic in enumerate(topics):
        id_of = {label: answer["results"][index]["id"] for label, _, answer in answers}
        stored = history(api_server, topic)
        assert sorted(m["id"] for m in stored) == sorted(id_of.values()), topic
        assert {m["id"]: m["body"] for m in stored} == {ident: label for label, ident in id_of.items()}, topic


def test_pipelined_requests_are_answered_in_order_on_one_connection(api_server):
    wire = b"".join(
        request_bytes("/api/publish", {"topic": "room:pipe", "event": "new_msg", "payload": {"body": f"m{n}"}})
        for n in range(5))
    wire += request_bytes("/api/history?topic=room:pipe", None, method="GET")
    sock = socket.create_connection(("127.0.0.1", api_server.api_port), timeout=10)
    sock.sendall(wire)  # all six requests in one write, before any answer
    reader = sock.makefile("rb")
    answers = [read_response(reader) for _ in range(6)]
    ids = [answer["id"] for _, answer in answers[:5]]
    assert [status for status, _ in answers] == [200] * 6 and ids == sorted(ids)
    assert [(m["id"], m["body"]) for m in answers[5][1]["messages"]] == list(zip(ids, [f"m{n}" for n in range(5)]))
    sock.close()


def test_a_long_pipeline_is_read_only_as_fast_as_it_is_answered_and_answered_in_order(api_server):
    """Far more than one request's worth pipelined at once: the server stops reading while it is that far behind
    (the rest waits in the kernel) and still answers every request, in order."""
    count = 3000
    wire = b"".join(request_bytes(f"/api/nothing-{n}", None, method="GET") for n in range(count))
    assert len(wire) > 3 * (8192 + 16384 + 65536)  # several times what the server reads ahead
    sock = socket.create_connection(("127.0.0.1", api_server.api_port), timeout=30)
    sender = threading.Thread(target=sock.sendall, args=(wire,), daemon=True)
    sender.start()
    reader = sock.makefile("rb")
    answers = [read_response(reader) for _ in range(count)]
    sender.join(timeout=30)
    assert [status for status, _ in answers] == [404] * count
    paths = [answer["error"]["message"].split()[2].rstrip(";") for _, answer in answers]
    assert paths == [f"/api/nothing-{n}" for n in range(count)]
    sock.close()
