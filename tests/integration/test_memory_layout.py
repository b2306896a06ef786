"""What every daemon process pays in resident memory before its first connection (issue
10, idle memory: "10,000 idle keep-alive connections ... under 1 KiB per connection"; a
warmed httpd was ~9.7 MB, 7.5 MB of it library pages, bench/RESULTS.md).

- Static TLS: glibc zeroes a thread's whole static TLS block when the thread starts, so
  every byte of _Thread_local data is resident in every thread (main, log writer,
  workers, job threads) whether used or not. A 64 KiB read buffer there cost httpd 256 KiB.
- Linked libraries: each one loaded costs resident pages (relocated data, its first text
  window) even if never called; the daemons link with --as-needed, and httpd reaches PAM
  only through server_ops.auth, which it does not set.
"""

import re
import subprocess

import pytest

import triad_harness as th
from triad_harness import DAEMONS

STATIC_TLS_MAX = 4096  # bytes of PT_TLS memsz per binary


def readelf(*args):
    return subprocess.run(["readelf", *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("name", DAEMONS)
def test_static_tls_is_small(name):
    """PT_TLS memsz (the block every thread gets, zeroed at its start) stays under 4 KiB:
    per-thread buffers are allocated on first use instead."""
    m = re.search(r"^\s*TLS\s+\S+\s+\S+\s+\S+\s+\S+\s+(0x[0-9a-f]+)", readelf("-lW", str(th.binary(name))),
                  re.M)
    memsz = int(m.group(1), 16) if m else 0
    assert memsz <= STATIC_TLS_MAX, f"triad-{name}: static TLS {memsz} bytes per thread"


def needed(name):
    return set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                          readelf("-dW", str(th.binary(name)))))


def test_httpd_links_no_pam():
    """httpd starts no PAM helper: libpam (and libaudit, libcap-ng behind it) is not loaded."""
    libs = needed("httpd")
    assert not any(lib.startswith("libpam") for lib in libs), sorted(libs)


@pytest.mark.parametrize("name", ["ftpd", "smtpd"])
def test_ftpd_smtpd_link_no_libmagic(name):
    """Only httpd sniffs content types: libmagic (with libz, liblzma, libbz2) stays out of
    ftpd and smtpd. The PAM they log in with is still there."""
    libs = needed(name)
    assert not any(lib.startswith("libmagic") for lib in libs), sorted(libs)
    assert any(lib.startswith("libpam") for lib in libs), sorted(libs)
