"""The configuration of application server pools (interface.md, "Application servers
(httpd)"): [upstream NAME] keys and their errors, `proxy` / `fallback` naming pools that
exist, every error as FILE:LINE: key: message (`-t`), and the other daemons ignoring
[upstream] sections.
"""

import pytest

from triad_harness import run_cli


def check(cfg, name="httpd"):
    path = cfg.write(cfg.layout.etc / "proxy.conf")
    r = run_cli(name, "-t", "-c", path)
    return path, r


def with_upstream(cfg, keys, **httpd):
    cfg.sections["upstream app"] = dict(keys)
    cfg.update("httpd", httpd)
    return cfg


def test_valid_pools(triad_config):
    """Every key of [upstream NAME] with valid values; unix sockets; IPv6."""
    with_upstream(triad_config, {"servers": "127.0.0.1:8000, [::1]:8001 unix:/run/app.sock",
                                 "protocol": "http", "keepalive": "0",
                                 "connect_timeout": "500ms", "timeout": "2m",
                                 "fail_timeout": "0"},
                  proxy="/api/*=app *.php=php", fallback="app", cache="0")
    triad_config.sections["upstream php"] = {"servers": "unix:/run/php/fpm.sock",
                                             "protocol": "fastcgi"}
    path, r = check(triad_config)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("key,value,why", [
    ("servers", "127.0.0.1", "port"),
    ("servers", "localhost:80", "address"),
    ("servers", "0.0.0.0:80", "not an address to connect to"),
    ("servers", "unix:relative.sock", "absolute"),
    ("servers", "unix:/" + "x" * 120, "too long"),
    ("servers", "", "at least one server"),
    ("protocol", "uwsgi", "protocol"),
    ("keepalive", "-1", "keepalive"),
    ("timeout", "0", "timeout"),
    ("connect_timeout", "soon", "connect_timeout"),
])
def test_bad_upstream_values(triad_config, key, value, why):
    """A bad value in [upstream NAME]: exit 1 with FILE:LINE of the key (of the header for a
    missing one) and the key's name."""
    keys = {"servers": "127.0.0.1:8000", key: value}
    with_upstream(triad_config, keys, proxy="/*=app")
    path, r = check(triad_config)
    assert r.returncode == 1, r.stderr
    line = triad_config.line("upstream app", key)
    assert f"{path}:{line}: {key}: " in r.stderr, r.stderr
    assert why in r.stderr, r.stderr


def test_unknown_key_in_upstream(triad_config):
    with_upstream(triad_config, {"servers": "127.0.0.1:8000", "weight": "3"})
    path, r = check(triad_config)
    assert r.returncode == 1
    assert f"{path}:{triad_config.line('upstream app', 'weight')}: weight" in r.stderr


@pytest.mark.parametrize("key,value", [("proxy", "/api/*=nope"), ("fallback", "nope"),
                                       ("proxy", "/api/*"), ("cache", "lots")])
def test_proxy_and_fallback_name_pools(triad_config, key, value):
    """proxy rules and fallback must name an [upstream NAME] section."""
    with_upstream(triad_config, {"servers": "127.0.0.1:8000"}, **{key: value})
    path, r = check(triad_config)
    assert r.returncode == 1, r.stderr
    assert f"{path}:{triad_config.line('httpd', key)}: {key}: " in r.stderr, r.stderr


def test_other_daemons_ignore_upstreams(triad_config):
    """ftpd and smtpd do not read [upstream NAME] sections (interface.md, Extensions)."""
    with_upstream(triad_config, {"servers": "bad", "weird_key": "1"})
    for name in ("ftpd", "smtpd"):
        path, r = check(triad_config, name)
        assert r.returncode == 0, r.stderr
