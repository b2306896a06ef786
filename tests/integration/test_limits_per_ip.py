"""Per-IP connection limits that fit real traffic (interface.md "Operations":
`limits_exempt`, and "A connection counts toward its address's limit only while
it is open"; issue 13 item 6).

- a 20-session SMTP load from one address (smtp-source -s 20 style: 20 clients
  that reconnect as soon as one session ends) at max_connections_per_ip = 20
  is never refused: a session that got its 221 no longer counts;
- 20 parallel FTP sessions after 20 earlier ones, the same;
- the defaults: max_connections_per_ip = 50 in smtpd and ftpd (the 51st
  concurrent session from one address gets 421), limits_exempt = 127.0.0.0/8 ::1;
- limits_exempt lists addresses and networks with no per-IP limit, others keep it.
"""

import ftplib
import smtplib
import socket
import threading

import pytest

import triad_harness as th
from triad_harness import LineClient


def smtp_sessions(addr, clients, rounds):
    """CLIENTS threads, each running ROUNDS complete SMTP sessions back to back."""
    errors = []

    def client(n):
        for r in range(rounds):
            try:
                with smtplib.SMTP(*addr, timeout=10 * th.timeout_scale()) as s:
                    s.ehlo("client.example")
                    s.sendmail("load@client.example", ["alice@example.org"],
                               f"Subject: load {n}.{r}\r\n\r\nbody\r\n")
            except (smtplib.SMTPException, OSError) as e:
                errors.append(f"client {n} round {r}: {e!r}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_smtp_burst_of_20_sessions_is_not_refused(start_daemon, triad_root):
    """Before the fix a just-closed session still held its slot until the deferred free
    ran: 20 reconnecting clients at a limit of 20 got 421 (27 of 200 sessions here)."""
    d = start_daemon("smtpd", section_overrides={"max_connections_per_ip": 20,
                                                 "limits_exempt": ""})
    errors = smtp_sessions(d.addr, clients=20, rounds=6)
    assert errors == [], errors[:3]
    assert "connection limit" not in d.log_text()
    new = triad_root.mail / "example.org" / "alice" / "new"
    assert len(list(new.iterdir())) == 120


def ftp_session(addr, user, password):
    f = ftplib.FTP(timeout=10 * th.timeout_scale())
    f.connect(*addr)
    f.login(user, password)
    return f


def test_ftp_20_parallel_sessions_after_earlier_ones(start_daemon, pam_user):
    d = start_daemon("ftpd", section_overrides={"max_connections_per_ip": 20,
                                                "limits_exempt": ""},
                     env=pam_user.env)
    for _ in range(20):
        f = ftp_session(d.addr, pam_user.user, pam_user.password)
        f.quit()
    sessions, errors = [], []
    lock = threading.Lock()

    def one():
        try:
            f = ftp_session(d.addr, pam_user.user, pam_user.password)
            with lock:
                sessions.append(f)
        except (ftplib.Error, OSError) as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert errors == [], errors[:3]
        assert len(sessions) == 20
        # all 20 are open and counted now: the 21st is over the limit
        with LineClient(d.addr) as c:
            code, lines = c.read_reply()
            assert code == 421, lines
    finally:
        for f in sessions:
            f.quit()


def hold_greeted(addr, count, source=None):
    """COUNT greeted sessions (220 read) from SOURCE (a loopback address), or the first
    reply that was not 220."""
    held = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5 * th.timeout_scale())
        if source:
            s.bind((source, 0))
        s.connect(addr)
        reply = s.recv(512)
        held.append(s)
        if not reply.startswith(b"220"):
            return held, reply
    return held, None


@pytest.mark.parametrize("name", ["smtpd", "ftpd"])
def test_default_per_ip_limit_is_50(name, start_daemon):
    """interface.md: max_connections_per_ip defaults to 50 in smtpd and ftpd (Postfix's
    smtpd_client_connection_count_limit); with no exemption the 51st is refused."""
    d = start_daemon(name, section_overrides={"limits_exempt": ""})
    held, bad = hold_greeted(d.addr, 50)
    try:
        assert bad is None, bad
        more, reply = hold_greeted(d.addr, 1)
        held += more
        assert reply is not None and reply.startswith(b"421"), reply
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize("name", ["smtpd", "ftpd", "httpd"])
def test_loopback_exempt_by_default(name, start_daemon):
    """limits_exempt defaults to 127.0.0.0/8 ::1: max_connections_per_ip = 2 does not
    apply to a local client (Postfix exempts $mynetworks the same way)."""
    d = start_daemon(name, section_overrides={"max_connections_per_ip": 2})
    if name == "httpd":
        socks = [th.connect(d.addr) for _ in range(5)]
        try:
            for s in socks:
                s.sendall(b"HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                assert s.recv(4096).startswith(b"HTTP/1.1 200 ")
        finally:
            for s in socks:
                s.close()
        return
    held, bad = hold_greeted(d.addr, 5)
    try:
        assert bad is None, bad
    finally:
        for s in held:
            s.close()


def test_exempt_list_names_addresses_and_networks(start_daemon):
    """limits_exempt = 127.0.0.2 127.0.1.0/24: those sources have no per-IP limit,
    127.0.0.1 keeps max_connections_per_ip = 2."""
    d = start_daemon("smtpd", section_overrides={"max_connections_per_ip": 2,
                                                 "limits_exempt": "127.0.0.2 127.0.1.0/24"})
    held = []
    try:
        for src in ("127.0.0.2", "127.0.1.77"):
            more, bad = hold_greeted(d.addr, 4, source=src)
            held += more
            assert bad is None, (src, bad)
        more, bad = hold_greeted(d.addr, 3, source="127.0.0.1")
        held += more
        assert bad is not None and bad.startswith(b"421"), bad
        assert len(more) == 3
    finally:
        for s in held:
            s.close()


@pytest.mark.parametrize("name", ["httpd", "ftpd", "smtpd"])
def test_bad_exempt_value_names_file_line_key(name, triad_config):
    triad_config.update(name, {"limits_exempt": "127.0.0.0/8 10.0.0.1/8"})
    path = triad_config.write(triad_config.layout.etc / "bad.conf")
    r = th.run_cli(name, "-t", "-c", str(path))
    assert r.returncode == 1
    line = triad_config.line(name, "limits_exempt")
    assert f"{path}:{line}: limits_exempt: '10.0.0.1/8' is not an IP address" in r.stderr, \
        r.stderr
