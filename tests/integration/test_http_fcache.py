"""triad-httpd: the per-worker small-file cache (httpd/fcache.c) never outlives a change.

Issue 3, "Files": a file replaced or deleted on disk is never served half old, half new
on a new request. Small files (up to 16 KiB) that were last changed more than 2 s ago
are served from memory; every request first checks with fstatat that the inode, size,
mtime and ctime are unchanged. These tests make a file old enough to be cached, request
it until it is, then change it on disk and expect the very next request to see it.
"""

import os
import time

from test_http_helpers import KeepAlive, httpd


def cached_file(site_www, name, body):
    path = site_www / name
    path.write_bytes(body)
    os.chmod(path, 0o644)
    return path


def wait_cacheable():
    time.sleep(2.2)  # fcache.c: files changed in the last 2 s are not cached


def test_cached_file_replaced_deleted_rewritten(triad_root, start_daemon):
    www = triad_root.www
    path = cached_file(www, "c.txt", b"A" * 1000)
    other = cached_file(www, "d.bin", b"\x00\x01" * 100)
    triad_root.give_to_run_user()
    wait_cacheable()
    d = httpd(start_daemon)
    with KeepAlive(d.addr) as k:
        for _ in range(3):  # the first request fills the cache, the next ones hit it
            r = k.request("/c.txt")
            assert r.status == 200 and r.body == b"A" * 1000
        etag = r.h("etag")
        r = k.request("/c.txt", {"If-None-Match": etag})
        assert r.status == 304 and r.body == b""
        r = k.request("/c.txt", {"Range": "bytes=0-1"})
        assert r.status == 206 and r.body == b"AA"
        r = k.request("/c.txt", method="HEAD")
        assert r.status == 200 and r.h("content-length") == "1000" and r.body == b""

        # replaced by rename (as ftpd does), same size: the next request sees it
        tmp = www / ".triad-tmp.x"
        tmp.write_bytes(b"B" * 1000)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
        r = k.request("/c.txt")
        assert r.status == 200 and r.body == b"B" * 1000
        assert r.h("etag") != etag

        # rewritten in place
        wait_cacheable()
        for _ in range(2):
            assert k.request("/c.txt").body == b"B" * 1000
        with open(path, "r+b") as f:
            f.write(b"C")
        assert k.request("/c.txt").body == b"C" + b"B" * 999

        # deleted
        assert k.request("/d.bin").body == b"\x00\x01" * 100
        assert k.request("/d.bin").body == b"\x00\x01" * 100
        os.unlink(other)
        assert k.request("/d.bin").status == 404


def test_cached_file_sibling_lookup_reused_for_a_second(triad_root, start_daemon):
    """RFC 9110 §12.5.5: a cached text file without precompressed siblings answers
    without Vary; a .gz sibling added later shows (Vary: Accept-Encoding, and gzip to a
    client that asks) within HTTP_FCACHE_SIBLING_RECHECK (1 s), and disappears as fast."""
    import gzip
    www = triad_root.www
    cached_file(www, "v.txt", b"V" * 2000)
    triad_root.give_to_run_user()
    wait_cacheable()
    d = httpd(start_daemon)
    with KeepAlive(d.addr) as k:
        for _ in range(3):
            r = k.request("/v.txt")
            assert r.status == 200 and r.h("vary") is None
        sib = cached_file(www, "v.txt.gz", gzip.compress(b"V" * 2000))
        os.utime(sib, None)
        triad_root.give_to_run_user()
        # a client that accepts gzip takes the long way at once
        r = k.request("/v.txt", {"Accept-Encoding": "gzip"})
        assert r.h("content-encoding") == "gzip" and r.h("vary") == "Accept-Encoding"
        time.sleep(1.2)
        r = k.request("/v.txt")
        assert r.body == b"V" * 2000 and r.h("vary") == "Accept-Encoding"
        sib.unlink()
        time.sleep(1.2)
        r = k.request("/v.txt")
        assert r.body == b"V" * 2000 and r.h("vary") is None


def test_large_file_metadata_never_outlives_a_change(triad_root, start_daemon):
    """A file over 16 KiB is cached as metadata only (type, validators, the sibling
    answer); each request still opens the file and uses the entry only for that very
    file. Replaced by rename (RFC 9110 §8.8.3: a new ETag), rewritten in place, given a
    .gz sibling, deleted: the next request shows each change."""
    import gzip
    www = triad_root.www
    big = b"".join(b"%07d\n" % i for i in range(4096))  # 32 KiB of text
    path = cached_file(www, "big.txt", big)
    triad_root.give_to_run_user()
    wait_cacheable()
    d = httpd(start_daemon)
    with KeepAlive(d.addr) as k:
        for _ in range(3):  # the first request fills the entry, the next ones use it
            r = k.request("/big.txt")
            assert r.status == 200 and r.body == big
            assert r.h("content-type").startswith("text/plain") and r.h("vary") is None
        etag, lastmod = r.h("etag"), r.h("last-modified")
        assert k.request("/big.txt", {"If-None-Match": etag}).status == 304
        r = k.request("/big.txt", {"Range": "bytes=8-15"})
        assert r.status == 206 and r.body == b"0000001\n"

        # replaced by rename, same size: new content, new ETag at once
        other = bytes(reversed(big))
        tmp = www / ".triad-tmp.big"
        tmp.write_bytes(other)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
        r = k.request("/big.txt")
        assert r.status == 200 and r.body == other and r.h("etag") != etag
        assert k.request("/big.txt", {"If-None-Match": etag}).status == 200

        # rewritten in place once cacheable again: the validators follow
        wait_cacheable()
        for _ in range(2):
            etag = k.request("/big.txt").h("etag")
        with open(path, "r+b") as f:
            f.write(b"X")
        r = k.request("/big.txt")
        assert r.body == b"X" + other[1:] and r.h("etag") != etag

        # a .gz sibling shows in Vary within HTTP_FCACHE_SIBLING_RECHECK (1 s)
        sib = cached_file(www, "big.txt.gz", gzip.compress(big))
        os.utime(sib, None)
        triad_root.give_to_run_user()
        time.sleep(1.2)
        assert k.request("/big.txt").h("vary") == "Accept-Encoding"

        # deleted
        os.unlink(path)
        assert k.request("/big.txt").status == 404
    assert lastmod
