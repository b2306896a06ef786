"""triad-ftpd: resource limits a hostile client must not get around (issue 4: Limits,
Logins; the audit of the first implementation).

Each test names the bound it checks: control-connection output is bounded (a client
that sends commands and never reads the replies stops being read), STAT of a huge
directory is bounded, and the login failure limit is the max_login_failures key.
"""

import socket
import time

import pytest

import triad_harness as th
from test_ftp_session import ftpd, raw, raw_login  # noqa: F401 (fixture)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def flood(sock, payload, total, stall=1.5):
    """Sends PAYLOAD repeatedly up to TOTAL bytes without reading, until the peer stops
    taking them for STALL seconds. Returns the bytes sent."""
    sock.setblocking(False)
    sent, last = 0, time.monotonic()
    blob = payload * (65536 // len(payload))
    while sent < total:
        try:
            sent += sock.send(blob)
            last = time.monotonic()
        except BlockingIOError:
            if time.monotonic() - last > stall:
                break
            time.sleep(0.01)
    sock.setblocking(True)
    return sent


def test_unread_replies_stop_the_reading(ftpd):
    """RFC 959 §5.4 lets a client pipeline commands, but one that never reads the replies
    must not make the daemon buffer them without bound: HELP (allowed before login) answers
    six bytes with ~400, so 8 MiB of "HELP" would be ~500 MiB of replies. The daemon stops
    reading while its output to that client is above the high watermark."""
    before = rss_kib(ftpd.pid)
    c = raw(ftpd)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sent = flood(c.sock, b"HELP\r\n", 8 << 20)
    grown = rss_kib(ftpd.pid) - before
    c.sock.close()
    assert sent < 8 << 20, "the daemon kept reading commands whose replies nobody read"
    assert grown < 64 * 1024, f"daemon grew by {grown} KiB"
    # The daemon is still fine for others.
    assert raw_login(ftpd).command("NOOP")[0] == 200


def test_reading_resumes_when_replies_drain(ftpd):
    """The pause above is only backpressure: a client that pipelines many commands and
    then reads gets every reply, in order (RFC 959 §5.4), and the session goes on."""
    c = raw(ftpd)
    n = 3000  # ~1.2 MB of HELP replies, well above the high watermark
    c.send(b"HELP\r\n" * n + b"NOOP\r\n")
    for _ in range(n):
        assert c.read_reply()[0] == 214
    assert c.read_reply()[0] == 200
    assert c.command("QUIT")[0] == 221


def test_stat_of_a_huge_directory_is_bounded(ftpd, triad_root):
    """STAT with a directory (RFC 959 §4.1.3) answers on the control connection, which has
    no flow control of its own: the listing stops after FTP_STAT_ENTRIES_MAX (2000)
    entries with a last line saying so, so one STAT cannot queue megabytes. LIST over a
    data connection still lists everything."""
    big = triad_root.www / "big"
    big.mkdir()
    for i in range(2500):
        (big / f"f{i:05d}").write_bytes(b"")
    triad_root.give_to_run_user()
    c = raw_login(ftpd)
    code, lines = c.command("STAT big")
    assert code == 212, lines[:3]
    entries = [l for l in lines[1:-1] if l.startswith("-")]
    assert len(entries) == 2000, len(entries)
    assert "use LIST" in lines[-2] or "use LIST" in lines[-1], lines[-2:]
    assert lines[-1].startswith("212 ")
    assert c.command("NOOP")[0] == 200


def test_max_login_failures_key(pam_user, start_daemon):
    """max_login_failures: after that many failed PASS in one session, 530 then 421 and
    the connection is closed (issue 4: a disconnect after repeated failures)."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"max_login_failures": "1"})
    c = raw(d)
    assert c.command("USER alice")[0] == 331
    assert c.command("PASS wrong")[0] == 530
    code, lines = c.read_reply()
    assert code == 421, lines
    assert c.at_eof()
    # A good password still works on a new connection.
    assert raw_login(d).command("NOOP")[0] == 200
