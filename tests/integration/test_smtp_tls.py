"""triad-smtpd: STARTTLS (RFC 3207) and AUTH PLAIN/LOGIN (RFC 4954) through PAM.

AUTH is offered and accepted only over TLS; STARTTLS resets the session and drops any
plaintext pipelined after it (RFC 3207 §4.2, §6); tls = required refuses MAIL before
STARTTLS (530 5.7.0); no recipient outside `domains` is accepted, authenticated or not.
"""

import base64
import socket
import ssl
import subprocess

import pytest

import triad_harness as th
from test_smtp_util import Smtp, smtpd, split_stored, stored


def client_ctx(layout):
    return ssl.create_default_context(cafile=str(layout.cert))


class TlsSmtp(Smtp):
    def starttls(self, layout):
        code, lines = self.command("STARTTLS")
        assert code == 220 and lines[0].startswith("220 2.0.0"), lines
        assert self.buf == b""
        self.sock = client_ctx(layout).wrap_socket(self.sock, server_hostname="localhost")


def b64(s):
    return base64.b64encode(s.encode()).decode()


def test_starttls_resets_and_changes_capabilities(start_daemon, triad_root):
    """RFC 3207 §4.2: after the handshake the session is as after the greeting (MAIL
    needs EHLO again and the transaction is gone); EHLO shows AUTH and no STARTTLS."""
    d = smtpd(start_daemon)
    with TlsSmtp(d.addr) as c:
        caps = c.ehlo()
        assert "STARTTLS" in caps and not any(x.startswith("AUTH") for x in caps)
        c.starttls(triad_root)
        assert c.command("MAIL FROM:<s@example.net>")[0] == 503
        caps = c.ehlo()
        assert "STARTTLS" not in caps and "AUTH PLAIN LOGIN" in caps
        assert c.command("STARTTLS")[0] == 503
        code, lines = c.transaction("s@example.net", ["alice@example.org"], b"Subject: t\r\n\r\nx\r\n")
        assert code == 250, lines
    [msg] = stored(triad_root)
    _, received, _ = split_stored(msg)
    assert b"(using TLSv1.3 with cipher " in received or b"(using TLSv1.2 with cipher " in received
    assert b"with ESMTPS id" in received


@pytest.mark.parametrize("injected", [b"RSET\r\n", b"MAIL FROM:<evil@example.net>\r\n",
                                      b"EHLO evil\r\nMAIL FROM:<evil@example.net>\r\n"])
def test_starttls_injection(injected, start_daemon, triad_root):
    """RFC 3207 §6 / CVE-2011-0411: plaintext sent in the same write as STARTTLS is
    discarded, never executed inside TLS; the attempt is logged."""
    d = smtpd(start_daemon)
    with TlsSmtp(d.addr) as c:
        c.ehlo()
        c.send(b"STARTTLS\r\n" + injected)
        code, lines = c.read_reply()
        assert code == 220, lines
        c.sock = client_ctx(triad_root).wrap_socket(c.sock, server_hostname="localhost")
        # the first reply inside TLS is the one for our EHLO, not for the injected input
        c.send_line("EHLO client.example")
        code, lines = c.read_reply()
        assert code == 250 and lines[0] == "250-mx.example.org", lines
        code, lines = c.command("MAIL FROM:<s@example.net>")
        assert code == 250, lines  # no MAIL was pending from the injection
    d.wait_log(r"STARTTLS: discarded \d+ bytes of plaintext")


def test_auth_only_over_tls(pam_user, start_daemon, triad_root):
    """RFC 4954 §4: AUTH is not offered without TLS and refused (538 5.7.11), so no
    password crosses in the clear; over TLS PLAIN and LOGIN give 235 2.7.0, a wrong
    password 535 5.7.8, and a second AUTH 503."""
    d = start_daemon("smtpd", env=pam_user.env)
    plain_ok = b64("\0alice\0secret")
    with TlsSmtp(d.addr) as c:
        c.ehlo()
        code, lines = c.command("AUTH PLAIN " + plain_ok)
        assert code == 538 and lines[0].startswith("538 5.7.11"), lines
        c.starttls(triad_root)
        c.ehlo()
        code, lines = c.command("AUTH PLAIN " + b64("\0alice\0wrong"))
        assert code == 535 and lines[0].startswith("535 5.7.8"), lines
        code, lines = c.command("AUTH CRAM-MD5")
        assert code == 504, lines
        code, lines = c.command("AUTH PLAIN")
        assert code == 334 and lines == ["334 "], lines
        code, lines = c.command("*")
        assert code == 501, lines
        code, lines = c.command("AUTH PLAIN " + plain_ok)
        assert code == 235 and lines[0].startswith("235 2.7.0"), lines
        assert c.command("AUTH PLAIN " + plain_ok)[0] == 503
        # no relaying, authenticated or not
        assert c.command("MAIL FROM:<alice@example.org>")[0] == 250
        code, lines = c.command("RCPT TO:<someone@example.com>")
        assert code == 550 and lines[0].startswith("550 5.7.1"), lines
        code, lines = c.command("RCPT TO:<alice@example.org>")
        assert code == 250
        code, lines = c.command("DATA")
        c.send(b"Subject: a\r\n\r\nx\r\n.\r\n")
        assert c.read_reply()[0] == 250
    with TlsSmtp(d.addr) as c:
        c.ehlo()
        c.starttls(triad_root)
        c.ehlo()
        code, lines = c.command("AUTH LOGIN")
        assert lines == ["334 VXNlcm5hbWU6"], lines
        code, lines = c.command(b64("alice"))
        assert lines == ["334 UGFzc3dvcmQ6"], lines
        code, lines = c.command(b64("secret"))
        assert code == 235, lines
    [msg] = stored(triad_root)
    assert b"with ESMTPSA id" in msg
    d.wait_log(r'session ip=\S+ helo="client.example" tls="TLS.*user="alice"')
    log = d.log_text()
    assert "secret" not in log and plain_ok not in log and b64("secret") not in log
    assert 'user="alice"' in log


def test_swaks_tls_auth(pam_user, start_daemon, triad_root):
    """swaks --tls --auth (a real client's view of STARTTLS + AUTH LOGIN)."""
    d = start_daemon("smtpd", env=pam_user.env)
    host, port = d.addr
    r = subprocess.run(["swaks", "--server", f"{host}:{port}", "--tls", "--tls-verify",
                        "--tls-ca-path", str(triad_root.cert), "--tls-sni", "localhost",
                        "--auth", "LOGIN", "--auth-user", "alice", "--auth-password", "secret",
                        "--from", "alice@example.org", "--to", "alice@example.org",
                        "--helo", "client.example", "--timeout", "10"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0 and "--tls-verify" in r.stderr + r.stdout:
        pytest.skip("this swaks has no --tls-verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "235 2.7.0" in r.stdout
    assert len(stored(triad_root)) == 1


def test_tls_required(start_daemon, triad_root):
    """tls = required (RFC 3207 §4): MAIL (and BDAT, AUTH) before STARTTLS get
    530 5.7.0; EHLO, NOOP, RSET, HELP, QUIT work; after STARTTLS mail flows."""
    d = smtpd(start_daemon, tls="required")
    with TlsSmtp(d.addr) as c:
        c.ehlo()
        code, lines = c.command("MAIL FROM:<s@example.net>")
        assert code == 530 and lines[0].startswith("530 5.7.0"), lines
        c.send(b"BDAT 6\r\nRSET\r\n")
        assert c.read_reply()[0] == 530
        for cmd in ("NOOP", "RSET", "HELP"):
            assert c.command(cmd)[0] in (214, 250), cmd
        c.starttls(triad_root)
        c.ehlo()
        code, lines = c.transaction("s@example.net", ["alice@example.org"], b"x\r\n")
        assert code == 250, lines
    assert len(stored(triad_root)) == 1


def test_tls_off(start_daemon):
    """tls = off: no STARTTLS offered, the command is 502."""
    d = smtpd(start_daemon, tls="off")
    with Smtp(d.addr) as c:
        assert "STARTTLS" not in c.ehlo()
        assert c.command("STARTTLS")[0] == 502


def test_failed_handshake_closes(start_daemon):
    """A client that answers 220 with garbage instead of a ClientHello is dropped."""
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("STARTTLS")[0] == 220
        c.send(b"this is not TLS\r\n" * 4)
        assert c.at_eof()
    d.wait_log(r"handshake failed|result=tls-failed")
