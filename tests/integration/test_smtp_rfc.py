"""triad-smtpd: RFC details found in an audit (each test names the rule it checks).

- RFC 5321 §4.1.4: a refused EHLO/HELO leaves the session in the state it was in;
- EHLO names with underscores (Windows hosts send them; Postfix accepts them);
- RFC 4954 §4: AUTH PLAIN with an initial response may be followed by pipelined commands;
  PLAIN with an authzid, LOGIN with an initial response, '*' cancels, bad base64;
- RFC 3463 X.3.1 / interface.md: a full disk is 452 4.3.1 and leaves nothing in new/ or tmp/;
- RFC 5321 §7.8 and max_errors: refused recipients cut a session only when they are most of
  its RCPTs, or when their transaction ends without delivering mail;
- RFC 2920 §3.1: pipelined RCPTs are answered in order although their checks run off the loop.
"""

import base64
import os
import re
import ssl
import subprocess

import pytest

import triad_harness as th
from test_smtp_util import Smtp, mailbox, smtpd, stored, stored_names

ESC = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}( |$)")


def b64(s):
    return base64.b64encode(s.encode() if isinstance(s, str) else s).decode()


class TlsSmtp(Smtp):
    def starttls(self, layout):
        code, lines = self.command("STARTTLS")
        assert code == 220, lines
        ctx = ssl.create_default_context(cafile=str(layout.cert))
        self.sock = ctx.wrap_socket(self.sock, server_hostname="localhost")
        return self.ehlo()


def test_refused_ehlo_keeps_state(start_daemon, triad_root):
    """RFC 5321 §4.1.4: after refusing an EHLO (501) "the SMTP server MUST stay in the same
    state after transmitting these replies that it was in before the EHLO was received":
    the open transaction and the EHLO (enhanced codes) survive."""
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        code, lines = c.command("EHLO bad..name")
        assert code == 501, lines
        code, lines = c.command("RCPT TO:<alice@example.org>")
        assert code == 250 and ESC.match(lines[0]), lines
        code, lines = c.command("HELO -bad")
        assert code == 501, lines
        assert c.command("DATA")[0] == 354
        c.send(b"Subject: kept\r\n\r\nx\r\n.\r\n")
        code, lines = c.read_reply()
        assert code == 250 and ESC.match(lines[0]), lines
    assert len(stored(triad_root)) == 1


@pytest.mark.parametrize("name", ["DESKTOP-AB_12", "my_host.example.org", "_x.example"])
def test_ehlo_underscore_accepted(name, start_daemon, triad_root):
    """EHLO names with '_' (Windows machine names) are accepted, as Postfix does by
    default: RFC 5321 §4.1.1.1 asks for a domain, but refusing these only loses mail."""
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo(name)
        code, lines = c.transaction("s@example.net", ["alice@example.org"], b"Subject: u\r\n\r\nx\r\n")
        assert code == 250, lines
    [msg] = stored(triad_root)
    assert f"Received: from {name} ".encode() in msg


def test_auth_plain_initial_response_pipelined(pam_user, start_daemon, triad_root):
    """RFC 4954 §4: AUTH may be followed by pipelined commands when it carries an initial
    response for a mechanism that completes in one step (PLAIN): the MAIL/RCPT/DATA sent in
    the same write are answered in order after 235, not refused as improper pipelining."""
    d = start_daemon("smtpd", env=pam_user.env)
    with TlsSmtp(d.addr) as c:
        c.ehlo()
        c.starttls(triad_root)
        c.send(("AUTH PLAIN " + b64("\0alice\0secret") + "\r\nMAIL FROM:<alice@example.org>\r\n"
                "RCPT TO:<alice@example.org>\r\nDATA\r\n").encode())
        for want in (235, 250, 250, 354):
            code, lines = c.read_reply()
            assert code == want, lines
        c.send(b"Subject: p\r\n\r\nx\r\n.\r\n")
        assert c.read_reply()[0] == 250
    assert len(stored(triad_root)) == 1
    # AUTH without an initial response still ends a group: the response line is next.
    with TlsSmtp(d.addr) as c:
        c.ehlo()
        c.starttls(triad_root)
        c.send(b"AUTH PLAIN\r\nMAIL FROM:<alice@example.org>\r\n")
        code, lines = c.read_reply()
        assert code == 503 and lines[0].startswith("503 5.5.0"), lines
        assert c.at_eof()


def test_auth_exchanges(pam_user, start_daemon, triad_root):
    """RFC 4954 §4 / RFC 4616 §2: PLAIN with an authzid equal to the user; an authzid naming
    someone else is refused (no proxy logins); LOGIN with an initial response (the user name);
    '*' cancels at any step (501 5.7.0); undecodable base64 is 501 5.5.2; the exchange never
    reaches the log."""
    d = start_daemon("smtpd", env=pam_user.env, section_overrides={"max_errors": 30})
    with TlsSmtp(d.addr) as c:
        c.ehlo()
        c.starttls(triad_root)
        code, lines = c.command("AUTH PLAIN " + b64("bob\0alice\0secret"))
        assert code == 535 and lines[0].startswith("535 5.7.8"), lines
        code, lines = c.command("AUTH PLAIN " + "not*base64")
        assert code == 501 and lines[0].startswith("501 5.5.2"), lines
        code, lines = c.command("AUTH PLAIN " + b64("alice secret"))
        assert code == 501 and lines[0].startswith("501 5.5.2"), lines
        code, lines = c.command("AUTH LOGIN " + b64("alice"))
        assert lines == ["334 UGFzc3dvcmQ6"], lines
        code, lines = c.command("*")
        assert code == 501 and lines[0].startswith("501 5.7.0"), lines
        code, lines = c.command("AUTH LOGIN")
        assert lines == ["334 VXNlcm5hbWU6"], lines
        code, lines = c.command("%%%")
        assert code == 501 and lines[0].startswith("501 5.5.2"), lines
        code, lines = c.command("AUTH PLAIN " + b64("alice\0alice\0secret"))
        assert code == 235 and lines[0].startswith("235 2.7.0"), lines
    d.wait_log(r'auth ok user="alice"')
    log = d.log_text()
    assert "secret" not in log and b64("alice\0alice\0secret") not in log


def _mount_tmpfs(path, size):
    uid, gid = th.run_user_ids() if th.IS_ROOT else (os.getuid(), os.getgid())
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755,uid={uid},gid={gid}",
                        "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + r.stderr.decode(errors="replace"))


def test_full_disk_452(start_daemon, triad_root):
    """RFC 3463 X.3.1 (interface.md errno mapping): a Maildir on a full file system gets
    452 4.3.1 at the end of DATA and at BDAT LAST; with a second recipient on a healthy disk
    nothing is left in either new/ or tmp/ (the copy failed, so no copy is delivered)."""
    full = triad_root.mail / "example.org" / "full"
    full.mkdir(parents=True)
    _mount_tmpfs(full, "64k")
    try:
        mailbox(triad_root, "example.org", "full")
        mailbox(triad_root, "example.org", "alice")
        d = smtpd(start_daemon)
        body = b"".join(b"%04d " % i + b"y" * 900 + b"\r\n" for i in range(100))
        with Smtp(d.addr) as c:
            c.ehlo()
            code, lines = c.transaction("s@example.net", ["full@example.org"], body)
            assert code == 452 and lines[0].startswith("452 4.3.1"), lines
            code, lines = c.transaction("s@example.net", ["alice@example.org", "full@example.org"],
                                        body)
            assert code == 452 and lines[0].startswith("452 4.3.1"), lines
            assert c.command("MAIL FROM:<s@example.net>")[0] == 250
            assert c.command("RCPT TO:<alice@example.org>")[0] == 250
            assert c.command("RCPT TO:<full@example.org>")[0] == 250
            c.send(b"BDAT %d LAST\r\n" % len(body) + body)
            code, lines = c.read_reply()
            assert code == 452 and lines[0].startswith("452 4.3.1"), lines
            # the session goes on: a message that fits is delivered
            code, lines = c.transaction("s@example.net", ["full@example.org"], b"Subject: s\r\n\r\nx\r\n")
            assert code == 250, lines
        for box in ("alice", "full"):
            assert stored_names(triad_root, "example.org", box, "tmp") == []
        assert stored_names(triad_root, "example.org", "alice") == []
        assert len(stored_names(triad_root, "example.org", "full")) == 1
    finally:
        subprocess.run(["umount", "-l", str(full)], capture_output=True)


def test_aliased_maildir_gets_one_copy(start_daemon, triad_root):
    """interface.md (one Maildir per mailbox): two recipients whose Maildir is the same
    directory through a symbolic link (example.net/bob -> ../example.org/bob, a domain
    alias) get one copy and 250; two copies used to collide in tmp/ and fail the whole
    message with 451 on every retry."""
    mailbox(triad_root, "example.org", "bob")
    mailbox(triad_root, "example.org", "alice")
    (triad_root.mail / "example.net").mkdir(exist_ok=True)
    os.symlink("../example.org/bob", triad_root.mail / "example.net" / "bob")
    triad_root.give_to_run_user()
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        code, lines = c.transaction("s@example.net", ["bob@example.org", "BOB@example.net",
                                                      "alice@example.org"],
                                    b"Subject: alias\r\n\r\nx\r\n")
        assert code == 250, lines
    assert len(stored(triad_root, "example.org", "bob")) == 1
    assert len(stored(triad_root, "example.org", "alice")) == 1
    assert stored_names(triad_root, "example.org", "bob", "tmp") == []


def test_mailbox_needs_three_subdirectories(start_daemon, triad_root):
    """RFC 5321 §3.3 and §4.2.2 (550 5.1.1: no such mailbox) with interface.md's Maildir
    rule: a recipient is a mailbox only when <domain>/<local>/ holds the directories
    tmp/, new/ and cur/. The check looks at the three through the mailbox's descriptor
    without following links (6 system calls, not 12): a missing one, a file in the
    place of one, and a link leading out of the mail root are refused; a link that
    stays beneath the root is followed as before, and the message lands in its target."""
    full = mailbox(triad_root, "example.org", "full")
    nocur = mailbox(triad_root, "example.org", "nocur")
    (nocur / "cur").rmdir()
    filecur = mailbox(triad_root, "example.org", "filecur")
    (filecur / "cur").rmdir()
    (filecur / "cur").write_bytes(b"")
    outside = triad_root.root / "not-mail"  # readable by the daemon, beside maildir_root
    for sub in ("tmp", "new", "cur"):
        (outside / sub).mkdir(parents=True)
    leaves = mailbox(triad_root, "example.org", "leaves")
    (leaves / "new").rmdir()
    os.symlink(outside / "new", leaves / "new")
    inside = mailbox(triad_root, "example.org", "inside")
    (inside / "new").rmdir()
    os.symlink("../full/new", inside / "new")
    triad_root.give_to_run_user()
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        for box in ("nocur", "filecur", "leaves"):
            code, lines = c.command(f"RCPT TO:<{box}@example.org>")
            assert code == 550 and lines[0].startswith("550 5.1.1"), (box, lines)
        assert c.command("RSET")[0] == 250
        code, lines = c.transaction("s@example.net", ["inside@example.org"],
                                    b"Subject: linked new\r\n\r\nx\r\n")
        assert code == 250, lines
    # inside/new is full/new: the one copy is there, nothing in tmp/ or outside
    assert len(stored(triad_root, "example.org", "full")) == 1
    assert stored_names(triad_root, "example.org", "inside", "tmp") == []
    assert os.listdir(outside / "new") == []


def test_sigterm_with_deliveries_of_gone_clients(start_daemon, triad_root):
    """Shutdown clean-up (interface.md: SIGTERM finishes what is in flight, exit 0): senders
    that send the final dot and vanish at once leave deliveries running for no session;
    SIGTERM right then must still exit 0 with nothing leaked (the sanitizer build checks),
    every file in new/ complete and tmp/ empty."""
    import signal
    d = smtpd(start_daemon)
    body = b"Subject: gone\r\n\r\n" + b"z" * 998 + b"\r\n"
    socks = []
    for i in range(20):
        c = Smtp(d.addr)
        c.ehlo()
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        assert c.command("DATA")[0] == 354
        socks.append(c)
    for c in socks:
        c.send(body * 200 + b".\r\n")
    for c in socks:
        c.close()  # the session goes away (EOF) while its delivery may still run
    d.send_signal(signal.SIGTERM)
    assert d.proc.wait(10 * th.timeout_scale()) == 0
    d.check_sanitizer()
    for m in stored(triad_root):
        assert m.endswith(b"z" * 998 + b"\n"), m[-100:]
    assert stored_names(triad_root, sub="tmp") == []


def test_error_cap_counts_errors_without_delivered_mail(start_daemon, triad_root):
    """max_errors caps the errors a client makes without delivering mail (as Postfix's
    smtpd_hard_error_limit): a connection reused for several messages, each with a stale
    recipient, is not cut off; errors with nothing delivered still end in 421 4.7.0."""
    d = smtpd(start_daemon, max_errors=3)
    with Smtp(d.addr) as c:
        c.ehlo()
        for n in range(3):
            assert c.command("MAIL FROM:<s@example.net>")[0] == 250
            assert c.command("RCPT TO:<gone1@example.org>")[0] == 550
            assert c.command("RCPT TO:<gone2@example.org>")[0] == 550
            assert c.command("RCPT TO:<alice@example.org>")[0] == 250
            assert c.command("DATA")[0] == 354
            c.send(b"Subject: %d\r\n\r\nx\r\n.\r\n" % n)
            code, lines = c.read_reply()
            assert code == 250, lines
        assert c.command("RCPT TO:<alice@example.org>")[0] == 503
        assert c.command("RCPT TO:<alice@example.org>")[0] == 503
        code, lines = c.command("RCPT TO:<alice@example.org>")
        assert code == 503, lines
        code, lines = c.read_reply()
        assert code == 421 and lines[0].startswith("421 4.7.0"), lines
        assert c.at_eof()
    assert len(stored(triad_root)) == 3
    d.wait_log(r"messages=3 errors=9 result=too-many-errors")


def test_stale_recipients_among_good_ones_are_not_cut(start_daemon, triad_root):
    """RFC 5321 §7.8 lets a server close a session whose RCPTs are "most or all" invalid; a
    list with a few stale addresses among good ones is not that. With max_errors = 3, four
    550 5.1.1 among four accepted recipients (never more refused than accepted) do not end
    the session: the message is delivered to the four, and the session goes on."""
    for local in ("bob", "carol", "dave"):
        mailbox(triad_root, "example.org", local)
    d = smtpd(start_daemon, max_errors=3)
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("MAIL FROM:<list@example.net>")[0] == 250
        order = ["alice", "gone1", "bob", "gone2", "carol", "gone3", "dave", "gone4"]
        codes = [c.command(f"RCPT TO:<{r}@example.org>") for r in order]
        assert [code for code, _ in codes] == [250, 550] * 4, codes
        assert all(lines[0].startswith("550 5.1.1") for code, lines in codes if code == 550)
        assert c.command("DATA")[0] == 354
        c.send(b"Subject: list\r\n\r\nx\r\n.\r\n")
        code, lines = c.read_reply()
        assert code == 250, lines
        # the next transaction starts with a clean count
        code, lines = c.transaction("list@example.net", ["alice@example.org"],
                                    b"Subject: again\r\n\r\ny\r\n")
        assert code == 250, lines
        assert c.command("QUIT")[0] == 221
    for local in ("alice", "bob", "carol", "dave"):
        assert len(stored(triad_root, "example.org", local)) >= 1
    d.wait_log(r"messages=2 errors=4 result=ok")


def test_harvesting_behind_a_good_recipient_is_cut(start_daemon, triad_root):
    """RFC 5321 §7.8 ("a large number of RCPT TO commands ... most or all with invalid
    addresses": closing "after generating an appropriate number of 5yz" replies): one good
    recipient does not hide a run of guesses. Refusals count once they outnumber the
    accepted recipients: with max_errors = 3 the fourth guess is followed by 421 4.7.0."""
    d = smtpd(start_daemon, max_errors=3)
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        codes = [c.command(f"RCPT TO:<guess{n}@example.org>")[0] for n in range(4)]
        assert codes == [550] * 4
        code, lines = c.read_reply()
        assert code == 421 and lines[0].startswith("421 4.7.0"), lines
        assert c.at_eof()
    d.wait_log(r"result=too-many-errors")


def test_refusals_count_when_their_transaction_delivers_nothing(start_daemon, triad_root):
    """max_errors counts errors made without delivering mail (Postfix's
    smtpd_hard_error_limit; RFC 5321 §7.8): a refusal forgiven while its transaction had as
    many good recipients counts once that transaction ends undelivered (RSET, §4.1.1.5), so
    one good recipient and one guess per transaction still reaches the cap (3 here)."""
    d = smtpd(start_daemon, max_errors=3)
    with Smtp(d.addr) as c:
        c.ehlo()
        for n in range(3):
            assert c.command("MAIL FROM:<s@example.net>")[0] == 250
            assert c.command("RCPT TO:<alice@example.org>")[0] == 250
            assert c.command(f"RCPT TO:<guess{n}@example.org>")[0] == 550
            assert c.command("RSET")[0] == 250
        code, lines = c.read_reply()
        assert code == 421 and lines[0].startswith("421 4.7.0"), lines
        assert c.at_eof()
    assert stored(triad_root) == []
    d.wait_log(r"messages=0 errors=3 result=too-many-errors")


def test_pipelined_recipients_answered_in_order(start_daemon, triad_root):
    """RFC 2920 §3.1 ("the server MUST send the responses in the same order as the
    commands"): each RCPT's mailbox check runs on a pool thread, and the session reads
    nothing more until it is answered, so 60 RCPTs in one write, good, unknown (5.1.1)
    and unlisted (5.7.1) mixed, get their replies in order, then DATA its 354."""
    mailbox(triad_root, "example.org", "bob")
    d = smtpd(start_daemon, max_recipients=100, max_errors=1000)  # the cap: tests above
    kinds = [("alice@example.org", 250), ("bob@example.org", 250),
             ("nobody@example.org", 550), ("x@elsewhere.example", 550)]
    rcpts = [kinds[(n * 7) % 4] for n in range(60)]
    with Smtp(d.addr) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<s@example.net>\r\n"
               + b"".join(b"RCPT TO:<%s>\r\n" % r.encode() for r, _ in rcpts) + b"DATA\r\n")
        assert c.read_reply()[0] == 250
        got = [c.read_reply() for _ in rcpts]
        assert [code for code, _ in got] == [code for _, code in rcpts], got
        for (r, _), (code, lines) in zip(rcpts, got):
            if code == 550:
                assert lines[0].startswith("550 5.7.1" if "elsewhere" in r else "550 5.1.1")
        assert c.read_reply()[0] == 354
        c.send(b"Subject: p\r\n\r\nx\r\n.\r\n")
        assert c.read_reply()[0] == 250
    assert len(stored(triad_root)) == 1
    assert len(stored(triad_root, "example.org", "bob")) == 1


def test_greeting_delay_shorter_than_timeout(triad_config):
    """greeting_delay runs while the read timeout does: one as long as `timeout` would cut
    every client off with 421 before its greeting, so -t refuses it naming the key."""
    triad_config.update("smtpd", {"timeout": "5s", "greeting_delay": "5s"})
    conf = triad_config.write(triad_config.layout.etc / "gd.conf")
    r = th.run_cli("smtpd", "-t", "-c", conf)
    assert r.returncode == 1, r.stderr
    assert f"{conf}:{triad_config.line('smtpd', 'greeting_delay')}" in r.stderr, r.stderr
    assert "greeting_delay" in r.stderr
    triad_config.update("smtpd", {"greeting_delay": "4s"})
    triad_config.write()
    assert th.run_cli("smtpd", "-t", "-c", conf).returncode == 0


@pytest.mark.parametrize("hostname", ["mx example.org", "mx/example.org", "[192.0.2.1]",
                                      "mx_1.example.org", "a" * 129, "mx..example.org"])
def test_hostname_must_be_a_domain(hostname, triad_config):
    """[smtpd] hostname goes into the greeting (RFC 5321 §4.3.1 domain), Received: (§4.4)
    and every Maildir file name: one that is not a domain name, or too long for a file name,
    made every delivery fail with 451. -t refuses it naming the key."""
    triad_config.update("smtpd", {"hostname": hostname})
    conf = triad_config.write(triad_config.layout.etc / "hn.conf")
    r = th.run_cli("smtpd", "-t", "-c", conf)
    assert r.returncode == 1, r.stderr
    assert f"{conf}:{triad_config.line('smtpd', 'hostname')}" in r.stderr, r.stderr
    triad_config.update("smtpd", {"hostname": "MX-1.example.org"})
    triad_config.write()
    assert th.run_cli("smtpd", "-t", "-c", conf).returncode == 0
