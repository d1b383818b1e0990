"""A server API client that resets its connection while the server has stopped reading from it (a publish awaits
its answer and more than a request's worth of pipelined bytes waits behind it): the node closes that connection
at once instead of spinning its event loop on the repeated error event until the answer is ready. The answer is
held back by freezing the node's Redis, which keeps a clustered publish waiting for its store script."""

import json
import os
import signal
import socket
import struct
import threading
import time

from test_cluster import BACKEND, redis, start_node  # noqa: F401  (fixtures)


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def request(method: str, path: str, body: bytes = b"") -> bytes:
    head = (f"{method} {path} HTTP/1.1\r\nHost: holdfast\r\nAuthorization: Bearer {BACKEND}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def test_a_reset_while_reading_is_paused_closes_the_connection_without_spinning(start_node, redis):  # noqa: F811
    node = start_node(1)
    publish = request("POST", "/api/publish", json.dumps(
        {"topic": "room:reset", "event": "new_msg", "payload": {"body": "held"}}).encode())
    # Over a maximum-size request (request line + headers + a 64 KiB body) waiting behind the publish.
    pipelined = request("GET", "/api/rooms") * 40_000
    os.kill(redis.process.pid, signal.SIGSTOP)
    try:
        client = socket.create_connection(("127.0.0.1", node.api_port), timeout=5)
        client.settimeout(2)

        def send():
            try:
                client.sendall(publish + pipelined)
            except OSError:
                pass  # the server stopped reading and the buffers are full; or the socket is reset below

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        time.sleep(1.0)
        # Close with SO_LINGER 0: the kernel sends a reset instead of a FIN.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        time.sleep(0.3)
        before = cpu_seconds(node.process.pid)
        time.sleep(3.0)
        spent = cpu_seconds(node.process.pid) - before
        # A loop spinning on the reset burns a core for the whole window; an idle node spends milliseconds.
        assert spent < 0.5, f"the node used {spent:.2f} s of CPU in 3 s after the reset"
    finally:
        os.kill(redis.process.pid, signal.SIGCONT)
    assert node.process.poll() is None
