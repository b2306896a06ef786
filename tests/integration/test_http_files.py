"""triad-httpd: what is served from docroot (RFC 9110 §8, §15.4; RFC 3986 §5.2.4; RFC 8615).

Issue 3, "Files", "Content-Type", "Precompressed files", "Caching headers": path
normalisation and confinement (nothing outside docroot, symlinks included), dot files,
/.well-known/, 301 for directories, index files, autoindex (HTML, JSON, sorting),
libmagic sniffing, precompressed siblings, Cache-Control rules, large files.
"""

import hashlib
import json
import os
import re
import shutil
import ssl
import tempfile

import pytest

import triad_harness as th
from test_http_helpers import KeepAlive, client, get, httpd

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00"
       b"\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05"
       b"\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture
def site(triad_root):
    www = triad_root.www
    (www / "a.txt").write_text("alpha\n")
    (www / ".secret").write_text("secret\n")
    (www / "sub" / ".hidden").mkdir(parents=True)
    (www / "sub" / ".hidden" / "x.txt").write_text("hidden\n")
    (www / "sub" / "page.html").write_text("<p>page</p>\n")
    (www / ".well-known" / "acme-challenge").mkdir(parents=True)
    (www / ".well-known" / "acme-challenge" / "tok").write_text("challenge\n")
    (www / "docs").mkdir()
    (www / "docs" / "index.html").write_text("<p>docs index</p>\n")
    (www / "list").mkdir()
    (www / "list" / "small.txt").write_text("s")
    (www / "list" / "big.txt").write_text("b" * 5000)
    (www / "list" / "mid.txt").write_text("m" * 100)
    (www / "list" / "<evil>&\"name'.txt").write_text("e")
    (www / "list" / "dir").mkdir()
    (www / "list" / ".dotfile").write_text("d")
    (www / "list" / ".triad-tmp.0123456789abcdef0123456789abcdef").write_text("partial")
    os.utime(www / "list" / "small.txt", (1_000_000_000, 1_000_000_000))
    os.utime(www / "list" / "big.txt", (1_500_000_000, 1_500_000_000))
    os.utime(www / "list" / "mid.txt", (1_200_000_000, 1_200_000_000))
    (www / "pic").write_bytes(PNG)
    (www / "notes").write_text("just some plain text\n" * 3)
    (www / "style.css").write_text("body{}\n")
    outside = triad_root.base / "outside"
    outside.mkdir()
    (outside / "passwd").write_text("root:x:0:0\n")
    os.symlink(outside, www / "out")
    os.symlink(outside / "passwd", www / "passwd-link")
    os.symlink("a.txt", www / "in-link")
    triad_root.give_to_run_user()
    return triad_root


def test_escape_attempts(site, start_daemon):
    """RFC 3986 §5.2.4 dot-segments, percent-decoding, symlinks: nothing outside
    docroot is ever served, whatever the spelling."""
    d = httpd(start_daemon)
    attempts = ["/../outside/passwd", "/%2e%2e/outside/passwd", "/%2E%2E/outside/passwd",
                "/sub/../../outside/passwd", "/..%2foutside/passwd", "/%2e%2e%2foutside%2fpasswd",
                "/a.txt%00.html", "/%00", "/..\\outside\\passwd", "/%5c..%5coutside%5cpasswd",
                "/%c0%ae%c0%ae/outside/passwd", "/%e0%80%ae%e0%80%ae/outside/passwd",
                "/out/passwd", "/passwd-link", "/out/", "//../outside/passwd",
                "/./../outside/passwd"]
    for path in attempts:
        r = get(d, path)
        assert r.status in (400, 404), (path, r)
        assert b"root:x" not in r.body, path
    assert get(d, "/in-link").body == b"alpha\n"  # a link inside the tree is fine
    assert get(d, "/sub/../a.txt").body == b"alpha\n"
    assert get(d, "/./a.txt").body == b"alpha\n"
    assert get(d, "//a.txt").body == b"alpha\n"
    assert get(d, "/%61.txt").body == b"alpha\n"


def test_dot_files(site, start_daemon):
    """Dot files and dot directories are 404; /.well-known/ (RFC 8615) is served."""
    d = httpd(start_daemon)
    assert get(d, "/.secret").status == 404
    assert get(d, "/%2esecret").status == 404
    assert get(d, "/sub/.hidden/x.txt").status == 404
    r = get(d, "/.well-known/acme-challenge/tok")
    assert r.status == 200 and r.body == b"challenge\n"


def test_directories(site, start_daemon):
    """RFC 9110 §15.4.2: a directory without its slash is 301 to the slash form, the
    query kept; the index file is served for the slash form; no index and autoindex
    off: 403; a file with a trailing slash: 404."""
    d = httpd(start_daemon)
    r = get(d, "/docs?x=1&y=2")
    assert r.status == 301 and r.h("location") == "/docs/?x=1&y=2"
    r = get(d, "/docs/")
    assert r.status == 200 and r.body == b"<p>docs index</p>\n"
    assert r.h("content-type") == "text/html; charset=utf-8"
    assert get(d, "/").body.startswith(b"<!doctype html>")
    assert get(d, "/list/").status == 403
    assert get(d, "/a.txt/").status == 404
    assert get(d, "/nope").status == 404
    # the Location is built from the resolved path: never scheme-relative, always encoded
    (site.www / "evil.example").mkdir()
    (site.www / "my dir").mkdir()
    site.give_to_run_user()
    assert get(d, "//evil.example").h("location") == "/evil.example/"
    assert get(d, "/sub/..//evil.example?a=b").h("location") == "/evil.example/?a=b"
    assert get(d, "/my%20dir").h("location") == "/my%20dir/"


def test_autoindex(site, start_daemon):
    """autoindex = on: HTML with escaped names, sizes, dates and a parent link, sortable
    from the query; JSON with ?format=json; dot files and ftpd temp files hidden."""
    d = httpd(start_daemon, autoindex="on")
    r = get(d, "/list/")
    assert r.status == 200 and r.h("content-type") == "text/html; charset=utf-8"
    html = r.body.decode()
    assert '<a href="../">../</a>' in html
    assert "&lt;evil&gt;&amp;&quot;name&#39;.txt" in html
    assert "%3Cevil%3E%26%22name%27.txt" in html
    assert "<evil>" not in html
    assert ".dotfile" not in html and ".triad-tmp" not in html
    assert '<a href="dir/">dir/</a>' in html
    assert "<td>5000</td>" in html and "2017-07-14 02:40" in html
    names = re.findall(r'<td><a href="[^"]*">([^<]*)</a>', html)
    assert names == ["../", "dir/", "&lt;evil&gt;&amp;&quot;name&#39;.txt", "big.txt", "mid.txt",
                     "small.txt"]

    def listing(q):
        r = get(d, "/list/?" + q)
        assert r.status == 200 and r.h("content-type") == "application/json; charset=utf-8"
        return json.loads(r.body)

    entries = listing("format=json")
    assert [e["name"] for e in entries] == ["dir", "<evil>&\"name'.txt", "big.txt", "mid.txt",
                                            "small.txt"]
    assert entries[0]["type"] == "directory"
    big = next(e for e in entries if e["name"] == "big.txt")
    assert big == {"name": "big.txt", "type": "file", "size": 5000,
                   "mtime": "2017-07-14T02:40:00Z"}
    files = lambda es: [e["name"] for e in es if e["type"] == "file"]  # noqa: E731
    assert files(listing("format=json&sort=size")) == ["<evil>&\"name'.txt", "small.txt",
                                                       "mid.txt", "big.txt"]
    assert files(listing("format=json&sort=size&order=desc")) == [
        "big.txt", "mid.txt", "small.txt", "<evil>&\"name'.txt"]
    assert files(listing("sort=date&format=json"))[:3] == ["small.txt", "mid.txt", "big.txt"]
    assert files(listing("format=json&order=desc"))[0] == "small.txt"
    root = get(d, "/?format=json")  # the index wins over the listing
    assert root.body.startswith(b"<!doctype html>")
    assert get(d, "/sub/").body.count(b".hidden") == 0


def test_content_type(site, start_daemon):
    """The built-in table with charset on text types; libmagic for names without a
    known extension (an extensionless PNG is image/png); nosniff always."""
    d = httpd(start_daemon)
    r = get(d, "/pic")
    assert r.status == 200 and r.h("content-type") == "image/png" and r.body == PNG
    r = get(d, "/pic")  # cached by inode and mtime: same answer
    assert r.h("content-type") == "image/png"
    assert get(d, "/notes").h("content-type").startswith("text/plain")
    assert get(d, "/style.css").h("content-type") == "text/css; charset=utf-8"
    assert get(d, "/sub/page.html").h("content-type") == "text/html; charset=utf-8"
    assert get(d, "/pic").h("x-content-type-options") == "nosniff"


@pytest.fixture
def shm_layout(certificate):
    """A layout on tmpfs, whose timestamps reach past year 9999 (ext4's stop in 2446)."""
    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm")
    base = tempfile.mkdtemp(prefix="triad-it-", dir="/dev/shm")
    os.chmod(base, 0o755)
    try:
        yield th.make_layout(base, *certificate)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_mtime_without_http_date(shm_layout, start_daemon):
    """RFC 9110 §8.8.2 / §5.6.7: Last-Modified is an IMF-fixdate, four year digits. A
    file whose mtime lies past year 9999 (or before year 0) is served without one, never
    with a stale or uninitialised date; its ETag still validates (§13.1.2)."""
    www = shm_layout.www
    times = {"far.txt": 253402300800 + 86400 * 400, "ancient.txt": -62167219200 - 86400}
    for name, t in times.items():
        (www / name).write_text("time\n")
        os.utime(www / name, (t, t))
        if os.stat(www / name).st_mtime != t:
            pytest.skip(f"{www} cannot store the mtime {t}")
    shm_layout.give_to_run_user()
    d = start_daemon("httpd", config=th.TriadConfig(shm_layout))
    ok = get(d, "/index.html")
    assert ok.status == 200 and ok.h("last-modified", "").endswith(" GMT")
    for name in times:
        for _ in range(2):  # the second answer must not pick up the first's date either
            r = get(d, "/" + name)
            assert r.status == 200 and r.body == b"time\n"
            assert r.h("last-modified") is None, r.raw_head
            etag = r.h("etag")
            assert etag
        r = get(d, "/" + name, headers={"If-None-Match": etag})
        assert r.status == 304 and r.h("last-modified") is None


def test_precompressed(site, start_daemon):
    """Issue 3: file.br / file.zst / file.gz not older than file, best one the client
    accepts (RFC 9110 §12.5.3 q-values), Content-Encoding, Vary: Accept-Encoding and an
    ETag of its own; identity when nothing acceptable or fresh exists."""
    www = site.www
    (www / "app.js").write_text("console.log(1)\n" * 10)
    for suffix, content in ((".gz", b"GZ"), (".br", b"BR"), (".zst", b"ZST")):
        (www / ("app.js" + suffix)).write_bytes(content)
    (www / "old.js").write_text("x")
    (www / "old.js.gz").write_bytes(b"stale")
    os.utime(www / "old.js.gz", (1_000_000_000, 1_000_000_000))
    site.give_to_run_user()
    d = httpd(start_daemon)
    plain = get(d, "/app.js")
    assert plain.h("content-encoding") is None and plain.body.startswith(b"console")

    def enc(ae):
        return get(d, "/app.js", {"Accept-Encoding": ae})

    r = enc("gzip, deflate, br, zstd")
    assert (r.body, r.h("content-encoding"), r.h("vary")) == (b"BR", "br", "Accept-Encoding")
    assert r.h("content-type") == "text/javascript; charset=utf-8"
    assert r.h("etag") != plain.h("etag") and r.h("content-length") == "2"
    assert enc("gzip").body == b"GZ" and enc("gzip").h("content-encoding") == "gzip"
    assert enc("zstd, gzip;q=0.5").body == b"ZST"
    assert enc("br;q=0.1, gzip;q=0.9").body == b"GZ"
    assert enc("br;q=0, gzip;q=0").h("content-encoding") is None
    assert enc("identity").h("content-encoding") is None
    assert enc("gzip;q=2").h("content-encoding") is None  # unreadable field: identity
    r = get(d, "/old.js", {"Accept-Encoding": "gzip"})
    assert r.body == b"x" and r.h("content-encoding") is None
    (www / "pic.png").write_bytes(b"png")
    (www / "pic.png.gz").write_bytes(b"never")
    site.give_to_run_user()
    assert get(d, "/pic.png", {"Accept-Encoding": "gzip"}).body == b"png"  # not looked up
    h = get(d, "/app.js", {"Accept-Encoding": "gzip"}, method="HEAD")
    assert h.h("content-encoding") == "gzip" and h.h("content-length") == "2"


def test_precompressed_off(site, start_daemon):
    (site.www / "app.js").write_text("js")
    (site.www / "app.js.gz").write_bytes(b"GZ")
    site.give_to_run_user()
    d = httpd(start_daemon, precompressed="off")
    r = get(d, "/app.js", {"Accept-Encoding": "gzip"})
    assert r.body == b"js" and r.h("content-encoding") is None


def test_cache_control(site, start_daemon):
    """RFC 9111 §5.2: Cache-Control from the cache_control rules, first match wins."""
    d = httpd(start_daemon,
              cache_control="/sub/*=no-store *.html=no-cache "
                            "*.css=public,max-age=31536000,immutable")
    assert get(d, "/").h("cache-control") == "no-cache"  # index.html
    assert get(d, "/style.css").h("cache-control") == "public,max-age=31536000,immutable"
    assert get(d, "/sub/page.html").h("cache-control") == "no-store"
    assert get(d, "/a.txt").h("cache-control") is None


def test_cache_control_invalid(site):
    """A value that could break the header block is a configuration error at its line."""
    cfg = th.TriadConfig(site)
    cfg.update("httpd", {"cache_control": '*.html="x"'})
    path = cfg.write(site.etc / "bad.conf")
    r = th.run_cli("httpd", "-t", "-c", path)
    assert r.returncode == 1
    assert f"{path}:{cfg.lines[('httpd', 'cache_control')]}" in r.stderr
    assert "cache_control" in r.stderr


def test_big_file_sha256(site, start_daemon):
    """A 64 MiB file arrives intact (sendfile path), checked by SHA-256."""
    data = os.urandom(64 << 20)
    (site.www / "big.bin").write_bytes(data)
    site.give_to_run_user()
    d = httpd(start_daemon)
    c = client(d, timeout=30)
    c.request("GET", "/big.bin")
    resp = c.getresponse()
    assert resp.status == 200 and int(resp.getheader("content-length")) == len(data)
    assert hashlib.sha256(resp.read()).hexdigest() == hashlib.sha256(data).hexdigest()
    c.request("GET", "/a.txt")  # and the connection is still in step
    assert c.getresponse().read() == b"alpha\n"
    c.close()


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_pipelined_file_bodies_byte_exact(site, start_daemon, tls):
    """RFC 9112 §9.3.2: pipelined GETs answered in order on one connection, each
    body byte for byte: a 1 MiB file (plain: sendfile, its head sent with MSG_MORE
    in front of the body), ranges of it (RFC 9110 §14.2; one below the size that
    goes by sendfile), a small cached file between them; then the same again
    once the connection is idle. Over HTTPS the bodies are read in (pread)."""
    data = os.urandom(1 << 20)
    (site.www / "m.bin").write_bytes(data)
    site.give_to_run_user()
    d = httpd(start_daemon)
    reqs = [({}, 200, data),
            ({"Range": "bytes=100-300099"}, 206, data[100:300100]),
            (None, 200, b"alpha\n"),
            ({"Range": "bytes=-1000"}, 206, data[-1000:]),
            ({"Range": "bytes=5-"}, 206, data[5:]),
            ({}, 200, data)]
    wire = b""
    for headers, _, _ in reqs:
        path = "/a.txt" if headers is None else "/m.bin"
        lines = [f"GET {path} HTTP/1.1", "Host: localhost"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        wire += ("\r\n".join(lines) + "\r\n\r\n").encode()
    addr = d.ports["listen_tls"][0] if tls else d.addr
    with KeepAlive(addr, timeout=30) as k:
        if tls:
            ctx = ssl.create_default_context(cafile=str(site.cert))
            k.sock = ctx.wrap_socket(k.sock, server_hostname="localhost")
        for _round in range(2):
            k.send(wire)
            for headers, status, body in reqs:
                r = k.read()
                assert r.status == status, (headers, r)
                assert int(r.h("content-length")) == len(body)
                assert r.body == body, (headers, "body differs")
            assert k.buf == b""


def test_over_4gib(site, start_daemon):
    """Files over 4 GiB: exact Content-Length, ranges at the far end (sparse file)."""
    size = (5 << 30) + 7
    with open(site.www / "huge.bin", "wb") as f:
        f.truncate(size)
        f.seek(size - 10)
        f.write(b"0123456789")
    site.give_to_run_user()
    d = httpd(start_daemon)
    h = get(d, "/huge.bin", method="HEAD")
    assert h.status == 200 and h.h("content-length") == str(size)
    r = get(d, "/huge.bin", {"Range": "bytes=-10"})
    assert r.status == 206 and r.body == b"0123456789"
    assert r.h("content-range") == f"bytes {size - 10}-{size - 1}/{size}"
    r = get(d, "/huge.bin", {"Range": f"bytes={size - 4}-"})
    assert r.body == b"6789"


def test_replaced_file_served_whole(site, start_daemon):
    """A file replaced by rename (as ftpd does) while a response is in flight: the
    response is the old content whole, and the next request gets the new one."""
    old = os.urandom(8 << 20)
    new = os.urandom(1 << 20)
    (site.www / "f.bin").write_bytes(old)
    site.give_to_run_user()
    d = httpd(start_daemon)
    with KeepAlive(d.addr, timeout=20) as k:
        k.send(b"GET /f.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        first = k.sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        tmp = site.www / ".triad-tmp.new"
        tmp.write_bytes(new)
        os.chmod(tmp, 0o644)
        os.rename(tmp, site.www / "f.bin")
        k.buf = first
        r = k.read()
        assert hashlib.sha256(r.body).digest() == hashlib.sha256(old).digest()
        assert k.request("/f.bin").body == new


def test_dot_file_rule_holds_through_symbolic_links(site, start_daemon):
    """Issue 14 fix 4: a dot file is 404 (interface.md, "Files") whatever name reaches it.
    A link to a dot file or into a dot directory is 404 when served, as is a precompressed
    sibling that is such a link, and autoindex does not list such links; a link to an
    ordinary file is still served and listed."""
    www = site.www
    os.symlink(".secret", www / "link.txt")
    os.symlink("sub/.hidden", www / "hdir")
    os.symlink("../.secret", www / "list" / "up-link.txt")
    os.symlink("../a.txt", www / "list" / "fine-link.txt")
    (www / "gz.txt").write_text("plain\n" * 50)
    (www / ".gz-secret").write_bytes(b"\x1f\x8b secret")
    os.symlink(".gz-secret", www / "gz.txt.gz")
    os.utime(www / ".gz-secret", None)
    site.give_to_run_user()
    d = httpd(start_daemon, autoindex="on", precompressed="on")
    for path in ("/link.txt", "/hdir/x.txt", "/hdir/", "/list/up-link.txt"):
        r = get(d, path)
        assert r.status == 404, (path, r.status, r.body[:80])
        assert b"secret" not in r.body and b"hidden\n" not in r.body
    r = get(d, "/gz.txt", headers={"Accept-Encoding": "gzip"})
    assert r.status == 200 and r.body == b"plain\n" * 50 and b"secret" not in r.body
    assert get(d, "/list/fine-link.txt").body == b"alpha\n"
    html = get(d, "/list/").body.decode()
    assert "up-link.txt" not in html and "fine-link.txt" in html
    names = [e["name"] for e in json.loads(get(d, "/list/?format=json").body)]
    assert "up-link.txt" not in names and "fine-link.txt" in names
