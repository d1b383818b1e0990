"""Binary upgrades while clients have stopped reading, so the server holds output queued for them: a staged
connection whose only change is that output crosses the pause as its output alone (when both builds take it), or
whole (when one of them does not); either way every client reads every message once and in order afterwards, no
socket closes and no presence_diff arrives. Over real sockets, plaintext and TLS, with the test hooks checking
each connection sent as its output against its staged copy."""

import json
import re
import socket
import ssl
import time

import rawws
from phx import Phoenix, make_token
from test_binary_upgrade import admin, handoff_server, status_of, variant_binary  # noqa: F401 - fixtures

OUTPUT_FEATURE = 2  # HandoffFeatures.stagedConnectionOutput
# Small socket buffers: a few kilobytes of broadcasts to a client that does not read stay queued in the server.
QUEUEING = {"HOLDFAST_SOCKET_SEND_BUFFER": "4096", "HOLDFAST_CHANNELS_RATE_LIMIT_MESSAGES": "100000"}


def stalled_member(server, user: str, topic: str, tls_context=None):
    """A Phoenix member over a raw socket with a small receive buffer, joined to `topic`, that reads nothing more
    until the test says so."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", server.tls_port if tls_context else server.port))
    if tls_context:
        sock = tls_context.wrap_socket(sock, server_hostname="localhost")
    rest = rawws.handshake(sock, f"/socket/websocket?token={make_token(server, user)}&vsn=2.0.0")
    sock.sendall(rawws.frame(1, json.dumps(["1", "1", topic, "phx_join", {}]).encode()))
    while True:
        opcode, payload, rest = rawws.read_frame(sock, rest)
        message = json.loads(payload)
        if message[3] == "phx_reply" and message[1] == "1":
            assert message[4]["status"] == "ok", message
            return sock, rest


def read_messages(sock, rest, count: int):
    """Reads until `count` new_msg bodies arrived; also counts the presence_diff frames after the first of them."""
    bodies, diffs = [], 0
    while len(bodies) < count:
        frame = rawws.read_frame(sock, rest)
        assert frame is not None, f"TCP closed after {len(bodies)} messages"
        opcode, payload, rest = frame
        assert opcode != 8, f"closed after {len(bodies)} messages: {payload!r}"
        if opcode != 1:
            continue
        message = json.loads(payload)
        if message[3] == "new_msg":
            bodies.append(message[4]["body"])
        elif message[3] == "presence_diff" and bodies:
            diffs += 1
    return bodies, diffs


STEPS = re.compile(r"steps-ms=((?:[^=,]+=[0-9.]+,)*[^=,]+=[0-9.]+)")


def late_records(log: str, upgrades: int):
    """Per upgrade, from the old process's "binary upgrade done" line: the connections its catch-up rounds after
    the commits were held sent whole and as their output (the log keeps rounds of equal counts apart)."""
    lines = [line for line in log.splitlines() if "binary upgrade done" in line]
    assert len(lines) == upgrades, lines
    records = []
    for line in lines:
        steps = [step.rsplit("=", 1)[0] for step in re.search(STEPS, line)[1].split(",")]
        rounds = [step.split(" ")[1].split("+") for step in steps[steps.index("commits"):]
                  if step.startswith("restaging ")]
        records.append((sum(int(r[0]) for r in rounds), sum(int(r[1]) for r in rounds)))
    return records


def wrapper_withholding_output(tmp_path, binary):
    """A binary that neither offers nor accepts connection output records: what a build before them does."""
    script = tmp_path / "holdfast-without-output-records"
    script.write_text(f"#!/bin/sh\nHOLDFAST_HANDOFF_FEATURES_WITHHELD={OUTPUT_FEATURE} exec {binary} \"$@\"\n")
    script.chmod(0o755)
    return script


def test_queued_output_crosses_as_output_alone_and_whole_to_a_build_without_it(
    handoff_server, variant_binary, certificate, tmp_path  # noqa: F811 - fixtures
):
    from conftest import holdfast_binary

    server = handoff_server(QUEUEING)
    original = holdfast_binary().resolve()
    topic = "room:stalled"
    talker = Phoenix(server, "talker", max_queue=None)
    join = talker.join(topic)
    tls_context = ssl.create_default_context(cafile=str(certificate[0]))
    tls_context.check_hostname = False
    members = [stalled_member(server, f"plain{index}", topic) for index in range(6)]
    members += [stalled_member(server, f"tls{index}", topic, tls_context) for index in range(3)]
    time.sleep(0.5)  # the joins' presence diffs go out before the first message: from then on none may arrive

    sent = 0

    def talk(count: int):
        nonlocal sent
        for _ in range(count):
            body = f"{sent:05d}" + "x" * 1000
            ref = talker.push(topic, "new_msg", {"body": body}, join_ref=join["join_ref"])
            assert talker.reply_to(ref, timeout=30)["payload"]["status"] == "ok"
            sent += 1

    withholding = wrapper_withholding_output(tmp_path, variant_binary)
    outcomes = []
    # This build to this build, to one without output records, back, and once more between two that take them.
    for index, target in enumerate((variant_binary, original, withholding, original)):
        talk(60 if index == 0 else 40)  # 60 KB to each stalled member first: far more than its socket buffers hold
        outcomes.append(admin(server, "POST", "/admin/upgrade", {"binary": str(target)}))
    talk(10)

    assert [status for status, _ in outcomes] == [200, 200, 200, 200], outcomes
    answers = [answer for _, answer in outcomes]
    stalled = len(members)
    # After the commits are held, the old process writes what is queued and sends a last round before the pause;
    # a stalled connection's queued output crosses in that round, in the pause, or in both (when the kernel took
    # more of it in between), so the records are counted over both.
    late = late_records(server.log(), len(answers))
    # Both builds take output records: every stalled connection crosses as its queued output, none whole.
    for answer, (whole, outputs) in zip(answers[:2], late[:2]):
        assert answer["output_in_pause"] + outputs >= stalled, (answers, late)
    # To the build without them, and from it: whole.
    for answer, (whole, outputs) in zip(answers[2:], late[2:]):
        assert answer["output_in_pause"] == 0 and outputs == 0, (answers, late)
        assert answer["changed_in_pause"] + whole >= stalled, (answers, late)
    assert not [line for line in server.log().splitlines() if "stale staged copy" in line]

    expected = [f"{index:05d}" for index in range(sent)]
    for sock, rest in members:
        bodies, diffs = read_messages(sock, rest, sent)
        assert [body[:5] for body in bodies] == expected
        assert diffs == 0
        sock.close()
    ref = talker.push(topic, "new_msg", {"body": "after"}, join_ref=join["join_ref"])
    assert talker.reply_to(ref)["payload"]["status"] == "ok"
    assert status_of(server)["pid"] == answers[-1]["new_pid"]
