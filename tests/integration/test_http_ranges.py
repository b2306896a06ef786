"""triad-httpd: validators, conditional requests and ranges (RFC 9110 §8.8, §13, §14).

Issue 3, "Validators and conditionals" and "Ranges": strong ETag and Last-Modified,
If-None-Match / If-Modified-Since -> 304 without a body, If-Match / If-Unmodified-Since
-> 412, the §13.2.2 precedence, single / suffix / open / multiple ranges, 416 with
Content-Range: bytes */LEN, If-Range, and range lists that are never amplified.
"""

import email.utils
import re

import pytest

from test_http_helpers import get, httpd, raw, responses

BODY = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def d(triad_root, start_daemon):
    (triad_root.www / "f.bin").write_bytes(BODY)
    (triad_root.www / "f.txt").write_text("0123456789")
    triad_root.give_to_run_user()
    return httpd(start_daemon)


def validators(d, path="/f.bin"):
    r = get(d, path)
    return r.h("etag"), r.h("last-modified")


def test_validators(d):
    """§8.8.3: a strong ETag; §8.8.2: Last-Modified as an IMF-fixdate."""
    etag, lm = validators(d)
    assert re.fullmatch(r'"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"', etag)
    assert email.utils.parsedate_to_datetime(lm).year >= 2024
    assert validators(d) == (etag, lm)
    assert validators(d, "/f.txt")[0] != etag


def test_if_none_match(d):
    """§13.1.2: If-None-Match (lists, "*", weak comparison) -> 304 without content, with
    the validators; no match -> 200."""
    etag, lm = validators(d)
    for value in (etag, f'"nope", {etag}', "*", f"W/{etag}"):
        r = get(d, "/f.bin", {"If-None-Match": value})
        assert r.status == 304, value
        assert r.body == b"" and r.h("etag") == etag and r.h("last-modified") == lm
        assert r.h("content-length") is None
    assert get(d, "/f.bin", {"If-None-Match": '"nope"'}).status == 200
    # 304 is really bodiless on the wire, even with keep-alive
    data = raw(d, b"GET /f.bin HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\n\r\n"
                  b"GET /f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    rs = responses(data)
    assert [r.status for r in rs] == [304, 200] and rs[1].body == b"0123456789"


def test_if_modified_since(d):
    """§13.1.3: not modified since the date -> 304; an older date -> 200; an invalid
    date is ignored."""
    _, lm = validators(d)
    assert get(d, "/f.bin", {"If-Modified-Since": lm}).status == 304
    assert get(d, "/f.bin", {"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT"}).status == 200
    assert get(d, "/f.bin", {"If-Modified-Since": "yesterday"}).status == 200


def test_if_match_and_unmodified_since(d):
    """§13.1.1, §13.1.4: If-Match false or modified since If-Unmodified-Since -> 412."""
    etag, lm = validators(d)
    assert get(d, "/f.bin", {"If-Match": etag}).status == 200
    assert get(d, "/f.bin", {"If-Match": "*"}).status == 200
    assert get(d, "/f.bin", {"If-Match": f"W/{etag}"}).status == 412  # strong comparison
    assert get(d, "/f.bin", {"If-Match": '"other"'}).status == 412
    old = "Sun, 06 Nov 1994 08:49:37 GMT"
    assert get(d, "/f.bin", {"If-Unmodified-Since": old}).status == 412
    assert get(d, "/f.bin", {"If-Unmodified-Since": lm}).status == 200


def test_precedence(d):
    """§13.2.2: If-Match before If-Unmodified-Since before If-None-Match before
    If-Modified-Since; If-None-Match present means If-Modified-Since is ignored."""
    etag, lm = validators(d)
    old = "Sun, 06 Nov 1994 08:49:37 GMT"
    # If-Match true: If-Unmodified-Since is not evaluated
    assert get(d, "/f.bin", {"If-Match": etag, "If-Unmodified-Since": old}).status == 200
    # If-Match false wins over a matching If-None-Match
    assert get(d, "/f.bin", {"If-Match": '"x"', "If-None-Match": etag}).status == 412
    # If-None-Match matching: 304 even with an old If-Modified-Since
    assert get(d, "/f.bin", {"If-None-Match": etag, "If-Modified-Since": old}).status == 304
    # If-None-Match not matching: If-Modified-Since (which would say 304) is ignored
    assert get(d, "/f.bin", {"If-None-Match": '"x"', "If-Modified-Since": lm}).status == 200
    # a 304 precondition beats a Range
    assert get(d, "/f.bin", {"If-None-Match": etag, "Range": "bytes=0-1"}).status == 304


def test_single_ranges(d):
    """§14.1.2, §14.4: first-last, suffix and open ranges -> 206 with Content-Range."""
    cases = {"bytes=0-9": (0, 9), "bytes=-10": (1014, 1023), "bytes=1000-": (1000, 1023),
             "bytes=1020-5000": (1020, 1023), "BYTES=5-5": (5, 5), "bytes=-5000": (0, 1023)}
    for spec, (a, b) in cases.items():
        r = get(d, "/f.bin", {"Range": spec})
        assert r.status == 206, spec
        assert r.h("content-range") == f"bytes {a}-{b}/1024", spec
        assert r.body == BODY[a:b + 1] and r.h("content-length") == str(b - a + 1)


def parse_multipart(r):
    m = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", r.h("content-type"))
    assert m, r.h("content-type")
    boundary = m.group(1).encode()
    assert int(r.h("content-length")) == len(r.body)
    parts = r.body.split(b"--" + boundary)
    assert parts[-1] == b"--\r\n" and parts[0] == b"\r\n"
    out = []
    for p in parts[1:-1]:
        head, _, body = p.partition(b"\r\n\r\n")
        assert body.endswith(b"\r\n")
        cr = re.search(rb"Content-Range: bytes (\d+)-(\d+)/(\d+)", head)
        out.append((int(cr.group(1)), int(cr.group(2)), body[:-2]))
        assert b"Content-Type: text/plain; charset=utf-8" in head
    return out


def test_multiple_ranges(d):
    """§14.6: several ranges -> multipart/byteranges, each part with its Content-Range;
    overlapping and adjacent ranges are coalesced (§14.2) and sent in order."""
    r = get(d, "/f.txt", {"Range": "bytes=0-1,5-6,-2"})
    assert r.status == 206
    assert parse_multipart(r) == [(0, 1, b"01"), (5, 6, b"56"), (8, 9, b"89")]
    r = get(d, "/f.txt", {"Range": "bytes=5-6,0-1"})
    assert parse_multipart(r) == [(0, 1, b"01"), (5, 6, b"56")]
    r = get(d, "/f.txt", {"Range": "bytes=0-3,2-5"})  # overlapping: one range
    assert r.status == 206 and r.h("content-range") == "bytes 0-5/10" and r.body == b"012345"


def test_unsatisfiable_and_ignored(d):
    """§15.5.17: 416 with Content-Range: bytes */LEN; malformed, non-bytes, too many or
    amplifying range lists are ignored (200, the whole file, never more)."""
    r = get(d, "/f.bin", {"Range": "bytes=2000-"})
    assert r.status == 416 and r.h("content-range") == "bytes */1024"
    for spec in ("bytes=5-1", "bytes=x-y", "items=0-1", "bytes 0-1", "bytes=0-1,"
                 "bytes=" + ",".join(f"{i}-{i}" for i in range(0, 40, 2)),
                 "bytes=" + ",".join(["0-1023"] * 3),
                 "bytes=" + ",".join(["-1000"] * 2)):
        r = get(d, "/f.bin", {"Range": spec})
        assert r.status in (200, 206), spec
        assert len(r.body) <= len(BODY), spec
        if r.status == 200:
            assert r.body == BODY
    r = get(d, "/f.bin", {"Range": "bytes=0-1"}, method="HEAD")
    assert r.status == 200  # Range is defined for GET only (§14.2)


def test_if_range(d):
    """§13.1.5: If-Range with the current ETag or date -> the range; otherwise the whole
    representation (200)."""
    etag, lm = validators(d)
    assert get(d, "/f.bin", {"Range": "bytes=0-3", "If-Range": etag}).status == 206
    assert get(d, "/f.bin", {"Range": "bytes=0-3", "If-Range": lm}).status == 206
    r = get(d, "/f.bin", {"Range": "bytes=0-3", "If-Range": '"old"'})
    assert r.status == 200 and r.body == BODY
    r = get(d, "/f.bin", {"Range": "bytes=0-3", "If-Range": "Sun, 06 Nov 1994 08:49:37 GMT"})
    assert r.status == 200
