"""Per-site `proxy` and `fallback`, and the gateway's errors through a site's error_pages
(interface.md, "Sites (all three daemons)": "any per-request [httpd] key may be set here
too ... proxy, fallback ..., a key a site does not set takes the [httpd] value"; and
"error_pages ... also for the error statuses of the gateway").

Real peers: Debian's gunicorn behind one site, raw Python upstreams (proxy_backends) for
the others and for a server that refuses or never answers (RFC 9110 §15.6.3 502,
§15.6.5 504). Clients: raw sockets (byte-exact) and curl --resolve.
"""

import json
import socket
import subprocess
import threading

import pytest

import triad_harness as th
from proxy_backends import RawBackend, echo, Gunicorn
from test_http_helpers import get


def tagged(tag):
    """An echo upstream whose answers carry X-Pool: TAG, so a test sees which pool answered."""
    return RawBackend(lambda s, f, b: echo(s, f, b, extra=b"X-Pool: %s\r\n" % tag.encode()))


@pytest.fixture
def pools():
    made = {name: tagged(name) for name in ("main", "shop")}
    yield made
    for b in made.values():
        b.close()


@pytest.fixture
def gunicorn(triad_config):
    g = Gunicorn(triad_config.layout.base / "gunicorn")
    yield g
    g.stop()


def site_dir(layout, name, files):
    d = layout.root / "sites" / name / "www"
    d.mkdir(parents=True)
    for rel, text in files.items():
        (d / rel).write_text(text)
    return d


@pytest.fixture
def two_sites(triad_root, triad_config, pools, gunicorn):
    """app.example proxies /api/* to gunicorn; shop.example is static with a fallback to
    its own pool; plain.example sets neither key; off.example switches fallback off.
    [httpd] has fallback = main."""
    site_dir(triad_root, "app", {"index.html": "app home\n"})
    site_dir(triad_root, "shop", {"present.txt": "shop file\n", "index.html": "shop home\n"})
    site_dir(triad_root, "plain", {"here.txt": "plain file\n"})
    site_dir(triad_root, "off", {"here.txt": "off file\n"})
    triad_root.give_to_run_user()
    cfg = triad_config
    cfg.sections["upstream main"] = {"servers": pools["main"].address}
    cfg.sections["upstream shop"] = {"servers": pools["shop"].address}
    cfg.sections["upstream py"] = {"servers": gunicorn.address}
    cfg.sections["site app"] = {"hosts": "app.example", "proxy": "/api/*=py"}
    cfg.sections["site shop"] = {"hosts": "shop.example", "fallback": "shop"}
    cfg.sections["site plain"] = {"hosts": "plain.example"}
    cfg.sections["site off"] = {"hosts": "off.example", "fallback": ""}
    cfg.update("httpd", {"fallback": "main"})
    return cfg


def pool_of(r):
    return r.h("x-pool")


def routed(d, host, path):
    """(status, the pool that answered or None, body) of GET PATH for HOST."""
    r = get(d, path, host=host)
    return r.status, pool_of(r), r.body


def test_site_proxy_rules_go_to_gunicorn(two_sites, start_daemon):
    """A site's own proxy rule sends its matching paths to its pool (a real WSGI app),
    with the client's Host; its files are still served from its own docroot."""
    d = start_daemon("httpd", config=two_sites)
    r = get(d, "/api/items?x=1", host="app.example")
    assert r.status == 200, r
    seen = json.loads(r.body)
    assert (seen["path"], seen["query"], seen["host"]) == ("/api/items", "x=1", "app.example")
    assert routed(d, "app.example", "/") == (200, None, b"app home\n")
    # the rule is app.example's own: other sites never reach gunicorn with /api/
    assert routed(d, "shop.example", "/api/items")[:2] == (200, "shop")
    assert routed(d, "nosite.example", "/api/items")[:2] == (200, "main")


def test_site_fallback_goes_to_its_own_pool(two_sites, start_daemon, pools):
    """fallback set in a site: a path with no file there goes to that site's pool with
    its method and body; an existing file is served locally."""
    d = start_daemon("httpd", config=two_sites)
    assert routed(d, "shop.example", "/present.txt") == (200, None, b"shop file\n")
    r = get(d, "/cart/42", host="shop.example")
    assert (r.status, pool_of(r)) == (200, "shop")
    seen = json.loads(r.body)
    assert (seen["method"], seen["target"]) == ("GET", "/cart/42")
    assert ("Host", "shop.example") in [tuple(f) for f in seen["fields"]]
    n_main = len(pools["main"].requests)
    host, port = d.addr
    out = subprocess.run(["curl", "-sS", "-i", "--resolve", f"shop.example:{port}:{host}",
                          "--data-binary", "order=1", f"http://shop.example:{port}/checkout"],
                         capture_output=True, timeout=30, check=True).stdout
    assert b"X-Pool: shop" in out and b'"body": "order=1"' in out, out
    assert b'"method": "POST"' in out
    assert len(pools["main"].requests) == n_main  # [httpd]'s pool saw none of it


def test_site_without_the_keys_inherits_httpd(two_sites, start_daemon, pools):
    """A site that sets neither key takes [httpd]'s fallback, as a Host of no site does;
    its own files are still its own."""
    d = start_daemon("httpd", config=two_sites)
    assert routed(d, "plain.example", "/missing")[:2] == (200, "main")
    assert routed(d, "plain.example", "/here.txt") == (200, None, b"plain file\n")
    # app.example sets proxy but not fallback: a path outside its rule falls back to main
    assert routed(d, "app.example", "/nothing-here")[:2] == (200, "main")
    assert routed(d, "127.0.0.1", "/missing")[:2] == (200, "main")
    assert len(pools["shop"].requests) == 0  # only shop.example's own fallback goes there


def test_site_can_switch_the_fallback_off(two_sites, start_daemon, pools):
    """fallback = (empty) in a site: no pool for it, a missing path is 404 as before."""
    d = start_daemon("httpd", config=two_sites)
    before = len(pools["main"].requests) + len(pools["shop"].requests)
    r = get(d, "/missing", host="off.example")
    assert r.status == 404 and pool_of(r) is None
    assert get(d, "/here.txt", host="off.example").body == b"off file\n"
    assert len(pools["main"].requests) + len(pools["shop"].requests) == before


def test_site_proxy_keys_reload(two_sites, start_daemon, pools):
    """SIGHUP applies a site's new fallback to new requests."""
    d = start_daemon("httpd", config=two_sites)
    assert get(d, "/missing", host="plain.example").h("x-pool") == "main"
    two_sites.sections["site plain"]["fallback"] = "shop"
    two_sites.write()
    d.reload(expect=r"reload: done")
    assert get(d, "/missing", host="plain.example").h("x-pool") == "shop"
    # a site naming a pool that does not exist is refused; the old configuration stays
    two_sites.sections["site plain"]["fallback"] = "nope"
    two_sites.write()
    d.reload(expect=r"reload refused")
    assert get(d, "/missing", host="plain.example").h("x-pool") == "shop"


@pytest.mark.parametrize("daemon", th.DAEMONS)
@pytest.mark.parametrize("key,value,message", [
    ("fallback", "nope", "fallback: no [upstream nope] section"),
    ("proxy", "/api/*=py /x/*=gone", 'proxy: rule "/x/*=gone": no [upstream gone] section'),
    ("proxy", "/api/*", 'proxy: rule "/api/*" is not PATTERN=VALUE'),
])
def test_every_daemon_checks_site_proxy_keys(triad_config, daemon, key, value, message):
    """-t of any daemon names the site's line: FILE:LINE: key: message. ftpd and smtpd do
    not read [upstream], and still know which ones the file has."""
    triad_config.sections["upstream py"] = {"servers": "127.0.0.1:9"}
    (triad_config.layout.root / "sites" / "shop" / "www").mkdir(parents=True)
    triad_config.sections["site shop"] = {"hosts": "shop.example", key: value}
    path = triad_config.write(triad_config.layout.etc / "bad.conf")
    r = th.run_cli(daemon, "-t", "-c", path)
    assert r.returncode == 1, r.stderr
    line = triad_config.line("site shop", key)
    assert r.stderr.strip().endswith(f"{path}:{line}: {message}"), r.stderr
    # the same pool names are accepted when they exist
    triad_config.sections["site shop"] = {"hosts": "shop.example", "proxy": "/api/*=py",
                                          "fallback": "py"}
    path = triad_config.write(triad_config.layout.etc / "good.conf")
    r = th.run_cli(daemon, "-t", "-c", path)
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------- the gateway's 5xx pages

def silent(s, f, backend):
    """Reads the request head, then never answers (a server that hangs)."""
    f.readline()
    backend.record({"silent": True})
    while not backend.stopped:
        if not s.recv(4096):
            return


@pytest.fixture
def failing(triad_root, triad_config):
    """[site shop] with error_pages for 502 and 5xx, routes to a refusing and a silent
    pool; [httpd] has no error_pages."""
    hang = RawBackend(silent)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connect() is refused
    refused = "127.0.0.1:%d" % closed.getsockname()[1]
    site_dir(triad_root, "shop", {"50x.html": "shop is down\n", "502.html": "shop 502\n"})
    triad_root.give_to_run_user()
    cfg = triad_config
    cfg.sections["upstream refused"] = {"servers": refused, "fail_timeout": "0s"}
    cfg.sections["upstream hang"] = {"servers": hang.address, "timeout": "1s"}
    cfg.sections["site shop"] = {"hosts": "shop.example",
                                 "proxy": "/refused/*=refused /hang/*=hang",
                                 "error_pages": "502=/502.html 5xx=/50x.html"}
    cfg.update("httpd", {"proxy": "/refused/*=refused /hang/*=hang"})
    yield cfg
    hang.close()
    closed.close()


def test_gateway_502_and_504_use_the_sites_pages(failing, start_daemon):
    """RFC 9110 §15.6.3 / §15.6.5: no server reachable is 502, no response head within
    timeout is 504; the site's error_pages give the body (a code beats a class), the
    status stays."""
    d = start_daemon("httpd", config=failing)
    r = get(d, "/refused/x", host="shop.example")
    assert (r.status, r.body) == (502, b"shop 502\n")
    assert r.h("content-type").startswith("text/html")
    r = get(d, "/hang/x", host="shop.example")
    assert (r.status, r.body) == (504, b"shop is down\n")
    r = get(d, "/hang/x", method="HEAD", host="shop.example")
    assert (r.status, r.h("content-length")) == (504, str(len(b"shop is down\n")))
    # a Host of no site: [httpd] has no error_pages, the built-in pages
    r = get(d, "/refused/x", host="other.example")
    assert r.status == 502 and b"shop" not in r.body
    r = get(d, "/hang/x", host="other.example")
    assert r.status == 504 and b"shop" not in r.body


def test_gateway_error_page_keeps_the_connection_usable(failing, start_daemon):
    """After a 502 with a page body, the next request on the keep-alive connection is
    answered (the page's framing is exact)."""
    from test_http_helpers import KeepAlive
    d = start_daemon("httpd", config=failing)
    with KeepAlive(d.addr, timeout=10 * th.timeout_scale()) as k:
        k.send(b"GET /refused/a HTTP/1.1\r\nHost: shop.example\r\n\r\n"
               b"GET /50x.html HTTP/1.1\r\nHost: shop.example\r\n\r\n")
        r1, r2 = k.read(), k.read()
    assert (r1.status, r1.body) == (502, b"shop 502\n")
    assert (r2.status, r2.body) == (200, b"shop is down\n")
