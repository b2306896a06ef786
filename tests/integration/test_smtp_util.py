"""Helpers shared by the test_smtp_*.py suites (this module holds no tests).

- ``mailbox(layout, domain, local)``: makes <root>/mail/<domain>/<local>/{tmp,new,cur};
- ``stored(layout, domain, local)``: the messages in that Maildir's new/, as bytes;
- ``split_stored(msg)``: (Return-Path line, Received header, the rest) of a stored message;
- ``Smtp``: a raw SMTP client on LineClient (byte-exact) with ehlo()/send_message() helpers.
"""

import os
import re

import triad_harness as th


def mailbox(layout, domain, local):
    for sub in ("tmp", "new", "cur"):
        (layout.mail / domain / local / sub).mkdir(parents=True, exist_ok=True)
    layout.give_to_run_user()
    return layout.mail / domain / local


def stored(layout, domain="example.org", local="alice"):
    d = layout.mail / domain / local / "new"
    return [p.read_bytes() for p in sorted(d.iterdir())] if d.exists() else []


def stored_names(layout, domain="example.org", local="alice", sub="new"):
    d = layout.mail / domain / local / sub
    return sorted(os.listdir(d)) if d.exists() else []


def split_stored(msg):
    """Return-Path line, the Received: header (with its folded lines), the rest."""
    assert msg.startswith(b"Return-Path: "), msg[:200]
    rp, _, rest = msg.partition(b"\n")
    assert rest.startswith(b"Received: "), rest[:200]
    m = re.match(rb"Received: [^\n]*\n(?:\t[^\n]*\n)*", rest)
    assert m, rest[:300]
    return rp, m.group(0), rest[m.end():]


def smtpd(start_daemon, **overrides):
    return start_daemon("smtpd", section_overrides=overrides)


class Smtp(th.LineClient):
    """Raw SMTP: command() returns (code, lines); greets on connect."""

    def __init__(self, addr, timeout=5.0, greet=True):
        super().__init__(addr, timeout)
        if greet:
            code, lines = self.read_reply()
            assert code == 220, lines

    def ehlo(self, name="client.example"):
        code, lines = self.command(f"EHLO {name}")
        assert code == 250, lines
        return [l[4:] for l in lines]

    def transaction(self, sender, rcpts, body, expect_rcpt=250):
        """MAIL, RCPTs, DATA and BODY (already CRLF, dot-stuffed, without the final dot)."""
        code, lines = self.command(f"MAIL FROM:<{sender}>")
        assert code == 250, lines
        for r in rcpts:
            code, lines = self.command(f"RCPT TO:<{r}>")
            assert code == expect_rcpt, lines
        code, lines = self.command("DATA")
        assert code == 354, lines
        self.send(body + b".\r\n")
        return self.read_reply()
