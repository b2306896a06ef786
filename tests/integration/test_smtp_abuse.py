"""triad-smtpd: abuse controls and timeouts.

Early talkers before a delayed greeting (RFC 5321 §3.1: the client waits for the 220),
the per-session error cap, improper pipelining (RFC 2920 §3.1: input after a command that
must end a group), timeouts (RFC 5321 §4.5.3.2, `timeout` = 2s here), SIGTERM on idle
sessions (421 4.3.2) and the per-IP connection limit's refusal.
"""

import signal
import time

import triad_harness as th
from test_smtp_util import Smtp, smtpd, stored


def test_greeting_delay_early_talker(start_daemon):
    """greeting_delay: input before the banner gets 554 5.5.0 and the connection closes;
    a patient client is greeted after the delay."""
    d = smtpd(start_daemon, greeting_delay="1s")
    with th.LineClient(d.addr) as c:
        c.send(b"EHLO spammer.example\r\n")
        code, lines = c.read_reply()
        assert code == 554 and lines[0].startswith("554 5.5.0 "), lines
        assert c.at_eof()
    t0 = time.monotonic()
    with Smtp(d.addr) as c:
        assert time.monotonic() - t0 >= 0.9
        c.ehlo()
    d.wait_log(r"early talker ip=127\.0\.0\.1")
    d.wait_log(r"result=early-talker")


def test_error_cap(start_daemon):
    """max_errors: the session is closed with 421 4.7.0 after that many error replies."""
    d = smtpd(start_daemon, max_errors=3)
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("FOO")[0] == 500
        assert c.command("RCPT TO:<alice@example.org>")[0] == 503
        c.send_line("BAR")
        code, lines = c.read_reply()
        assert code == 500, lines
        code, lines = c.read_reply()
        assert code == 421 and lines[0].startswith("421 4.7.0"), lines
        assert c.at_eof()
    d.wait_log(r"result=too-many-errors")


def test_default_error_cap_is_ten(start_daemon):
    """The default cap is SMTP_ERRORS_MAX (10): a recipient-harvesting client is cut off."""
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        codes = [c.command(f"RCPT TO:<guess{n}@example.org>")[0] for n in range(10)]
        assert codes == [550] * 10
        code, lines = c.read_reply()
        assert code == 421, lines
        assert c.at_eof()


def test_improper_pipelining(start_daemon, triad_root):
    """RFC 2920 §3.1: DATA must end a group; a client that sends the message before 354
    gets 503 5.5.0 and is disconnected (nothing stored, the body is never parsed as
    commands). The same for input after EHLO."""
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        c.send(b"MAIL FROM:<s@example.net>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n"
               b"Subject: early\r\n\r\nbody\r\n.\r\n")
        assert [c.read_reply()[0] for _ in range(2)] == [250, 250]
        code, lines = c.read_reply()
        assert code == 503 and lines[0].startswith("503 5.5.0"), lines
        assert c.at_eof()
    with Smtp(d.addr) as c:
        c.send(b"EHLO client.example\r\nMAIL FROM:<s@example.net>\r\n")
        code, lines = c.read_reply()
        assert code == 503, lines
        assert c.at_eof()
    assert stored(triad_root) == []
    d.wait_log(r"improper pipelining after DATA")


def test_idle_timeout(start_daemon):
    """RFC 5321 §4.5.3.2: a silent client gets 421 4.4.2 after `timeout` and is closed."""
    d = smtpd(start_daemon, timeout="2s")
    with Smtp(d.addr) as c:
        c.ehlo()
        t0 = time.monotonic()
        code, lines = c.read_reply()
        assert code == 421 and lines[0].startswith("421 4.4.2"), lines
        assert 1.5 <= time.monotonic() - t0 <= 6 * th.timeout_scale()
        assert c.at_eof()


def test_timeout_in_data(start_daemon, triad_root):
    """A client that stalls mid-DATA is timed out; the partial message is not delivered
    and its spool file is removed from tmp/."""
    d = smtpd(start_daemon, timeout="2s")
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        assert c.command("DATA")[0] == 354
        c.send(b"Subject: stalled\r\n\r\npartial")
        code, lines = c.read_reply()
        assert code == 421, lines
        assert c.at_eof()
    assert stored(triad_root) == []
    d.wait_log(r"result=timeout")
    assert list((triad_root.mail / "example.org/alice/tmp").iterdir()) == []


def test_sigterm_idle_session(start_daemon):
    """SIGTERM: an idle session is told 421 4.3.2 and closed; the daemon exits 0."""
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        d.send_signal(signal.SIGTERM)
        code, lines = c.read_reply()
        assert code == 421 and lines[0].startswith("421 4.3.2"), lines
        assert c.at_eof()
    assert d.proc.wait(10 * th.timeout_scale()) == 0


def test_sigterm_lets_message_finish(start_daemon, triad_root):
    """SIGTERM during DATA: the message being received is finished and delivered (250),
    then the session gets 421 4.3.2."""
    d = smtpd(start_daemon)
    with Smtp(d.addr) as c:
        c.ehlo()
        assert c.command("MAIL FROM:<s@example.net>")[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        assert c.command("DATA")[0] == 354
        c.send(b"Subject: in flight\r\n\r\n")
        d.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        c.send(b"still here\r\n.\r\n")
        assert c.read_reply()[0] == 250
        code, lines = c.read_reply()
        assert code == 421, lines
    assert d.proc.wait(10 * th.timeout_scale()) == 0
    assert len(stored(triad_root)) == 1


def test_per_ip_limit_refusal(start_daemon):
    """max_connections_per_ip: the connection over the limit gets 421 4.7.0 and closes."""
    # limits_exempt off: loopback, where the test connects from, is exempt by default
    d = smtpd(start_daemon, max_connections_per_ip=1, limits_exempt="")
    held = None
    deadline = time.monotonic() + 5 * th.timeout_scale()
    while held is None:  # the readiness probe's connection may still hold the slot
        try:
            held = Smtp(d.addr)
        except AssertionError:
            assert time.monotonic() < deadline, "the only slot never became free"
            time.sleep(0.05)
    with held:
        held.ehlo()
        with th.LineClient(d.addr) as c:
            code, lines = c.read_reply()
            assert code == 421 and "4.7.0" in lines[0], lines
            assert c.at_eof()
