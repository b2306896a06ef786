"""triad-ftpd: data connections and transfers (issue 4: Data connections, Atomic uploads,
Limits).

RFC 959 §3.2-3.4 (data connections, stream mode, TYPE A), §4.1.3 (ABOR), RFC 2428 (EPSV,
EPRT), RFC 2577 (bounce and port theft), RFC 3659 §5 (REST STREAM), RFC 1123 §4.1.2.9
(STOU).
"""

import ftplib
import hashlib
import io
import os
import select
import socket
import struct
import time

import pytest

import triad_harness as th
from test_ftp_session import ftpd, login, raw_login  # noqa: F401 (fixture)


def pasv_addr(c):
    """Sends PASV on a raw client; returns (host, port) from the 227 reply."""
    code, lines = c.command("PASV")
    assert code == 227, lines
    nums = lines[0].split("(")[1].split(")")[0].split(",")
    return ".".join(nums[:4]), int(nums[4]) * 256 + int(nums[5])


def sha(data):
    return hashlib.sha256(data).hexdigest()


def wait_gone(path, timeout=5.0):
    th.wait_until(lambda: not path.exists(), timeout, f"{path} to disappear")


def temp_files(directory):
    return [p for p in directory.iterdir() if p.name.startswith(".triad-tmp.")]


# ------------------------------------------------------------------ whole files

def test_big_upload_and_download(ftpd, triad_root):
    """64 MiB each way, compared by SHA-256 (RETR goes by sendfile on a plain connection)."""
    data = os.urandom(64 << 20)
    (triad_root.www / "big.bin").write_bytes(data)
    f = login(ftpd)
    h = hashlib.sha256()
    f.retrbinary("RETR big.bin", h.update, blocksize=1 << 20)
    assert h.hexdigest() == sha(data)
    f.storbinary("STOR up.bin", io.BytesIO(data), blocksize=1 << 20)
    assert sha((triad_root.www / "up.bin").read_bytes()) == sha(data)
    assert not temp_files(triad_root.www)
    f.quit()
    log = ftpd.wait_log(r"transfer user=\"alice\" .*dir=in cmd=STOR bytes=67108864 .*"
                        r"path=\"/up.bin\" result=complete")
    assert 'dir=out cmd=RETR bytes=67108864' in log


def test_type_ascii_converts_line_ends(ftpd, triad_root):
    """TYPE A (RFC 959 §3.1.1.1): CRLF on the wire, LF on disk, both ways."""
    f = login(ftpd)
    f.storlines("STOR lines.txt", io.BytesIO(b"one\r\ntwo\r\n"))
    assert (triad_root.www / "lines.txt").read_bytes() == b"one\ntwo\n"
    f.sendcmd("TYPE A")
    conn = f.transfercmd("RETR lines.txt")
    got = th.recv_until_close(conn)
    conn.close()
    f.voidresp()
    assert got == b"one\r\ntwo\r\n"
    f.quit()


def test_resume_download_and_upload(ftpd, triad_root):
    """REST n + RETR sends from offset n; REST n + STOR keeps the first n bytes of the file
    and appends what follows; APPE appends; STOU picks a name that does not exist."""
    data = os.urandom(300_000)
    (triad_root.www / "r.bin").write_bytes(data)
    f = login(ftpd)
    buf = io.BytesIO()
    f.retrbinary("RETR r.bin", buf.write, rest=123_456)
    assert buf.getvalue() == data[123_456:]
    with pytest.raises(ftplib.error_perm, match=r"^554"):
        f.retrbinary("RETR r.bin", buf.write, rest=400_000)

    (triad_root.www / "part.bin").write_bytes(data[:100_000] + b"garbage")
    f.storbinary("STOR part.bin", io.BytesIO(data[100_000:]), rest=100_000)
    assert (triad_root.www / "part.bin").read_bytes() == data

    f.storbinary("APPE part.bin", io.BytesIO(b"tail"))
    assert (triad_root.www / "part.bin").read_bytes() == data + b"tail"
    f.storbinary("APPE fresh.bin", io.BytesIO(b"new"))
    assert (triad_root.www / "fresh.bin").read_bytes() == b"new"

    f.voidcmd("TYPE I")
    conn, _ = f.ntransfercmd("STOU fresh.bin")
    conn.sendall(b"unique")
    conn.close()
    resp = f.voidresp()
    assert resp.startswith("226")
    assert (triad_root.www / "fresh.bin.1").read_bytes() == b"unique"
    assert (triad_root.www / "fresh.bin").read_bytes() == b"new"
    f.quit()


@pytest.mark.parametrize("sync", ["on", "off"])
def test_stou_never_replaces_a_file_made_meanwhile(pam_user, start_daemon, triad_root, sync):
    """STOU (RFC 959 §4.1.3, RFC 1123 §4.1.2.9) must not overwrite: a file created under
    the announced name while the upload runs stays, and the upload takes the next free
    name (renameat2 RENAME_NOREPLACE), which the 226 names."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"sync_uploads": sync})
    f = login(d)
    f.voidcmd("TYPE I")
    (triad_root.www / "race.bin.1").write_bytes(b"taken too")
    conn, _ = f.ntransfercmd("STOU race.bin")
    (triad_root.www / "race.bin").write_bytes(b"someone else")
    conn.sendall(b"unique")
    conn.close()
    resp = f.voidresp()
    assert resp.startswith("226") and "FILE: /race.bin.2" in resp, resp
    assert (triad_root.www / "race.bin").read_bytes() == b"someone else"
    assert (triad_root.www / "race.bin.1").read_bytes() == b"taken too"
    assert (triad_root.www / "race.bin.2").read_bytes() == b"unique"
    assert not temp_files(triad_root.www)
    f.quit()
    d.wait_log(r'transfer .*cmd=STOU .*path="/race.bin.2" result=complete')


def test_active_mode(ftpd, triad_root):
    """PORT and EPRT to the client's own address: the server connects (RFC 959 §3.2)."""
    f = login(ftpd)
    f.set_pasv(False)
    buf = io.BytesIO()
    f.retrbinary("RETR index.html", buf.write)
    assert buf.getvalue() == (triad_root.www / "index.html").read_bytes()
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    f.sendcmd(f"EPRT |1|127.0.0.1|{port}|")
    f.putcmd("NLST")
    conn, _ = sock.accept()
    assert f.getresp().startswith("150")
    names = th.recv_until_close(conn).decode().split("\r\n")
    conn.close()
    sock.close()
    assert f.voidresp().startswith("226")
    assert "index.html" in names
    f.quit()


# ------------------------------------------------------------------ RFC 2577 defences

def test_bounce_refused(ftpd):
    """PORT/EPRT to another address or to a port below 1024 is refused (RFC 2577 §3)."""
    c = raw_login(ftpd)
    for cmd in ("PORT 127,0,0,2,8,0", "PORT 127,0,0,1,0,80", "PORT 10,0,0,1,8,0",
                "EPRT |1|127.0.0.2|2048|", "EPRT |1|127.0.0.1|25|"):
        code, lines = c.command(cmd)
        assert code == 504, (cmd, lines)
    assert c.command("RETR index.html")[0] == 425  # no data setup was recorded
    ftpd.wait_log(r"refused \(bounce\)")


def test_port_theft_refused(ftpd, triad_root):
    """A connection to the passive port from another address is closed; the client's own
    connection then gets the data (RFC 2577 §5)."""
    c = raw_login(ftpd)
    assert c.command("TYPE I")[0] == 200
    host, port = pasv_addr(c)
    thief = socket.socket()
    thief.bind(("127.0.0.2", 0))
    thief.settimeout(5)
    thief.connect((host, port))
    assert th.recv_until_close(thief) == b""
    thief.close()
    ftpd.wait_log(r"data connection from 127\.0\.0\.2 refused")
    data = socket.create_connection((host, port), timeout=5)
    code, lines = c.command("RETR index.html")
    assert code == 150, lines
    assert th.recv_until_close(data) == (triad_root.www / "index.html").read_bytes()
    assert c.read_reply()[0] == 226


def test_epsv(ftpd, triad_root):
    """EPSV (RFC 2428 §3): 229 with the port only; EPSV 2 on IPv4 is 522; after EPSV ALL,
    PASV and PORT are refused."""
    c = raw_login(ftpd)
    code, lines = c.command("EPSV")
    assert code == 229, lines
    port = int(lines[0].split("|||")[1].split("|")[0])
    lo, hi = (int(x) for x in ftpd.config.sections["ftpd"]["passive_ports"].split("-"))
    assert lo <= port <= hi
    assert c.command("EPSV 2")[0] == 522
    assert c.command("EPSV ALL")[0] == 200
    assert c.command("PASV")[0] == 503
    assert c.command("PORT 127,0,0,1,8,0")[0] == 503
    assert c.command("EPSV 1")[0] == 229


def test_no_data_connection_times_out(ftpd):
    """A transfer command whose data connection never comes gets 425 (data_connect_timeout)
    and the session goes on."""
    c = raw_login(ftpd)
    pasv_addr(c)
    t0 = time.monotonic()
    code, lines = c.command("LIST")
    assert code == 425, lines
    assert time.monotonic() - t0 >= 1.5  # the fixture's data_connect_timeout is 2s
    assert c.command("NOOP")[0] == 200


# ------------------------------------------------------------------ ABOR and cut transfers

def test_abor_mid_download(ftpd, triad_root):
    """ABOR during RETR: 426 for the transfer, then 226 for ABOR (RFC 959 §4.1.3); the
    session stays usable. ABOR with no transfer is 225."""
    (triad_root.www / "big.bin").write_bytes(os.urandom(32 << 20))
    f = login(ftpd)
    assert f.sendcmd("ABOR")[:3] in ("225", "226")
    conn = f.transfercmd("RETR big.bin")
    assert len(conn.recv(65536)) > 0
    stat = f.sendcmd("STAT")  # RFC 959 §4.1.3: STAT during a transfer
    assert stat.startswith("211-") and "Transfer in progress: RETR /big.bin" in stat
    resp = f.abort()
    assert resp.startswith("426"), resp
    assert f.voidresp().startswith("226")
    conn.close()
    assert f.pwd() == "/"
    f.quit()
    ftpd.wait_log(r"cmd=RETR .*result=aborted")


def rst_close(sock):
    """Closes with a TCP reset (SO_LINGER 0): how a cut connection looks to the server."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_cut_upload_leaves_nothing(ftpd, triad_root):
    """An upload whose data connection is reset, or that is ABORted, leaves nothing at the
    target and no temporary file; while it runs the target is invisible (interface.md:
    uploads appear only when complete)."""
    f = login(ftpd)
    f.voidcmd("TYPE I")
    conn = f.transfercmd("STOR cut.bin")
    conn.sendall(os.urandom(1 << 20))
    time.sleep(0.2)
    assert not (triad_root.www / "cut.bin").exists()
    assert temp_files(triad_root.www)  # the hidden file exists meanwhile
    rst_close(conn)
    with pytest.raises(ftplib.error_temp, match=r"^426"):
        f.voidresp()
    th.wait_until(lambda: not temp_files(triad_root.www), 5, "the temp file to go")
    assert not (triad_root.www / "cut.bin").exists()

    conn = f.transfercmd("STOR cut2.bin")
    conn.sendall(b"x" * 100_000)
    resp = f.abort()
    assert resp.startswith("426")
    assert f.voidresp().startswith("226")
    conn.close()
    assert not (triad_root.www / "cut2.bin").exists()
    th.wait_until(lambda: not temp_files(triad_root.www), 5, "the temp file to go")
    f.quit()


def test_overwrite_keeps_old_until_complete(ftpd, triad_root):
    """While a STOR over an existing file is in flight the old content stays at the name;
    a cut transfer (control and data connection dropped) keeps it; a complete one
    replaces it."""
    target = triad_root.www / "page.html"
    target.write_bytes(b"old complete content\n")
    f = login(ftpd)
    f.voidcmd("TYPE I")
    conn = f.transfercmd("STOR page.html")
    conn.sendall(b"new partial" * 10000)
    time.sleep(0.2)
    assert target.read_bytes() == b"old complete content\n"
    rst_close(f.sock)
    rst_close(conn)
    th.wait_until(lambda: not temp_files(triad_root.www), 5, "the temp file to go")
    assert target.read_bytes() == b"old complete content\n"

    f = login(ftpd)
    f.storbinary("STOR page.html", io.BytesIO(b"new complete content\n"))
    assert target.read_bytes() == b"new complete content\n"
    f.quit()


def test_max_upload_size(pam_user, start_daemon, triad_root):
    """max_upload_size: a larger upload is refused with 552 and leaves nothing."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"max_upload_size": "64K"})
    f = login(d)
    f.storbinary("STOR ok.bin", io.BytesIO(b"x" * 65536))
    conn = f.transfercmd("STOR big.bin")
    try:
        conn.sendall(b"x" * 200_000)
    except OSError:
        pass  # the server cut the data connection: that is the point
    conn.close()
    with pytest.raises(ftplib.error_perm, match=r"^552"):
        f.voidresp()
    assert not (triad_root.www / "big.bin").exists()
    assert not temp_files(triad_root.www)
    assert (triad_root.www / "ok.bin").stat().st_size == 65536
    f.quit()


def test_max_upload_size_counts_the_whole_file(pam_user, start_daemon, triad_root):
    """max_upload_size bounds the file an upload leaves (docs/configuration.md), so APPE
    and REST+STOR (RFC 3659 §5) count the old bytes kept as well as the new ones: over
    the limit is 552 and the file stays as it was."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"max_upload_size": "64K"})
    old = os.urandom(60_000)
    f = login(d)
    f.storbinary("STOR grow.bin", io.BytesIO(old))
    for cmd, rest in (("APPE grow.bin", None), ("STOR grow.bin", 60_000)):
        with pytest.raises(ftplib.error_perm, match=r"^552"):
            conn = f.transfercmd(cmd, rest)
            try:
                conn.sendall(b"y" * 10_000)
            except OSError:
                pass
            conn.close()
            f.voidresp()
        assert (triad_root.www / "grow.bin").read_bytes() == old, cmd
    f.storbinary("APPE grow.bin", io.BytesIO(b"z" * 5536))  # exactly 64K: fine
    assert (triad_root.www / "grow.bin").stat().st_size == 65536
    assert not temp_files(triad_root.www)
    f.quit()


def test_sync_uploads_off(pam_user, start_daemon, triad_root):
    """sync_uploads = off (docs/configuration.md): no fsync, but uploads still appear at
    their name only when complete, new names (renamed on the loop) and replaced files
    (renamed on the workq) alike, and a cut upload leaves the old file."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"sync_uploads": "off"})
    f = login(d)
    big = os.urandom(9 << 20)
    for name, data in (("new.bin", b"a" * 4096), ("new.bin", big), ("other.bin", b"")):
        f.storbinary(f"STOR {name}", io.BytesIO(data))
        assert (triad_root.www / name).read_bytes() == data, name
    conn = f.transfercmd("STOR new.bin")
    conn.sendall(b"partial")
    rst_close(conn)
    with pytest.raises(ftplib.error_temp, match=r"^426"):
        f.voidresp()
    assert sha((triad_root.www / "new.bin").read_bytes()) == sha(big)
    th.wait_until(lambda: not temp_files(triad_root.www), 5, "the temp file to go")
    f.quit()


def test_stale_temp_files_swept_at_start(pam_user, start_daemon, triad_root):
    """Temp files of uploads cut by a killed daemon are removed shortly after start (on
    the workq) once older than an hour; recent ones and other files stay."""
    sub = triad_root.www / "sub"
    sub.mkdir(exist_ok=True)
    old = time.time() - 3 * 3600
    stale = [triad_root.www / ".triad-tmp.0123456789abcdef0123456789abcdef",
             sub / ".triad-tmp.fedcba9876543210fedcba9876543210"]
    keep = [triad_root.www / ".triad-tmp.recent", triad_root.www / "old.txt"]
    for p in stale + keep:
        p.write_bytes(b"x")
    for p in stale + keep[1:]:
        os.utime(p, (old, old))
    # "ours": owned by the user the daemon runs as (it made them); a root's stays
    foreign = triad_root.www / ".triad-tmp.someone-elses"
    foreign.write_bytes(b"x")
    os.utime(foreign, (old, old))
    if os.geteuid() == 0:
        import pwd
        run = pwd.getpwnam(th.RUN_USER)
        for p in stale + keep + [sub]:
            os.chown(p, run.pw_uid, run.pw_gid)
        keep.append(foreign)
    else:
        stale.append(foreign)
    d = start_daemon("ftpd", env=pam_user.env)
    d.wait_log(rf"removed {len(stale)} stale upload temporary files")
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in keep)


def test_ipv6_epsv_and_eprt(pam_user, start_daemon, triad_root):
    """On an IPv6 control connection ftplib uses EPSV and EPRT |2|::1|port| (RFC 2428);
    PASV, which can only carry IPv4, is refused."""
    if not th._bindable(socket.AF_INET6, "::1", 0):
        pytest.skip("no IPv6 loopback")
    d = start_daemon("ftpd", env=pam_user.env,
                     section_overrides={"listen": f"[::1]:{th.free_port(also_v6=True)}"})
    f = ftplib.FTP(timeout=10)
    f.connect("::1", d.addr[1])
    f.login("alice", "secret")
    with pytest.raises(ftplib.error_temp, match=r"^425"):
        f.sendcmd("PASV")
    buf = io.BytesIO()
    f.retrbinary("RETR index.html", buf.write)  # EPSV
    assert buf.getvalue() == (triad_root.www / "index.html").read_bytes()
    f.set_pasv(False)
    assert "index.html" in f.nlst()  # EPRT |2|::1|port|
    f.quit()


def test_abor_with_telnet_synch(ftpd, triad_root):
    """RFC 959 §4.1.3: ABOR preceded by Telnet IP and the Synch (IAC DM sent as urgent
    data) is recognised while a download runs."""
    (triad_root.www / "big.bin").write_bytes(os.urandom(16 << 20))
    c = raw_login(ftpd)
    assert c.command("TYPE I")[0] == 200
    host, port = pasv_addr(c)
    data = socket.create_connection((host, port), timeout=5)
    assert c.command("RETR big.bin")[0] == 150
    data.recv(65536)
    c.sock.sendall(b"\xff\xf4\xff")  # IAC IP IAC
    c.sock.send(b"\xf2", socket.MSG_OOB)  # DM, urgent
    c.send_line("ABOR")
    assert c.read_reply()[0] == 426
    assert c.read_reply()[0] == 226
    data.close()
    assert c.command("NOOP")[0] == 200


def test_data_timeout(pam_user, start_daemon, triad_root):
    """data_timeout: a download the client stops reading is aborted with 426."""
    (triad_root.www / "big.bin").write_bytes(os.urandom(64 << 20))
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"data_timeout": "1s"})
    c = raw_login(d)
    assert c.command("TYPE I")[0] == 200
    host, port = pasv_addr(c)
    data = socket.create_connection((host, port), timeout=5)
    data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert c.command("RETR big.bin")[0] == 150
    code, lines = c.read_reply()
    assert code == 426, lines
    data.close()
    d.wait_log(r"cmd=RETR .*result=aborted")


def readable(c, timeout):
    """Whether the raw client C has a reply waiting (within TIMEOUT seconds)."""
    return bool(c.buf) or bool(select.select([c.sock], [], [], timeout)[0])


def test_data_min_rate(pam_user, start_daemon, triad_root):
    """data_min_rate: an upload trickling a byte at a time, which data_timeout alone would
    let run for ever, is aborted with 426 after a data_timeout period and leaves nothing;
    a download the client reads too slowly likewise."""
    (triad_root.www / "big.bin").write_bytes(os.urandom(8 << 20))
    d = start_daemon("ftpd", env=pam_user.env,
                     section_overrides={"data_timeout": "2s", "data_min_rate": "1K"})
    c = raw_login(d)
    assert c.command("TYPE I")[0] == 200
    host, port = pasv_addr(c)
    data = socket.create_connection((host, port), timeout=5)
    assert c.command("STOR slow.bin")[0] == 150
    t0 = time.monotonic()
    for _ in range(40):
        try:
            data.sendall(b"x")
        except OSError:
            break
        if readable(c, 0.25):
            break
    code, lines = c.read_reply()
    assert code == 426 and "data_min_rate" in lines[0], lines
    assert 1.5 <= time.monotonic() - t0 < 6
    data.close()
    assert not (triad_root.www / "slow.bin").exists()
    th.wait_until(lambda: not temp_files(triad_root.www), 5, "the temp file to go")
    d.wait_log(r"transfer too slow: \d+ bytes in 2000 ms, data_min_rate 1024/s")

    host, port = pasv_addr(c)
    data = socket.create_connection((host, port), timeout=5)
    data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert c.command("RETR big.bin")[0] == 150
    for _ in range(40):
        data.recv(64)
        if readable(c, 0.25):
            break
    code, lines = c.read_reply()
    assert code == 426, lines
    data.close()

    f = login(d)  # a transfer at speed is not affected
    f.storbinary("STOR fast.bin", io.BytesIO(os.urandom(1 << 20)))
    f.quit()


def test_passive_address_announced(pam_user, start_daemon):
    """passive_address is what PASV announces (and logs at info); EPSV carries only the
    port (RFC 2428 §3), so it is unaffected."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"passive_address": "10.9.8.7"})
    c = raw_login(d)
    code, lines = c.command("PASV")
    assert code == 227 and "(10,9,8,7," in lines[0], lines
    d.wait_log(r"PASV announced 10\.9\.8\.7 port \d+")
    code, lines = c.command("EPSV")
    assert code == 229 and "(|||" in lines[0], lines


def test_sigterm_finishes_transfer(ftpd, triad_root):
    """SIGTERM (interface.md): a download in flight is finished (226), then the session is
    closed with 421 and the daemon exits 0."""
    import signal
    data = os.urandom(8 << 20)
    (triad_root.www / "big.bin").write_bytes(data)
    c = raw_login(ftpd)
    assert c.command("TYPE I")[0] == 200
    host, port = pasv_addr(c)
    conn = socket.create_connection((host, port), timeout=10)
    assert c.command("RETR big.bin")[0] == 150
    first = conn.recv(65536)
    ftpd.send_signal(signal.SIGTERM)
    ftpd.wait_log(r"shutting down")
    got = first + th.recv_until_close(conn, timeout=10)
    assert sha(got) == sha(data)
    assert c.read_reply()[0] == 226
    assert c.read_reply()[0] == 421
    assert ftpd.wait_exit() == 0


# ------------------------------------------------------------------ QUIT and ABOR edges

def test_quit_during_download_lets_it_finish(ftpd, triad_root):
    """RFC 959 §4.1.1 QUIT: "If file transfer is in progress, the connection will remain
    open for result response and the server will then close it": the download completes,
    226 comes, then 221 and the close."""
    data = os.urandom(8 << 20)
    (triad_root.www / "q.bin").write_bytes(data)
    c = raw_login(ftpd)
    assert c.command("TYPE I")[0] == 200
    host, port = pasv_addr(c)
    d = socket.create_connection((host, port), timeout=10)
    assert c.command("RETR q.bin")[0] == 150
    c.send_line("QUIT")
    time.sleep(0.3)  # the QUIT is read while most of the file is still unsent
    got = bytearray()
    while chunk := d.recv(1 << 16):
        got += chunk
    d.close()
    assert sha(got) == sha(data)
    assert c.read_reply()[0] == 226
    assert c.read_reply()[0] == 221
    assert c.at_eof()
    ftpd.wait_log(r"cmd=RETR .*path=\"/q\.bin\" result=complete")


def test_abor_after_a_held_command(ftpd, triad_root):
    """A command sent during a transfer waits for it (RFC 959 §5.4: replies in order), but
    must not keep a later ABOR from being read (§4.1.3): the transfer is aborted (426), the
    waiting command answered, then ABOR (226), in the order they were sent."""
    (triad_root.www / "big.bin").write_bytes(os.urandom(32 << 20))
    c = raw_login(ftpd)
    assert c.command("TYPE I")[0] == 200
    host, port = pasv_addr(c)
    d = socket.create_connection((host, port), timeout=10)
    d.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    assert c.command("RETR big.bin")[0] == 150
    d.recv(1000)  # started, and the client now stops reading
    c.send(b"PWD\r\nABOR\r\n")
    assert c.read_reply()[0] == 426
    code, lines = c.read_reply()
    assert code == 257 and '"/"' in lines[0], lines
    assert c.read_reply()[0] == 226
    d.close()
    assert c.command("NOOP")[0] == 200
    # Two commands held behind a transfer still run in order once it ends.
    host, port = pasv_addr(c)
    d = socket.create_connection((host, port), timeout=10)
    assert c.command("NLST")[0] == 150
    c.send(b"PWD\r\nSYST\r\nNOOP\r\n")
    while d.recv(65536):
        pass
    d.close()
    assert [c.read_reply()[0] for _ in range(4)] == [226, 257, 215, 200]


def test_quit_before_the_data_connection_came(pam_user, start_daemon):
    """QUIT while a transfer command still waits for its data connection (no 150 yet):
    nothing is in progress to finish, so the command gets 425 and QUIT 221 at once, not
    after data_connect_timeout."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"data_connect_timeout": "30s"})
    c = raw_login(d)
    pasv_addr(c)  # never connected to
    t0 = time.monotonic()
    c.send(b"LIST\r\nQUIT\r\n")
    assert c.read_reply()[0] == 425
    assert c.read_reply()[0] == 221
    assert c.at_eof()
    assert time.monotonic() - t0 < 5


def test_abor_while_resume_prefix_is_copied(ftpd, triad_root):
    """ABOR right after REST+STOR (RFC 959 §4.1.3), while the old content is still being
    copied into the hidden file on the work queue: the STOR is answered 426 and the ABOR
    226 at once (not after the data connection timed out), and nothing is left."""
    (triad_root.www / "part.bin").write_bytes(os.urandom(4 << 20))
    triad_root.give_to_run_user()
    c = raw_login(ftpd)
    assert c.command("TYPE I")[0] == 200
    pasv_addr(c)  # never connected to
    t0 = time.monotonic()
    c.send(b"REST 4000000\r\nSTOR part.bin\r\nABOR\r\n")
    assert c.read_reply()[0] == 350
    assert c.read_reply()[0] == 426
    assert c.read_reply()[0] == 226
    assert time.monotonic() - t0 < 1.5 * th.timeout_scale()  # data_connect_timeout is 2s
    assert c.command("NOOP")[0] == 200
    th.wait_until(lambda: not temp_files(triad_root.www), 5, "the temp file to go")
    assert (triad_root.www / "part.bin").stat().st_size == 4 << 20
