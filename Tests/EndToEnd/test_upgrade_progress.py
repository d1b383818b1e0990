"""Binary upgrades while clients keep sending heartbeats and frames in pieces, so their connections change by
reading between the staging rounds and the pause: such a connection crosses as its progress (input, heartbeat
time, rate window, output) applied to its staged copy when both builds take it, and whole when one of them does
not. Either way every heartbeat is answered once and in order, a message split across an upgrade arrives whole,
no socket closes and no presence_diff arrives. Over real sockets, plaintext and TLS, with the test hooks on."""

import json
import select
import socket
import ssl
import threading
import time

import rawws
from phx import Phoenix, make_token
from test_binary_upgrade import admin, handoff_server, status_of, variant_binary  # noqa: F401 - fixtures

PROGRESS_FEATURE = 4  # HandoffFeatures.stagedConnectionProgress


class TurnTakingTLS:
    """A TLS socket read by one thread and written by another, the two taking turns under one lock: OpenSSL's SSL
    object must not be used by two threads at once (when it is, a read racing a write can be reported as the peer's
    EOF). Reads wait for the raw socket to be readable outside the lock, then read without blocking inside it."""

    def __init__(self, sock: ssl.SSLSocket, lock: threading.Lock):
        self.sock, self.lock = sock, lock

    def recv(self, size: int) -> bytes:
        while True:
            if not self.sock.pending():
                select.select([self.sock], [], [], 0.05)
            with self.lock:
                self.sock.settimeout(0)
                try:
                    return self.sock.recv(size)
                except (ssl.SSLWantReadError, BlockingIOError):
                    pass
                finally:
                    self.sock.settimeout(30)


class Chatty:
    """A Phoenix member over a raw socket that sends a heartbeat every few milliseconds from one thread while
    another reads (over TLS the two take turns): every reply, message and presence frame is recorded in arrival
    order."""

    def __init__(self, server, user: str, topic: str, tls_context=None):
        sock = socket.create_connection(("127.0.0.1", server.tls_port if tls_context else server.port), timeout=30)
        if tls_context:
            sock = tls_context.wrap_socket(sock, server_hostname="localhost")
        self.sock, self.topic = sock, topic
        self.rest = rawws.handshake(sock, f"/socket/websocket?token={make_token(server, user)}&vsn=2.0.0")
        self.write_lock = threading.Lock()
        self.reader = TurnTakingTLS(sock, self.write_lock) if tls_context else sock
        self.replies, self.bodies, self.diffs, self.closed = [], [], 0, None
        self.sent, self.stop = 0, threading.Event()
        self.send(["1", "1", topic, "phx_join", {}])
        while True:
            opcode, payload, self.rest = rawws.read_frame(sock, self.rest)
            message = json.loads(payload)
            if message[3] == "phx_reply" and message[1] == "1":
                assert message[4]["status"] == "ok", message
                break
        self.threads = [threading.Thread(target=self.beat), threading.Thread(target=self.read)]
        for thread in self.threads:
            thread.start()

    def send(self, message, pieces: int = 1, pause: float = 0.0):
        """One text message, in `pieces` fragments with `pause` seconds between them (no other message may come
        between the fragments of one, so the heartbeats wait)."""
        data = json.dumps(message).encode()
        cut = [len(data) * index // pieces for index in range(pieces + 1)]
        with self.write_lock:
            for index in range(pieces):
                opcode = 1 if index == 0 else 0
                self.sock.sendall(rawws.frame(opcode, data[cut[index]:cut[index + 1]], fin=index == pieces - 1))
                if pause and index < pieces - 1:
                    time.sleep(pause)

    def beat(self):
        while not self.stop.is_set():
            self.sent += 1
            self.send([None, f"h{self.sent}", "phoenix", "heartbeat", {}])
            time.sleep(0.003)

    def read(self):
        try:
            while True:
                frame = rawws.read_frame(self.reader, self.rest)
                if frame is None:
                    if not self.stop.is_set():  # not our own shutdown at the end
                        self.closed = "TCP closed"
                    return
                opcode, payload, self.rest = frame
                if opcode == 8:
                    self.closed = f"close frame {payload!r}"
                    return
                if opcode != 1:
                    continue
                message = json.loads(payload)
                if message[3] == "phx_reply" and message[1] and message[1].startswith(("h", "m")):
                    self.replies.append(message[1])
                elif message[3] == "new_msg":
                    self.bodies.append(message[4]["body"])
                elif message[3] == "presence_diff":
                    self.diffs += 1
        except (OSError, ValueError):
            if not self.stop.is_set():
                self.closed = "read failed"

    def finish(self):
        self.stop.set()
        self.threads[0].join()
        # The last heartbeat's answer ends the reading.
        deadline = time.monotonic() + 30
        while f"h{self.sent}" not in self.replies and time.monotonic() < deadline and self.closed is None:
            time.sleep(0.02)
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self.threads[1].join()


def progress_counts(answer):
    """Connections the answer says crossed as their progress: in the pause and in each catch-up round."""
    rounds = [name.split(" ")[1].split("+") for name in answer["steps_ms"] if name.startswith("restaging ")]
    return answer.get("progress_in_pause", 0), sum(int(parts[2]) for parts in rounds if len(parts) > 2)


def wrapper_withholding_progress(tmp_path, binary):
    """A binary that neither offers nor accepts connection progress records: what a build before them does."""
    script = tmp_path / "holdfast-without-progress-records"
    script.write_text(f"#!/bin/sh\nHOLDFAST_HANDOFF_FEATURES_WITHHELD={PROGRESS_FEATURE} exec {binary} \"$@\"\n")
    script.chmod(0o755)
    return script


def test_connections_that_only_read_cross_as_their_progress_and_whole_to_a_build_without_it(
    handoff_server, variant_binary, certificate, tmp_path  # noqa: F811 - fixtures
):
    from conftest import holdfast_binary

    server = handoff_server({"HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "100000"})
    original = holdfast_binary().resolve()
    topic = "room:chatty"
    tls_context = ssl.create_default_context(cafile=str(certificate[0]))
    tls_context.check_hostname = False
    talker = Phoenix(server, "talker", max_queue=None)
    join = talker.join(topic)
    members = [Chatty(server, f"plain{index}", topic) for index in range(4)]
    members += [Chatty(server, f"tls{index}", topic, tls_context) for index in range(2)]
    time.sleep(0.5)  # the joins' presence diffs (each member sees the later ones) go out first
    for member in members:
        member.diffs = 0  # from here on none may arrive

    sent = 0
    withholding = wrapper_withholding_progress(tmp_path, variant_binary)
    outcomes = []
    split = []
    # This build to this build, to one without progress records, back, and once more between two that take them.
    for index, target in enumerate((variant_binary, original, withholding, original)):
        for _ in range(5):
            ref = talker.push(topic, "new_msg", {"body": f"{sent:05d}"}, join_ref=join["join_ref"])
            assert talker.reply_to(ref, timeout=30)["payload"]["status"] == "ok"
            sent += 1
        # A message in two fragments, the second sent after the upgrade began: it is read half before the pause.
        writer = members[index]
        text = {"body": f"split{index}"}
        piece = threading.Thread(
            target=writer.send, args=(["1", f"m{index}", topic, "new_msg", text], 2, 0.05))
        piece.start()
        outcomes.append(admin(server, "POST", "/admin/upgrade", {"binary": str(target)}))
        piece.join()
        split.append(text["body"])
        time.sleep(0.3)
    time.sleep(0.3)
    diffs = [member.diffs for member in members]  # before the first of them leaves (the others see that)
    for member in members:
        member.finish()

    assert [status for status, _ in outcomes] == [200, 200, 200, 200], outcomes
    answers = [answer for _, answer in outcomes]
    counts = [progress_counts(answer) for answer in answers]
    # Both builds take progress records: connections that read since staging cross as their progress.
    assert sum(sum(pair) for pair in counts[:2]) > 0, answers
    # To the build without them, and from it: whole.
    assert counts[2:] == [(0, 0), (0, 0)], answers
    assert not [line for line in server.log().splitlines() if "stale staged copy" in line]
    # Every step the old process timed carries its CPU time too (every thread's), the pause its own; the new
    # process logs its rebuild's CPU by part. Their sizes depend on the machine: only their presence is checked.
    for answer in answers:
        cpu = answer["steps_cpu_ms"]
        assert {"drain", "rooms", "settle", "send"} <= set(cpu) and "rebuild" not in cpu, answer
        assert min(cpu.values()) >= 0 and answer["pause_cpu_ms"] >= 0, answer

    expected = [f"{index:05d}" for index in range(sent)]
    assert diffs == [0] * len(members)
    for member in members:
        assert member.closed is None, member.closed
        heartbeats = [ref for ref in member.replies if ref.startswith("h")]
        assert heartbeats == [f"h{index}" for index in range(1, member.sent + 1)], "lost, duplicated or reordered"
        chat = [body for body in member.bodies if not body.startswith("split")]
        assert chat == expected
        assert sorted(body for body in member.bodies if body.startswith("split")) == split
    ref = talker.push(topic, "new_msg", {"body": "after"}, join_ref=join["join_ref"])
    assert talker.reply_to(ref)["payload"]["status"] == "ok"
    assert status_of(server)["pid"] == answers[-1]["new_pid"]
    # The new process logs its rebuild (wall and CPU by part) once it serves, just after the old one answered.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        serving = [line for line in server.log().splitlines() if "binary upgrade: serving" in line]
        if len(serving) == 4:
            break
        time.sleep(0.05)
    assert len(serving) == 4 and all("rebuild-cpu-ms=records=" in line for line in serving), serving
