"""`make soak` (issue 14, "Faults and hostile load"): not part of `make test` (pytest only
collects test_*.py), run by .ci/run after `make test SANITIZE=1`; about 3 minutes. The
daemons run with their sandbox on (the default), as everywhere in the suite. Each test
prints its figures (``SOAK ...`` lines) for the record.

- SIGKILL during concurrent SMTP load, three rounds: every message answered 250 is
  complete in new/ (RFC 5321 §4.1.1.4: the 250 takes responsibility), nothing partial is
  in new/, and the next start sweeps tmp/;
- SIGKILL during concurrent FTP uploads that overwrite the same names, two rounds: each
  name holds one complete version, at least the last one answered 226 (RFC 959 §4.2); what
  a kill leaves are hidden upload temporaries, which neither ftpd lists nor httpd serves
  (ftpd's sweep removes them once an hour old);
- fsync and rename failures through an LD_PRELOAD shim (tests/soak/faultshim.c): SMTP
  451 (RFC 5321 §4.2.2, "local error in processing"), nothing in new/; FTP 451 (RFC 959
  §4.2), the name absent or its old version intact; once the fault is gone, both work;
- disk full on a small tmpfs, for both: SMTP 452 (RFC 5321 §4.2.3, RFC 3463 4.3.1), FTP
  452 (RFC 959 §4.2, "insufficient storage space"), nothing partial visible, and service
  resumes when space returns;
- 60 s of hostile clients against all three daemons at once, from 127.0.0.2: idle,
  trickling, half-closing, TLS-handshake-stalling (implicit TLS, AUTH TLS, STARTTLS),
  garbage past the line limits, and floods past the per-IP limit; normal clients from
  127.0.0.1 all served meanwhile; after each half each daemon's descriptors are back to
  their baseline, and the memory it holds (RSS after malloc_trim) grows in the second
  half by at most 4 MB plus 512 bytes per hostile connection of that half.
"""

import ftplib
import io
import os
import random
import re
import signal
import smtplib
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

import triad_harness as th
from test_smtp_util import (SenderLoad, body_for, check_new_whole, mailbox, smtpd, stored,
                            stored_names)

REPO = Path(__file__).resolve().parents[2]
TEMP_PREFIX = ".triad-tmp."  # include/triad/fsroot.h FSROOT_TEMP_PREFIX
HOSTILE = "127.0.0.2"  # the hostile clients' source address (all of 127/8 is loopback)


def lines_of(tag):
    """Messages of the SIGKILL round vary in size (tag r<round>-s<sender>-<i>)."""
    m = re.fullmatch(r"r\d+-s\d+-(\d+)", tag)
    return 40 + (int(m.group(1)) % 7) * 300 if m else 40


def temporaries(tree):
    return [os.path.join(d, n) for d, _, names in os.walk(tree) for n in names
            if n.startswith(TEMP_PREFIX)]


# ---------------------------------------------------------------- SIGKILL under load

def test_sigkill_during_smtp_load(start_daemon, triad_root):
    mailbox(triad_root, "example.org", "bob")
    acked, swept = [], []
    for rnd in range(3):
        d = smtpd(start_daemon, max_connections_per_ip=200)
        if rnd:
            # What the previous kill left in tmp/ is swept at start (issue 14 fix 5).
            th.wait_until(lambda: stored_names(triad_root, sub="tmp") == [], 10,
                          "tmp/ swept after the restart")
        load = SenderLoad(d.addr, senders=16, per=1000, prefix=f"r{rnd}-s", lines=lines_of,
                          timeout=30).start()
        time.sleep(1.5 + random.random() * 1.5)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)
        load.stop()
        acked += load.acked
        swept.append(len(stored_names(triad_root, sub="tmp")))
    assert len(acked) > 50, "the load never got going"
    counts = {local: check_new_whole(triad_root, local, acked, lines_of)
              for local in ("alice", "bob")}
    print(f"\nSOAK smtp-sigkill: 3 kills, {len(acked)} messages answered 250, in new/ "
          f"{counts} (each whole), left in tmp/ by each kill {swept} (swept at next start)")


def test_sigkill_during_ftp_overwrites(pam_user, start_daemon, triad_root):
    """Uploads that overwrite the same names, killed mid-way: each name holds one complete
    version, never older than the last answered 226 (ftpd renames a fsynced temp file
    over it); the temporaries a kill leaves are never visible."""
    versions = {}
    for n in range(6):
        for v in range(60):
            versions[(n, v)] = bytes([65 + v % 26]) * (20000 + 7919 * v) + f"|{n}:{v}|".encode()
    index = {data: v for (n, v), data in versions.items()}
    acked_total, temps_left = 0, []
    for rnd in range(2):
        d = start_daemon("ftpd", env=pam_user.env,
                         section_overrides={"max_connections_per_ip": 50})
        stop = threading.Event()
        last = {}

        def uploader(n):
            try:
                f = ftplib.FTP()
                f.connect(*d.addr, timeout=20)
                f.login(pam_user.user, pam_user.password)
                for v in range(60):
                    if stop.is_set():
                        break
                    f.storbinary(f"STOR f{n}.bin", io.BytesIO(versions[(n, v)]))
                    last[n] = v  # 226 received
            except (ftplib.Error, OSError, EOFError):
                return

        threads = [threading.Thread(target=uploader, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        time.sleep(1.0 + random.random())
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)
        stop.set()
        for t in threads:
            t.join(30)
        acked_total += sum(v + 1 for v in last.values())
        for n in range(6):
            p = triad_root.www / f"f{n}.bin"
            if n in last:
                assert p.exists(), f"{p.name}: version {last[n]} was answered 226"
            if p.exists():
                data = p.read_bytes()
                assert data in index, f"{p.name}: not one complete version ({len(data)} octets)"
                assert index[data] >= last.get(n, -1), (p.name, index[data], last.get(n))
        temps_left.append(len(temporaries(triad_root.www)))
    left = temporaries(triad_root.www)
    d = start_daemon("ftpd", env=pam_user.env)
    f = ftplib.FTP()
    f.connect(*d.addr, timeout=20)
    f.login(pam_user.user, pam_user.password)
    listed = set(f.nlst()) | {e for e, _ in f.mlsd()}
    f.quit()
    assert not [n for n in listed if n.startswith(".")], listed
    h = start_daemon("httpd")
    for path in left[:5]:
        status, _, _ = th.http_get(h.addr, "/" + os.path.relpath(path, triad_root.www))
        assert status == 404, path
    assert acked_total > 6, "the uploads never got going"
    print(f"\nSOAK ftp-sigkill: 2 kills, {acked_total} uploads answered 226, every name one "
          f"whole version not older than its last 226, hidden temporaries after each kill "
          f"{temps_left} (not listed, not served)")


# ---------------------------------------------------------------- fault injection

@pytest.fixture(scope="module")
def faultshim(tmp_path_factory):
    out = tmp_path_factory.mktemp("shim") / "faultshim.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(out),
                    str(REPO / "tests" / "soak" / "faultshim.c"), "-ldl"], check=True)
    os.chmod(out.parent, 0o755)
    return out


def shim_env(faultshim, fault, switch, base=None):
    """BASE (pam_wrapper's, for ftpd) with the shim added to its LD_PRELOAD (the harness
    puts ASan's runtime first when the build is sanitized)."""
    env = dict(base or {})
    env.update({"TRIAD_FAULT": fault, "TRIAD_FAULT_SWITCH": str(switch)})
    env["LD_PRELOAD"] = " ".join(filter(None, [env.get("LD_PRELOAD"), str(faultshim)]))
    return env


@pytest.mark.parametrize("fault", ["fsync", "rename"])
def test_smtp_fsync_and_rename_failures_answer_451(fault, faultshim, start_daemon, triad_root):
    """The shim fails every fsync/fdatasync (or rename) while the file
    <base>/fault-on exists: 451 4.3.0, nothing in new/; remove the file, and mail flows."""
    switch = triad_root.base / "fault-on"
    d = start_daemon("smtpd", env=shim_env(faultshim, fault, switch))
    switch.write_text("on")
    with smtplib.SMTP(*d.addr, timeout=30) as s:
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("s@example.net", ["alice@example.org"], body_for("faulty"))
        assert e.value.smtp_code == 451, e.value
    assert stored(triad_root) == []
    th.wait_until(lambda: stored_names(triad_root, sub="tmp") == [], 5, "tmp/ cleaned")
    switch.unlink()
    with smtplib.SMTP(*d.addr, timeout=30) as s:
        s.sendmail("s@example.net", ["alice@example.org"], body_for("after"))
    assert len(stored(triad_root)) == 1
    print(f"\nSOAK smtp-{fault}-failure: 451, new/ empty, tmp/ empty; delivered after")


@pytest.mark.parametrize("fault", ["fsync", "rename"])
def test_ftp_fsync_and_rename_failures_answer_451(fault, faultshim, start_daemon, triad_root,
                                                  pam_user):
    """A new name stays absent, an existing one keeps its old content whole."""
    switch = triad_root.base / "fault-on"
    (triad_root.www / "old.bin").write_bytes(b"old version\n")
    triad_root.give_to_run_user()
    d = start_daemon("ftpd", env=shim_env(faultshim, fault, switch, pam_user.env))
    switch.write_text("on")
    f = ftplib.FTP()
    f.connect(*d.addr, timeout=30)
    f.login(pam_user.user, pam_user.password)
    for name in ("new.bin", "old.bin"):
        with pytest.raises(ftplib.error_temp) as e:
            f.storbinary(f"STOR {name}", io.BytesIO(b"n" * 300000))
        assert str(e.value).startswith("451"), e.value
    assert not (triad_root.www / "new.bin").exists()
    assert (triad_root.www / "old.bin").read_bytes() == b"old version\n"
    th.wait_until(lambda: temporaries(triad_root.www) == [], 5, "temporaries removed")
    switch.unlink()
    assert f.storbinary("STOR new.bin", io.BytesIO(b"n" * 300000)).startswith("226")
    f.quit()
    assert (triad_root.www / "new.bin").read_bytes() == b"n" * 300000
    print(f"\nSOAK ftp-{fault}-failure: 451 twice, new name absent, old one intact, "
          f"no temporaries; stored after")


def mount_tmpfs(where, size="4m"):
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs",
                        str(where)], capture_output=True, text=True)
    if not th.IS_ROOT or r.returncode != 0:
        pytest.skip(f"this machine does not let the tests mount a tmpfs: {r.stderr.strip()}")


def fill(directory):
    subprocess.run(["dd", "if=/dev/zero", f"of={directory / 'filler'}", "bs=64k",
                    "count=1000"], capture_output=True)  # fills the tmpfs, then fails: meant
    return directory / "filler"


def test_smtp_disk_full(start_daemon, triad_root):
    mnt = triad_root.mail / "example.org" / "carol"
    mnt.mkdir()
    mount_tmpfs(mnt)
    try:
        for sub in ("tmp", "new", "cur"):
            (mnt / sub).mkdir()
        triad_root.give_to_run_user()
        filler = fill(mnt)
        d = smtpd(start_daemon)
        with smtplib.SMTP(*d.addr, timeout=30) as s:
            with pytest.raises(smtplib.SMTPDataError) as e:
                s.sendmail("s@example.net", ["carol@example.org"], body_for("full", 3000))
            assert e.value.smtp_code == 452, e.value
        assert os.listdir(mnt / "new") == []
        th.wait_until(lambda: os.listdir(mnt / "tmp") == [], 5, "tmp/ cleaned")
        filler.unlink()
        with smtplib.SMTP(*d.addr, timeout=30) as s:
            s.sendmail("s@example.net", ["carol@example.org"], body_for("room", 3000))
        assert len(os.listdir(mnt / "new")) == 1
        print("\nSOAK smtp-disk-full: 452, new/ and tmp/ empty; delivered once space returned")
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_ftp_disk_full(start_daemon, triad_root, pam_user):
    mnt = triad_root.www / "full"
    mnt.mkdir()
    mount_tmpfs(mnt)
    try:
        triad_root.give_to_run_user()
        filler = fill(mnt)
        d = start_daemon("ftpd", env=pam_user.env)
        f = ftplib.FTP()
        f.connect(*d.addr, timeout=30)
        f.login(pam_user.user, pam_user.password)
        data = os.urandom(1 << 20)
        with pytest.raises(ftplib.error_temp) as e:
            try:
                f.storbinary("STOR /full/up.bin", io.BytesIO(data))
            except (ConnectionResetError, BrokenPipeError):
                f.getresp()  # the server closed the data connection under us; the reply
        assert str(e.value).startswith("452"), e.value
        assert sorted(os.listdir(mnt)) == ["filler"]  # no name, no temporary
        filler.unlink()
        assert f.storbinary("STOR /full/up.bin", io.BytesIO(data)).startswith("226")
        f.quit()
        assert (mnt / "up.bin").read_bytes() == data
        print("\nSOAK ftp-disk-full: 452, nothing visible; stored once space returned")
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


# ---------------------------------------------------------------- hostile soak

def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kb(pid):
    return int(th.proc_status(pid)["VmRSS"].split()[0])


def live_rss_kb(pid):
    """(RSS, RSS after malloc_trim(0)) of a quiet daemon. glibc keeps freed memory in
    each thread's arena; gdb calls malloc_trim in the daemon (all its threads idle in
    epoll_wait, none holding a malloc lock) to return it, so what is left is what the
    daemon still holds."""
    raw = rss_kb(pid)
    r = subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx",
                        "-ex", "call (int) malloc_trim(0)"],
                       capture_output=True, text=True, timeout=120)
    assert re.search(r"\$1 = [01]\b", r.stdout), r.stdout + r.stderr
    return raw, rss_kb(pid)


HOSTILE_SECONDS = 60
WARMUP_SECONDS = 5
PER_IP = 30  # max_connections_per_ip of all three: the floods go past it
PACE = 0.02  # s between two connections of one hostile client


def hostile_socket(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2)
    s.bind((HOSTILE, 0))
    s.connect(addr)
    return s


def test_hostile_soak(start_daemon, triad_root, pam_user):
    mailbox(triad_root, "example.org", "bob")
    hd = start_daemon("httpd", {"workers": "2"},
                      {"max_connections_per_ip": PER_IP, "header_timeout": "3s",
                       "keepalive_timeout": "3s"})
    # login_timeout: a normal login through PAM on a loaded machine must fit in it.
    fd = start_daemon("ftpd", {"workers": "2"},
                      {"max_connections_per_ip": PER_IP, "login_timeout": "10s",
                       "idle_timeout": "5s"}, env=pam_user.env)
    sd = start_daemon("smtpd", {"workers": "2"},
                      {"max_connections_per_ip": PER_IP, "timeout": "3s"}, env=pam_user.env)
    daemons = (hd, fd, sd)
    stop, hstop = threading.Event(), threading.Event()  # normal clients, hostile ones
    failures, lock = [], threading.Lock()
    served = {"http": 0, "ftp": 0, "smtp": 0}
    opened = {}

    per_daemon = {d.name: 0 for d in daemons}  # hostile connections, this half

    def count(kind, d):
        with lock:
            opened[kind] = opened.get(kind, 0) + 1
            per_daemon[d.name] += 1

    def starttls_stall(s, d):
        """Up to the point where the server waits for our ClientHello, then a stall."""
        if d is fd:
            s.recv(512)
            s.sendall(b"AUTH TLS\r\n")
        else:
            s.recv(512)
            s.sendall(b"EHLO x\r\n")
            time.sleep(0.1)
            s.recv(4096)
            s.sendall(b"STARTTLS\r\n")
        s.recv(512)

    def hostile(kind, d, addr):
        rnd = random.Random(f"{kind}{addr}")
        held = []
        while not hstop.is_set():
            s = None
            try:
                s = hostile_socket(addr)
                count(kind, d)
                if kind == "idle":
                    hstop.wait(rnd.uniform(1, 6))
                elif kind == "trickle":
                    line = (b"GET / HTTP/1.1\r\nHost: x\r\nX: " if d is hd else b"NOOP ")
                    for b in line + b"y" * 50:
                        if hstop.is_set():
                            break
                        s.send(bytes([b]))
                        time.sleep(0.3)
                elif kind == "halfclose":
                    s.send({hd: b"GET / HTTP/1.1\r\nHost: x\r\n",
                            fd: b"USER alice\r\n",
                            sd: b"EHLO x\r\nMAIL FROM:<a@b>\r\nDATA\r\n"}[d])
                    s.shutdown(socket.SHUT_WR)
                    hstop.wait(1)
                elif kind == "garbage":
                    # Past every line limit (8K request line, 512-octet SMTP lines, FTP's
                    # command line): the daemon must refuse, not buffer without bound.
                    for _ in range(50):
                        s.send(bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 3000))))
                    s.send(b"A" * 70000)
                elif kind == "tlsstall":
                    if d is not hd:
                        starttls_stall(s, d)
                    s.send(bytes.fromhex("160301"))  # a record header, then nothing
                    hstop.wait(rnd.uniform(2, 12))
                elif kind == "flood":
                    held.append(s)  # kept open: past PER_IP the daemon refuses
                    s = None
                    if len(held) >= PER_IP + 20:
                        hstop.wait(rnd.uniform(1, 3))
                        for h in held:
                            h.close()
                        held.clear()
            except OSError:
                time.sleep(0.05)
            finally:
                if s:
                    s.close()
            hstop.wait(PACE)  # the same load on a fast machine as on a slow one
        for h in held:
            h.close()

    # Normal clients pause while the descriptors are counted: a quiet daemon is compared
    # with a quiet daemon. BUSY counts the clients inside an exchange.
    go, busy = threading.Event(), [0]
    go.set()

    def turn():
        with lock:
            busy[0] += 1
        if go.is_set():
            return True
        with lock:
            busy[0] -= 1
        go.wait(1)
        return False

    def done():
        with lock:
            busy[0] -= 1

    def quiet():
        go.clear()
        th.wait_until(lambda: busy[0] == 0, 30, "the normal clients to pause")
        time.sleep(0.5)  # their last connections' closes reach the daemons

    def record(kind, ok, what):
        with lock:
            if ok:
                served[kind] += 1
            else:
                failures.append(f"{kind}: {what}")

    def normal_http():
        while not stop.is_set():
            if not turn():
                continue
            try:
                status, _, body = th.http_get(hd.addr, "/index.html", timeout=10)
                record("http", status == 200 and b"It works." in body, status)
            except OSError as e:
                record("http", False, repr(e))
            finally:
                done()
            time.sleep(0.05)

    def normal_smtp(n):
        i = 0
        while not stop.is_set():
            if not turn():
                continue
            i += 1
            try:
                with smtplib.SMTP(*sd.addr, timeout=15) as s:
                    s.sendmail("s@example.net", ["bob@example.org"], body_for(f"n{n}-{i}"))
                record("smtp", True, None)
            except (smtplib.SMTPException, OSError) as e:
                record("smtp", False, repr(e))
            finally:
                done()
            time.sleep(0.2)

    def normal_ftp():
        while not stop.is_set():
            if not turn():
                continue
            try:
                f = ftplib.FTP()
                f.connect(*fd.addr, timeout=15)
                f.login(pam_user.user, pam_user.password)
                f.nlst()
                f.quit()
                record("ftp", True, None)
            except (ftplib.Error, OSError, EOFError) as e:
                record("ftp", False, repr(e))
            finally:
                done()
            time.sleep(0.3)

    normal = [threading.Thread(target=normal_http) for _ in range(2)]
    normal += [threading.Thread(target=normal_smtp, args=(n,)) for n in range(2)]
    normal += [threading.Thread(target=normal_ftp)]
    for t in normal:
        t.start()
    # The baseline is taken after a warm-up of normal traffic: the heap, the arenas of
    # the worker threads and the caches have reached their working size.
    time.sleep(WARMUP_SECONDS)
    quiet()
    base = {d.name: (fds(d.pid), *live_rss_kb(d.pid), 0) for d in daemons}
    warm = dict(served)
    go.set()

    peak = {d.name: 0 for d in daemons}

    def hostile_phase(seconds):
        hstop.clear()
        for name in per_daemon:
            per_daemon[name] = 0
        threads = []
        for d in daemons:
            for kind in ("idle", "idle", "trickle", "halfclose", "garbage", "tlsstall"):
                for _ in range(3):
                    threads.append(threading.Thread(target=hostile, args=(kind, d, d.addr)))
            threads.append(threading.Thread(target=hostile, args=("flood", d, d.addr)))
        for _ in range(3):
            threads.append(threading.Thread(target=hostile,
                                            args=("tlsstall", hd, hd.ports["listen_tls"][0])))
        for t in threads:
            t.start()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for d in daemons:
                peak[d.name] = max(peak[d.name], fds(d.pid))
            time.sleep(1)
        hstop.set()
        for t in threads:
            t.join(30)
        # Back to baseline once the hostile connections are gone and their deadlines
        # passed (the longest: a TLS handshake, 10 s, then a lingering close).
        quiet()
        out = {}
        for d in daemons:
            f0 = base[d.name][0]
            th.wait_until(lambda: fds(d.pid) <= f0, 30, f"{d.name} descriptors back to {f0}")
            out[d.name] = (fds(d.pid), *live_rss_kb(d.pid), per_daemon[d.name])
        go.set()
        return out

    # Two halves: the first takes the daemons' caches, pools and heaps to their working
    # size under hostile load; the second may add little to what they hold (a leak per
    # connection would add as much again: thousands of connections per half).
    first = hostile_phase(HOSTILE_SECONDS / 2)
    after = hostile_phase(HOSTILE_SECONDS / 2)
    stop.set()
    for t in normal:
        t.join(30)
    print(f"\nSOAK hostile: {HOSTILE_SECONDS} s, hostile connections opened {opened}, "
          f"normal clients served {served} (after the {WARMUP_SECONDS} s warm-up: "
          f"{ {k: served[k] - warm[k] for k in served} }), failures {len(failures)}")
    for d in daemons:
        (f0, raw0, live0, _), (f1, raw1, live1, n1), (f2, raw2, live2, n2) = (
            base[d.name], first[d.name], after[d.name])
        print(f"SOAK hostile {d.name}: hostile connections {n1} + {n2}; fds {f0} -> peak "
              f"{peak[d.name]} -> {f1} after 30 s -> {f2} after 60 s; RSS kB (after "
              f"malloc_trim) {raw0} ({live0}) -> {raw1} ({live1}) -> {raw2} ({live2}); "
              f"second half {(live2 - live1) * 1024 / max(n2, 1):.0f} bytes per connection")
    assert failures == [], failures[:10]
    assert all(served[k] > warm[k] for k in served), (warm, served)
    for d in daemons:
        (_, _, live0, _), (_, _, live1, n1), (_, _, live2, n2) = (
            base[d.name], first[d.name], after[d.name])
        # kB. What a daemon keeps after the first half must not grow with the
        # connections: at most 4 MB plus 512 bytes per hostile connection of the second
        # half (a leaked request buffer or session is larger; LSan finds the unreachable
        # ones in `make test SANITIZE=1`). Measured: 7-28 bytes per connection; a log
        # queue that touched a fresh 2 KiB slot per line (fixed in bccacd7) showed here
        # as 2.3-2.9 KiB in httpd and smtpd.
        assert live2 - live1 <= 4 * 1024 + n2 // 2, (d.name, "grew in the second half",
                                                     live1, live2, n2)
        assert live2 - live0 <= 8 * 1024 + (n1 + n2) // 2, (d.name, live0, live2, n1 + n2)
        assert d.running()
