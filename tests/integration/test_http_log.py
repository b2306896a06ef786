"""triad-httpd: the access log, Server tokens and the signals (interface.md, issue 3).

Combined Log Format with '"', '\\' and control bytes escaped as \\xHH so that no request
forges a line; the optional request time; reopened on SIGHUP (log rotation); SIGTERM lets
an in-flight download finish and closes idle keep-alive connections at once.
"""

import hashlib
import os
import re
import signal
import time

import pytest

import triad_harness as th
from test_http_helpers import KeepAlive, get, httpd, parse_one, raw

CLF = re.compile(r'^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
                 r'"(?P<req>[^"]*)" (?P<status>\d{3}) (?P<size>\d+) "(?P<ref>[^"]*)" '
                 r'"(?P<ua>[^"]*)"(?: (?P<time>\d+\.\d{3}))?$')


@pytest.fixture
def site(triad_root):
    (triad_root.www / "a.txt").write_text("alpha\n")
    triad_root.give_to_run_user()
    return triad_root


def log_lines(site, n, name="access.log", timeout=5.0):
    path = site.etc / name
    deadline = time.monotonic() + timeout * th.timeout_scale()
    while True:
        text = path.read_bytes().decode("ascii") if path.exists() else ""
        lines = text.splitlines()
        if len(lines) >= n or time.monotonic() > deadline:
            assert text.endswith("\n") or not text
            return lines
        time.sleep(0.02)


def test_access_log_format_and_escaping(site, start_daemon):
    """One CLF line per request; hostile bytes in the request line, Referer and
    User-Agent are escaped, and a bare LF never starts a line of its own."""
    d = httpd(start_daemon)
    get(d, "/a.txt", {"Referer": "http://r.example/", "User-Agent": "curl/8"})
    get(d, "/missing")
    get(d, "/a.txt", {"User-Agent": 'x" 200 1 "-" "forged\\ \xff', "Referer": "a\tb"})
    raw(d, b"GET /a.txt HTTP/1.1\nHost: x\n127.0.0.1 - - [forged] \"GET / HTTP/1.1\" 200 1\r\n\r\n")
    raw(d, b"GET /\"quoted\\ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    lines = log_lines(site, 5)
    assert len(lines) == 5, lines
    ms = [CLF.match(line) for line in lines]
    assert all(ms), lines
    assert ms[0]["req"] == "GET /a.txt HTTP/1.1" and ms[0]["status"] == "200"
    assert ms[0]["size"] == "6" and ms[0]["ref"] == "http://r.example/"
    assert ms[0]["ua"] == "curl/8" and ms[0]["time"] is None
    assert ms[1]["status"] == "404" and ms[1]["ref"] == "-" and ms[1]["ua"] == "-"
    assert ms[2]["ua"] == r"x\x22 200 1 \x22-\x22 \x22forged\x5c \xff"
    assert ms[2]["ref"] == r"a\x09b"
    assert ms[3]["status"] == "400" and ms[3]["req"] == "GET /a.txt HTTP/1.1"
    assert ms[4]["req"] == r"GET /\x22quoted\x5c HTTP/1.1"
    assert "forged]" not in "\n".join(lines)


def test_access_log_time(site, start_daemon):
    d = httpd(start_daemon, access_log_time="on")
    get(d, "/a.txt")
    (line,) = log_lines(site, 1)
    m = CLF.match(line)
    assert m and m["time"] is not None and float(m["time"]) < 5


def test_access_log_reopened_on_sighup(site, start_daemon):
    """SIGHUP reopens the access log: after a rename (log rotation) new lines go to a
    new file at the configured path, and the rotated file keeps the old ones."""
    d = httpd(start_daemon)
    get(d, "/a.txt")
    assert len(log_lines(site, 1)) == 1
    os.rename(site.etc / "access.log", site.etc / "access.log.1")
    d.reload()
    get(d, "/missing")
    lines = log_lines(site, 1)
    assert len(lines) == 1 and '"GET /missing HTTP/1.1" 404' in lines[0]
    assert len(log_lines(site, 1, "access.log.1")) == 1


def test_access_log_off(site, start_daemon):
    d = httpd(start_daemon, access_log="off")
    assert get(d, "/a.txt").status == 200
    assert not (site.etc / "access.log").exists()


@pytest.mark.parametrize("tokens,want", [("full", "triad/0.1.0"), ("minimal", "triad"),
                                         ("off", None)])
def test_server_tokens(site, start_daemon, tokens, want):
    d = httpd(start_daemon, server_tokens=tokens)
    assert get(d, "/a.txt").h("server") == want
    assert get(d, "/missing").h("server") == want


def test_sigterm_finishes_inflight_download(site, start_daemon):
    """SIGTERM: an idle keep-alive connection is closed at once, a 64 MiB download in
    flight completes intact, new connections are refused, and the daemon exits 0."""
    data = os.urandom(64 << 20)
    (site.www / "big.bin").write_bytes(data)
    site.give_to_run_user()
    d = httpd(start_daemon, workers=None)
    idle = KeepAlive(d.addr)
    assert idle.request("/a.txt").status == 200
    s = th.connect(d.addr, timeout=30)
    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    s.settimeout(30 * th.timeout_scale())
    chunks, got = [], 0
    while got < (1 << 20):
        chunks.append(s.recv(1 << 20))
        got += len(chunks[-1])
    d.send_signal(signal.SIGTERM)
    assert idle.closed_by_peer(timeout=5)
    idle.close()
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    s.close()
    r, rest = parse_one(b"".join(chunks))
    assert rest == b""
    assert hashlib.sha256(r.body).digest() == hashlib.sha256(data).digest()
    assert d.wait_exit() == 0
