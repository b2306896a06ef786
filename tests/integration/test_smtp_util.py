"""Helpers shared by the test_smtp_*.py suites (this module holds no tests).

- ``mailbox(layout, domain, local)``: makes <root>/mail/<domain>/<local>/{tmp,new,cur};
- ``stored(layout, domain, local)``: the messages in that Maildir's new/, as bytes;
- ``split_stored(msg)``: (Return-Path line, Received header, the rest) of a stored message;
- ``Smtp``: a raw SMTP client on LineClient (byte-exact) with ehlo()/send_message() helpers;
- ``body_for(tag, lines)``/``stored_body(tag, lines)``: a message naming TAG, as sent and as
  stored; ``SenderLoad``: concurrent smtplib senders that record every 250 (the SIGKILL
  tests of test_smtp_durability and soak_faults); ``check_new_whole``: every file in new/
  whole and every acknowledged message there.
"""

import os
import re
import smtplib
import threading
import time

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


# ---------------------------------------------------------------- load for SIGKILL tests

# smtp_maildir_name() for hostname mx.example.org, with its S= size (maildir(5)).
MAILDIR_NAME = re.compile(r"\d+\.M\d+P\d+Q\d+\.mx\.example\.org,S=(\d+)")


def body_for(tag, lines=30):
    """A message whose X-Test-Id is TAG and whose LINES lines name it (CRLF)."""
    text = "".join(f"{tag} line {n:04d} " + "x" * 60 + "\r\n" for n in range(lines))
    return (f"Subject: {tag}\r\nX-Test-Id: {tag}\r\n\r\n{text}END {tag}\r\n").encode()


def stored_body(tag, lines=30):
    """body_for() as smtpd stores it (LF line ends), after its trace headers."""
    return body_for(tag, lines).replace(b"\r\n", b"\n")


class SenderLoad:
    """SENDERS threads, each one smtplib session to ADDR sending up to PER messages tagged
    f"{prefix}{n}-{i}" (body_for(tag, lines(tag))) to alice and bob. ``acked`` lists the tags
    answered 250: from then on the server is responsible for them (RFC 5321 §4.1.1.4). A
    session that fails (the daemon killed under it) ends its thread quietly."""

    RCPTS = ["alice@example.org", "bob@example.org"]

    def __init__(self, addr, senders, per, prefix, lines=lambda tag: 30, timeout=20):
        self.addr, self.per, self.prefix, self.lines, self.timeout = (addr, per, prefix, lines,
                                                                      timeout)
        self.acked, self._lock, self._stop = [], threading.Lock(), threading.Event()
        self._threads = [threading.Thread(target=self._send, args=(n,)) for n in range(senders)]

    def _send(self, n):
        try:
            with smtplib.SMTP(*self.addr, timeout=self.timeout) as s:
                for i in range(self.per):
                    if self._stop.is_set():
                        return
                    tag = f"{self.prefix}{n}-{i}"
                    s.sendmail("s@example.net", self.RCPTS, body_for(tag, self.lines(tag)))
                    with self._lock:
                        self.acked.append(tag)
        except (smtplib.SMTPException, OSError):
            return

    def start(self):
        for t in self._threads:
            t.start()
        return self

    def wait_acked(self, n, timeout):
        """Until N messages were acknowledged, every sender ended, or TIMEOUT seconds."""
        deadline = time.monotonic() + timeout * th.timeout_scale()
        while (len(self.acked) < n and time.monotonic() < deadline
               and any(t.is_alive() for t in self._threads)):
            time.sleep(0.01)

    def stop(self):
        """After the kill: the senders stop and are joined."""
        self._stop.set()
        for t in self._threads:
            t.join(30)


def check_new_whole(layout, local, acked, lines=lambda tag: 30):
    """Every file in <local>/new is whole (its S= size) and one of ours, complete to its
    last line; every tag of ACKED is there. Returns how many messages new/ holds."""
    new = layout.mail / "example.org" / local / "new"
    found = set()
    for p in new.iterdir():
        m = MAILDIR_NAME.fullmatch(p.name)
        assert m, p.name
        data = p.read_bytes()
        assert len(data) == int(m.group(1)), f"{p.name}: partial ({len(data)} octets)"
        _, _, rest = split_stored(data)
        tag = re.search(rb"X-Test-Id: (\S+)", rest).group(1).decode()
        assert rest == stored_body(tag, lines(tag)), f"{p.name} is not complete"
        found.add(tag)
    missing = [t for t in acked if t not in found]
    assert missing == [], f"{local}: answered 250 but not in new/: {missing}"
    return len(found)
