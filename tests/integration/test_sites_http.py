"""triad-httpd with [site NAME] sections (interface.md, "Sites (all three daemons)").

Host chooses the site (any case, port ignored, the absolute-form authority first);
SNI chooses the certificate (Python's ssl reads the one presented) and a Host of
another site than SNI chose is 421 (RFC 9110 §15.5.20); canonical = on answers 301 to
the first host; a site inherits the per-request keys it does not set from [httpd];
access_log_format = vhost names the site; SIGHUP applies site changes. Real clients:
curl --resolve / --connect-to, Python's ssl, raw sockets where bytes matter.
"""

import os
import re
import socket
import ssl
import subprocess
import time

import pytest

import triad_harness as th
from test_http_helpers import get, one, parse_one


def make_cert(directory, name, cn):
    """A self-signed certificate for CN (and DNS SAN) in DIRECTORY: (cert, key)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.fixture
def sites(triad_root, triad_config):
    """Two sites beside [httpd]'s www: shop (own certificate) and blog (the [global] one)."""
    root = triad_root.root
    for name in ("shop", "blog"):
        d = root / "sites" / name / "www"
        d.mkdir(parents=True)
        (d / "index.html").write_text(f"{name} home\n")
        (d / "who.txt").write_text(f"{name}\n")
    (triad_root.www / "who.txt").write_text("default\n")
    cert, key = make_cert(triad_root.etc, "shop", "shop.example")
    triad_root.give_to_run_user()
    cfg = triad_config
    cfg.sections["site shop"] = {
        "hosts": "Shop.Example www.shop.example",
        "tls_cert": str(cert),
        "tls_key": str(key),
        "cache_control": "*.txt=no-store",
    }
    cfg.sections["site blog"] = {"hosts": "blog.example"}
    cfg.update("httpd", {"cache_control": "*.txt=max-age=60", "access_log_format": "vhost"})
    return cfg


def who(d, host, path="/who.txt"):
    r = get(d, path, host=host)
    return r.status, r.body.decode()


def test_host_chooses_the_site(sites, start_daemon):
    """Host picks the site, case-insensitively and ignoring the port; no match: [httpd]."""
    d = start_daemon("httpd", config=sites)
    port = d.port
    assert who(d, "shop.example") == (200, "shop\n")
    assert who(d, "WWW.SHOP.EXAMPLE") == (200, "shop\n")
    assert who(d, f"Blog.Example:{port}") == (200, "blog\n")
    assert who(d, "blog.example.") == (200, "blog\n")  # the root label's dot
    assert who(d, "other.example") == (200, "default\n")
    assert who(d, "127.0.0.1") == (200, "default\n")
    # RFC 9112 §3.2.2: the absolute-form authority wins over Host
    r = one(d, b"GET http://blog.example/who.txt HTTP/1.1\r\nHost: shop.example\r\n"
               b"Connection: close\r\n\r\n")
    assert (r.status, r.body) == (200, b"blog\n")
    # a site's own file is not reachable through another host
    (sites.layout.root / "sites" / "shop" / "www" / "only-shop.txt").write_text("x\n")
    sites.layout.give_to_run_user()
    assert get(d, "/only-shop.txt", host="blog.example").status == 404
    assert get(d, "/only-shop.txt", host="shop.example").status == 200


def test_curl_resolve_and_connect_to(sites, start_daemon):
    """curl's own Host from --resolve and --connect-to reaches the named site."""
    d = start_daemon("httpd", config=sites)
    host, port = d.addr
    out = subprocess.run(["curl", "-sS", "--resolve", f"blog.example:{port}:{host}",
                          f"http://blog.example:{port}/who.txt"],
                         capture_output=True, timeout=30, check=True).stdout
    assert out == b"blog\n"
    out = subprocess.run(["curl", "-sS", "--connect-to", f"shop.example:80:{host}:{port}",
                          "http://shop.example/who.txt"],
                         capture_output=True, timeout=30, check=True).stdout
    assert out == b"shop\n"


def test_site_inherits_unset_keys(sites, start_daemon):
    """cache_control set by the site wins; a site without it takes [httpd]'s."""
    d = start_daemon("httpd", config=sites)
    assert get(d, "/who.txt", host="shop.example").h("cache-control") == "no-store"
    assert get(d, "/who.txt", host="blog.example").h("cache-control") == "max-age=60"
    assert get(d, "/who.txt", host="x.example").h("cache-control") == "max-age=60"
    # index is inherited too: "/" serves the site's index.html
    r = get(d, "/", host="blog.example")
    assert (r.status, r.body) == (200, b"blog home\n")


def test_canonical_redirects(sites, start_daemon):
    """canonical = on: 301 to the first host, the port only when Host had one."""
    sites.sections["site shop"]["canonical"] = "on"
    d = start_daemon("httpd", config=sites)
    port = d.port
    r = get(d, "/a/b?x=1&y", host=f"www.shop.example:{port}")
    assert r.status == 301
    assert r.h("location") == f"http://shop.example:{port}/a/b?x=1&y"
    r = get(d, "/who.txt", host="WWW.shop.example")
    assert (r.status, r.h("location")) == (301, "http://shop.example/who.txt")
    # the canonical name itself, in any case, is served
    assert who(d, "SHOP.example") == (200, "shop\n")
    # over TLS the scheme is https
    with tls_conn(d, sites, "www.shop.example") as s:
        r = tls_get(s, "/who.txt", "www.shop.example")
    assert (r.status, r.h("location")) == (301, "https://shop.example/who.txt")


def tls_context(sites):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class tls_conn:
    """A TLS connection to httpd's listen_tls with SNI (None: no SNI)."""

    def __init__(self, d, sites, sni):
        self.addr = d.ports["listen_tls"][0]
        self.ctx = tls_context(sites)
        self.sni = sni

    def __enter__(self):
        raw_sock = socket.create_connection(self.addr, timeout=10 * th.timeout_scale())
        self.s = self.ctx.wrap_socket(raw_sock, server_hostname=self.sni)
        return self.s

    def __exit__(self, *exc):
        self.s.close()


def tls_get(s, path, host):
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    buf = b""
    while True:
        try:
            r, _ = parse_one(buf)
            if len(r.body) >= int(r.h("content-length", "0")):
                return r
        except ValueError:
            pass
        chunk = s.recv(65536)
        assert chunk, buf
        buf += chunk


def presented_cn(s):
    der = s.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem.encode(),
                         capture_output=True, check=True).stdout.decode()
    return out.strip().split("CN", 1)[1].lstrip(" =")


def test_sni_chooses_the_certificate(sites, start_daemon):
    """RFC 6066 §3: SNI shop.example gets shop's certificate; an unknown name, a site
    without its own pair, or no SNI at all get the [global] pair (CN localhost)."""
    d = start_daemon("httpd", config=sites)
    for sni, cn in (("shop.example", "shop.example"), ("WWW.Shop.Example", "shop.example"),
                    ("blog.example", "localhost"), ("nobody.example", "localhost"),
                    (None, "localhost")):
        with tls_conn(d, sites, sni) as s:
            assert presented_cn(s) == cn, sni
            assert s.selected_alpn_protocol() in (None, "http/1.1")


def test_misdirected_request_421(sites, start_daemon):
    """RFC 9110 §15.5.20: SNI chose shop, Host names blog: 421. SNI chose none: Host decides."""
    d = start_daemon("httpd", config=sites)
    with tls_conn(d, sites, "shop.example") as s:
        r = tls_get(s, "/who.txt", "shop.example")
        assert (r.status, r.body) == (200, b"shop\n")
        r = tls_get(s, "/who.txt", "www.shop.example")
        assert (r.status, r.body) == (200, b"shop\n")
        r = tls_get(s, "/who.txt", "blog.example")
        assert r.status == 421
        r = tls_get(s, "/who.txt", "other.example")
        assert r.status == 421
    with tls_conn(d, sites, "unknown.example") as s:
        r = tls_get(s, "/who.txt", "blog.example")
        assert (r.status, r.body) == (200, b"blog\n")
    with tls_conn(d, sites, None) as s:
        r = tls_get(s, "/who.txt", "shop.example")
        assert (r.status, r.body) == (200, b"shop\n")
    # curl sends SNI and Host from one URL: the shop certificate, the shop content
    host, port = d.ports["listen_tls"][0]
    cert = sites.sections["site shop"]["tls_cert"]
    out = subprocess.run(["curl", "-sS", "--cacert", cert, "--resolve",
                          f"shop.example:{port}:{host}", f"https://shop.example:{port}/who.txt"],
                         capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == b"shop\n"


def test_site_hsts_own_and_inherited(sites, start_daemon):
    """RFC 6797 §6.1: a site's own hsts gives its max-age; a site without the key takes
    [httpd]'s; hsts = 0 on a site turns the field off there only; over TLS only."""
    sites.update("httpd", {"hsts": "1h"})
    sites.sections["site shop"]["hsts"] = "2h"
    root = sites.layout.root
    (root / "sites" / "plain" / "www").mkdir(parents=True)
    (root / "sites" / "plain" / "www" / "who.txt").write_text("plain\n")
    sites.layout.give_to_run_user()
    sites.sections["site plain"] = {"hosts": "plain.example", "hsts": "0"}
    d = start_daemon("httpd", config=sites)
    for sni, host, want in (("shop.example", "shop.example", "max-age=7200"),
                            (None, "blog.example", "max-age=3600"),
                            (None, "other.example", "max-age=3600"),
                            (None, "plain.example", None)):
        with tls_conn(d, sites, sni) as s:
            r = tls_get(s, "/who.txt", host)
            assert r.status == 200, host
            assert r.h("strict-transport-security") == want, host
    assert get(d, "/who.txt", host="shop.example").h("strict-transport-security") is None


def test_vhost_access_log(sites, start_daemon):
    """access_log_format = vhost: "HOST:PORT " first (Apache vhost_combined)."""
    d = start_daemon("httpd", config=sites)
    port = d.port
    get(d, "/who.txt", host=f"www.shop.example:{port}")
    get(d, "/who.txt", host="nowhere.example")
    path = sites.layout.etc / "access.log"
    deadline = time.monotonic() + 5 * th.timeout_scale()
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert lines[0].startswith(f"shop.example:{port} 127.0.0.1 - - ["), lines
    assert lines[1].startswith(f"-:{port} 127.0.0.1 - - ["), lines
    assert '"GET /who.txt HTTP/1.1" 200 5' in lines[0]


def test_sighup_applies_site_changes(sites, start_daemon):
    """A site added and a host moved by SIGHUP serve new connections."""
    d = start_daemon("httpd", config=sites)
    assert who(d, "new.example") == (200, "default\n")
    news = sites.layout.root / "sites" / "new" / "www"
    news.mkdir(parents=True)
    (news / "who.txt").write_text("new\n")
    sites.layout.give_to_run_user()
    sites.sections["site new"] = {"hosts": "new.example"}
    sites.write()
    d.reload(expect=r"reload: done")
    assert who(d, "new.example") == (200, "new\n")
    # an invalid change (one host in two sites) is refused; the old sites stay
    sites.sections["site new"] = {"hosts": "new.example blog.example"}
    sites.write()
    d.reload(expect=r"reload refused")
    assert who(d, "new.example") == (200, "new\n")
    assert who(d, "blog.example") == (200, "blog\n")


def test_missing_site_docroot_is_a_startup_error(sites, start_daemon):
    sites.sections["site gone"] = {"hosts": "gone.example"}
    d = start_daemon("httpd", config=sites, expect_ready=False)
    d.wait_exit()
    line = sites.line("site gone", None)
    assert f"{sites.path}:{line}: docroot: cannot open" in d.stderr_text()


@pytest.mark.parametrize("daemon", th.DAEMONS)
def test_every_daemon_checks_every_site(sites, daemon):
    """-t of any daemon reports a site error as FILE:LINE: key: message, the later line."""
    sites.sections["site blog"]["hosts"] = "blog.example shop.example"
    path = sites.write(sites.layout.etc / "bad.conf")
    r = th.run_cli(daemon, "-t", "-c", path)
    assert r.returncode == 1
    line = sites.line("site blog", "hosts")
    first = sites.line("site shop", "hosts")
    assert r.stderr.strip().endswith(
        f"{path}:{line}: hosts: host 'shop.example' is already in [site shop] (line {first})"), \
        r.stderr


# ---------------------------------------------------------------- error_pages, try_extensions

@pytest.fixture
def pages(triad_root, triad_config):
    www = triad_root.www
    (www / "404.html").write_text("<h1>custom 404</h1>\n")
    (www / "errors").mkdir()
    (www / "errors" / "4xx.html").write_text("<h1>some 4xx</h1>\n")
    (www / "about.html").write_text("about page\n")
    (www / "docs").mkdir()
    (www / "docs" / "index.html").write_text("docs dir\n")
    (www / "docs.html").write_text("docs file\n")
    (www / "noindex").mkdir()
    shop = triad_root.root / "sites" / "shop" / "www"
    shop.mkdir(parents=True)
    (shop / "404.html").write_text("shop 404\n")
    (shop / "gone.txt").write_text("x\n")
    blog = triad_root.root / "sites" / "blog" / "www"
    blog.mkdir(parents=True)
    (blog / "404.html").write_text("blog's own 404 file\n")
    (blog / "post.htm").write_text("a post\n")
    triad_root.give_to_run_user()
    cfg = triad_config
    cfg.update("httpd", {"error_pages": "404=/404.html 4xx=/errors/4xx.html",
                         "try_extensions": ".html"})
    cfg.sections["site shop"] = {"hosts": "shop.example", "error_pages": "404=/404.html"}
    cfg.sections["site blog"] = {"hosts": "blog.example", "try_extensions": ".htm .html"}
    return cfg


def test_error_pages(pages, start_daemon):
    """error_pages: the page is the body, the status stays; a code beats a class."""
    d = start_daemon("httpd", config=pages)
    r = get(d, "/missing")
    assert (r.status, r.body) == (404, b"<h1>custom 404</h1>\n")
    assert r.h("content-type").startswith("text/html")
    for name in ("etag", "last-modified", "accept-ranges"):
        assert r.h(name) is None, name  # not the page file's validators
    r = get(d, "/missing", method="HEAD")
    assert (r.status, r.h("content-length"), r.body) == (404, "20", b"")
    # 403 (a directory without index, autoindex off) takes the 4xx page
    r = get(d, "/noindex/")
    assert (r.status, r.body) == (403, b"<h1>some 4xx</h1>\n")
    # 405 keeps its Allow field (RFC 9110 §15.5.6) with the 4xx page
    r = get(d, "/", method="DELETE")
    assert (r.status, r.body) == (405, b"<h1>some 4xx</h1>\n")
    assert r.h("allow") == "GET, HEAD, OPTIONS"
    # a Range request still gets the whole page (no ranges on error pages)
    r = get(d, "/missing", headers={"Range": "bytes=0-3"})
    assert (r.status, r.body) == (404, b"<h1>custom 404</h1>\n")


def test_error_pages_per_site(pages, start_daemon):
    """A site's own error_pages come from its own docroot; a site that sets none
    inherits [httpd]'s key and resolves the page in its own docroot."""
    d = start_daemon("httpd", config=pages)
    r = get(d, "/missing", host="shop.example")
    assert (r.status, r.body) == (404, b"shop 404\n")
    # shop's own key has no 4xx class: 403 gets the built-in page
    (pages.layout.root / "sites" / "shop" / "www" / "dir").mkdir()
    pages.layout.give_to_run_user()
    r = get(d, "/dir/", host="shop.example")
    assert r.status == 403 and b"some 4xx" not in r.body
    r = get(d, "/missing", host="blog.example")
    assert (r.status, r.body) == (404, b"blog's own 404 file\n")


def test_error_page_missing_file_is_logged(pages, start_daemon):
    """A page file that is missing: the built-in page, and a warning naming the page."""
    os_remove = (pages.layout.www / "404.html")
    os_remove.unlink()
    d = start_daemon("httpd", config=pages)
    r = get(d, "/missing")
    assert r.status == 404 and b"custom" not in r.body and b"404" in r.body
    d.wait_log(r"error page /404\.html for 404")


def test_try_extensions(pages, start_daemon):
    """try_extensions = .html: /about serves about.html; a directory still wins; a
    file of the very name wins; nothing found stays 404."""
    d = start_daemon("httpd", config=pages)
    r = get(d, "/about")
    assert (r.status, r.body) == (200, b"about page\n")
    assert r.h("content-type").startswith("text/html")
    assert get(d, "/about.html").body == b"about page\n"
    r = get(d, "/docs")  # docs/ is a directory: 301 to docs/ (RFC 9110 §15.4.2)
    assert (r.status, r.h("location")) == (301, "/docs/")
    assert get(d, "/docs/").body == b"docs dir\n"
    assert get(d, "/nothing").status == 404
    assert get(d, "/about/").status == 404  # a trailing slash names a directory
    # a site's own list, in its order: .htm first
    r = get(d, "/post", host="blog.example")
    assert (r.status, r.body) == (200, b"a post\n")
    # shop inherits [httpd]'s .html but has no about.html
    assert get(d, "/about", host="shop.example").status == 404


# ---------------------------------------------------------------- rules_files

REDIRECTS = """# Netlify / Cloudflare Pages syntax
/old            /new
/q              /new?a=1          302
/news/*         /blog/:splat      301
/u/:id/p/:page  /users/:id/:page  308
/away           https://elsewhere.example/x 307
/app/*          /app.html         200
/gone           /gone.html        410
/missing-page   /nope.html        404
/exists.txt     /new              301
/forced.txt     /new              301!
this line is bad
/_redirects-leak /_redirects      200
"""

HEADERS = """/*
  X-Site-Wide: yes
/assets/*
  Cache-Control: public, max-age=31536000, immutable
not a pattern
  X-Skipped: 1
"""


@pytest.fixture
def ruled(triad_root, triad_config):
    www = triad_root.www
    (www / "_redirects").write_text(REDIRECTS)
    (www / "_headers").write_text(HEADERS)
    (www / "app.html").write_text("the app\n")
    (www / "gone.html").write_text("gone for good\n")
    (www / "exists.txt").write_text("a real file\n")
    (www / "forced.txt").write_text("shadowed\n")
    (www / "assets").mkdir()
    (www / "assets" / "a.css").write_text("a{}\n")
    triad_root.give_to_run_user()
    triad_config.update("httpd", {"rules_files": "on"})
    return triad_config


def test_redirects(ruled, start_daemon):
    """_redirects: FROM TO [STATUS[!]], placeholders and :splat, the query kept."""
    d = start_daemon("httpd", config=ruled)
    r = get(d, "/old")
    assert (r.status, r.h("location")) == (301, "/new")
    r = get(d, "/old?x=1&y=2")
    assert (r.status, r.h("location")) == (301, "/new?x=1&y=2")
    r = get(d, "/q?b=2")  # TO has its own query: joined with '&'
    assert (r.status, r.h("location")) == (302, "/new?a=1&b=2")
    r = get(d, "/news/2026/12/hello.html")
    assert (r.status, r.h("location")) == (301, "/blog/2026/12/hello.html")
    r = get(d, "/u/42/p/7")
    assert (r.status, r.h("location")) == (308, "/users/42/7")
    r = get(d, "/away")
    assert (r.status, r.h("location")) == (307, "https://elsewhere.example/x")
    # 200 rewrites to a path of the same site
    r = get(d, "/app/some/route")
    assert (r.status, r.body) == (200, b"the app\n")
    # 410 and 404 serve TO as the body with that status; a missing TO: the built-in page
    r = get(d, "/gone")
    assert (r.status, r.body) == (410, b"gone for good\n")
    r = get(d, "/missing-page")
    assert r.status == 404
    # a file at FROM wins over a rule without '!'; '!' forces the rule
    assert get(d, "/exists.txt").body == b"a real file\n"
    r = get(d, "/forced.txt")
    assert (r.status, r.h("location")) == (301, "/new")
    # the bad line is skipped and logged with its number; the later lines still work
    d.wait_log(r"_redirects:12: expected FROM TO \[STATUS\]")
    assert get(d, "/_redirects-leak").status == 404


def test_rules_files_are_never_served(ruled, start_daemon):
    d = start_daemon("httpd", config=ruled)
    for path in ("/_redirects", "/_headers", "/_redirects/", "/x/../_headers"):
        r = get(d, path)
        assert r.status == 404, path
        assert b"Netlify" not in r.body and b"X-Site-Wide" not in r.body


def test_headers(ruled, start_daemon):
    """_headers: indented Name: value lines for responses on matching paths."""
    d = start_daemon("httpd", config=ruled)
    r = get(d, "/assets/a.css")
    assert r.h("cache-control") == "public, max-age=31536000, immutable"
    assert r.h("x-site-wide") == "yes"
    r = get(d, "/exists.txt")
    assert r.h("x-site-wide") == "yes" and r.h("cache-control") is None
    assert r.h("x-skipped") is None
    d.wait_log(r"_headers:5: expected a path pattern")


def test_rules_reread_without_sighup(ruled, start_daemon):
    """A changed _redirects (as an FTP upload would leave it) applies within 2 s."""
    d = start_daemon("httpd", config=ruled)
    assert get(d, "/fresh").status == 404
    path = ruled.layout.www / "_redirects"
    tmp = ruled.layout.www / ".tmp-redirects"
    tmp.write_text("/fresh /new 302\n")
    ruled.layout.give_to_run_user()
    os.rename(tmp, path)
    # Each worker looks at most once a second: every one has the new rules within 2 s.
    changed = time.monotonic()
    while time.monotonic() < changed + 2.5 * th.timeout_scale():
        if get(d, "/fresh").status == 302 and get(d, "/old").status == 404:
            break
        time.sleep(0.1)
    took = time.monotonic() - changed
    # 2 s after the change (the contract's bound) no worker may still use the old file
    time.sleep(max(0.0, changed + 2.0 - time.monotonic()))
    for _ in range(8):  # new connections, spread over the workers
        r = get(d, "/fresh")
        assert (r.status, r.h("location")) == (302, "/new")
        assert get(d, "/old").status == 404  # the old rules are gone
    assert took < 2.5 * th.timeout_scale()


def test_rules_files_per_site(ruled, start_daemon, triad_root):
    """rules_files set in a site reads that site's own files; [httpd]'s stay its own."""
    shop = triad_root.root / "sites" / "shop" / "www"
    shop.mkdir(parents=True)
    (shop / "_redirects").write_text("/old /shop-new\n")
    triad_root.give_to_run_user()
    ruled.sections["site shop"] = {"hosts": "shop.example"}
    ruled.sections["site plain"] = {"hosts": "plain.example", "rules_files": "off",
                                    "docroot": "www/plain"}
    (triad_root.www / "plain").mkdir()
    (triad_root.www / "plain" / "_redirects").write_text("/old /x\n")
    triad_root.give_to_run_user()
    d = start_daemon("httpd", config=ruled)
    assert get(d, "/old", host="shop.example").h("location") == "/shop-new"
    assert get(d, "/old").h("location") == "/new"
    r = get(d, "/old", host="plain.example")
    assert r.status == 404  # rules_files = off in that site
    assert get(d, "/_redirects", host="plain.example").status == 200  # just a file there


def test_bad_rule_line_logged_once_per_change(ruled, start_daemon):
    """A bad line is logged once per version of the file, whichever worker reads it first,
    not once per worker; a new version with a bad line is logged (once) again."""
    d = start_daemon("httpd", config=ruled)  # workers = 2

    def spread():  # new connections land on both workers (SO_REUSEPORT)
        for _ in range(24):
            assert get(d, "/old").status == 301
    spread()
    d.wait_log(r"_redirects:12: expected FROM TO \[STATUS\]")
    spread()
    assert len(re.findall(r"_redirects:12: expected FROM", d.log_text())) == 1, d.log_text()
    # the same bad line, moved to line 2 by an upload: the new version is logged once
    path = ruled.layout.www / "_redirects"
    tmp = ruled.layout.www / ".tmp-redirects"
    tmp.write_text("/old /newer\nstill bad\n")
    ruled.layout.give_to_run_user()
    os.rename(tmp, path)
    deadline = time.monotonic() + 3 * th.timeout_scale()
    while get(d, "/old").h("location") != "/newer" and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.1)  # every worker's once-a-second look has passed
    for _ in range(24):
        assert get(d, "/old").h("location") == "/newer"
    log = d.log_text()
    assert len(re.findall(r"_redirects:2: FROM must be a path", log)) == 1, log
    assert len(re.findall(r"_redirects:12: expected FROM", log)) == 1, log
