"""triad-httpd: idle keep-alive connections are parked (conn_park) and still behave.

A plain keep-alive connection idle for HTTP_PARK_AFTER_MS (250 ms) gives back its
conn, buffers and session and waits as a compact park record (common/park.c). None of that may show on the
wire: the next request is answered as on any persistent connection (RFC 9112 §9.3),
keepalive_timeout still counts from the end of the last response (§9.8), SIGTERM still
closes idle connections at once, and a reload leaves the connection its generation.
HTTPS connections park too (the SSL object stays with the record, its buffers go).
"""

import re
import signal
import socket
import ssl
import time

import pytest

import triad_harness as th
from test_http_helpers import KeepAlive, get, httpd, parse_one

PARK_AFTER = 0.25  # HTTP_PARK_AFTER_MS


@pytest.fixture
def site(triad_root):
    (triad_root.www / "a.txt").write_text("alpha\n")
    (triad_root.www / "big.bin").write_bytes(bytes(range(256)) * 4096)  # 1 MiB
    triad_root.give_to_run_user()
    return triad_root


def debug_httpd(start_daemon, **section):
    return start_daemon("httpd", global_overrides={"log_level": "debug"},
                        section_overrides=section)


def test_parked_connection_answers_next_request(site, start_daemon):
    """RFC 9112 §9.3: a persistent connection idle past the park delay answers the next
    requests (a small file, then a 1 MiB one sent with sendfile) on the same socket."""
    d = debug_httpd(start_daemon)
    with KeepAlive(d.addr) as k:
        assert k.request("/a.txt").body == b"alpha\n"
        d.wait_log(r"c\d+ parked", timeout=5 * th.timeout_scale())
        r = k.request("/a.txt")
        assert r.status == 200 and r.body == b"alpha\n"
        r = k.request("/big.bin")
        assert r.status == 200 and r.body == bytes(range(256)) * 4096
        time.sleep(PARK_AFTER * 4)
        assert k.request("/a.txt").status == 200  # parked twice, woken twice
    assert len(re.findall(r"c\d+ parked", d.log_text())) >= 2


def test_parked_connection_pipelined_wakeup(site, start_daemon):
    """RFC 9112 §9.3.2: requests pipelined in one write onto a parked connection are all
    answered, in order."""
    d = debug_httpd(start_daemon)
    with KeepAlive(d.addr) as k:
        assert k.request("/a.txt").status == 200
        d.wait_log(r"c\d+ parked", timeout=5 * th.timeout_scale())
        k.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n" * 3)
        assert [k.read().body for _ in range(3)] == [b"alpha\n"] * 3


def test_keepalive_timeout_counts_across_parking(site, start_daemon):
    """RFC 9112 §9.8: keepalive_timeout = 3s still closes an idle connection about 3 s
    after its last response, although it was parked after 250 ms."""
    d = httpd(start_daemon, keepalive_timeout="3s")
    with KeepAlive(d.addr, timeout=10) as k:
        assert k.request("/a.txt").status == 200
        t0 = time.monotonic()
        assert k.closed_by_peer(timeout=10 * th.timeout_scale())
        took = time.monotonic() - t0
        assert 2.5 < took < 3 + 2 * th.timeout_scale(), took


def test_short_keepalive_parked_and_closed_on_time(site, start_daemon):
    """keepalive_timeout = 1s: parked after 250 ms, closed about 1 s after the response
    (RFC 9112 §9.8), never later."""
    d = debug_httpd(start_daemon, keepalive_timeout="1s")
    with KeepAlive(d.addr) as k:
        assert k.request("/a.txt").status == 200
        t0 = time.monotonic()
        assert k.closed_by_peer(timeout=5 * th.timeout_scale())
        took = time.monotonic() - t0
        assert 0.8 < took < 1 + 2 * th.timeout_scale(), took
    assert re.search(r"c\d+ parked", d.log_text())
    # The log is written by its own thread: the line may trail the close by a moment.
    d.wait_log(r"c\d+ idle timeout \(parked\)", timeout=2 * th.timeout_scale())


def test_half_sent_head_is_not_parked(site, start_daemon):
    """A head that started arriving is under header_timeout (RFC 9110 §15.5.9: 408), not
    parked: the rest of it completes the request after the park delay."""
    d = debug_httpd(start_daemon, header_timeout="5s")
    with KeepAlive(d.addr) as k:
        k.send(b"GET /a.txt HTTP/1.1\r\nHo")
        time.sleep(PARK_AFTER * 4)
        k.send(b"st: x\r\n\r\n")
        assert k.read().body == b"alpha\n"
    assert not re.search(r"c\d+ parked", d.log_text())


def test_peer_close_while_parked(site, start_daemon):
    """A client that closes (or resets) a parked connection is cleaned up: the daemon
    keeps serving and exits cleanly (the sanitizer build checks for leaks)."""
    d = debug_httpd(start_daemon)
    socks = []
    for _ in range(20):
        k = KeepAlive(d.addr)
        assert k.request("/a.txt").status == 200
        socks.append(k)
    d.wait_log(r"c\d+ parked", timeout=5 * th.timeout_scale())
    time.sleep(0.2)
    for i, k in enumerate(socks):
        if i % 2:
            k.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        k.close()
    time.sleep(0.3)
    assert get(d, "/a.txt").status == 200
    d.stop()


def test_sigterm_closes_parked_connections(site, start_daemon):
    """SIGTERM (interface.md): idle connections, parked ones too, are closed at once and
    the daemon exits without waiting for shutdown_timeout."""
    d = debug_httpd(start_daemon, keepalive_timeout="60s")
    conns = [KeepAlive(d.addr, timeout=10) for _ in range(5)]
    for k in conns:
        assert k.request("/a.txt").status == 200
    d.wait_log(r"c\d+ parked", timeout=5 * th.timeout_scale())
    time.sleep(0.2)
    t0 = time.monotonic()
    d.send_signal(signal.SIGTERM)
    for k in conns:
        assert k.closed_by_peer(timeout=5 * th.timeout_scale())
        k.close()
    d.wait_exit(timeout=10 * th.timeout_scale())
    assert time.monotonic() - t0 < 5 * th.timeout_scale()


def test_reload_keeps_parked_connection_generation(site, start_daemon):
    """SIGHUP: a parked connection woken after a reload still answers under the
    generation it was accepted with (as established connections do)."""
    d = debug_httpd(start_daemon)
    with KeepAlive(d.addr) as old:
        assert old.request("/a.txt").h("server") == "triad/0.1.0"
        d.wait_log(r"c\d+ parked", timeout=5 * th.timeout_scale())
        d.config.update("httpd", {"server_tokens": "off"})
        d.config.write()
        d.reload(expect=r"reload: done")
        assert get(d, "/a.txt").h("server") is None
        r = old.request("/a.txt")
        assert r.status == 200 and r.h("server") == "triad/0.1.0"


def test_many_parked_connections(site, start_daemon):
    """300 connections parked at once, then all asked again: every one answers."""
    d = debug_httpd(start_daemon)
    conns = [KeepAlive(d.addr, timeout=20) for _ in range(300)]
    try:
        for k in conns:
            assert k.request("/a.txt").status == 200
        time.sleep(PARK_AFTER * 4)
        for k in conns:
            k.send(b"GET /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        for k in conns:
            r = k.read()
            assert r.status == 200 and r.body == b"alpha\n"
            assert k.closed_by_peer(timeout=10)
    finally:
        for k in conns:
            k.close()


def test_tls_connection_parked_answers_and_closes_cleanly(site, start_daemon):
    """An idle HTTPS keep-alive connection is parked like a plain one; the next request
    on the same TLS session is answered (RFC 9112 §9.3), and keepalive_timeout ends it
    with close_notify (RFC 8446 §6.1), not a bare FIN (a truncation to the client)."""
    d = debug_httpd(start_daemon, keepalive_timeout="2s")
    host, port = d.ports["listen_tls"][0]
    ctx = ssl.create_default_context(cafile=str(site.cert))
    ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF  # Python's default hides a bare FIN
    req = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
    raw = socket.create_connection((host, port), timeout=10 * th.timeout_scale())
    with ctx.wrap_socket(raw, server_hostname="localhost", suppress_ragged_eofs=False) as s:

        def response():
            buf = b""
            while True:
                try:
                    r, rest = parse_one(buf)
                    assert rest == b""
                    return r
                except ValueError:
                    data = s.recv(65536)
                    assert data, buf
                    buf += data

        s.sendall(req)
        assert response().body == b"alpha\n"
        d.wait_log(r"c\d+ parked", timeout=5 * th.timeout_scale())
        s.sendall(req)
        assert response().body == b"alpha\n"
        t0 = time.monotonic()
        d.wait_log(r"c\d+ parked(.|\n)*c\d+ parked", timeout=5 * th.timeout_scale())
        assert s.recv(65536) == b""  # close_notify; a bare FIN raises SSLEOFError
        assert 1.5 < time.monotonic() - t0 < 2 + 2 * th.timeout_scale()
    d.wait_log(r"c\d+ idle timeout \(parked\)", timeout=2 * th.timeout_scale())


# Issue 10: a parked connection is a compact record (common/park.h: 64 bytes in a slab,
# plus libevent's ~32-byte per-descriptor entry and the kernel's socket, which RSS does
# not count). Before it was a struct conn with its read event (~600 bytes of RSS each).
PARKED_CONNS = 1000
PARKED_GROWTH_MAX = 350  # bytes of RSS per parked connection (measured: ~140)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def test_parked_connections_are_compact(site, start_daemon):
    """1000 idle keep-alive connections, each after one GET: the connections_parked gauge
    counts them all once parked, and the daemon's RSS grows by less than 350 bytes per
    connection once the heap they used is trimmed (1 s after parking went quiet). Under
    a sanitizer the allocator is not glibc's, so only the gauge is checked there."""
    import resource

    import test_metrics as tm

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < PARKED_CONNS + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
    d, mport = tm.start(start_daemon, "httpd")
    for _ in range(20):  # warm: mime table, file cache, first-use allocations
        assert get(d, "/a.txt").status == 200
    time.sleep(PARK_AFTER * 2 + 1.5)
    before = rss_kib(d.pid)
    conns = []
    try:
        for _ in range(PARKED_CONNS):
            k = KeepAlive(d.addr, timeout=20)
            conns.append(k)
            assert k.request("/a.txt").status == 200
        deadline = time.monotonic() + 10 * th.timeout_scale()
        while True:
            parked = tm.value(tm.scrape(mport), "triad_httpd_connections_parked")
            if parked == PARKED_CONNS or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert parked == PARKED_CONNS
        assert tm.value(tm.scrape(mport), "triad_httpd_connections_active") == PARKED_CONNS
        if not th.sanitized():
            # The heap is trimmed once parking has been quiet for 1 s
            # (TRIAD_PARK_TRIM_DELAY_MS): at most about 2 s after the last park.
            deadline = time.monotonic() + 3 + 5 * th.timeout_scale()
            while True:
                growth = (rss_kib(d.pid) - before) * 1024 / PARKED_CONNS
                if growth < PARKED_GROWTH_MAX or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert growth < PARKED_GROWTH_MAX, f"{growth:.0f} bytes of RSS per parked conn"
        # Compact, and still connections: every one answers again (RFC 9112 §9.3).
        for k in conns[:50]:
            assert k.request("/a.txt").body == b"alpha\n"
    finally:
        for k in conns:
            k.close()
    deadline = time.monotonic() + 10 * th.timeout_scale()
    while tm.value(tm.scrape(mport), "triad_httpd_connections_parked") and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert tm.value(tm.scrape(mport), "triad_httpd_connections_parked") == 0
