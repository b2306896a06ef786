"""triad-httpd: HTTP/1.1 message handling (RFC 9112) and methods (RFC 9110 §9).

Issue 3, "Protocol" and "Methods": persistent connections and pipelining, Host, the
target forms, Expect: 100-continue, Connection: close both ways, strict parsing with a
400 and a close for anything ambiguous, the limits (414, 431, 413) and the timeouts.
Raw sockets throughout: the exact bytes are the point.
"""

import socket
import time

import pytest

import triad_harness as th
from test_http_helpers import KeepAlive, get, httpd, one, raw, responses


@pytest.fixture
def site(triad_root):
    (triad_root.www / "a.txt").write_text("alpha\n")
    (triad_root.www / "b.txt").write_text("bravo!\n")
    (triad_root.www / "c.txt").write_text("charlie\n")
    triad_root.give_to_run_user()
    return triad_root


def test_get_and_head(site, start_daemon):
    """RFC 9110 §9.3.1/§9.3.2: HEAD gets the same header fields as GET and no content;
    every response carries Date, Server, an exact Content-Length and nosniff."""
    d = httpd(start_daemon)
    g = get(d, "/a.txt")
    h = get(d, "/a.txt", method="HEAD")
    assert g.status == h.status == 200
    assert g.body == b"alpha\n"
    assert g.h("content-length") == "6"
    assert g.h("content-type") == "text/plain; charset=utf-8"
    assert g.h("server") == "triad/0.1.0"
    assert g.h("x-content-type-options") == "nosniff"
    assert g.h("accept-ranges") == "bytes"
    assert g.h("etag").startswith('"') and g.h("last-modified").endswith("GMT")
    assert {k: v for k, v in g.headers.items() if k != "date"} == \
           {k: v for k, v in h.headers.items() if k != "date"}
    # the HEAD response really has no body: the stream ends after the head
    data = raw(d, b"HEAD /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.endswith(b"\r\n\r\n") and data.count(b"\r\n\r\n") == 1


def test_keep_alive_and_pipelining(site, start_daemon):
    """RFC 9112 §9.3 (persistence), §9.3.2 (pipelining): several requests in one write
    are answered in order on the same connection; Connection: close ends it (§9.6)."""
    d = httpd(start_daemon)
    batch = b"".join(f"GET /{n}.txt HTTP/1.1\r\nHost: x\r\n\r\n".encode() for n in "abcab")
    batch += b"HEAD /c.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    batch += b"GET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    rs = responses(raw(d, batch), heads=(5,))
    assert [r.body for r in rs] == [b"alpha\n", b"bravo!\n", b"charlie\n", b"alpha\n",
                                    b"bravo!\n", b"", b"bravo!\n"]
    assert all(r.status == 200 for r in rs)
    assert rs[-1].h("connection") == "close"
    assert all(r.h("connection") is None for r in rs[:-1])
    with KeepAlive(d.addr) as k:
        for _ in range(3):
            assert k.request("/a.txt").body == b"alpha\n"


def test_http10(site, start_daemon):
    """RFC 9112 §9.3: an HTTP/1.0 request closes unless it asks for keep-alive; no Host
    is needed in 1.0."""
    d = httpd(start_daemon)
    r = one(d, b"GET /a.txt HTTP/1.0\r\n\r\n")
    assert r.status == 200 and r.body == b"alpha\n" and r.h("connection") == "close"
    with KeepAlive(d.addr) as k:
        k.send(b"GET /a.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = k.read()
        assert r.h("connection") == "keep-alive"
        k.send(b"GET /b.txt HTTP/1.0\r\n\r\n")
        assert k.read().body == b"bravo!\n"
        assert k.closed_by_peer()


def test_absolute_form(site, start_daemon):
    """RFC 9112 §3.2.2: absolute-form is accepted (its authority wins over Host) for the
    http and https schemes only."""
    d = httpd(start_daemon)
    r = one(d, b"GET http://localhost/a.txt HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n")
    assert r.status == 200 and r.body == b"alpha\n"
    r = one(d, b"GET ftp://localhost/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert r.status == 400


def test_methods(site, start_daemon):
    """RFC 9110 §9.3.7 OPTIONS (also "*"), §15.5.6 405 with Allow for a known method
    the resource does not allow, §15.6.2 501 for an unknown one."""
    d = httpd(start_daemon)
    for target in ("*", "/a.txt"):
        r = one(d, f"OPTIONS {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        assert r.status == 200 and r.h("allow") == "GET, HEAD, OPTIONS"
        assert r.h("content-length") == "0"
    for m in ("POST", "PUT", "DELETE", "PATCH", "TRACE"):
        r = get(d, "/a.txt", method=m)
        assert r.status == 405, m
        assert r.h("allow") == "GET, HEAD, OPTIONS"
    assert get(d, "/a.txt", method="BREW").status == 501


def test_body_discarded_keeps_sync(site, start_daemon):
    """RFC 9112 §6.3: a request body (Content-Length or chunked) is read and dropped so
    the next pipelined request is parsed where it starts, never from the body."""
    d = httpd(start_daemon)
    smuggled = b"GET /c.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    data = (b"POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(smuggled)
            + smuggled
            + b"GET /a.txt HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n"
            + b"GET /b.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    rs = responses(raw(d, data))
    assert [r.status for r in rs] == [405, 200, 200]
    assert rs[1].body == b"alpha\n" and rs[2].body == b"bravo!\n"


def test_expect_continue(site, start_daemon):
    """RFC 9110 §10.1.1: 100 (Continue) before the body is read; the final response
    follows the body."""
    d = httpd(start_daemon)
    with KeepAlive(d.addr) as k:
        k.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               b"Content-Length: 5\r\n\r\n")
        interim = k.read()
        assert interim.status == 100 and interim.raw_head == b"HTTP/1.1 100 Continue\r\n\r\n"
        k.send(b"hello")
        r = k.read()
        assert r.status == 200 and r.body == b"alpha\n"
    r = one(d, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nConnection: close\r\n\r\n")
    assert r.status == 417


# One row per malformed head (RFC 9112 §2.2, §3, §5, §6.1, §6.3; RFC 9110 §5.5, §8.6):
# each gets its status, Connection: close, and the connection ends.
MALFORMED = [
    ("cl-and-te", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("differing-cl", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                     b"Content-Length: 4\r\n\r\nabcd", 400),
    ("cl-list-differs", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 4\r\n\r\nabcd", 400),
    ("cl-not-number", b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc", 400),
    ("chunk-size-hex", b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"zz\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk-size-digits", b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                          b"00000000000000005\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk-size-huge", b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                        b"1ffffffffffffffffff\r\n", 413),
    ("chunk-size-empty", b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"\r\nhello\r\n0\r\n\r\n", 400),
    ("chunk-size-space", b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         b"5 \r\nhello\r\n0\r\n\r\n", 400),
    ("chunk-no-crlf", b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5\r\nhelloX\r\n0\r\n\r\n", 400),
    ("te-not-chunked", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
     501),
    ("te-gzip-only", b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
    ("te-chunked-twice", b"POST / HTTP/1.1\r\nHost: x\r\n"
                         b"Transfer-Encoding: chunked, chunked\r\n\r\n", 400),
    ("te-http10", b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  continued\r\n\r\n", 400),
    ("space-before-colon", b"GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400),
    ("tab-before-colon", b"GET / HTTP/1.1\r\nHost: x\r\nX-A\t: 1\r\n\r\n", 400),
    ("bare-cr-field", b"GET / HTTP/1.1\r\nHost: x\rX-A: 1\r\n\r\n", 400),
    ("bare-cr-line", b"GET / HTTP/1.1\rHost: x\r\n\r\n", 400),
    ("bare-lf", b"GET / HTTP/1.1\nHost: x\n\n", 400),
    ("ctl-in-target", b"GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("del-in-target", b"GET /a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("space-in-target", b"GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("tab-in-line", b"GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("nul-in-field", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", 400),
    ("fragment", b"GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("missing-host", b"GET / HTTP/1.1\r\n\r\n", 400),
    ("two-hosts", b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
    ("bad-host", b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
    ("http2", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    ("http3", b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
    ("bad-version", b"GET / HTTP/1\r\nHost: x\r\n\r\n", 400),
    ("lowercase-version", b"GET / http/1.1\r\nHost: x\r\n\r\n", 400),
    ("asterisk-get", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("no-target", b"GET  HTTP/1.1\r\nHost: x\r\n\r\n", 400),
]


@pytest.mark.parametrize("name,data,status", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed(name, data, status, site, start_daemon):
    d = httpd(start_daemon)
    r = one(d, data)  # one() also requires the connection to end after the answer
    assert r.status == status, r
    assert r.h("connection") == "close"
    assert r.h("content-type") == "text/html; charset=utf-8"


def test_limits(site, start_daemon):
    """RFC 9112 §3 (414 for a long request line), RFC 6585 §5 (431 for a header block
    too large or with too many fields), RFC 9110 §15.5.14 (413 for a body over
    max_body_size, Content-Length or chunked); each closes the connection."""
    d = httpd(start_daemon, max_request_line="1K", max_header_size="4K",
              max_body_size="1K")
    ok = one(d, b"GET /" + b"a/" * 450 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert ok.status == 404
    r = one(d, b"GET /" + b"a" * 1100 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.status == 414 and r.h("connection") == "close"
    # 414 as soon as the line is too long, without waiting for its end
    with th.connect(d.addr) as s:
        s.sendall(b"GET /" + b"a" * 2000)
        assert th.recv_until_close(s).startswith(b"HTTP/1.1 414 ")
    r = one(d, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 5000 + b"\r\n\r\n")
    assert r.status == 431
    many = b"".join(b"X-%d: v\r\n" % i for i in range(101))
    r = one(d, b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert r.status == 431
    fine = b"".join(b"X-%d: v\r\n" % i for i in range(98))
    assert one(d, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + fine
               + b"\r\n").status == 200
    r = one(d, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n")
    assert r.status == 413 and r.h("connection") == "close"
    r = one(d, b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"401\r\n" + b"x" * 1025 + b"\r\n0\r\n\r\n")
    assert r.status == 413
    body = b"y" * 1024
    r = one(d, b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1024"
               b"\r\n\r\n" + body)
    assert r.status == 200


def test_large_max_header_size_is_honoured(site, start_daemon):
    """RFC 6585 §5: max_header_size above the conn's default 64 KiB input buffer holds as
    set: a 100 KiB head passes with 128K (also after the connection was parked idle), a
    130 KiB one is 431; with the default 32K a 100 KiB head is 431."""
    d = httpd(start_daemon, max_header_size="128K")
    big = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-%d: %s\r\n" % (i, b"v" * 2000) for i in range(50))
    assert 100_000 < len(big) < 128 * 1024
    r = one(d, big + b"Connection: close\r\n\r\n", timeout=10)
    assert r.status == 200 and r.body == b"alpha\n"
    with KeepAlive(d.addr, timeout=10) as k:
        assert k.request("/a.txt").status == 200
        time.sleep(1)  # parked: the rebuilt connection gets the large buffer again
        k.send(big + b"\r\n")
        assert k.read().status == 200
    huge = big + b"X-more: " + b"w" * (30 * 1024) + b"\r\n\r\n"
    assert one(d, huge, timeout=10).status == 431
    d2 = httpd(start_daemon)
    assert one(d2, big + b"Connection: close\r\n\r\n", timeout=10).status == 431


def test_header_timeout_drops_slow_client(site, start_daemon):
    """Issue 3: a client that does not complete its head within header_timeout is
    dropped (408, RFC 9110 §15.5.9), even when it trickles bytes to look alive."""
    d = httpd(start_daemon, header_timeout="1s")
    t0 = time.monotonic()
    with th.connect(d.addr, timeout=10) as s:
        for ch in b"GET / HTTP/1.1\r\nHost: x\r\n":
            try:
                s.sendall(bytes([ch]))
            except OSError:
                break
            time.sleep(0.1)
            if time.monotonic() - t0 > 4 * th.timeout_scale():
                break
        data = th.recv_until_close(s, timeout=5)
    assert data.startswith(b"HTTP/1.1 408 "), data[:100]
    assert time.monotonic() - t0 < 4 * th.timeout_scale()
    # a connection that never sends anything is closed silently
    with th.connect(d.addr) as s:
        assert th.recv_until_close(s, timeout=5) == b""


def test_keepalive_timeout(site, start_daemon):
    """RFC 9112 §9.8: an idle persistent connection is closed after keepalive_timeout."""
    d = httpd(start_daemon, keepalive_timeout="1s")
    with KeepAlive(d.addr) as k:
        assert k.request("/a.txt").status == 200
        t0 = time.monotonic()
        assert k.closed_by_peer(timeout=5)
        assert 0.5 < time.monotonic() - t0 < 4 * th.timeout_scale()


def test_concurrent_keepalive(site, start_daemon):
    """500 concurrent keep-alive connections, two requests each, all answered."""
    d = httpd(start_daemon)
    n = 500
    socks = [th.connect(d.addr, timeout=20) for _ in range(n)]
    try:
        want = None
        for rnd in range(2):
            # the last round lets the server close first: no client-side TIME_WAIT
            # ports left behind for the next tests' port picking
            req = b"GET /a.txt HTTP/1.1\r\nHost: x\r\n%s\r\n" % (
                b"Connection: close\r\n" if rnd else b"")
            for s in socks:
                s.sendall(req)
            for s in socks:
                buf = b""
                while b"alpha\n" not in buf:
                    chunk = s.recv(4096)
                    assert chunk, "closed"
                    buf += chunk
                r = responses(buf)[0]
                assert r.status == 200
                want = want or r.body
                assert r.body == want
        for s in socks:
            assert th.recv_until_close(s) == b""
    finally:
        for s in socks:
            s.close()


def test_half_close(site, start_daemon):
    """RFC 9112 §9.6: a client may half-close after its request; the response (a file
    larger than what one write sends) still arrives whole before the server closes."""
    (site.www / "big.bin").write_bytes(b"z" * (1 << 20))
    site.give_to_run_user()
    d = httpd(start_daemon)
    for req in (b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n",
                b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"):
        with th.connect(d.addr) as s:
            s.sendall(req)
            s.shutdown(socket.SHUT_WR)
            rs = responses(th.recv_until_close(s))
        assert rs[-1].status == 200 and len(rs[-1].body) == 1 << 20


def test_keepalive_off(site, start_daemon):
    """keepalive_timeout = 0: every response closes (RFC 9112 §9.6)."""
    d = httpd(start_daemon, keepalive_timeout="0")
    data = raw(d, b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    rs = responses(data)
    assert len(rs) == 1 and rs[0].h("connection") == "close"


def test_reload_keeps_established_connections(site, start_daemon):
    """SIGHUP (interface.md): new connections get the new configuration, an established
    keep-alive connection goes on under the one it started with."""
    d = httpd(start_daemon)
    with KeepAlive(d.addr) as old:
        assert old.request("/a.txt").h("server") == "triad/0.1.0"
        d.config.update("httpd", {"server_tokens": "off"})
        d.config.write()
        d.reload(expect=r"reload: done")
        assert get(d, "/a.txt").h("server") is None
        r = old.request("/b.txt")
        assert r.status == 200 and r.h("server") == "triad/0.1.0"


def test_send_timeout(site, start_daemon):
    """send_timeout: a client that stops reading a response is dropped once no byte
    could be sent for that long."""
    (site.www / "big.bin").write_bytes(b"q" * (32 << 20))
    site.give_to_run_user()
    d = httpd(start_daemon, send_timeout="1s")
    with th.connect(d.addr, timeout=20) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(2.5 * th.timeout_scale())
        got = 0
        try:
            got = len(th.recv_until_close(s, timeout=10, limit=64 << 20))
        except ConnectionResetError:
            pass
        assert got < 32 << 20


def test_garbage_never_crashes(site, start_daemon):
    """Random and mutated heads: every connection gets a well-formed answer or a close,
    and the daemon keeps serving (the sanitizer build checks memory safety)."""
    import random
    rnd = random.Random(1234)
    d = httpd(start_daemon, header_timeout="1s")
    base = (b"GET /a.txt?x=1 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1,3-\r\n"
            b"If-None-Match: \"a\", W/\"b\"\r\nAccept-Encoding: gzip;q=0.5, br\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    for i in range(150):
        if i % 3 == 0:
            data = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
        else:
            b = bytearray(base)
            for _ in range(rnd.randrange(1, 6)):
                b[rnd.randrange(len(b))] = rnd.choice(b"\x00\r\n :;,-=\"\\/%\x7f\xff09aZ")
            data = bytes(b)
        with th.connect(d.addr) as s:
            s.sendall(data + b"\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            try:
                out = th.recv_until_close(s, timeout=5)
            except ConnectionResetError:
                out = b""
        assert out == b"" or out.startswith(b"HTTP/1.1 "), (data, out[:100])
    assert get(d, "/a.txt").body == b"alpha\n"
