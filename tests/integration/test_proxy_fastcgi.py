"""triad-httpd in front of Debian's php8.2-fpm over FastCGI (interface.md, "Application
servers (httpd)", FastCGI): the script resolved below docroot before the server is
contacted, PATH_INFO, the CGI parameters (RFC 3875 §4.1), request bodies (also chunked,
buffered to set CONTENT_LENGTH), the CGI response (RFC 3875 §6: Status, Location),
stderr to the error log, the front controller fallback, connection reuse (FCGI_KEEP_CONN).
"""

import http.client
import json
import os
import re
import time

import pytest

import triad_harness as th
from proxy_backends import PhpFpm, RawBackend, read_request

INFO = r"""<?php
header("X-App: php");
$keys = ["SCRIPT_FILENAME", "SCRIPT_NAME", "PATH_INFO", "DOCUMENT_ROOT", "REQUEST_URI",
         "QUERY_STRING", "REQUEST_METHOD", "CONTENT_TYPE", "CONTENT_LENGTH", "SERVER_NAME",
         "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE", "GATEWAY_INTERFACE",
         "REMOTE_ADDR", "REMOTE_PORT", "HTTPS", "HTTP_X_A", "HTTP_PROXY", "HTTP_HOST",
         "HTTP_COOKIE"];
$out = [];
foreach ($keys as $k) { $out[$k] = $_SERVER[$k] ?? null; }
$out["body"] = file_get_contents("php://input");
$out["pid"] = getmypid();
echo json_encode($out);
"""


@pytest.fixture
def fpm(triad_config):
    # below the layout (0755): the run user reaches the socket after the privilege drop
    # 4 children: each kept connection (FCGI_KEEP_CONN) holds one for itself
    p = PhpFpm(triad_config.layout.base / "fpm", children=4)
    yield p
    p.stop()


@pytest.fixture
def php_site(triad_config):
    www = triad_config.layout.www
    (www / "info.php").write_text(INFO)
    (www / "status.php").write_text('<?php http_response_code(404); echo "gone";')
    (www / "redirect.php").write_text('<?php header("Location: https://example.org/next");')
    (www / "local.php").write_text('<?php header("Location: /elsewhere");')
    (www / "stderr.php").write_text('<?php error_log("disk almost full"); echo "ok";')
    (www / "index.php").write_text('<?php echo "front:", $_SERVER["REQUEST_URI"], ":",'
                                   ' $_SERVER["SCRIPT_NAME"], ":", $_SERVER["REQUEST_METHOD"];')
    (www / "upload.jpg").write_text('GIF89a<?php echo "executed"; ?>')
    (www / "big.php").write_text('<?php echo str_repeat("0123456789", 300000);')
    triad_config.layout.give_to_run_user()
    return www


def start(start_daemon, triad_config, fpm, **httpd):
    triad_config.sections["upstream php"] = {"servers": fpm.address, "protocol": "fastcgi"}
    httpd.setdefault("proxy", "*.php=php")
    return start_daemon("httpd", config=triad_config, section_overrides=httpd)


def get(d, path, method="GET", body=None, headers=None):
    c = http.client.HTTPConnection(*d.addr, timeout=10 * th.timeout_scale())
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def test_cgi_parameters(start_daemon, triad_config, fpm, php_site):
    """RFC 3875 §4.1 and php-fpm's needs: the script's absolute path and name, PATH_INFO
    after a matching prefix, the original target, HTTP_* (lines joined), never HTTP_PROXY."""
    d = start(start_daemon, triad_config, fpm)
    c = http.client.HTTPConnection(*d.addr, timeout=10)
    c.putrequest("GET", "/info.php/a/b?x=1&y=%20", skip_host=True)
    c.putheader("Host", "php.example:8080")
    c.putheader("X-A", "1")
    c.putheader("X-A", "2")
    c.putheader("Proxy", "http://evil.example/")
    c.putheader("Cookie", "a=1")
    c.putheader("Cookie", "b=2")
    c.endheaders()
    r = c.getresponse()
    v = json.loads(r.read())
    assert r.status == 200 and r.getheader("X-App") == "php"
    assert r.getheader("Transfer-Encoding") == "chunked"
    docroot = str(php_site.resolve())
    assert v["SCRIPT_FILENAME"] == docroot + "/info.php"
    assert v["SCRIPT_NAME"] == "/info.php" and v["PATH_INFO"] == "/a/b"
    assert v["DOCUMENT_ROOT"] == docroot
    assert v["REQUEST_URI"] == "/info.php/a/b?x=1&y=%20" and v["QUERY_STRING"] == "x=1&y=%20"
    assert v["REQUEST_METHOD"] == "GET" and v["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert v["SERVER_NAME"] == "php.example" and v["SERVER_PORT"] == str(d.addr[1])
    assert v["GATEWAY_INTERFACE"] == "CGI/1.1" and v["SERVER_SOFTWARE"].startswith("triad/")
    assert v["REMOTE_ADDR"] == "127.0.0.1" and int(v["REMOTE_PORT"]) > 0
    assert v["HTTPS"] is None and v["HTTP_PROXY"] is None
    assert v["HTTP_X_A"] == "1, 2" and v["HTTP_COOKIE"] == "a=1; b=2"
    assert v["HTTP_HOST"] == "php.example:8080"


def test_https_on_over_tls(start_daemon, triad_config, fpm, php_site):
    """HTTPS=on over TLS (interface.md)."""
    import ssl
    d = start(start_daemon, triad_config, fpm)
    host, port = th.parse_hostport(triad_config.sections["httpd"]["listen_tls"])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection(host, port, context=ctx, timeout=10)
    c.request("GET", "/info.php")
    assert json.loads(c.getresponse().read())["HTTPS"] == "on"


def test_script_must_exist_below_docroot(start_daemon, triad_config, fpm, php_site):
    """The script is a regular file below docroot, checked before the server is contacted:
    /upload.jpg/x.php is 404 and nothing runs (interface.md)."""
    d = start(start_daemon, triad_config, fpm)
    for path in ("/upload.jpg/x.php", "/missing.php", "/upload.jpg/x.php/y", "/dir.php/"):
        r, data = get(d, path)
        assert r.status == 404, path
        assert b"executed" not in data
    # the upload itself is a static file, served as such, never run
    r, data = get(d, "/upload.jpg")
    assert r.status == 200 and b"<?php" in data


def test_script_check_sees_every_change(start_daemon, triad_config, fpm, php_site):
    """The answer "this script exists below docroot" is cached per worker (fcache.c's rule)
    and never outlives a change: on one keep-alive connection (one worker), the next
    request after the script is removed, replaced by a directory or by a symbolic link
    out of docroot, or after its directory is chmod-ed unsearchable, is triad's 404 and
    php-fpm runs nothing (interface.md: the script is a regular file below docroot,
    checked before the server is contacted); put back (by rename, by chmod), it runs. /upload.jpg/x.php stays 404 after
    /upload.jpg was served (and cached) as a static file."""
    www = php_site
    script = www / "s.php"
    script.write_text('<?php echo "one";')
    (www / "sub").mkdir()
    (www / "sub" / "t.php").write_text('<?php echo "two";')
    os.chmod(www / "sub" / "t.php", 0o644)
    outside = triad_config.layout.base / "outside.php"
    outside.write_text('<?php echo "outside";')
    for p in (script, outside):
        os.chmod(p, 0o644)
    triad_config.layout.give_to_run_user()
    time.sleep(2.2)  # fcache.c: files changed in the last 2 s are not cached
    d = start(start_daemon, triad_config, fpm)
    c = http.client.HTTPConnection(*d.addr, timeout=10 * th.timeout_scale())

    def ask(path):
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()

    def not_run(path):
        status, data = ask(path)
        assert status == 404, (path, data)
        # triad's own page, not php-fpm's "File not found." after being asked
        assert b"File not found" not in data and b"one" not in data
        assert b"outside" not in data and b"executed" not in data

    for _ in range(3):  # the first request caches the answer, the next ones use it
        assert ask("/s.php") == (200, b"one")
    script.unlink()
    not_run("/s.php")
    script.mkdir()
    not_run("/s.php")
    script.rmdir()
    script.symlink_to(outside)
    not_run("/s.php")
    not_run("/s.php/more")
    script.unlink()
    tmp = www / ".s.tmp"
    tmp.write_text('<?php echo "one";')
    os.chmod(tmp, 0o644)
    tmp.rename(script)
    assert ask("/s.php") == (200, b"one")
    time.sleep(2.2)
    for _ in range(2):
        assert ask("/s.php") == (200, b"one")
    # chmod: a directory on the way the run user may no longer search hides the script
    # from us (fsroot's open fails), so it is not run, though php-fpm's opcache still
    # holds it; searchable again, it runs
    for _ in range(2):
        assert ask("/sub/t.php") == (200, b"two")
    os.chmod(www / "sub", 0o000)
    not_run("/sub/t.php")
    os.chmod(www / "sub", 0o755)
    assert ask("/sub/t.php") == (200, b"two")
    for _ in range(2):
        status, data = ask("/upload.jpg")
        assert status == 200 and b"<?php" in data
        not_run("/upload.jpg/x.php")
    c.close()


def test_request_bodies(start_daemon, triad_config, fpm, php_site):
    """STDIN streaming with CONTENT_LENGTH; a chunked body is buffered first (up to
    max_body_size) to set CONTENT_LENGTH; larger: 413."""
    d = start(start_daemon, triad_config, fpm, max_body_size="1M")
    body = b"k=" + b"v" * 200000
    r, data = get(d, "/info.php", method="POST", body=body,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    v = json.loads(data)
    assert v["body"] == body.decode() and v["CONTENT_LENGTH"] == str(len(body))
    assert v["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    c = http.client.HTTPConnection(*d.addr, timeout=10)
    c.request("POST", "/info.php", body=iter([b"abc", b"defg"]), encode_chunked=True,
              headers={"Transfer-Encoding": "chunked"})
    v = json.loads(c.getresponse().read())
    assert v["body"] == "abcdefg" and v["CONTENT_LENGTH"] == "7"
    raw = th.tcp_exchange(d.addr, b"POST /info.php HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                          b"chunked\r\n\r\n200000\r\n" + b"x" * 0x200000 + b"\r\n0\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 413")


def test_cgi_response_status_and_location(start_daemon, triad_config, fpm, php_site):
    """RFC 3875 §6.3.3 Status sets the status; §6.2.3/§6.2.2 a Location without Status is a
    302, its value passed on."""
    d = start(start_daemon, triad_config, fpm)
    r, data = get(d, "/status.php")
    assert r.status == 404 and data == b"gone"
    r, _ = get(d, "/redirect.php")
    assert r.status == 302 and r.getheader("Location") == "https://example.org/next"
    r, _ = get(d, "/local.php")
    assert r.status == 302 and r.getheader("Location") == "/elsewhere"
    r, data = get(d, "/big.php")
    assert r.status == 200 and len(data) == 3000000
    r, data = get(d, "/status.php", method="HEAD")
    assert r.status == 404 and data == b""


def test_stderr_to_error_log(start_daemon, triad_config, fpm, php_site):
    """FCGI_STDERR lines go to the error log, naming the pool and server."""
    d = start(start_daemon, triad_config, fpm)
    off = d._log_size()
    r, data = get(d, "/stderr.php")
    assert r.status == 200 and data == b"ok"
    d.wait_log(r"upstream pool=php server=unix:\S+ stderr: .*disk almost full", offset=off)


def test_front_controller_fallback(start_daemon, triad_config, fpm, php_site):
    """fallback to a FastCGI pool: SCRIPT_FILENAME is <docroot>/index.php, REQUEST_URI the
    original target, method kept; files are still served as files."""
    d = start(start_daemon, triad_config, fpm, proxy=None, fallback="php")
    r, data = get(d, "/products/42?color=red", method="POST", body=b"x=1")
    assert r.status == 200 and data == b"front:/products/42?color=red:/index.php:POST"
    assert get(d, "/index.html")[1].startswith(b"<!doctype")
    assert get(d, "/.env")[0].status == 404


def test_connection_reuse_keep_conn(start_daemon, triad_config, fpm, php_site):
    """FCGI_KEEP_CONN: with keepalive > 0 the connection to php-fpm is reused (one php-fpm
    child serves every request on it); the responses stay correct."""
    d = start(start_daemon, triad_config, fpm, global_overrides=None)
    pids = set()
    c = http.client.HTTPConnection(*d.addr, timeout=10)
    for i in range(5):
        c.request("GET", f"/info.php?i={i}")
        v = json.loads(c.getresponse().read())
        assert v["QUERY_STRING"] == f"i={i}"
        pids.add(v["pid"])
    assert len(pids) == 1


def test_fastcgi_server_misbehaving(start_daemon, triad_config):
    """A FastCGI server that answers garbage, or no CGI head, is a 502 with one error line."""
    def garbage(s, f, b):
        s.recv(65536)
        s.sendall(b"HTTP/1.1 200 OK\r\n\r\n")  # not FastCGI at all
    def no_head(s, f, b):
        s.recv(65536)
        # FCGI_STDOUT "no head here" then FCGI_END_REQUEST
        s.sendall(b"\x01\x06\x00\x01\x00\x0c\x04\x00no head here\x00\x00\x00\x00"
                  b"\x01\x03\x00\x01\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
    www = triad_config.layout.www
    (www / "a.php").write_text("<?php")
    for handler, why in ((garbage, "bad FastCGI record"), (no_head, "bad head")):
        b = RawBackend(handler, unix_path=triad_config.layout.base / f"{handler.__name__}.sock")
        try:
            cfg = triad_config.copy()
            cfg.path = None
            cfg.reroll_ports()
            cfg.sections["upstream php"] = {"servers": b.address, "protocol": "fastcgi"}
            d = start_daemon("httpd", config=cfg, section_overrides={"proxy": "*.php=php"})
            off = d._log_size()
            r, _ = get(d, "/a.php")
            assert r.status == 502
            d.wait_log(rf"upstream pool=php server=unix:\S+ error={why}", offset=off)
        finally:
            b.close()
