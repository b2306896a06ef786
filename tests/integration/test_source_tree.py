"""The source tree uses libevent only through its public API (issue 10): no libevent
internal header (event2/*_struct.h, *-internal.h, evbuffer-internal.h) is included
anywhere, and no bufferevent (conn.c drives sockets and OpenSSL itself)."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
SKIP = {"build", ".git", "node_modules"}

INTERNAL = re.compile(r'^\s*#\s*include\s*[<"]([^>"]*(?:_struct\.h|-internal\.h|'
                      r'evbuffer-internal[^>"]*))[>"]', re.M)
BUFFEREVENT = re.compile(r'^\s*#\s*include\s*[<"](event2/bufferevent[^>"]*)[>"]', re.M)


def sources():
    for p in ROOT.rglob("*"):
        if p.suffix not in (".c", ".h") or not p.is_file():
            continue
        if SKIP.intersection(p.relative_to(ROOT).parts):
            continue
        yield p


def offenders(pattern):
    found = []
    for p in sources():
        text = p.read_text(errors="replace")
        for m in pattern.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{p.relative_to(ROOT)}:{line}: {m.group(1)}")
    return found


def test_patterns_catch_what_they_must():
    """The check itself can fail: the patterns match the includes they forbid."""
    for bad in ('#include <event2/event_struct.h>', '#include <event2/bufferevent_struct.h>',
                '#include "evbuffer-internal.h"', '# include "bufferevent-internal.h"'):
        assert INTERNAL.search(bad), bad
    assert BUFFEREVENT.search("#include <event2/bufferevent_ssl.h>")
    assert not INTERNAL.search("#include <event2/event.h>")


def test_no_libevent_internal_header():
    assert list(sources()), "no sources found: wrong root"
    assert offenders(INTERNAL) == []


def test_no_bufferevent():
    assert offenders(BUFFEREVENT) == []
