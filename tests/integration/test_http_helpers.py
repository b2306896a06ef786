"""Shared helpers for the triad-httpd suites (test_http_*.py); holds no tests itself.

- ``httpd(start_daemon, **section)``: starts triad-httpd with [httpd] overrides;
- ``raw(d, data)``: sends DATA on a fresh connection and returns every byte until the
  server closes (byte-exact checks);
- ``responses(buf, heads=())``: splits a byte stream into HTTP/1.1 responses framed by
  Content-Length (RFC 9112 §6.3), without trusting anything the server did not say.
"""

import http.client
import time

import triad_harness as th


def httpd(start_daemon, **section):
    return start_daemon("httpd", section_overrides={k: v for k, v in section.items()})


class Response:
    def __init__(self, status, reason, headers, body, raw_head):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body
        self.raw_head = raw_head

    def h(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:80]!r}>"


def parse_one(buf, head_only=False):
    """(Response, rest) for the first response in BUF; ValueError when incomplete."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        raise ValueError(f"incomplete head: {buf[:200]!r}")
    lines = buf[:end].split(b"\r\n")
    version, status, reason = lines[0].decode("latin-1").split(" ", 2)
    assert version == "HTTP/1.1", lines[0]
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        key = k.decode("latin-1").lower()
        assert key not in headers, f"duplicate {key} in {buf[:end]!r}"
        headers[key] = v.strip().decode("latin-1")
    status = int(status)
    rest = buf[end + 4:]
    n = 0
    if not head_only and status >= 200 and status not in (204, 304):
        n = int(headers.get("content-length", "0"))
    if len(rest) < n:
        raise ValueError(f"body short: {len(rest)} < {n}")
    return Response(status, reason, headers, rest[:n], buf[:end + 4]), rest[n:]


def responses(buf, heads=()):
    """Every response in BUF (interim 1xx included); HEADS: indexes answered to HEAD."""
    out = []
    while buf:
        r, buf = parse_one(buf, head_only=len(out) in heads)
        out.append(r)
    return out


def raw(d, data, timeout=5.0, addr=None):
    return th.tcp_exchange(addr or d.addr, data, timeout)


def one(d, data, **kw):
    """The single response to DATA (the connection must end after it)."""
    rs = responses(raw(d, data, **kw))
    assert len(rs) == 1, rs
    return rs[0]


def get(d, path, headers=None, method="GET", close=True, host="localhost"):
    """One request built from PATH and HEADERS over raw TCP, byte-exact."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if close:
        lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    rs = responses(raw(d, data), heads=(0,) if method == "HEAD" else ())
    assert len(rs) == 1, rs
    return rs[0]


class KeepAlive(th.RawClient):
    """One persistent connection: send requests, read framed responses."""

    def read(self, head_only=False):
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                r, self.buf = parse_one(self.buf, head_only)
                return r
            except ValueError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete response; have {self.buf[:300]!r}")
            self.sock.settimeout(left)
            data = self.sock.recv(1 << 20)
            if not data:
                raise EOFError(f"closed; have {self.buf[:300]!r}")
            self.buf += data

    def request(self, path, headers=None, method="GET"):
        lines = [f"{method} {path} HTTP/1.1", "Host: localhost"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        return self.read(head_only=method == "HEAD")

    def closed_by_peer(self, timeout=5.0):
        """True when the server closes within TIMEOUT with nothing more sent."""
        try:
            rest = th.recv_until_close(self.sock, timeout)
        except TimeoutError:
            return False
        return rest == b""


def client(d, timeout=10.0):
    host, port = d.addr
    return http.client.HTTPConnection(host, port, timeout=timeout * th.timeout_scale())
