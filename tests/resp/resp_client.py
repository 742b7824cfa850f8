"""A small raw-socket RESP2/RESP3 client for byte-exact tests.

Every reply comes back with its exact type, so a test can tell a push (`>`)
from an array (`*`), a map (`%`) from a flat array, a verbatim string (`=`)
from a bulk, and `_` from `$-1` and `*-1`:

    c = RespClient(port)
    c.send("HELLO", "3")
    hello = c.read()                 # Map
    c.send("SUBSCRIBE", "a")
    assert c.read() == Push([b"subscribe", b"a", 1])
    assert c.call_raw("PING") == b"+PONG\\r\\n"

Types (all compare equal to their plain Python value and are told apart
with isinstance or `kind`):

| wire | Python |
|---|---|
| `+x` | Simple(b"x") |
| `-x` | Error(b"x") |
| `:n` | Int(n) |
| `$n` | bytes |
| `$-1` / `*-1` / `_` | NULL_BULK / NULL_ARRAY / NULL (distinct singletons) |
| `*n` / `>n` / `~n` | Array / Push / Set (lists) |
| `%n` | Map (a list of (key, value) pairs, in wire order; .dict() for lookups) |
| `=n` | Verbatim(b"text", fmt=b"txt") |
| `#t` / `,x` / `(n` / `!n` | Bool / Double / BigNum / BlobError |

read() and read_raw() take a timeout; recv_all_until_closed() reads until
EOF. Nothing here retries or hides a server's misbehaviour: an unexpected
byte raises ProtocolError with the bytes seen.
"""

import socket
import ssl
import time


class ProtocolError(Exception):
    pass


class Simple(bytes):
    kind = "simple"


class Error(bytes):
    kind = "error"


class BlobError(bytes):
    kind = "blob_error"


class Int(int):
    kind = "integer"


class BigNum(int):
    kind = "bignum"


class Double(float):
    kind = "double"


class Bool:
    kind = "boolean"

    def __init__(self, v):
        self.v = bool(v)

    def __eq__(self, other):
        return isinstance(other, Bool) and other.v == self.v

    def __repr__(self):
        return f"Bool({self.v})"


class Verbatim(bytes):
    kind = "verbatim"

    def __new__(cls, text, fmt=b"txt"):
        obj = super().__new__(cls, text)
        obj.fmt = fmt
        return obj

    def __repr__(self):
        return f"Verbatim({bytes(self)!r}, fmt={self.fmt!r})"


class Array(list):
    kind = "array"

    def __repr__(self):
        return f"Array({list.__repr__(self)})"


class Push(list):
    kind = "push"

    def __repr__(self):
        return f"Push({list.__repr__(self)})"


class Set(list):
    kind = "set"

    def __repr__(self):
        return f"Set({list.__repr__(self)})"


class Map(list):
    """A map as (key, value) pairs in wire order."""
    kind = "map"

    def dict(self):
        return {k: v for k, v in self}

    def __repr__(self):
        return f"Map({list.__repr__(self)})"


class _Null:
    def __init__(self, kind, wire):
        self.kind = kind
        self.wire = wire

    def __repr__(self):
        return f"<{self.kind} {self.wire!r}>"

    def __bool__(self):
        return False


NULL_BULK = _Null("null_bulk", b"$-1\r\n")
NULL_ARRAY = _Null("null_array", b"*-1\r\n")
NULL = _Null("null", b"_\r\n")


def encode(*args):
    """A multibulk request: every argument as a bulk string."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def parse(raw):
    """Parses one whole frame given as bytes."""
    p = RespClient.__new__(RespClient)
    p.buf, p.pos, p.eof, p.timeout = bytearray(raw), 0, True, 1.0
    value = p.read()
    if p.pos != len(p.buf):
        raise ProtocolError(f"bytes after the frame: {bytes(p.buf[p.pos:])[:100]!r}")
    return value


def kind_of(value):
    """'push', 'array', 'map', 'bulk', 'null', ... for any parsed reply."""
    if type(value) is bytes:
        return "bulk"
    return getattr(value, "kind", type(value).__name__)


class RespClient:
    def __init__(self, port, host="127.0.0.1", timeout=10.0, tls=None, server_hostname=None):
        """tls: an ssl.SSLContext to wrap the socket in, or None for plain TCP."""
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            sock = tls.wrap_socket(sock, server_hostname=server_hostname or host)
        self.sock = sock
        self.timeout = timeout
        self.buf = bytearray()
        self.pos = 0
        self.eof = False

    # ---- sending -------------------------------------------------------------

    def send(self, *args):
        self.sock.sendall(encode(*args))

    def send_raw(self, data):
        self.sock.sendall(data)

    def call(self, *args, timeout=None):
        """Sends one command and reads one reply (pushes in between are NOT skipped)."""
        self.send(*args)
        return self.read(timeout=timeout)

    def call_raw(self, *args, timeout=None):
        """Sends one command; returns the exact bytes of the next frame."""
        self.send(*args)
        return self.read_raw(timeout=timeout)

    # ---- receiving -----------------------------------------------------------

    def _fill(self, deadline):
        if self.eof:
            raise ConnectionError(f"connection closed by server; unread: {bytes(self.buf[self.pos:])!r}")
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no complete reply in time; have {bytes(self.buf[self.pos:])[:300]!r}")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            raise TimeoutError(
                f"no complete reply in time; have {bytes(self.buf[self.pos:])[:300]!r}") from None
        except ssl.SSLError as e:
            if "EOF" in str(e) or "UNEXPECTED_EOF" in str(e):
                data = b""
            else:
                raise
        if not data:
            self.eof = True
            raise ConnectionError(f"connection closed by server; unread: {bytes(self.buf[self.pos:])!r}")
        self.buf += data

    def _line(self, deadline):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = bytes(self.buf[self.pos:i])
                self.pos = i + 2
                return line
            self._fill(deadline)

    def _exact(self, n, deadline):
        while len(self.buf) - self.pos < n + 2:
            self._fill(deadline)
        data = bytes(self.buf[self.pos:self.pos + n])
        if self.buf[self.pos + n:self.pos + n + 2] != b"\r\n":
            raise ProtocolError(f"bulk of {n} bytes not followed by CRLF: "
                                f"{bytes(self.buf[self.pos:self.pos + n + 2])[:200]!r}")
        self.pos += n + 2
        return data

    def _parse(self, deadline):
        line = self._line(deadline)
        if not line:
            raise ProtocolError("empty line where a reply was expected")
        t, rest = line[:1], line[1:]
        if t == b"+":
            return Simple(rest)
        if t == b"-":
            return Error(rest)
        if t == b":":
            return Int(int(rest))
        if t == b"(":
            return BigNum(int(rest))
        if t == b",":
            return Double(float(rest))
        if t == b"#":
            if rest not in (b"t", b"f"):
                raise ProtocolError(f"bad boolean {line!r}")
            return Bool(rest == b"t")
        if t == b"_":
            if rest:
                raise ProtocolError(f"bad null {line!r}")
            return NULL
        if t in (b"$", b"=", b"!"):
            n = int(rest)
            if n == -1 and t == b"$":
                return NULL_BULK
            if n < 0:
                raise ProtocolError(f"bad length {line!r}")
            data = self._exact(n, deadline)
            if t == b"$":
                return data
            if t == b"!":
                return BlobError(data)
            if len(data) < 4 or data[3:4] != b":":
                raise ProtocolError(f"verbatim string without a format prefix: {data[:40]!r}")
            return Verbatim(data[4:], fmt=data[:3])
        if t in (b"*", b">", b"~", b"%"):
            n = int(rest)
            if n == -1 and t == b"*":
                return NULL_ARRAY
            if n < 0:
                raise ProtocolError(f"bad count {line!r}")
            if t == b"%":
                return Map((self._parse(deadline), self._parse(deadline)) for _ in range(n))
            cls = {b"*": Array, b">": Push, b"~": Set}[t]
            return cls(self._parse(deadline) for _ in range(n))
        raise ProtocolError(f"unknown reply type byte {t!r} in line {line[:200]!r}")

    def read(self, timeout=None):
        """One whole reply frame, parsed with its type."""
        return self.read_with_raw(timeout)[0]

    def read_raw(self, timeout=None):
        """The exact bytes of one whole reply frame."""
        return self.read_with_raw(timeout)[1]

    def read_with_raw(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        if self.pos > (1 << 20):  # drop what was read, between frames only
            del self.buf[:self.pos]
            self.pos = 0
        start = self.pos
        try:
            value = self._parse(deadline)
        except (TimeoutError, ConnectionError):
            self.pos = start  # keep the partial frame for a later read
            raise
        return value, bytes(self.buf[start:self.pos])

    def read_many(self, n, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        return [self.read(timeout=max(deadline - time.monotonic(), 0.001)) for _ in range(n)]

    def expect_nothing(self, wait=0.3):
        """Asserts that no byte arrives within `wait` seconds (and the connection stays open)."""
        if len(self.buf) > self.pos:
            raise AssertionError(f"unexpected bytes: {bytes(self.buf[self.pos:])[:300]!r}")
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return
        if not data:
            raise AssertionError("connection closed where it should stay open and silent")
        raise AssertionError(f"unexpected bytes: {data[:300]!r}")

    def recv_until_closed(self, timeout=None):
        """Everything the server sends until it closes the connection (unread bytes included)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self.eof:
            try:
                self._fill(deadline)
            except ConnectionError:
                break
            except ConnectionResetError:
                break
        data = bytes(self.buf[self.pos:])
        self.pos = len(self.buf)
        return data

    def is_closed(self, timeout=5.0):
        """True if the server closes the connection within timeout (ignores pending bytes)."""
        try:
            self.recv_until_closed(timeout=timeout)
        except TimeoutError:
            return False
        except OSError:
            return True
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
