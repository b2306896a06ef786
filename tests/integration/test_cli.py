"""The command line and `-t` of all three daemons.

interface.md, "Command line": `-c FILE`, `-t` (exit 0 when valid, 1 otherwise, errors on
stderr with FILE:LINE), `-V` (print the version and exit); "Configuration": each daemon reads
[global] and its own section, ignores the others' sections, unknown keys in its own section
are an error, sizes K/M/G, durations s/m/h; "An unknown `user` is a configuration error";
"A bad configuration ...: one line on stderr naming the file, line and key, exit status 1".
"""

import re

import pytest

from triad_harness import DAEMONS, run_cli

OTHERS = {n: [o for o in DAEMONS if o != n] for n in DAEMONS}


@pytest.mark.parametrize("name", DAEMONS)
def test_version(name):
    """-V prints the version and exits 0."""
    r = run_cli(name, "-V")
    assert r.returncode == 0, r.stderr
    assert re.search(r"\d+\.\d+(\.\d+)?", r.stdout), (r.stdout, r.stderr)


@pytest.mark.parametrize("name", DAEMONS)
def test_check_valid(name, triad_config):
    """-t on a valid config (all three sections present) exits 0."""
    conf = triad_config.write(triad_config.layout.etc / "ok.conf")
    r = run_cli(name, "-t", "-c", conf)
    assert r.returncode == 0, r.stderr
    assert str(conf) + ":" not in r.stderr


@pytest.mark.parametrize("name", DAEMONS)
def test_check_missing_file(name, triad_root):
    """-t on a file that does not exist exits 1 and names it."""
    missing = triad_root.etc / "no-such.conf"
    r = run_cli(name, "-t", "-c", missing)
    assert r.returncode == 1
    assert str(missing) in r.stderr


# (line, daemons, section, key, value): `value` replaces the key, or is appended as a
# raw line when key is not a known key of that section. The error must name FILE:LINE of
# that key and the key itself.
BAD = [
    # unknown keys
    ("own-unknown", DAEMONS, "own", "no_such_key", "1"),
    ("global-unknown", DAEMONS, "global", "no_such_key", "1"),
    # sizes
    ("size-suffix", ["httpd"], "httpd", "max_body_size", "1X"),
    ("size-words", ["httpd"], "httpd", "max_header_size", "lots"),
    ("size-negative", ["httpd"], "httpd", "max_request_line", "-8K"),
    ("size-smtp", ["smtpd"], "smtpd", "max_message_size", "25Q"),
    # durations
    ("duration-global", DAEMONS, "global", "shutdown_timeout", "10d"),
    ("duration-http", ["httpd"], "httpd", "header_timeout", "soon"),
    ("duration-ftp", ["ftpd"], "ftpd", "idle_timeout", "-5m"),
    ("duration-smtp", ["smtpd"], "smtpd", "timeout", "5y"),
    # addresses
    ("addr-no-port", DAEMONS, "own", "listen", "127.0.0.1"),
    ("addr-port-range", DAEMONS, "own", "listen", "127.0.0.1:70000"),
    ("addr-bad-v4", DAEMONS, "own", "listen", "300.1.1.1:80"),
    ("addr-bad-v6", DAEMONS, "own", "listen", "[::1:80"),
    ("addr-tls", ["httpd"], "httpd", "listen_tls", "localhost-ish"),
    # enums and booleans
    ("enum-log-level", DAEMONS, "global", "log_level", "loud"),
    ("enum-workers", DAEMONS, "global", "workers", "many"),
    ("enum-ftp-tls", ["ftpd"], "ftpd", "tls", "sometimes"),
    ("enum-anonymous", ["ftpd"], "ftpd", "anonymous", "write"),
    ("enum-smtp-tls", ["smtpd"], "smtpd", "tls", "maybe"),
    ("bool-autoindex", ["httpd"], "httpd", "autoindex", "perhaps"),
    # other values
    ("portrange", ["ftpd"], "ftpd", "passive_ports", "50100-50000"),
    ("recipients", ["smtpd"], "smtpd", "max_recipients", "many"),
    ("user-unknown", DAEMONS, "global", "user", "no-such-user-triad"),
    ("max-connections", DAEMONS, "own", "max_connections", "lots"),
    ("max-connections-per-ip", DAEMONS, "own", "max_connections_per_ip", "-1"),
]
BAD_CASES = [pytest.param(name, section, key, value, id=f"{tag}-{name}")
             for tag, names, section, key, value in BAD for name in names]


def bad_config(cfg, name, section, key, value):
    """Writes CFG with the bad value; returns (path, line of the bad key)."""
    section = name if section == "own" else section
    known = key in cfg.sections[section] or key in ("max_connections", "max_connections_per_ip")
    if known:
        cfg.update(section, {key: value})
    else:
        cfg.extra.setdefault(section, []).append(f"{key} = {value}")
    path = cfg.write(cfg.layout.etc / "bad.conf")
    return path, cfg.line(section, key)


@pytest.mark.parametrize("name,section,key,value", BAD_CASES)
def test_check_invalid(name, section, key, value, triad_config):
    """-t on a bad value exits 1 with "FILE:LINE" of the key and the key's name."""
    path, line = bad_config(triad_config, name, section, key, value)
    r = run_cli(name, "-t", "-c", path)
    assert r.returncode == 1, f"accepted {key} = {value}\n{r.stdout}{r.stderr}"
    assert f"{path}:{line}" in r.stderr, r.stderr
    assert key in r.stderr, r.stderr


@pytest.mark.parametrize("name", DAEMONS)
def test_check_missing_root(name, triad_config):
    """`root` is required: exit 1 naming the file and the key (a missing key has no line
    of its own, so "FILE: root: ..." is accepted as well as "FILE:LINE: root: ...")."""
    triad_config.update("global", {"root": None})
    path = triad_config.write(triad_config.layout.etc / "noroot.conf")
    r = run_cli(name, "-t", "-c", path)
    assert r.returncode == 1, r.stderr
    assert re.search(re.escape(str(path)) + r"(:\d+)?: root\b", r.stderr), r.stderr


@pytest.mark.parametrize("name", DAEMONS)
def test_check_ignores_other_sections(name, triad_config):
    """Keys the daemon does not know, and bad values, in the others' sections are ignored."""
    for other in OTHERS[name]:
        triad_config.extra.setdefault(other, []).append("no_such_key = 1")
        triad_config.update(other, {"listen": "not-an-address"})
        triad_config.extra[other].append("max_body_size = huge")
    path = triad_config.write(triad_config.layout.etc / "others.conf")
    r = run_cli(name, "-t", "-c", path)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name", DAEMONS)
def test_check_suffixes_and_lists(name, triad_config):
    """Sizes with K/M/G, durations with s/m/h, comma- or space-separated lists are valid."""
    triad_config.update("global", {"shutdown_timeout": "1m"})
    triad_config.update("httpd", {"max_body_size": "2G", "max_header_size": "64K",
                                  "header_timeout": "1h", "index": "index.html,index.htm",
                                  "listen": "127.0.0.1:8080, [::1]:8080"})
    triad_config.update("smtpd", {"max_message_size": "10M", "timeout": "300s",
                                  "domains": "example.org,example.net"})
    triad_config.update("ftpd", {"idle_timeout": "90"})
    path = triad_config.write(triad_config.layout.etc / "suffixes.conf")
    r = run_cli(name, "-t", "-c", path)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("name", DAEMONS)
def test_start_with_bad_config(name, triad_config, start_daemon):
    """Starting (not -t) with a bad config: one line on stderr with FILE:LINE and key, exit 1."""
    triad_config.extra[name] = ["no_such_key = 1"]
    path = triad_config.write(triad_config.layout.etc / "bad-start.conf")
    d = start_daemon(name, config=triad_config, expect_ready=False)
    assert d.wait_exit() == 1
    lines = d.stderr_text().splitlines()
    assert len(lines) == 1, lines
    assert f"{path}:{triad_config.line(name, 'no_such_key')}" in lines[0]
    assert "no_such_key" in lines[0]
