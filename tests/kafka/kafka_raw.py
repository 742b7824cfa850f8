"""A raw Kafka client for bad-input tests: hand-built frames over a socket,
and a RecordBatch v2 encoder (CRC-32C in Python)."""

import socket
import struct


def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(n):
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def record_batch(values, ts=1000):
    recs = b""
    for i, v in enumerate(values):
        body = b"\x00" + varint(0) + varint(i) + varint(-1) + varint(len(v)) + v + varint(0)
        recs += varint(len(body)) + body
    n = len(values)
    after_crc = struct.pack(">hiqqqhii", 0, n - 1, ts, ts, -1, -1, -1, n) + recs
    crc = crc32c(after_crc)
    tail = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(tail)) + tail


def string(s):
    if s is None:
        return struct.pack(">h", -1)
    s = s.encode() if isinstance(s, str) else s
    return struct.pack(">h", len(s)) + s


def request(api_key, version, corr, body, client_id="raw"):
    payload = struct.pack(">hhi", api_key, version, corr) + string(client_id) + body
    return struct.pack(">i", len(payload)) + payload


def produce_body(topic, batch, acks=-1):
    return (string(None) + struct.pack(">hi", acks, 5000) + struct.pack(">i", 1) + string(topic) +
            struct.pack(">i", 1) + struct.pack(">ii", 0, len(batch)) + batch)


def metadata_v1_body(topics):
    return struct.pack(">i", len(topics)) + b"".join(string(t) for t in topics)


class Raw:
    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def send(self, data):
        self.sock.sendall(data)

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def response(self):
        """(correlation id, rest of the frame)."""
        size = struct.unpack(">i", self.recv_exact(4))[0]
        frame = self.recv_exact(size)
        return struct.unpack(">i", frame[:4])[0], frame[4:]

    def closed(self, timeout=5):
        """True if the server closes the connection (EOF or reset) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()
