"""triad-httpd: Vary: Accept-Encoding (RFC 9110 §12.5.5) as a shared cache needs it.

A file with a usable precompressed sibling (file.gz, file.br, file.zst) has a
representation that depends on Accept-Encoding, whichever variant one client gets:
every response for it carries "Vary: Accept-Encoding" (200 gzip, 200 identity, 304 for
both per RFC 9110 §15.4.5 and RFC 9111 §4.1, 206, 416, HEAD), so a cache never gives
the stored identity body to a gzip client nor the gzip body to one that did not ask.
A file without a sibling (or with a stale one, which is never served) has no Vary.
Real clients: http.client and curl.
"""

import gzip
import http.client
import os
import shutil
import subprocess

import pytest

from test_http_helpers import httpd

OLD = 1_600_000_000  # old enough for the per-worker file cache to keep the file
TEXT = b"console.log('vary');\n" * 20


@pytest.fixture
def site(triad_root):
    www = triad_root.www
    (www / "app.js").write_bytes(TEXT)
    (www / "app.js.gz").write_bytes(gzip.compress(TEXT))
    (www / "plain.js").write_bytes(TEXT)
    (www / "stale.js").write_bytes(TEXT)
    (www / "stale.js.gz").write_bytes(gzip.compress(TEXT))
    (www / "only.css").write_text("body{}\n")
    (www / "only.css.br").write_bytes(b"BR")
    for name in ("app.js", "app.js.gz", "plain.js", "stale.js", "only.css", "only.css.br"):
        os.utime(www / name, (OLD, OLD))
    os.utime(www / "stale.js.gz", (OLD - 10, OLD - 10))
    triad_root.give_to_run_user()
    return triad_root


def fetch(d, path, headers=None, method="GET"):
    """(status, headers as a lower-case dict, body, the Vary field lines) via http.client."""
    c = http.client.HTTPConnection(*d.addr, timeout=10)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read()
        varies = r.msg.get_all("Vary") or []
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body, varies
    finally:
        c.close()


def test_gzip_chosen(site, start_daemon):
    d = httpd(start_daemon)
    st, h, body, vary = fetch(d, "/app.js", {"Accept-Encoding": "gzip"})
    assert (st, h.get("content-encoding"), vary) == (200, "gzip", ["Accept-Encoding"])
    assert gzip.decompress(body) == TEXT


@pytest.mark.parametrize("ae", [None, "identity", "gzip;q=0", "br", "gzip;q=2"])
def test_identity_chosen_with_sibling(site, start_daemon, ae):
    """No Accept-Encoding, identity asked for, gzip refused, only a coding without a
    sibling, an unreadable field: identity, but the resource still varies."""
    d = httpd(start_daemon)
    for _ in range(2):  # the second request may come from the worker's file cache
        st, h, body, vary = fetch(d, "/app.js", {"Accept-Encoding": ae} if ae else {})
        assert (st, h.get("content-encoding"), body) == (200, None, TEXT)
        assert vary == ["Accept-Encoding"], (ae, h)


def test_not_modified_both_variants(site, start_daemon):
    d = httpd(start_daemon)
    _, hz, _, _ = fetch(d, "/app.js", {"Accept-Encoding": "gzip"})
    _, hi, _, _ = fetch(d, "/app.js")
    assert hz["etag"] != hi["etag"]
    st, h, body, vary = fetch(d, "/app.js", {"Accept-Encoding": "gzip",
                                             "If-None-Match": hz["etag"]})
    assert (st, body, vary, h.get("content-encoding")) == (304, b"", ["Accept-Encoding"], None)
    for _ in range(2):
        st, h, body, vary = fetch(d, "/app.js", {"If-None-Match": hi["etag"]})
        assert (st, body, vary) == (304, b"", ["Accept-Encoding"])
    # by date too
    st, _, _, vary = fetch(d, "/app.js", {"If-Modified-Since": hi["last-modified"]})
    assert (st, vary) == (304, ["Accept-Encoding"])


def test_ranges_and_preconditions_vary(site, start_daemon):
    d = httpd(start_daemon)
    st, h, body, vary = fetch(d, "/app.js", {"Range": "bytes=0-6"})
    assert (st, body, vary) == (206, TEXT[:7], ["Accept-Encoding"])
    st, h, _, vary = fetch(d, "/app.js", {"Range": "bytes=99999-", "Accept-Encoding": "gzip"})
    assert (st, vary) == (416, ["Accept-Encoding"])
    assert h["content-range"].startswith("bytes */")
    st, _, _, vary = fetch(d, "/app.js", {"If-Match": '"nope"'})
    assert (st, vary) == (412, ["Accept-Encoding"])
    st, h, body, vary = fetch(d, "/app.js", {"Accept-Encoding": "gzip"}, method="HEAD")
    assert (st, h.get("content-encoding"), vary) == (200, "gzip", ["Accept-Encoding"])


def test_no_sibling_no_vary(site, start_daemon):
    d = httpd(start_daemon)
    for ae in (None, "gzip", "gzip, br"):
        for path in ("/plain.js", "/stale.js"):  # a stale sibling is never served
            st, h, body, vary = fetch(d, path, {"Accept-Encoding": ae} if ae else {})
            assert (st, body, vary, h.get("content-encoding")) == (200, TEXT, [], None)
    _, h, _, _ = fetch(d, "/plain.js")
    st, _, _, vary = fetch(d, "/plain.js", {"If-None-Match": h["etag"]})
    assert (st, vary) == (304, [])
    st, _, _, vary = fetch(d, "/plain.js", {"Range": "bytes=99999-"})
    assert (st, vary) == (416, [])


def test_other_coding_sibling(site, start_daemon):
    """Only a .br sibling: a gzip-only client gets identity, with Vary."""
    d = httpd(start_daemon)
    st, h, body, vary = fetch(d, "/only.css", {"Accept-Encoding": "gzip"})
    assert (st, body, vary, h.get("content-encoding")) == (200, b"body{}\n",
                                                           ["Accept-Encoding"], None)
    st, h, body, vary = fetch(d, "/only.css", {"Accept-Encoding": "br"})
    assert (body, h.get("content-encoding"), vary) == (b"BR", "br", ["Accept-Encoding"])


def test_precompressed_off_no_vary(site, start_daemon):
    d = httpd(start_daemon, precompressed="off")
    st, h, body, vary = fetch(d, "/app.js", {"Accept-Encoding": "gzip"})
    assert (st, body, vary) == (200, TEXT, [])


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl(site, start_daemon):
    d = httpd(start_daemon)
    url = f"http://{d.addr[0]}:{d.addr[1]}"

    def curl(*args):
        r = subprocess.run(["curl", "-sS", "-D", "-", "-o", "/dev/null", *args],
                           capture_output=True, timeout=30, check=True)
        return [ln.lower() for ln in r.stdout.decode("latin-1").split("\r\n")]

    head = curl("--compressed", url + "/app.js")
    assert "content-encoding: gzip" in head and "vary: accept-encoding" in head
    head = curl(url + "/app.js")
    assert not any(ln.startswith("content-encoding") for ln in head)
    assert "vary: accept-encoding" in head
    head = curl("--compressed", url + "/plain.js")
    assert not any(ln.startswith("vary") for ln in head)
