"""triad-httpd over TLS (RFC 9110 §4.2.2, RFC 8446, RFC 7301 ALPN, RFC 6797 HSTS).

Issue 3, "HTTPS": listen_tls serves the same site; ALPN answers http/1.1; session
resumption; HSTS only on HTTPS responses; redirect_https sends plain HTTP to https://.
Real clients where their view matters: curl --cacert, Python's ssl.
"""

import hashlib
import re
import os
import socket
import ssl
import subprocess

import pytest

import triad_harness as th
from test_http_helpers import get, httpd, parse_one


@pytest.fixture
def site(triad_root):
    (triad_root.www / "a.txt").write_text("alpha\n")
    triad_root.give_to_run_user()
    return triad_root


def tls_addr(d):
    return d.ports["listen_tls"][0]


def context(site):
    ctx = ssl.create_default_context(cafile=str(site.cert))
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx


def tls_request(d, site, data, ctx=None, session=None):
    host, port = tls_addr(d)
    ctx = ctx or context(site)
    with socket.create_connection((host, port), timeout=10 * th.timeout_scale()) as raw_sock:
        with ctx.wrap_socket(raw_sock, server_hostname="localhost", session=session) as s:
            s.sendall(data)
            chunks = []
            while True:
                try:
                    b = s.recv(65536)
                except (ssl.SSLEOFError, ConnectionResetError):
                    break
                if not b:
                    break
                chunks.append(b)
            return b"".join(chunks), s.selected_alpn_protocol(), s.session, s.session_reused


def curl(site, *args):
    r = subprocess.run(["curl", "-sS", "--cacert", str(site.cert), *args],
                       capture_output=True, timeout=60 * th.timeout_scale())
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_https_get_alpn_resumption(site, start_daemon):
    """The same file over HTTPS; ALPN picks http/1.1 (never h2); a second connection
    resumes the session."""
    d = httpd(start_daemon)
    req = b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    ctx = context(site)
    data, alpn, session, _ = tls_request(d, site, req, ctx)
    r, rest = parse_one(data)
    assert r.status == 200 and r.body == b"alpha\n" and rest == b""
    assert alpn == "http/1.1"
    assert r.h("strict-transport-security") is None  # hsts = 0: off
    _, _, _, reused = tls_request(d, site, req, ctx, session=session)
    assert reused
    host, port = tls_addr(d)
    out = curl(site, f"https://localhost:{port}/a.txt", "--resolve", f"localhost:{port}:{host}")
    assert out == b"alpha\n"


def test_https_big_file(site, start_daemon):
    """64 MiB over HTTPS (the pread path with backpressure), SHA-256 checked by curl."""
    data = os.urandom(64 << 20)
    (site.www / "big.bin").write_bytes(data)
    site.give_to_run_user()
    d = httpd(start_daemon)
    host, port = tls_addr(d)
    out = site.base / "got.bin"
    curl(site, "-o", str(out), f"https://localhost:{port}/big.bin",
         "--resolve", f"localhost:{port}:{host}")
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()
    # and a range from the middle over TLS
    got = curl(site, "-r", "1000000-1000009", f"https://localhost:{port}/big.bin",
               "--resolve", f"localhost:{port}:{host}")
    assert got == data[1000000:1000010]


def test_hsts(site, start_daemon):
    """RFC 6797 §7.2: Strict-Transport-Security on HTTPS responses only."""
    d = httpd(start_daemon, hsts="8760h")
    data, _, _, _ = tls_request(d, site, b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n"
                                         b"Connection: close\r\n\r\n")
    r, _ = parse_one(data)
    assert r.h("strict-transport-security") == "max-age=31536000"
    assert get(d, "/a.txt").h("strict-transport-security") is None


def test_redirect_https(site, start_daemon):
    """redirect_https = on: plain GET/HEAD get 301 to the https:// URL (query kept, the
    Host's port replaced by listen_tls's); HTTPS is served."""
    d = httpd(start_daemon, redirect_https="on")
    _, port = tls_addr(d)
    r = get(d, "/a.txt?x=1", host="example.org:8080")
    assert r.status == 301 and r.h("location") == f"https://example.org:{port}/a.txt?x=1"
    r = get(d, "/", host="[::1]:80")
    assert r.h("location") == f"https://[::1]:{port}/"
    data, _, _, _ = tls_request(d, site, b"GET /a.txt HTTP/1.1\r\nHost: localhost\r\n"
                                         b"Connection: close\r\n\r\n")
    assert parse_one(data)[0].body == b"alpha\n"


def test_redirect_https_needs_listener(site):
    cfg = th.TriadConfig(site)
    cfg.update("httpd", {"redirect_https": "on", "listen_tls": ""})
    path = cfg.write(site.etc / "bad.conf")
    r = th.run_cli("httpd", "-t", "-c", path)
    assert r.returncode == 1 and "redirect_https" in r.stderr


def test_tls_error_line_keeps_openssl_reason_text(triad_root, start_daemon):
    """OpenSSL's error strings are no longer loaded at start-up (about 480 KiB resident
    per process, issue 10) but on the first error formatted (common/tls_strings.c): a
    tls_key that holds no key still fails with OpenSSL's library and reason in words
    ("SSL routines::PEM lib"), not as numbers ("lib(20)::reason(9)")."""
    bad = triad_root.etc / "notakey.pem"
    bad.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    d = start_daemon("httpd", global_overrides={"tls_key": str(bad)}, expect_ready=False)
    assert d.wait_exit() == 1
    err = d.stderr_text()
    assert f"{bad}: cannot load private key: error:" in err, err
    assert re.search(r"error:[0-9A-F]{8}:[A-Za-z0-9 ]+ routines::[A-Za-z]", err), err
    assert "lib(" not in err and "reason(" not in err, err
