"""Start, serve, signals and reload of all three daemons.

interface.md, "Command line": a daemon "is ready when its listeners accept connections";
"SIGTERM and SIGINT: stop accepting, finish what is in flight (at most shutdown_timeout),
exit 0"; "SIGHUP: reload the configuration, TLS certificates and log files ...; a new
configuration that is invalid is refused with a log line and the old one stays"; "Changes to
listen* and user need a restart (logged as a warning on reload)"; "a port that cannot be
bound: one line on stderr naming ... the address, exit status 1". "Configuration": a
listener on [::] is IPv6-only; "Several daemons may share one log file: each line is one
append-mode write". Issue 2 item 3: until its protocol lands each daemon answers every
connection with its protocol's "service not available" (HTTP 503, FTP 421, SMTP 421).
"""

import ftplib
import re
import signal
import smtplib
import socket

import pytest

import triad_harness as th
from triad_harness import DAEMONS, LineClient, assert_serving


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("name", DAEMONS)
def test_signal_exits_zero(name, sig, start_daemon):
    """Ready, serving, then exit 0 on SIGTERM / SIGINT; the port no longer accepts."""
    d = start_daemon(name)
    assert_serving(d)
    d.stop(sig)
    for addrs in d.ports.values():
        for host, port in addrs:
            assert not th.can_connect(host, port), f"{host}:{port} accepts after exit"


@pytest.mark.parametrize("name", DAEMONS)
def test_ipv4_and_ipv6(name, start_daemon):
    """One port number on 127.0.0.1 and [::1]: both listeners serve."""
    port = th.free_port(also_v6=True)
    d = start_daemon(name, section_overrides={"listen": f"127.0.0.1:{port} [::1]:{port}"})
    assert d.ports["listen"] == [("127.0.0.1", port), ("::1", port)]
    assert_serving(d, ("127.0.0.1", port))
    assert_serving(d, ("::1", port))


@pytest.mark.parametrize("name", DAEMONS)
def test_unbindable_port(name, start_daemon):
    """A port already bound by someone else: exit 1, one stderr line naming the address."""
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        d = start_daemon(name, section_overrides={"listen": f"127.0.0.1:{port}"},
                         expect_ready=False)
        assert d.wait_exit() == 1
    finally:
        blocker.close()
    lines = [l for l in d.stderr_text().splitlines() if l.strip()]
    assert len(lines) == 1, lines
    assert f"127.0.0.1:{port}" in lines[0], lines


@pytest.mark.parametrize("name", DAEMONS)
def test_reload_valid(name, start_daemon):
    """SIGHUP with a valid changed config: logged, and the daemon keeps serving."""
    d = start_daemon(name)
    d.config.update("global", {"log_level": "debug"})
    d.config.write()
    d.reload()
    assert d.running()
    assert_serving(d)


@pytest.mark.parametrize("name", DAEMONS)
def test_reload_invalid_is_refused(name, start_daemon):
    """SIGHUP with an invalid config: a log line refuses it naming the key, the old config
    keeps serving, and SIGTERM later still exits 0."""
    d = start_daemon(name)
    good = d.conf_path.read_text()
    d.config.extra[name] = ["no_such_key = 1"]
    d.config.write()
    text = d.reload(expect=r"(?i)reload.*no_such_key")
    assert not re.search(r"(?i)reload\b.*\bdone", text), text
    assert d.running()
    assert_serving(d)
    # and a later valid reload is accepted again
    d.conf_path.write_text(good)
    d.reload()
    assert_serving(d)
    d.stop()


@pytest.mark.parametrize("name", DAEMONS)
def test_reload_listen_change_warns(name, start_daemon):
    """A changed `listen` is not applied on reload: a warning, and the old port serves."""
    d = start_daemon(name)
    old = d.addr
    new_port = th.free_port()
    d.config.update(name, {"listen": f"127.0.0.1:{new_port}"})
    d.config.write()
    text = d.reload(expect=r"(?i)restart")
    assert "listen" in text, text
    assert_serving(d, old)
    assert not th.can_connect("127.0.0.1", new_port)


@pytest.mark.parametrize("name", DAEMONS)
def test_reload_reopens_log_file(name, start_daemon):
    """`log = FILE`: after the file is moved away (log rotation), SIGHUP reopens FILE."""
    d = start_daemon(name, global_overrides={"log": "triad.log"})
    log = d.config.log_path()
    assert log.parent == d.config.layout.etc
    assert re.search(r"\bready\b", log.read_text())
    log.rename(log.with_suffix(".log.1"))
    d.send_signal(signal.SIGHUP)
    d.wait_for(lambda: log.exists() and "reload" in log.read_text().lower(), 5.0,
               "the reopened log file with a reload line")
    assert_serving(d)


def test_three_daemons_one_config_one_log(start_daemon, triad_config):
    """All three daemons from one config file, sharing one log file: each logs its own
    ready line and every line in the file is whole (one write per line)."""
    triad_config.update("global", {"log": "shared.log"})
    triad_config.write(triad_config.layout.etc / "triad.conf")
    daemons = [start_daemon(n, config=triad_config) for n in DAEMONS]
    for d in daemons:
        assert_serving(d)
    for d in daemons:
        d.stop()
    text = triad_config.log_path().read_text()
    assert text.endswith("\n")
    lines = text.splitlines()
    for n in DAEMONS:
        assert any(re.search(r"\bready\b", l) and n in l for l in lines), (n, text)
    for l in lines:
        assert sum(l.count(f"{n}[") for n in DAEMONS) <= 1, f"interleaved line: {l!r}"
