"""triad-smtpd: receiving and delivering mail (RFC 5321, interface.md "smtpd").

Byte-exact delivery into Maildirs, the command order state machine, acceptance rules,
PIPELINING (RFC 2920), SIZE (RFC 1870), CHUNKING/BDAT (RFC 3030), enhanced status codes
(RFC 2034) and the SMTP smuggling defence (only CRLF.CRLF ends DATA, RFC 5321 §4.1.1.4).
"""

import re
import smtplib
import subprocess

import pytest

import triad_harness as th
from test_smtp_util import Smtp, mailbox, smtpd, split_stored, stored, stored_names

ESC = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}( |$)")


GOLDEN = """\
S: 220 mx.example.org ESMTP triad
C: EHLO client.example
S: 250-mx.example.org
S: 250-PIPELINING
S: 250-SIZE 26214400
S: 250-8BITMIME
S: 250-SMTPUTF8
S: 250-CHUNKING
S: 250-DSN
S: 250-ENHANCEDSTATUSCODES
S: 250-STARTTLS
S: 250 HELP
C: MAIL FROM:<s@example.net> BODY=8BITMIME SIZE=20
S: 250 2.1.0 Sender ok
C: RCPT TO:<alice@example.org>
S: 250 2.1.5 Recipient ok
C: DATA
S: 354 End data with <CR><LF>.<CR><LF>
C: Subject: golden
C:
C: .
S: 250 2.0.0 Message accepted for delivery: queued as *
C: VRFY alice
S: 252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery
C: RSET
S: 250 2.0.0 Ok
C: QUIT
S: 221 2.0.0 Bye
"""


def test_golden_transcript(start_daemon):
    """A whole conversation, line by line (RFC 5321 §4.2 reply format, RFC 2034 codes);
    '*' stands for the message id."""
    d = smtpd(start_daemon)
    with th.LineClient(d.addr) as c:
        for line in GOLDEN.splitlines():
            who, text = line[:2], line[3:]
            if who == "C:":
                c.send_line(text)
                continue
            got = c.read_line().decode()
            if text.endswith("*"):
                assert got.startswith(text[:-1]) and len(got) > len(text) - 1, (text, got)
            else:
                assert got == text
        assert c.at_eof()


def test_delivery_byte_exact(start_daemon, triad_root):
    """RFC 5321 §4.4 / interface.md: the stored message is Return-Path:, Received:, then
    the body with CRLF turned into LF, the stuffing dot removed (§4.5.2), 8-bit octets
    intact; named <secs>.M<usec>P<pid>Q<n>.<host>,S=<size> in new/, nothing left in tmp/."""
    d = smtpd(start_daemon)
    body = (b"Subject: test\r\nX-8bit: caf\xc3\xa9 \xff\r\n\r\n"
            b"..leading dot\r\n...two dots\r\n..\r\nlast line\r\n")
    with Smtp(d.addr) as c:
        c.ehlo()
        code, lines = c.transaction("sender@example.net", ["alice@example.org"], body)
        assert code == 250, lines
        assert c.command("QUIT")[0] == 221
    [msg] = stored(triad_root)
    rp, received, rest = split_stored(msg)
    assert rp == b"Return-Path: <sender@example.net>"
    assert b"from client.example ([127.0.0.1])" in received
    assert b"by mx.example.org (triad) with ESMTP id " in received
    assert b"for <alice@example.org>;" in received
    assert rest == (b"Subject: test\nX-8bit: caf\xc3\xa9 \xff\n\n"
                    b".leading dot\n..two dots\n.\nlast line\n")
    [name] = stored_names(triad_root)
    m = re.fullmatch(r"\d+\.M\d+P\d+Q\d+\.mx\.example\.org,S=(\d+)", name)
    assert m, name
    assert int(m.group(1)) == len(msg)
    assert stored_names(triad_root, sub="tmp") == []
    # the log writer is asynchronous: the line may land just after the reply
    d.wait_log(r"message id=\S+ from=<sender@example.net> to=<alice@example.org> "
               r"nrcpt=1 size=\d+ .*result=250")


def test_null_sender_and_multiple_recipients(start_daemon, triad_root):
    """smtplib: the null reverse-path <> (§4.5.5); every recipient's Maildir gets a copy;
    local+tag and upper case reach the same Maildir, once; no "for" clause with several
    recipients (it would disclose Bcc)."""
    mailbox(triad_root, "example.org", "bob")
    mailbox(triad_root, "example.net", "carol")
    d = smtpd(start_daemon)
    host, port = d.addr
    with smtplib.SMTP(host, port, timeout=10) as s:
        refused = s.sendmail("", ["alice@example.org", "Bob+lists@EXAMPLE.org",
                                  "carol@example.net", "ALICE+x@example.org"],
                             b"Subject: multi\r\n\r\nhello\r\n")
        assert refused == {}
    for dom, loc in (("example.org", "alice"), ("example.org", "bob"), ("example.net", "carol")):
        [msg] = stored(triad_root, dom, loc)
        rp, received, rest = split_stored(msg)
        assert rp == b"Return-Path: <>"
        assert b"for <" not in received
        assert rest == b"Subject: multi\n\nhello\n"


def test_swaks_pipelined(start_daemon, triad_root):
    """swaks --pipeline (RFC 2920) delivers; the EHLO reply offers the extensions."""
    d = smtpd(start_daemon)
    host, port = d.addr
    r = subprocess.run(["swaks", "--server", f"{host}:{port}", "--from", "s@example.net",
                        "--to", "alice@example.org", "--pipeline", "--helo", "client.example",
                        "--body", "swaks body", "--timeout", "10"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    for ext in ("PIPELINING", "SIZE 26214400", "8BITMIME", "SMTPUTF8", "CHUNKING", "DSN",
                "ENHANCEDSTATUSCODES", "STARTTLS"):
        assert f"250-{ext}" in r.stdout or f"250 {ext}" in r.stdout, ext
    assert "AUTH" not in r.stdout.split("EHLO", 1)[1].split("MAIL FROM")[0]
    [msg] = stored(triad_root)
    assert b"swaks body" in msg


def test_pipelining_one_write(start_daemon, triad_root):
    """RFC 2920 §3.1: MAIL/RCPT/RCPT/RCPT/DATA in one write get their replies in order,
    none lost; the message and QUIT after the final dot in one write too."""
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<s@example.net>\r\nRCPT TO:<alice@example.org>\r\n"
               b"RCPT TO:<nobody@example.org>\r\nRCPT TO:<x@elsewhere.example>\r\nDATA\r\n")
        replies = [c.read_reply() for _ in range(5)]
        assert [r[0] for r in replies] == [250, 250, 550, 550, 354], replies
        assert replies[2][1][0].startswith("550 5.1.1")
        assert replies[3][1][0].startswith("550 5.7.1")
        c.send(b"Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<s@example.net>\r\nRSET\r\n"
               b"QUIT\r\n")
        assert [c.read_reply()[0] for _ in range(4)] == [250, 250, 250, 221]
    assert len(stored(triad_root)) == 1


SMUGGLING = [
    pytest.param(b"\n.\n", id="LF.LF"),
    pytest.param(b"\r.\n", id="CR.LF"),
    pytest.param(b"\n.\r\n", id="LF.CRLF"),
    pytest.param(b"\r.\r\n", id="CR.CRLF"),
    pytest.param(b"\r\n.\n", id="CRLF.LF"),
    pytest.param(b"\r\n.\r", id="CRLF.CR"),
    pytest.param(b" bare\rCR\r\n", id="bare-CR"),
    pytest.param(b" bare\nLF\r\n", id="bare-LF"),
]


@pytest.mark.parametrize("variant", SMUGGLING)
def test_smuggling_refused(variant, start_daemon, triad_root):
    """Only CRLF.CRLF ends DATA (§4.1.1.4); a bare CR or LF anywhere refuses the whole
    message with 550 5.5.2 at the real end; the smuggled MAIL/RCPT/DATA never runs."""
    d = smtpd(start_daemon)
    smuggled = (b"MAIL FROM:<evil@example.net>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n"
                b"Subject: smuggled\r\n\r\nevil\r\n")
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        assert c.command("DATA")[0] == 354
        c.send(b"Subject: outer\r\n\r\ntext" + variant + smuggled + b".\r\n")
        code, lines = c.read_reply()
        assert code == 550 and lines[0].startswith("550 5.5.2"), lines
        assert c.command("NOOP")[0] == 250  # nothing else was queued
    assert stored(triad_root) == []


@pytest.mark.parametrize("variant", SMUGGLING)
def test_smuggling_normalised(variant, start_daemon, triad_root):
    """bare_lf = normalise: the message is stored (bare LF as a line break, bare CR
    dropped), the smuggled commands stay message text, and only one message results."""
    d = smtpd(start_daemon, bare_lf="normalise")
    with Smtp(d.addr) as c:
        c.ehlo()
        code, lines = c.transaction("s@example.net", ["alice@example.org"],
                                    b"Subject: outer\r\n\r\ntext" + variant +
                                    b"MAIL FROM:<evil@example.net>\r\n")
        assert code == 250, lines
        assert c.command("NOOP")[0] == 250
    [msg] = stored(triad_root)
    assert b"MAIL FROM:<evil@example.net>\n" in msg
    assert b"\r" not in split_stored(msg)[2]


def test_size(start_daemon, triad_root):
    """RFC 1870: SIZE is advertised, a declared size over it is 552 5.3.4 at MAIL, an
    actual one at the end of DATA (nothing stored); the session stays usable."""
    d = smtpd(start_daemon, max_message_size="2K")
    with Smtp(d.addr) as c:
        assert "SIZE 2048" in c.ehlo()
        code, lines = c.command("MAIL FROM:<s@example.net> SIZE=2049")
        assert code == 552 and lines[0].startswith("552 5.3.4"), lines
        assert c.command("MAIL FROM:<s@example.net> SIZE=100")[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        assert c.command("DATA")[0] == 354
        c.send(b"Subject: big\r\n\r\n" + (b"x" * 70 + b"\r\n") * 40 + b".\r\n")
        code, lines = c.read_reply()
        assert code == 552 and lines[0].startswith("552 5.3.4"), lines
        code, lines = c.transaction("s@example.net", ["alice@example.org"],
                                    b"Subject: small\r\n\r\nok\r\n")
        assert code == 250, lines
    [msg] = stored(triad_root)
    assert msg.endswith(b"Subject: small\n\nok\n")
    assert stored_names(triad_root, sub="tmp") == []


def test_bdat(start_daemon, triad_root):
    """RFC 3030: BDAT chunks (CRLF split across chunks), BDAT LAST stores the message;
    chunk octets are never read as commands."""
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("MAIL FROM:<s@example.net> BODY=8BITMIME")[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        part1 = b"Subject: bdat\r\n\r\nQUIT\r"
        part2 = b"\n.\r\nline \xe9\r\n"
        c.send(b"BDAT %d\r\n" % len(part1) + part1 + b"BDAT %d LAST\r\n" % len(part2) + part2)
        code, lines = c.read_reply()
        assert code == 250, lines
        code, lines = c.read_reply()
        assert code == 250 and "queued" in lines[0], lines
        # BDAT 0 LAST ends an empty-chunked message too; DATA after BDAT is refused
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        c.send(b"BDAT 5\r\nabc\r\n")
        assert c.read_reply()[0] == 250
        assert c.command("DATA")[0] == 503
        assert c.command("BDAT 0 LAST")[0] == 250
    msgs = stored(triad_root)
    assert len(msgs) == 2
    bodies = sorted(split_stored(m)[2] for m in msgs)
    assert bodies == [b"Subject: bdat\n\nQUIT\n.\nline \xe9\n", b"abc\n"]


def test_bdat_after_failed_chunk(start_daemon, triad_root):
    """RFC 3030 §2/§4.2: a chunk over the size limit gets 552 5.3.4; later chunks of the
    failed transaction are still consumed (their octets are not commands) and refused, BDAT
    LAST ends it with nothing stored; BDAT without a transaction is 503 and its chunk
    skipped; a new transaction then works."""
    d = smtpd(start_daemon, max_message_size="1K")
    with Smtp(d.addr) as c:
        c.ehlo()
        chunk = b"RSET\r\n" * 200
        c.send(b"BDAT 6\r\nQUIT\r\n")
        code, lines = c.read_reply()
        assert code == 503, lines
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        code, lines = c.read_reply()
        assert code == 552 and lines[0].startswith("552 5.3.4"), lines
        c.send(b"BDAT 6\r\nQUIT\r\nBDAT 6 LAST\r\nQUIT\r\n")
        assert c.read_reply()[0] == 552
        assert c.read_reply()[0] == 552
        assert c.command("RCPT TO:<alice@example.org>")[0] == 503  # the transaction ended
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        c.send(b"BDAT 4 LAST\r\nok\r\n")
        assert c.read_reply()[0] == 250
    [msg] = stored(triad_root)
    assert split_stored(msg)[2] == b"ok\n"


def test_acceptance(start_daemon, triad_root):
    """interface.md: listed domain + existing Maildir (lower case, +tag removed); an
    unlisted domain or subdomain or an address literal is 550 5.7.1, a missing mailbox
    550 5.1.1; <Postmaster> is the first listed domain's postmaster; quoted local parts."""
    mailbox(triad_root, "example.org", "postmaster")
    d = smtpd(start_daemon)
    cases = [
        ("<alice@example.org>", "250 2.1.5"),
        ("<ALICE@Example.ORG>", "250 2.1.5"),
        ("<alice+tag@example.org>", "250 2.1.5"),
        ('<"alice"@example.org>', "250 2.1.5"),
        ("<Postmaster>", "250 2.1.5"),
        ("<bob@example.org>", "550 5.1.1"),
        ("<alice@example.com>", "550 5.7.1"),
        ("<alice@sub.example.org>", "550 5.7.1"),
        ("<alice@[127.0.0.1]>", "550 5.7.1"),
        ('<"../alice"@example.org>', "550 5.1.1"),
        ("<..alice@example.org>", "501 5.1.3"),
        ("<alice@example.org", "501 5.1.3"),
    ]
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        for rcpt, want in cases:
            code, lines = c.command(f"RCPT TO:{rcpt}")
            assert lines[0].startswith(want), (rcpt, lines)
        c.send(b"DATA\r\n")
        assert c.read_reply()[0] == 354
        c.send(b"Subject: a\r\n\r\nx\r\n.\r\n")
        assert c.read_reply()[0] == 250
    assert len(stored(triad_root)) == 1
    assert len(stored(triad_root, "example.org", "postmaster")) == 1


def test_unlisted_never_relayed_from_localhost(start_daemon, triad_root):
    """No open relay: even a loopback client cannot send to a foreign domain."""
    d = smtpd(start_daemon)
    host, port = d.addr
    with smtplib.SMTP(host, port, timeout=10) as s:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            s.sendmail("a@example.org", ["victim@gmail.example"], b"Subject: x\r\n\r\nx\r\n")
        assert e.value.recipients["victim@gmail.example"][0] == 550


def test_max_recipients(start_daemon, triad_root):
    """§4.5.3.1.10: recipients beyond max_recipients get 452 4.5.3; the rest is delivered."""
    for n in range(4):
        mailbox(triad_root, "example.org", f"u{n}")
    d = smtpd(start_daemon, max_recipients=3)
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        for n in range(3):
            assert c.command(f"RCPT TO:<u{n}@example.org>")[0] == 250
        code, lines = c.command("RCPT TO:<u3@example.org>")
        assert code == 452 and lines[0].startswith("452 4.5.3"), lines
        assert c.command("DATA")[0] == 354
        c.send(b"x\r\n.\r\n")
        assert c.read_reply()[0] == 250
    assert [len(stored(triad_root, "example.org", f"u{n}")) for n in range(4)] == [1, 1, 1, 0]


def test_command_order_and_status_codes(start_daemon):
    """§4.1.4 command order (503 5.5.1), the simple commands, and RFC 2034: after EHLO every
    reply but 354 carries an enhanced status code; EHLO/HELO replies and a HELO session's
    replies do not (RFC 2034 §4)."""
    d = smtpd(start_daemon, max_errors=30)
    with Smtp(d.addr) as c:
        code, lines = c.command("MAIL FROM:<s@example.net>")
        assert code == 503 and not ESC.match(lines[0]), lines
        assert c.command("EHLO")[0] == 501
        ehlo = c.ehlo()
        assert not ESC.match("250 " + ehlo[0])
        checks = [
            ("RCPT TO:<alice@example.org>", 503),
            ("DATA", 503),
            ("MAIL FROM:<s@example.net>", 250),
            ("MAIL FROM:<s@example.net>", 503),
            ("DATA", 554),
            ("RCPT TO:<alice@example.org>", 250),
            ("VRFY alice", 252),
            ("EXPN staff", 502),
            ("HELP", 214),
            ("NOOP", 250),
            ("FOO bar", 500),
            ("QUIT now", 501),
            ("RSET", 250),
            ("RCPT TO:<alice@example.org>", 503),
            ("MAIL FROM:<s@example.net> FOO=BAR", 555),
            ("MAIL FROM:<s@example.net> RET=HDRS ENVID=abc+2Bd", 250),
            ("RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;alice@example.org",
             250),
            ("RCPT TO:<alice@example.org> NOTIFY=NEVER,SUCCESS", 501),
            ("RSET", 250),
        ]
        for cmd, want in checks:
            code, lines = c.command(cmd)
            assert code == want, (cmd, lines)
            assert all(ESC.match(l) for l in lines), (cmd, lines)
        assert c.command("QUIT")[0] == 221
        assert c.at_eof()
    with Smtp(d.addr) as c:
        code, lines = c.command("HELO client.example")
        assert code == 250 and not ESC.match(lines[0])
        code, lines = c.command("MAIL FROM:<s@example.net>")
        assert lines == ["250 Sender ok"], lines
        code, lines = c.command("MAIL FROM:<s@example.net>")
        assert code == 503 and not ESC.match(lines[0])
        code, lines = c.command("RCPT TO:<alice@example.org> NOTIFY=NEVER")
        assert code == 555, lines  # parameters need EHLO


def test_line_limits(start_daemon, triad_root):
    """§4.5.3.1.4: a command line over 512 octets is 500 5.5.2 and skipped whole;
    §4.5.3.1.6 text lines over 1000 octets are accepted and stored intact (as Postfix)."""
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        code, lines = c.command("NOOP " + "x" * 600)
        assert code == 500 and lines[0].startswith("500 5.5.2"), lines
        assert c.command("NOOP")[0] == 250
        long = b"y" * 2000
        code, lines = c.transaction("s@example.net", ["alice@example.org"],
                                    b"Subject: long\r\n\r\n" + long + b"\r\n")
        assert code == 250, lines
    [msg] = stored(triad_root)
    assert split_stored(msg)[2] == b"Subject: long\n\n" + long + b"\n"


def test_long_lines_refused(start_daemon, triad_root):
    """long_lines = refuse: a text line over 1000 octets (§4.5.3.1.6) refuses the message
    with 550 5.6.0 at its end; 998 octets plus CRLF (stuffed or not) still fit."""
    d = smtpd(start_daemon, long_lines="refuse")
    with Smtp(d.addr) as c:
        c.ehlo()
        code, lines = c.transaction("s@example.net", ["alice@example.org"],
                                    b"Subject: l\r\n\r\n" + b"z" * 999 + b"\r\n")
        assert code == 550 and lines[0].startswith("550 5.6.0"), lines
        code, lines = c.transaction("s@example.net", ["alice@example.org"],
                                    b"Subject: l\r\n\r\n" + b"z" * 998 + b"\r\n.." +
                                    b"z" * 997 + b"\r\n")
        assert code == 250, lines
    [msg] = stored(triad_root)
    assert split_stored(msg)[2] == b"Subject: l\n\n" + b"z" * 998 + b"\n." + b"z" * 997 + b"\n"


def test_smtputf8(start_daemon, triad_root):
    """RFC 6531: SMTPUTF8 allows UTF-8 addresses; without it they are 553 5.6.7; the
    Received protocol is UTF8SMTP (RFC 6531 §3.7.3)."""
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        code, lines = c.command("MAIL FROM:<j\u00fcrgen@example.net>".encode())
        assert code == 553, lines
        assert c.command("MAIL FROM:<j\u00fcrgen@example.net> SMTPUTF8".encode())[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        assert c.command("DATA")[0] == 354
        c.send("Subject: gr\u00fc\u00dfe\r\n\r\nhi\r\n.\r\n".encode())
        assert c.read_reply()[0] == 250
    [msg] = stored(triad_root)
    assert "Return-Path: <j\u00fcrgen@example.net>".encode() in msg
    assert b"with UTF8SMTP id" in msg
