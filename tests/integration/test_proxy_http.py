"""triad-httpd as a reverse proxy to HTTP/1.1 application servers (interface.md,
"Application servers (httpd)"): routing by `proxy` rules and `fallback`, what is
forwarded (RFC 9110 §7.6.1 hop-by-hop fields, RFC 7239 Forwarded, X-Forwarded-*),
bodies both ways (RFC 9112 §6, §7), upstream keep-alive and retries (RFC 9112 §9.3.1),
failures (502 / 504, RFC 9110 §15.6.3, §15.6.5), smuggling-prone responses, WebSocket
upgrades (RFC 6455 §4), back-pressure, SIGHUP. Real servers: raw Python sockets
(misbehaving on purpose) and Debian's gunicorn with a WSGI app.
"""

import http.client
import json
import re
import signal
import socket
import threading
import time

import pytest

import triad_harness as th
from proxy_backends import RawBackend, echo, read_request, read_head, field, Gunicorn, requests


def start_proxy(start_daemon, triad_config, upstreams, global_overrides=None, **httpd):
    """httpd with [upstream NAME] sections (name -> {key: value}) and [httpd] overrides."""
    for name, keys in upstreams.items():
        triad_config.sections[f"upstream {name}"] = {k: str(v) for k, v in keys.items()}
    return start_daemon("httpd", config=triad_config, section_overrides=httpd,
                        global_overrides=global_overrides)


def get(d, path, method="GET", body=None, headers=None, version11=True):
    c = http.client.HTTPConnection(*d.addr, timeout=10 * th.timeout_scale())
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


@pytest.fixture
def backend():
    b = RawBackend(echo)
    yield b
    b.close()


def test_rule_forwards_method_target_host_and_forwarding_fields(start_daemon, triad_config,
                                                                backend):
    """Rules (interface.md): a matching request goes to the pool without looking for a file;
    target and Host as received; X-Forwarded-For appended; Forwarded (RFC 7239 §4)."""
    (triad_config.layout.www / "api").mkdir()
    (triad_config.layout.www / "api" / "x").write_text("a file the rule shadows")
    d = start_proxy(start_daemon, triad_config, {"app": {"servers": backend.address}},
                    proxy="/api/*=app")
    r, data = get(d, "/api/x?a=1&b=%20", headers={"Host": "shop.example",
                                                  "X-Forwarded-For": "203.0.113.9",
                                                  "Forwarded": "for=203.0.113.9"})
    assert r.status == 200
    seen = json.loads(data)
    assert seen["method"] == "GET" and seen["target"] == "/api/x?a=1&b=%20"
    f = seen["fields"]
    assert field(f, "host") == "shop.example"
    assert field(f, "x-forwarded-for") == "203.0.113.9, 127.0.0.1"
    assert field(f, "x-forwarded-proto") == "http"
    assert field(f, "x-forwarded-host") == "shop.example"
    assert field(f, "forwarded") == "for=203.0.113.9, for=127.0.0.1;proto=http;host=shop.example"
    # a path the rule does not match is served from files as before
    r, data = get(d, "/index.html")
    assert r.status == 200 and b"It works" in data


def test_forwarded_quotes_ipv6_and_port(start_daemon, triad_config, backend):
    """RFC 7239 §4, §6: an IPv6 node and a host with a port are quoted-strings."""
    port = th.free_port(also_v6=True)
    d = start_proxy(start_daemon, triad_config, {"app": {"servers": backend.address}},
                    proxy="/*=app", listen=f"[::1]:{port}")
    c = http.client.HTTPConnection("::1", port, timeout=10)
    c.request("GET", "/v6")
    r = c.getresponse()
    seen = json.loads(r.read())
    assert field(seen["fields"], "forwarded") == f'for="[::1]";proto=http;host="[::1]:{port}"'
    assert field(seen["fields"], "x-forwarded-for") == "::1"


def test_hop_by_hop_fields_are_dropped_both_ways(start_daemon, triad_config):
    """RFC 9110 §7.6.1: Connection, the fields it names, Keep-Alive, TE, Trailer,
    Transfer-Encoding, Upgrade and Proxy-* are not forwarded, in either direction."""
    def handler(s, f, b):
        req = read_request(f)
        b.record(req)
        s.sendall(b"HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\n"
                  b"Keep-Alive: timeout=5\r\nProxy-Authenticate: Basic\r\nX-Kept: yes\r\n"
                  b"Content-Length: 2\r\n\r\nok")
    b = RawBackend(handler)
    try:
        d = start_proxy(start_daemon, triad_config, {"app": {"servers": b.address}},
                        proxy="/*=app")
        raw = th.tcp_exchange(d.addr, b"GET /h HTTP/1.1\r\nHost: h\r\nConnection: close, X-Foo\r\n"
                              b"X-Foo: 1\r\nKeep-Alive: 300\r\nTE: trailers\r\nUpgrade: h2c\r\n"
                              b"Proxy-Authorization: x\r\nX-Bar: 2\r\n\r\n")
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and body == b"ok"
        for name in (b"X-Secret", b"Keep-Alive", b"Proxy-Authenticate"):
            assert name not in head
        assert b"X-Kept: yes" in head
        names = {n.lower() for n, _ in b.requests[0]["fields"]}
        assert "x-bar" in names
        for name in ("x-foo", "keep-alive", "te", "upgrade", "proxy-authorization"):
            assert name not in names
        assert field(b.requests[0]["fields"], "connection") in (None, "keep-alive")
    finally:
        b.close()


def test_request_bodies_streamed(start_daemon, triad_config, backend):
    """RFC 9112 §6.2, §7.1: Content-Length and chunked request bodies reach the server
    whole (chunked is forwarded chunked); over max_body_size: 413 (RFC 9110 §15.5.14)."""
    d = start_proxy(start_daemon, triad_config, {"app": {"servers": backend.address}},
                    proxy="/*=app", max_body_size="2M")
    big = bytes(range(256)) * 6000  # 1.5 MB
    r, data = get(d, "/up", method="POST", body=big, headers={"Content-Type": "x/y"})
    seen = json.loads(data)
    assert r.status == 200 and seen["body"].encode("latin-1") == big
    assert field(seen["fields"], "content-length") == str(len(big))

    def chunks():
        yield b"hello "
        yield b"world"
    c = http.client.HTTPConnection(*d.addr, timeout=10)
    c.request("PUT", "/chunked", body=chunks(), encode_chunked=True,
              headers={"Transfer-Encoding": "chunked"})
    seen = json.loads(c.getresponse().read())
    assert seen["body"] == "hello world" and seen["chunked"] and seen["method"] == "PUT"
    raw = th.tcp_exchange(d.addr, b"POST /big HTTP/1.1\r\nHost: h\r\nContent-Length: 3000000"
                          b"\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 413")


def test_response_framings(start_daemon, triad_config):
    """RFC 9112 §6.3: Content-Length, chunked and close-delimited server bodies; an
    HTTP/1.1 client gets an unknown-length body chunked, an HTTP/1.0 client until close."""
    def handler(s, f, b):
        req = read_request(f)
        if req["target"] == "/cl":
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        elif req["target"] == "/chunked":
            s.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
        else:
            s.sendall(b"HTTP/1.0 200 OK\r\n\r\nuntil close")
    b = RawBackend(handler)
    try:
        d = start_proxy(start_daemon, triad_config, {"app": {"servers": b.address}},
                        proxy="/*=app")
        r, data = get(d, "/cl")
        assert data == b"hello" and r.getheader("Content-Length") == "5"
        r, data = get(d, "/chunked")
        assert data == b"hello world" and r.getheader("Transfer-Encoding") == "chunked"
        r, data = get(d, "/close")
        assert data == b"until close" and r.getheader("Transfer-Encoding") == "chunked"
        raw = th.tcp_exchange(d.addr, b"GET /close HTTP/1.0\r\n\r\n")
        head, _, body = raw.partition(b"\r\n\r\n")
        assert body == b"until close" and b"Transfer-Encoding" not in head
        assert b"Connection: close" in head
    finally:
        b.close()


def test_interim_1xx_dropped(start_daemon, triad_config):
    """RFC 9110 §15.2: 100 and 103 from the server are interim; the client gets the final
    response."""
    def handler(s, f, b):
        read_request(f)
        s.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                  b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
    b = RawBackend(handler)
    try:
        d = start_proxy(start_daemon, triad_config, {"app": {"servers": b.address}},
                        proxy="/*=app")
        r, data = get(d, "/x")
        assert r.status == 201 and data == b"ok"
    finally:
        b.close()


def test_fallback_only_when_no_file(start_daemon, triad_config, backend):
    """Fallback (interface.md): no file and no directory with an index: to the pool with
    method and body; a dot segment is 404 and never reaches the pool."""
    www = triad_config.layout.www
    (www / "dir").mkdir()
    (www / "dir" / "index.html").write_text("dir index")
    (www / "empty").mkdir()
    d = start_proxy(start_daemon, triad_config, {"app": {"servers": backend.address}},
                    fallback="app")
    assert get(d, "/index.html")[1].startswith(b"<!doctype")
    assert get(d, "/dir/")[1] == b"dir index"
    r, data = get(d, "/shop/cart?id=3", method="POST", body=b"qty=2")
    seen = json.loads(data)
    assert r.status == 200 and seen["method"] == "POST" and seen["body"] == "qty=2"
    assert seen["target"] == "/shop/cart?id=3"
    assert json.loads(get(d, "/empty/")[1])["target"] == "/empty/"
    before = len(backend.requests)
    for path in ("/.git/config", "/a/.env", "/.hidden"):
        assert get(d, path)[0].status == 404
    assert len(backend.requests) == before
    # a file that exists still refuses POST as before
    assert get(d, "/index.html", method="POST", body=b"x")[0].status == 405


def test_upstream_keepalive_reuses_connections(start_daemon, triad_config, backend):
    """`keepalive`: idle upstream connections are reused by the next requests; with
    keepalive = 0 each request gets its own (and says Connection: close)."""
    d = start_proxy(start_daemon, triad_config, {"app": {"servers": backend.address,
                                                         "keepalive": 4}},
                    proxy="/*=app", **{})
    for i in range(6):
        assert get(d, f"/k{i}")[0].status == 200
    assert backend.connections <= 2  # two workers at most


def test_upstream_keepalive_cap_per_pool(start_daemon, triad_config):
    """`keepalive` (interface.md) caps each pool's idle connections per worker on its own:
    after 6 concurrent slow requests to pool a (6 upstream connections), at most
    keepalive x workers stay open, the others are closed; pool b's idle connections are
    not counted against a's, and each pool reuses only its own (a connection to a's
    server never carries a request for b)."""
    gate = threading.Event()

    def slow(s, f, b):
        for req in requests(f, b):
            if req["target"].startswith("/slow"):
                gate.wait(10 * th.timeout_scale())
            body = req["target"].encode()
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    a, b = RawBackend(slow), RawBackend(slow)
    try:
        d = start_proxy(start_daemon, triad_config,
                        {"a": {"servers": a.address, "keepalive": 1},
                         "b": {"servers": b.address, "keepalive": 1}},
                        proxy="/b/*=b /*=a")
        results = []

        def one(i):
            results.append(get(d, f"/slow{i}")[1])

        threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        th.wait_until(lambda: len(a.requests) == 6, 10, "6 requests at pool a's server")
        assert a.connections == 6
        gate.set()
        for t in threads:
            t.join()
        assert sorted(results) == sorted(f"/slow{i}".encode() for i in range(6))
        # 2 workers x keepalive 1: the other 4 connections are closed by triad
        th.wait_until(lambda: len(a.live) <= 2, 10, "pool a's extra connections closed")
        for i in range(4):
            assert get(d, f"/b/x{i}")[1] == f"/b/x{i}".encode()
            assert get(d, f"/y{i}")[1] == f"/y{i}".encode()
        # b's own idle connection reused (4 requests, at most one new per worker), though
        # a's idle connections fill a's quota; a's 4 requests reuse a's kept ones (a
        # worker that kept none opens one, and keeps it)
        assert b.connections <= 2
        assert a.connections <= 6 + 2
        assert all(not r["target"].startswith("/b/") for r in a.requests)
        assert all(r["target"].startswith("/b/") for r in b.requests)
    finally:
        gate.set()
        a.close()
        b.close()


def test_upstream_keepalive_zero(start_daemon, triad_config, backend):
    """keepalive = 0: one upstream connection per request, each saying Connection: close."""
    d = start_proxy(start_daemon, triad_config, {"app": {"servers": backend.address,
                                                         "keepalive": 0}}, proxy="/*=app")
    for i in range(3):
        assert get(d, f"/n{i}")[0].status == 200
    assert backend.connections == 3
    assert all(field(r["fields"], "connection") == "close" for r in backend.requests)


def test_failures_502_504_and_error_log(start_daemon, triad_config):
    """Failures (interface.md): nothing reachable 502, no head within `timeout` 504, a
    malformed head 502, both CL and TE or differing CLs 502 (RFC 9112 §6.3 rule 3); one
    error log line naming pool, server and why."""
    def handler(s, f, b):
        req = read_request(f)
        t = req["target"]
        if t == "/bad":
            s.sendall(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n")
        elif t == "/clte":
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n"
                      b"\r\n0\r\n\r\n")
        elif t == "/clcl":
            s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd")
        elif t == "/silent":
            time.sleep(3)
        elif t == "/close":
            pass
    b = RawBackend(handler)
    dead = th.free_port()
    try:
        d = start_proxy(start_daemon, triad_config,
                        {"app": {"servers": b.address, "timeout": "1s", "fail_timeout": "0"},
                         "dead": {"servers": f"127.0.0.1:{dead}"}},
                        proxy="/dead/*=dead /*=app")
        for path, status, why in (("/bad", 502, "bad head"), ("/clte", 502, "bad head"),
                                  ("/clcl", 502, "bad head"),
                                  ("/close", 502, "closed without a response"),
                                  ("/dead/x", 502, "refused"), ("/silent", 504, "timeout")):
            off = d._log_size()
            t0 = time.monotonic()
            r, data = get(d, path)
            assert r.status == status, path
            assert f"<h1>{status}" in data.decode()
            server = f"127.0.0.1:{dead}" if path.startswith("/dead") else b.address
            pool = "dead" if path.startswith("/dead") else "app"
            d.wait_log(rf"upstream pool={pool} server={re.escape(server)} error={why}", offset=off)
            if path == "/silent":
                assert time.monotonic() - t0 < 2.5 * th.timeout_scale()
        log = (triad_config.layout.etc / "access.log").read_text()
        assert re.search(r'"GET /dead/x HTTP/1.1" 502 \d+ "-" "Python-urllib|"GET /dead/x HTTP/1.1" 502 ',
                         log)
    finally:
        b.close()


def test_cut_body_closes_client(start_daemon, triad_config):
    """A response cut after its head closes the client connection: never a short body on a
    kept-alive connection (interface.md)."""
    def handler(s, f, b):
        read_request(f)
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
    b = RawBackend(handler)
    try:
        d = start_proxy(start_daemon, triad_config, {"app": {"servers": b.address}},
                        proxy="/*=app")
        raw = th.tcp_exchange(d.addr, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n"
                              b"Host: h\r\n\r\n")
        assert raw.count(b"HTTP/1.1 200") == 1  # closed: the second request is never answered
        assert raw.endswith(b"only this")
    finally:
        b.close()


def test_retry_next_server_and_fail_timeout(start_daemon, triad_config, backend):
    """Round robin; a refused server is retried on the next (nothing was sent) and then
    skipped by every worker for fail_timeout."""
    dead = th.free_port()
    d = start_proxy(start_daemon, triad_config,
                    {"app": {"servers": f"127.0.0.1:{dead} {backend.address}",
                             "fail_timeout": "30s"}}, proxy="/*=app")
    off = d._log_size()
    for i in range(6):
        r, _ = get(d, f"/r{i}")
        assert r.status == 200
    refused = len(re.findall(r"error=refused", d._log_since(off)))
    assert refused == 1
    assert len(backend.requests) == 6


def test_all_servers_failed_are_tried_anyway(start_daemon, triad_config):
    """fail_timeout: when every server of the pool is being skipped they are tried anyway."""
    port = th.free_port()
    d = start_proxy(start_daemon, triad_config,
                    {"app": {"servers": f"127.0.0.1:{port}", "fail_timeout": "1h"}},
                    proxy="/*=app")
    assert get(d, "/a")[0].status == 502
    b = RawBackend(echo)
    b.sock.close()
    late = socket.socket()
    late.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    late.bind(("127.0.0.1", port))
    late.listen(8)
    b.sock = late
    b.stopped = False
    threading.Thread(target=b._accept, daemon=True).start()
    try:
        assert get(d, "/b")[0].status == 200
    finally:
        b.close()


def test_reused_connection_closed_by_server_is_retried(start_daemon, triad_config):
    """RFC 9112 §9.3.1: an idempotent request on a reused idle connection that the server
    closed before answering is sent again on a fresh connection; a POST is not (502)."""
    def handler(s, f, b):
        # answers one request, then takes the next one and closes without an answer
        echo(s, f, b, close_after=1)
        read_request(f)
    b = RawBackend(handler)
    try:
        d = start_proxy(start_daemon, triad_config,
                        {"app": {"servers": b.address, "keepalive": 8}}, proxy="/*=app",
                        global_overrides={"workers": 1})
        c = http.client.HTTPConnection(*d.addr, timeout=10)
        for i in range(4):
            c.request("GET", f"/g{i}")
            r = c.getresponse()
            assert r.status == 200 and json.loads(r.read())["target"] == f"/g{i}"
        # each GET after the first met a closing reused connection, then a fresh one
        assert b.connections == 4 and len(b.requests) == 4
        c.request("POST", "/p", body=b"once")
        r = c.getresponse()
        r.read()
        assert r.status == 502
    finally:
        b.close()


def test_websocket_passthrough(start_daemon, triad_config):
    """RFC 6455 §4: Upgrade: websocket is passed on; after 101 bytes flow both ways."""
    def handler(s, f, b):
        first, fields = read_head(f)
        b.record({"first": first, "fields": fields})
        s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n")
        while True:
            data = s.recv(4096)
            if not data:
                return
            s.sendall(data.upper())
    b = RawBackend(handler)
    try:
        d = start_proxy(start_daemon, triad_config, {"app": {"servers": b.address}},
                        proxy="/ws=app")
        with th.connect(d.addr, 5) as s:
            s.sendall(b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13"
                      b"\r\n\r\n")
            buf = b""
            while b"\r\n\r\n" not in buf:
                buf += s.recv(4096)
            head, _, rest = buf.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101")
            assert b"Upgrade: websocket" in head and b"Sec-WebSocket-Accept:" in head
            s.sendall(b"frame-one")
            got = rest
            while len(got) < 9:
                got += s.recv(4096)
            assert got == b"FRAME-ONE"
        f = b.requests[0]["fields"]
        assert field(f, "upgrade") == "websocket" and "upgrade" in field(f, "connection").lower()
    finally:
        b.close()


def test_other_upgrades_not_passed(start_daemon, triad_config, backend):
    """Only websocket upgrades are passed on (interface.md)."""
    d = start_proxy(start_daemon, triad_config, {"app": {"servers": backend.address}},
                    proxy="/*=app")
    r, data = get(d, "/h2", headers={"Upgrade": "h2c", "Connection": "Upgrade"})
    assert r.status == 200
    names = {n.lower() for n, _ in json.loads(data)["fields"]}
    assert "upgrade" not in names


def test_slow_client_back_pressure(start_daemon, triad_config):
    """Responses are streamed with back-pressure: a client that does not read stops the
    read from the server, and triad-httpd's memory stays bounded (interface.md)."""
    total = 64 * 1024 * 1024
    sent = [0]

    def handler(s, f, b):
        read_request(f)
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % total)
        chunk = b"x" * 65536
        while sent[0] < total:
            s.sendall(chunk)
            sent[0] += len(chunk)
    b = RawBackend(handler)
    try:
        d = start_proxy(start_daemon, triad_config, {"app": {"servers": b.address,
                                                             "timeout": "2s"}},
                        proxy="/*=app")
        def rss():
            for line in open(f"/proc/{d.pid}/status"):
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        base = rss()
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        try:
            s.connect(d.addr)
            s.sendall(b"GET /big HTTP/1.1\r\nHost: h\r\n\r\n")
            time.sleep(3)  # longer than `timeout`: waiting for the client does not count
            stalled = sent[0]
            assert stalled < 16 * 1024 * 1024, stalled
            # ASan's allocator keeps freed memory in quarantine: a looser bound there,
            # still far below the 64 MiB an unbounded buffer would take
            allowed = (48 if th.sanitized() else 8) * 1024
            assert rss() - base < allowed, (base, rss())
            got = 0
            s.settimeout(10 * th.timeout_scale())
            while got < total:
                data = s.recv(1 << 20)
                if not data:
                    break
                got += len(data)
            assert got >= total  # the whole body arrived after the stall
        finally:
            s.close()
    finally:
        b.close()


def test_sighup_rereads_upstreams(start_daemon, triad_config):
    """SIGHUP re-reads [upstream] sections for new requests; an invalid one is refused and
    the old configuration stays (interface.md)."""
    one, two = RawBackend(echo), RawBackend(echo)
    try:
        d = start_proxy(start_daemon, triad_config, {"app": {"servers": one.address}},
                        proxy="/*=app")
        assert get(d, "/a")[0].status == 200 and len(one.requests) == 1
        triad_config.sections["upstream app"]["servers"] = two.address
        triad_config.write()
        d.reload()
        assert get(d, "/b")[0].status == 200 and len(two.requests) == 1
        triad_config.sections["upstream app"]["servers"] = "not-an-address"
        triad_config.write()
        text = d.reload()
        assert re.search(r"servers", text)
        assert get(d, "/c")[0].status == 200 and len(two.requests) == 2
    finally:
        one.close()
        two.close()


def test_gunicorn_wsgi_app(start_daemon, triad_config):
    """A Python app under Debian's gunicorn: GET, POST, a streamed (chunked) response."""
    g = Gunicorn(triad_config.layout.base / "gunicorn")
    try:
        d = start_proxy(start_daemon, triad_config, {"py": {"servers": g.address}},
                        fallback="py")
        r, data = get(d, "/hello?x=1", headers={"Host": "app.example"})
        seen = json.loads(data)
        assert r.status == 200 and seen["path"] == "/hello" and seen["query"] == "x=1"
        assert seen["host"] == "app.example" and seen["xff"] == "127.0.0.1"
        assert seen["proto"] == "http"
        r, data = get(d, "/form", method="POST", body=b"a=1&b=2",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert json.loads(data)["body"] == "a=1&b=2"
        r, data = get(d, "/stream")
        assert r.status == 200 and data == b"".join(b"line %d\n" % i for i in range(1000))
    finally:
        g.stop()


def test_fallback_uses_the_sites_docroot(start_daemon, triad_config, backend):
    """With [site NAME] sections the file check of `fallback` and `proxy` runs in the
    chosen site's docroot (interface.md, Sites): a file of the site is served, a path
    only [httpd]'s docroot has goes to the pool for that site's host."""
    site_www = triad_config.layout.root / "sites" / "shop" / "www"
    site_www.mkdir(parents=True)
    (site_www / "shop.html").write_text("shop page")
    triad_config.layout.give_to_run_user()
    triad_config.sections["site shop"] = {"hosts": "shop.example",
                                          "docroot": "sites/shop/www"}
    d = start_proxy(start_daemon, triad_config, {"app": {"servers": backend.address}},
                    fallback="app")
    r, data = get(d, "/shop.html", headers={"Host": "shop.example"})
    assert r.status == 200 and data == b"shop page"
    r, data = get(d, "/index.html", headers={"Host": "shop.example"})
    assert r.status == 200 and json.loads(data)["target"] == "/index.html"
    r, data = get(d, "/index.html", headers={"Host": "other.example"})
    assert data.startswith(b"<!doctype")
    r, data = get(d, "/shop.html", headers={"Host": "other.example"})
    assert json.loads(data)["target"] == "/shop.html"
