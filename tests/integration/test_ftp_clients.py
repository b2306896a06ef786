"""triad-ftpd as real clients see it: curl and lftp (issue 4: listings parsed by each
client, resume both ways, FTPS with --ssl-reqd, active and passive mode), and a file
uploaded with lftp then served byte for byte by triad-httpd (issue 4, "Done when").
"""

import hashlib
import os
import subprocess

import pytest

import triad_harness as th
from test_ftp_session import ftpd  # noqa: F401 (fixture)

LFTP_TLS = ("set ssl:verify-certificate no; set ftp:ssl-force true; "
            "set ftp:ssl-protect-data true; ")
LFTP_PLAIN = "set ftp:ssl-allow false; "


def curl(*args, timeout=60):
    r = subprocess.run(["curl", "-sS", "-u", "alice:secret", *args], capture_output=True,
                       timeout=timeout * th.timeout_scale())
    assert r.returncode == 0, (args, r.stderr.decode(errors="replace"))
    return r.stdout


def lftp(d, script, tls=False, timeout=60):
    host, port = d.addr
    settings = (LFTP_TLS if tls else LFTP_PLAIN) + "set net:max-retries 1; " \
        "set net:timeout 10; set cmd:fail-exit true; "
    # -d: the protocol trace ends up in the assertion message should lftp fail.
    r = subprocess.run(["lftp", "-d", "-u", "alice,secret", "-e", settings + script + "; bye",
                        f"ftp://{host}:{port}"],
                       capture_output=True, timeout=timeout * th.timeout_scale(),
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, (script, r.stdout[-2000:], r.stderr[-4000:].decode(errors="replace"))
    return r.stdout.decode(errors="replace")


def url(d, path=""):
    host, port = d.addr
    return f"ftp://{host}:{port}/{path}"


# ------------------------------------------------------------------ curl

@pytest.mark.parametrize("mode", [["--ftp-pasv"], ["-P", "127.0.0.1"], ["--ssl-reqd", "-k"]],
                         ids=["pasv", "active", "ftps"])
def test_curl_list_get_put_resume(ftpd, triad_root, mode):
    """curl parses the LIST reply (it needs "ls -l" form for --list-only-less listings),
    downloads, uploads, and resumes a download (-C -: SIZE + REST, RFC 3659 §5) and an
    upload (-C -: SIZE + APPE), passive, active (-P, PORT/EPRT) and over TLS
    (--ssl-reqd: AUTH TLS, PROT P with session reuse)."""
    listing = curl(*mode, url(ftpd)).decode()
    names = [ln.split()[-1] for ln in listing.splitlines()]
    assert {"index.html", "sub", "old.txt"} <= set(names)
    assert curl(*mode, "--list-only", url(ftpd, "sub/")).decode().split() == ["inner.txt"]

    data = os.urandom(500_000)
    src = triad_root.base / "curl-src.bin"
    src.write_bytes(data)
    curl(*mode, "-T", str(src), url(ftpd, "c.bin"))
    assert (triad_root.www / "c.bin").read_bytes() == data
    assert curl(*mode, url(ftpd, "c.bin")) == data

    dst = triad_root.base / "curl-dst.bin"
    dst.write_bytes(data[:123_457])
    curl(*mode, "-C", "-", "-o", str(dst), url(ftpd, "c.bin"))
    assert dst.read_bytes() == data

    (triad_root.www / "c.bin").write_bytes(data[:200_000])
    curl(*mode, "-C", "-", "-T", str(src), url(ftpd, "c.bin"))
    assert (triad_root.www / "c.bin").read_bytes() == data


# ------------------------------------------------------------------ lftp

@pytest.mark.parametrize("tls", [False, True], ids=["plain", "ftps"])
def test_lftp_listing_mirror_and_resume(ftpd, triad_root, tls):
    """lftp parses listings (cls -1 goes through its parser; MLSD when offered), mirrors
    a tree up (-R) and down, and resumes both ways (get -c, put -c)."""
    out = lftp(ftpd, "cls -1", tls)
    assert {"index.html", "sub/", "old.txt"} <= set(out.split())

    tree = triad_root.base / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "deep.txt").write_bytes(b"deep\n")
    (tree / "top.bin").write_bytes(os.urandom(70_000))
    lftp(ftpd, f"mirror -R {tree} /site", tls)
    assert (triad_root.www / "site" / "a" / "b" / "deep.txt").read_bytes() == b"deep\n"
    assert (triad_root.www / "site" / "top.bin").read_bytes() == \
        (tree / "top.bin").read_bytes()
    back = triad_root.base / "back"
    lftp(ftpd, f"mirror /site {back}", tls)
    assert (back / "a" / "b" / "deep.txt").read_bytes() == b"deep\n"

    data = os.urandom(400_000)
    (triad_root.www / "r.bin").write_bytes(data)
    local = triad_root.base / "r.bin"
    local.write_bytes(data[:150_000])
    lftp(ftpd, f"lcd {triad_root.base}; get -c r.bin", tls)
    assert local.read_bytes() == data

    up = triad_root.base / "u.bin"
    up.write_bytes(data)
    (triad_root.www / "u.bin").write_bytes(data[:99_999])
    lftp(ftpd, f"lcd {triad_root.base}; put -c u.bin", tls)
    assert (triad_root.www / "u.bin").read_bytes() == data


# ------------------------------------------------------------------ with triad-httpd

def test_lftp_upload_served_by_httpd(pam_user, start_daemon, triad_root):
    """A file uploaded with lftp is served by triad-httpd byte for byte (issue 4, Done when):
    both daemons share the document root (interface.md)."""
    f = start_daemon("ftpd", env=pam_user.env)
    h = start_daemon("httpd")
    data = os.urandom(1 << 20)
    src = triad_root.base / "page.bin"
    src.write_bytes(data)
    lftp(f, f"put {src} -o /page.bin")
    status, _, body = th.http_get(h.addr, "/page.bin", timeout=20)
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(data).hexdigest()
