"""The response cache of proxied responses (interface.md, "Application servers (httpd)",
Cache; RFC 9111 storing and freshness, RFC 9211 Cache-Status, RFC 5861 stale-if-error):
what is stored and what never is, Vary, 304 from the cache, one upstream request for
concurrent misses, stale-if-error, the size bound, Cache-Status on every proxied response.
"""

import http.client
import json
import re
import socket
import threading
import time

import pytest

import triad_harness as th
from proxy_backends import RawBackend, read_request, field


def cache_backend(extra_for=None, delay=0.0):
    """Answers every request with a body naming the count, the target and its headers; the
    response fields come from EXTRA_FOR(target) (default: max-age=60)."""
    def handler(s, f, b):
        while True:
            req = read_request(f)
            if req is None:
                return
            b.record(req)
            if delay:
                time.sleep(delay)
            extra = (extra_for or (lambda t: b"Cache-Control: max-age=60\r\n"))(req["target"])
            body = json.dumps({"n": len(b.requests), "target": req["target"],
                               "ae": field(req["fields"], "accept-encoding")}).encode()
            status = b"404 Not Found" if req["target"].startswith("/missing") else b"200 OK"
            s.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Length: %d\r\n" % len(body) + extra
                      + b"\r\n" + (b"" if req["method"] == "HEAD" else body))
    return RawBackend(handler)


def start(start_daemon, triad_config, b, **httpd):
    triad_config.sections["upstream app"] = {"servers": b.address}
    httpd.setdefault("proxy", "/*=app")
    httpd.setdefault("cache", "1M")
    return start_daemon("httpd", config=triad_config, section_overrides=httpd)


def get(d, path, method="GET", headers=None, body=None):
    c = http.client.HTTPConnection(*d.addr, timeout=10 * th.timeout_scale())
    c.request(method, path, headers=headers or {}, body=body)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def test_hit_after_miss_and_cache_status(start_daemon, triad_config):
    """A fresh entry is served without contacting the server (RFC 9111 §4); Cache-Status
    says miss/stored, then hit (RFC 9211 §2); Age counts (RFC 9111 §5.1)."""
    b = cache_backend()
    try:
        d = start(start_daemon, triad_config, b)
        r, first = get(d, "/page?x=1")
        assert r.status == 200
        assert r.getheader("Cache-Status") == "triad; fwd=uri-miss; fwd-status=200; stored"
        for _ in range(3):
            r, again = get(d, "/page?x=1")
            assert again == first
            assert r.getheader("Cache-Status").startswith("triad; hit; ttl=")
            assert r.getheader("Age") is not None
        assert len(b.requests) == 1
        r, _ = get(d, "/page?x=2")  # the query is part of the key
        assert "fwd=uri-miss" in r.getheader("Cache-Status")
        assert len(b.requests) == 2
        r, data = get(d, "/page?x=1", method="HEAD")  # HEAD from the GET's entry
        assert r.getheader("Cache-Status").startswith("triad; hit") and data == b""
        assert r.getheader("Content-Length") == str(len(first))
        assert len(b.requests) == 2
    finally:
        b.close()


def raw_exchange(d, request, head_only=False):
    """The whole response to one raw REQUEST, framed by its Content-Length."""
    s = socket.create_connection(d.addr, timeout=10 * th.timeout_scale())
    s.sendall(request)
    out = b""
    while b"\r\n\r\n" not in out:
        data = s.recv(65536)
        assert data, out
        out += data
    head = out[:out.index(b"\r\n\r\n") + 4]
    m = re.search(rb"\r\nContent-Length: (\d+)\r\n", head)
    want = len(head) + (0 if head_only or not m else int(m.group(1)))
    while len(out) < want:
        data = s.recv(65536)
        assert data, out
        out += data
    s.close()
    assert len(out) == want, out
    return out


def masked(response):
    """RESPONSE with the values of Date and Cache-Status blanked (the lines stay) and Age
    left out (a miss passes the server's, if any; a hit sends its own)."""
    head, sep, body = response.partition(b"\r\n\r\n")
    lines = [re.sub(rb"^(Date|Cache-Status): .*$", rb"\1: -", line, flags=re.I)
             for line in head.split(b"\r\n") if not line.lower().startswith(b"age:")]
    return b"\r\n".join(lines) + sep + body


def test_hit_bytes_are_the_miss_bytes(start_daemon, triad_config):
    """A hit is sent from a prebuilt piece of the entry (fields, Content-Length, body); its
    bytes are the miss's but for the values of Date, Age and Cache-Status (RFC 9111 §4:
    the stored response; §5.1 Age; RFC 9211 Cache-Status), for GET and HEAD (RFC 9110
    §9.3.2), for 200 and 404, with HTTP/1.0 and 1.1."""
    extra = (b'Cache-Control: max-age=60\r\nETag: "e1"\r\nX-App: one\r\nX-App: two\r\n'
             b"Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\nAge: 3\r\n")
    b = cache_backend(lambda t: extra)
    try:
        d = start(start_daemon, triad_config, b)
        n = 0
        for path in ("/bytes", "/missing-bytes"):
            for version, conn in (("1.1", "close"), ("1.0", "keep-alive")):
                def req(method):
                    return (f"{method} {path}?{version}{conn} HTTP/{version}\r\n"
                            f"Host: x\r\nConnection: {conn}\r\n\r\n").encode()
                miss = raw_exchange(d, req("GET"))
                assert b"fwd=uri-miss" in miss and b"; stored" in miss, miss
                n += 1
                for method in ("GET", "HEAD", "GET"):
                    hit = raw_exchange(d, req(method), method == "HEAD")
                    assert b"Cache-Status: triad; hit; ttl=" in hit, hit
                    assert re.search(rb"\r\nAge: \d+\r\n", hit), hit
                    want = masked(miss)
                    if method == "HEAD":  # the same head, no body
                        want = want[:want.index(b"\r\n\r\n") + 4]
                    assert masked(hit) == want
                assert len(b.requests) == n
    finally:
        b.close()


def test_age_from_upstream(start_daemon, triad_config):
    """RFC 9111 §4.2.3 / §5.1: a response arriving with Age is that old already: a hit's
    Age counts from it and its freshness is the lifetime less it; one older than its
    lifetime is not stored."""
    ages = {"/aged": b"Cache-Control: max-age=60\r\nAge: 50\r\n",
            "/old": b"Cache-Control: max-age=60\r\nAge: 70\r\n"}
    b = cache_backend(lambda t: ages[t])
    try:
        d = start(start_daemon, triad_config, b)
        r, _ = get(d, "/aged")
        assert r.getheader("Cache-Status").endswith("; stored")
        r, _ = get(d, "/aged")
        status = r.getheader("Cache-Status")
        assert status.startswith("triad; hit; ttl=") and int(status.split("=")[1]) <= 10
        assert 50 <= int(r.getheader("Age")) <= 52
        for _ in range(2):
            r, _ = get(d, "/old")
            assert r.getheader("Cache-Status") == "triad; fwd=uri-miss; fwd-status=200"
        assert len(b.requests) == 3
    finally:
        b.close()


def test_never_stored(start_daemon, triad_config):
    """Never stored: Set-Cookie, private, no-store, no-cache, Vary: *, no lifetime ("public"
    alone), statuses outside the list; and a request with Authorization or Cookie neither
    uses nor fills the cache (interface.md)."""
    rules = {
        "/cookie": b"Cache-Control: max-age=60\r\nSet-Cookie: s=1\r\n",
        "/private": b"Cache-Control: private, max-age=60\r\n",
        "/nostore": b"Cache-Control: no-store\r\n",
        "/nocache": b"Cache-Control: no-cache, max-age=60\r\n",
        "/varystar": b"Cache-Control: max-age=60\r\nVary: *\r\n",
        "/public": b"Cache-Control: public\r\n",
        "/none": b"",
    }
    b = cache_backend(lambda t: rules.get(t.split("?")[0], b"Cache-Control: max-age=60\r\n"))
    try:
        d = start(start_daemon, triad_config, b)
        for path in rules:
            for _ in range(2):
                r, _ = get(d, path)
                assert r.getheader("Cache-Status") == "triad; fwd=uri-miss; fwd-status=200"
        assert len(b.requests) == 2 * len(rules)
        n = len(b.requests)
        get(d, "/auth", headers={"Authorization": "Basic eDp5"})
        get(d, "/auth")
        r, _ = get(d, "/auth", headers={"Cookie": "a=1"})  # never answered from the cache
        assert r.getheader("Cache-Status") == "triad; fwd=request; fwd-status=200"
        assert len(b.requests) == n + 3
        r, _ = get(d, "/post", method="POST", body=b"x")
        r, _ = get(d, "/post", method="POST", body=b"x")
        assert "fwd=request" in r.getheader("Cache-Status")
        assert len(b.requests) == n + 5
    finally:
        b.close()


def test_404_stored_and_expiry(start_daemon, triad_config):
    """404 is stored; an entry past its max-age is not served fresh (RFC 9111 §4.2)."""
    b = cache_backend(lambda t: b"Cache-Control: max-age=1\r\n")
    try:
        d = start(start_daemon, triad_config, b)
        assert get(d, "/missing")[0].status == 404
        r, _ = get(d, "/missing")
        assert r.status == 404 and r.getheader("Cache-Status").startswith("triad; hit")
        time.sleep(2.1)
        r, _ = get(d, "/missing")
        assert r.getheader("Cache-Status") == "triad; fwd=stale; fwd-status=404; stored"
        assert len(b.requests) == 2
    finally:
        b.close()


def test_vary_honoured(start_daemon, triad_config):
    """Vary (RFC 9111 §4.1): a request with other values of the listed fields is not
    answered with the stored response."""
    b = cache_backend(lambda t: b"Cache-Control: max-age=60\r\nVary: Accept-Encoding\r\n")
    try:
        d = start(start_daemon, triad_config, b)
        r, gz = get(d, "/v", headers={"Accept-Encoding": "gzip"})
        r, again = get(d, "/v", headers={"Accept-Encoding": "gzip"})
        assert again == gz and r.getheader("Cache-Status").startswith("triad; hit")
        r, br = get(d, "/v", headers={"Accept-Encoding": "br"})
        assert json.loads(br)["ae"] == "br"
        assert "fwd=vary-miss" in r.getheader("Cache-Status")
        assert len(b.requests) == 2
    finally:
        b.close()


def test_conditional_304_from_cache(start_daemon, triad_config):
    """Conditional requests get 304 from the cache (RFC 9110 §13.1.2, RFC 9111 §4.3.2)."""
    b = cache_backend(lambda t: b'Cache-Control: max-age=60\r\nETag: "v7"\r\n'
                                b"Last-Modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n")
    try:
        d = start(start_daemon, triad_config, b)
        get(d, "/c")
        r, data = get(d, "/c", headers={"If-None-Match": '"v7"'})
        assert r.status == 304 and data == b"" and r.getheader("ETag") == '"v7"'
        r, data = get(d, "/c", headers={"If-None-Match": '"other"'})
        assert r.status == 200 and data
        r, _ = get(d, "/c", headers={"If-Modified-Since": "Tue, 02 Jan 2024 00:00:00 GMT"})
        assert r.status == 304
        assert len(b.requests) == 1
    finally:
        b.close()


def test_concurrent_misses_collapse(start_daemon, triad_config):
    """Concurrent misses for one key send one request to the server (interface.md)."""
    b = cache_backend(delay=0.8)
    try:
        d = start(start_daemon, triad_config, b)
        results = []

        def one():
            r, data = get(d, "/slow")
            results.append((r.status, data))
        threads = [threading.Thread(target=one) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 6 and all(s == 200 for s, _ in results)
        assert len({data for _, data in results}) == 1
        assert len(b.requests) == 1
    finally:
        b.close()


def test_stale_if_error(start_daemon, triad_config):
    """RFC 5861 §4: with no server reachable, an entry stale by less than its
    stale-if-error is served; past it, 502."""
    b = cache_backend(lambda t: b"Cache-Control: max-age=1, stale-if-error=2\r\n")
    d = start(start_daemon, triad_config, b)
    r, first = get(d, "/s")
    b.close()
    time.sleep(1.2)
    r, data = get(d, "/s")
    assert r.status == 200 and data == first
    assert r.getheader("Cache-Status") == "triad; fwd=stale; detail=stale-if-error"
    time.sleep(2.2)
    r, _ = get(d, "/s")
    assert r.status == 502 and "fwd=stale" in r.getheader("Cache-Status")


def test_size_bounds(start_daemon, triad_config):
    """A response larger than a quarter of `cache` is passed through, not stored; the
    cache holds at most `cache` bytes, the least recently used entry going first."""
    size = {"/big": 70000, "/a": 60000, "/b": 60000, "/c": 60000, "/d": 60000, "/e": 60000}

    def handler(s, f, b):
        while True:
            req = read_request(f)
            if req is None:
                return
            b.record(req)
            body = b"x" * size[req["target"]]
            s.sendall(b"HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nContent-Length: %d\r\n\r\n"
                      % len(body) + body)
    b = RawBackend(handler)
    try:
        d = start(start_daemon, triad_config, b, cache="256K")
        r, data = get(d, "/big")  # 70000 > 256K / 4
        assert len(data) == 70000
        assert r.getheader("Cache-Status") == "triad; fwd=uri-miss; fwd-status=200"
        get(d, "/big")
        assert len(b.requests) == 2
        for p in ("/a", "/b", "/c", "/d"):  # 4 x 60000 fit in 256K
            get(d, p)
        r, _ = get(d, "/a")  # /b is now the least recently used
        assert r.getheader("Cache-Status").startswith("triad; hit")
        get(d, "/e")  # a fifth does not fit: /b goes
        n = len(b.requests)
        for p in ("/a", "/c", "/d", "/e"):
            r, data = get(d, p)
            assert r.getheader("Cache-Status").startswith("triad; hit"), p
            assert len(data) == 60000
        assert len(b.requests) == n
        r, _ = get(d, "/b")
        assert "fwd=uri-miss" in r.getheader("Cache-Status")
    finally:
        b.close()


def test_cache_survives_reload(start_daemon, triad_config):
    """SIGHUP keeps the cache (RFC 9111 §3: a stored response stays usable while fresh; an
    nginx user expects proxy_cache to outlive a reload): a hit after the reload is
    answered from the entry, with a new `cache` size too. A path now routed to another
    pool is a miss there (the key names the pool); `cache = 0` switches it off."""
    b = cache_backend()
    other = cache_backend()
    try:
        d = start(start_daemon, triad_config, b)
        r, first = get(d, "/keep")
        assert r.getheader("Cache-Status").endswith("; stored")
        get(d, "/moves")
        assert len(b.requests) == 2
        triad_config.sections["httpd"]["cache"] = "512K"
        triad_config.sections["upstream other"] = {"servers": other.address}
        triad_config.sections["httpd"]["proxy"] = "/moves=other /*=app"
        triad_config.write()
        d.reload(expect=r"reload: done")
        for _ in range(2):
            r, again = get(d, "/keep")
            assert r.status == 200 and again == first
            assert r.getheader("Cache-Status").startswith("triad; hit; ttl=")
        assert len(b.requests) == 2
        r, moved = get(d, "/moves")  # now pool "other": not app's stored answer
        assert r.getheader("Cache-Status") == "triad; fwd=uri-miss; fwd-status=200; stored"
        assert len(other.requests) == 1 and len(b.requests) == 2
        triad_config.sections["httpd"]["cache"] = "0"
        triad_config.write()
        d.reload(expect=r"reload: done")
        r, _ = get(d, "/keep")
        assert r.getheader("Cache-Status") is None and len(b.requests) == 3
    finally:
        b.close()
        other.close()


def test_no_cache_status_without_cache(start_daemon, triad_config):
    """cache = 0 (the default): no Cache-Status, nothing stored."""
    b = cache_backend()
    try:
        d = start(start_daemon, triad_config, b, cache="0")
        for _ in range(2):
            r, _ = get(d, "/x")
            assert r.getheader("Cache-Status") is None
        assert len(b.requests) == 2
    finally:
        b.close()
