"""triad-httpd: the file cache's change watches (httpd/fcache.h) never let a change go unseen.

Issue 3, "Files", and issue 12: a file replaced on disk (an FTP upload) is seen by every
request sent after the change. Each worker watches the files it caches and the
directories down to them with inotify and revalidates an entry only after an event;
without inotify (or without a watch) it revalidates each entry by fstatat once per
event-loop iteration. Both ways are run here, with a warm cache of many files in nested
directories, and each change must show in the very next request on the same keep-alive
connection (and on a fresh one, which may land on the other worker):

- "on": inotify as deployed;
- "off": no inotify fd at all (as when inotify_init1 fails with EMFILE);
- "nowatch": an inotify fd whose inotify_add_watch always fails (as on ENOSPC).

The last two use a test-only hook (TRIAD_TEST_FCACHE_INOTIFY, compiled only with
TEST_HOOKS=1) rather than the machine-wide fs.inotify limits.
RFC 9110 §8.8.3: a replaced representation gets a new ETag.
"""

import gzip
import os
import time

import pytest

from test_http_helpers import KeepAlive, get, httpd

MODES = {"on": None, "off": "off", "nowatch": "nowatch"}
DIRS = ["", "a/", "a/b/", "a/b/c/"]
PER_DIR = 40


def body_of(rel, version=0):
    """Distinct bytes per file and version, all the same length (so only the
    validators other than size tell the versions apart)."""
    return (f"{rel}:{version}:".encode() * 64)[:1000]


@pytest.fixture(params=sorted(MODES))
def warm(request, triad_root, start_daemon):
    """httpd in one mode over 160 small files in 4 directory levels, each
    requested until cached (the first request fills, the next ones hit)."""
    www = triad_root.www
    names = []
    for d in DIRS:
        (www / d).mkdir(parents=True, exist_ok=True)
        for i in range(PER_DIR):
            rel = f"{d}f{i}.txt"
            (www / rel).write_bytes(body_of(rel))
            names.append(rel)
    triad_root.give_to_run_user()
    time.sleep(2.2)  # fcache.c: files changed in the last 2 s are not cached
    hook = MODES[request.param]
    d = start_daemon("httpd", env={"TRIAD_TEST_FCACHE_INOTIFY": hook} if hook else {})
    k = KeepAlive(d.addr)
    for _ in range(2):
        for rel in names:
            r = k.request("/" + rel)
            assert r.status == 200 and r.body == body_of(rel)
    yield d, k, www, names
    k.close()


def assert_all_others(k, names, skip, version=0):
    for rel in names:
        if rel not in skip:
            r = k.request("/" + rel)
            assert r.status == 200 and r.body == body_of(rel, version), rel


def fresh(d, rel):
    """The same file over a new connection (either worker)."""
    return get(d, "/" + rel)


def test_replaced_by_rename(warm):
    d, k, www, names = warm
    for rel in ("f3.txt", "a/b/c/f7.txt"):
        etag = k.request("/" + rel).h("etag")
        tmp = www / (rel + ".part")
        tmp.write_bytes(body_of(rel, 1))
        os.chmod(tmp, 0o644)
        os.rename(tmp, www / rel)  # as ftpd commits an upload
        r = k.request("/" + rel)
        assert r.status == 200 and r.body == body_of(rel, 1)
        assert r.h("etag") != etag
        assert fresh(d, rel).body == body_of(rel, 1)
    assert_all_others(k, names, {"f3.txt", "a/b/c/f7.txt"})


def test_rewritten_in_place(warm):
    d, k, www, names = warm
    rel = "a/b/f11.txt"
    with open(www / rel, "r+b") as f:  # same size, same inode
        f.write(b"Z")
    r = k.request("/" + rel)
    assert r.status == 200 and r.body == b"Z" + body_of(rel)[1:]
    assert fresh(d, rel).body == b"Z" + body_of(rel)[1:]
    # truncated
    os.truncate(www / rel, 10)
    assert k.request("/" + rel).body == b"Z" + body_of(rel)[1:10]
    assert_all_others(k, names, {rel})


def test_chmod_unreadable(warm):
    d, k, www, names = warm
    rel = "a/f5.txt"
    os.chmod(www / rel, 0)
    try:
        assert k.request("/" + rel).status == 403
        assert fresh(d, rel).status == 403
    finally:
        os.chmod(www / rel, 0o644)
    assert k.request("/" + rel).body == body_of(rel)
    # a directory on the way made untraversable
    os.chmod(www / "a/b", 0)
    try:
        assert k.request("/a/b/f1.txt").status == 403
        assert k.request("/a/b/c/f1.txt").status == 403
    finally:
        os.chmod(www / "a/b", 0o755)
    assert k.request("/a/b/c/f1.txt").body == body_of("a/b/c/f1.txt")


def test_deleted(warm):
    d, k, www, names = warm
    for rel in ("f0.txt", "a/b/c/f39.txt"):
        os.unlink(www / rel)
        assert k.request("/" + rel).status == 404
        assert fresh(d, rel).status == 404
    assert_all_others(k, names, {"f0.txt", "a/b/c/f39.txt"})


def test_parent_directory_renamed_or_replaced(warm):
    d, k, www, names = warm
    os.rename(www / "a/b", www / "a/moved")
    assert k.request("/a/b/f2.txt").status == 404
    assert k.request("/a/b/c/f2.txt").status == 404
    assert k.request("/a/moved/c/f2.txt").body == body_of("a/b/c/f2.txt")
    # a new directory of the old name, with other content at the same paths
    (www / "a/b/c").mkdir(parents=True)
    for rel in ("a/b/f2.txt", "a/b/c/f2.txt"):
        (www / rel).write_bytes(body_of(rel, 2))
        os.chmod(www / rel, 0o644)
    os.chmod(www / "a/b", 0o755)
    os.chmod(www / "a/b/c", 0o755)
    assert k.request("/a/b/f2.txt").body == body_of("a/b/f2.txt", 2)
    assert k.request("/a/b/c/f2.txt").body == body_of("a/b/c/f2.txt", 2)
    assert fresh(d, "a/b/c/f2.txt").body == body_of("a/b/c/f2.txt", 2)
    assert k.request("/f9.txt").body == body_of("f9.txt")
    # the top directory renamed away
    os.rename(www / "a", www / "gone")
    assert k.request("/a/f9.txt").status == 404
    assert k.request("/gone/f9.txt").body == body_of("a/f9.txt")


def test_directory_swapped_for_a_link(warm):
    """A directory on the path replaced by a symbolic link to another one beneath
    docroot (still allowed: the link stays inside): the link's target is served."""
    d, k, www, names = warm
    (www / "other").mkdir()
    (www / "other/f4.txt").write_bytes(body_of("a/b/c/f4.txt", 3))
    os.chmod(www / "other", 0o755)
    os.chmod(www / "other/f4.txt", 0o644)
    os.rename(www / "a/b/c", www / "a/b/c.old")
    os.symlink("../../other", www / "a/b/c")
    assert k.request("/a/b/c/f4.txt").body == body_of("a/b/c/f4.txt", 3)
    assert k.request("/a/b/c/f5.txt").status == 404


def test_sibling_added_and_removed(warm):
    """RFC 9110 §12.5.5: a .gz sibling changes Vary. Watched, it shows at the next
    request once the entry has looked for siblings under its watches (its first second
    in the cache); unwatched within HTTP_FCACHE_SIBLING_RECHECK (1 s)."""
    d, k, www, names = warm
    rel = "a/b/f20.txt"
    time.sleep(1.1)
    assert k.request("/" + rel).h("vary") is None  # looked for again, now under watches
    sib = www / (rel + ".gz")
    sib.write_bytes(gzip.compress(body_of(rel)))
    os.chmod(sib, 0o644)
    watched = d.env.get("TRIAD_TEST_FCACHE_INOTIFY") is None
    if not watched:
        time.sleep(1.1)
    r = k.request("/" + rel)
    assert r.body == body_of(rel) and r.h("vary") == "Accept-Encoding"
    sib.unlink()
    if not watched:
        time.sleep(1.1)
    assert k.request("/" + rel).h("vary") is None


def test_many_changes_keep_the_cache_right(warm):
    """Every file rewritten (rename over) at once: each answer is the new version,
    however the events arrive (coalesced, or past the kernel's queue)."""
    d, k, www, names = warm
    for rel in names:
        tmp = www / (rel + ".part")
        tmp.write_bytes(body_of(rel, 4))
        os.chmod(tmp, 0o644)
        os.rename(tmp, www / rel)
    assert_all_others(k, names, set(), version=4)
