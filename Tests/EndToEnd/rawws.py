"""A deliberately minimal WebSocket client over a raw socket, for sending frames no real client would send."""

import base64
import os
import socket
import struct


def handshake(sock: socket.socket, path: str = "/ws/echo", extra: str = "") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    sock.sendall(request.encode())
    head, rest = read_head(sock)
    assert head.startswith(b"HTTP/1.1 101"), head
    return rest


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """Reads an HTTP response head (up to the blank line, or EOF); returns it and the bytes read after it."""
    response = b""
    while b"\r\n\r\n" not in response:
        chunk = sock.recv(4096)
        if not chunk:
            break
        response += chunk
    head, _, rest = response.partition(b"\r\n\r\n")
    return head, rest


def next_frame(sock: socket.socket, buffer: bytes) -> tuple[int, bytes, bytes]:
    """Reads from `sock` until `buffer` holds one whole server frame (unmasked); returns its first byte, its
    payload and the bytes after it."""

    def need(count):
        nonlocal buffer
        while len(buffer) < count:
            chunk = sock.recv(1 << 20)
            assert chunk, "connection closed"
            buffer += chunk

    need(2)
    length, offset = buffer[1] & 0x7F, 2
    if length == 126:
        need(4)
        length, offset = struct.unpack("!H", buffer[2:4])[0], 4
    elif length == 127:
        need(10)
        length, offset = struct.unpack("!Q", buffer[2:10])[0], 10
    need(offset + length)
    return buffer[0], buffer[offset:offset + length], buffer[offset + length:]


def frame(opcode: int, payload: bytes, fin: bool = True, rsv: int = 0, mask: bool = True, length_override=None) -> bytes:
    first = (0x80 if fin else 0) | (rsv << 4) | opcode
    length = len(payload) if length_override is None else length_override
    header = bytes([first])
    mask_bit = 0x80 if mask else 0
    if length < 126:
        header += bytes([mask_bit | length])
    elif length < 65536:
        header += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        header += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if not mask:
        return header + payload
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    return header + key + masked


def read_frame(sock: socket.socket, buffered: bytes = b""):
    """Returns (opcode, payload, rest) or None when the connection closed first."""
    data = buffered

    def need(count):
        nonlocal data
        while len(data) < count:
            chunk = sock.recv(65536)
            if not chunk:
                return False
            data += chunk
        return True

    if not need(2):
        return None
    opcode = data[0] & 0x0F
    length = data[1] & 0x7F
    offset = 2
    if length == 126:
        if not need(4):
            return None
        length = struct.unpack("!H", data[2:4])[0]
        offset = 4
    elif length == 127:
        if not need(10):
            return None
        length = struct.unpack("!Q", data[2:10])[0]
        offset = 10
    if not need(offset + length):
        return None
    return opcode, data[offset:offset + length], data[offset + length:]


def read_close_code(sock: socket.socket, buffered: bytes = b""):
    """Reads frames until a close frame; returns its status code (or None if the socket closed first)."""
    rest = buffered
    while True:
        result = read_frame(sock, rest)
        if result is None:
            return None
        opcode, payload, rest = result
        if opcode == 8:
            return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
