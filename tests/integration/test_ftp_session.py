"""triad-ftpd: logins, the command table, paths and listings (issue 4: Commands, Logins,
Files).

The other test_ftp_* files import the fixtures and helpers defined here (``ftpd``,
``login``, ``raw``) so that every FTP suite starts the daemon the same way: a pam_wrapper
user alice/secret, anonymous = read, a small tree in ftp_root.
"""

import ftplib
import io
import os
import random
import time

import pytest

import triad_harness as th
from triad_harness import LineClient

USER, PASSWORD = "alice", "secret"


@pytest.fixture
def ftpd(pam_user, start_daemon, triad_root):
    """triad-ftpd with alice/secret, anonymous read-only logins and a few files."""
    (triad_root.www / "sub").mkdir()
    (triad_root.www / "sub" / "inner.txt").write_bytes(b"inner\n")
    (triad_root.www / ".well-known").mkdir()
    old = triad_root.www / "old.txt"
    old.write_bytes(b"from last year\n")
    os.utime(old, (time.time() - 400 * 86400,) * 2)
    triad_root.give_to_run_user()
    return start_daemon("ftpd", env=pam_user.env,
                        section_overrides={"anonymous": "read", "data_connect_timeout": "2s"})


def login(d, user=USER, password=PASSWORD, cls=ftplib.FTP, **kw):
    """A logged-in ftplib client (cls may be FTP_TLS, which then does AUTH TLS first)."""
    host, port = d.addr
    f = cls(timeout=10 * th.timeout_scale(), **kw)
    f.connect(host, port)
    f.login(user, password)
    return f


def raw(d):
    """A raw control connection that has read the greeting."""
    c = LineClient(d.addr, timeout=10)
    code, lines = c.read_reply()
    assert code == 220, lines
    return c


def raw_login(d, user=USER, password=PASSWORD):
    c = raw(d)
    assert c.command(f"USER {user}")[0] == 331
    code, lines = c.command(f"PASS {password}")
    assert code == 230, lines
    return c


# ------------------------------------------------------------------ logins (RFC 959 §4.1.1)

def test_login_and_pwd(ftpd):
    """USER/PASS through PAM gives 230, PWD 257 with "/" quoted (RFC 959 App. II); the login
    is logged with user, IP, TLS and result, never the password."""
    f = login(ftpd)
    assert f.pwd() == "/"
    assert f.sendcmd("SYST").startswith("215 UNIX")
    f.quit()
    log = ftpd.wait_log(r'login user="alice" ip=127\.0\.0\.1 tls=no result=ok')
    assert PASSWORD not in log


def test_every_command_needs_login(ftpd):
    """RFC 959 §5.4: every command except the login ones answers 530 before login."""
    c = raw(ftpd)
    for cmd in ["CWD /", "CDUP", "PWD", "PASV", "EPSV", "PORT 127,0,0,1,4,1", "TYPE I",
                "STRU F", "MODE S", "RETR x", "STOR x", "STOU", "APPE x", "ALLO 1",
                "REST 0", "RNFR x", "RNTO y", "ABOR", "DELE x", "RMD x", "MKD x", "LIST",
                "NLST", "SITE HELP", "STAT", "STAT /", "SIZE x", "MDTM x", "MLST", "MLSD", "MFMT "
                "20200101000000 x", "EPRT |1|127.0.0.1|1025|"]:
        code, lines = c.command(cmd)
        assert code == 530, (cmd, lines)
    for cmd, want in [("NOOP", 200), ("SYST", 215), ("FEAT", 211), ("HELP", 214),
                      ("OPTS UTF8 ON", 200)]:
        code, lines = c.command(cmd)
        assert code == want, (cmd, lines)
    assert c.command("QUIT")[0] == 221
    assert c.at_eof()


def test_bad_password_delay_and_disconnect(ftpd):
    """A failure is answered 530 after the auth library's delay; after
    FTP_LOGIN_FAILURES_MAX (3) failures the session gets 421 and is closed."""
    c = raw(ftpd)
    t0 = time.monotonic()
    assert c.command("USER alice")[0] == 331
    assert c.command("PASS wrong")[0] == 530
    assert time.monotonic() - t0 >= 0.9
    assert c.command("PASS secret")[0] == 503  # PASS needs USER first
    c.command("USER alice")
    assert c.command("PASS wrong2")[0] == 530
    c.command("USER mallory")
    assert c.command("PASS wrong3")[0] == 530
    code, lines = c.read_reply()
    assert code == 421, lines
    assert c.at_eof()
    ftpd.wait_for(lambda: ftpd.log_text().count("result=denied") == 3, 5,
                  "three denied login lines")  # the log writer is asynchronous
    assert "wrong" not in ftpd.log_text()


def test_anonymous_read_only(ftpd, triad_root):
    """anonymous = read: "anonymous" and "ftp" log in with any password and may read, never
    write (550 for STOR, MKD, DELE, RNFR, SITE CHMOD, MFMT)."""
    for name in ("anonymous", "ftp"):
        f = login(ftpd, name, "guest@example.org")
        buf = io.BytesIO()
        f.retrbinary("RETR index.html", buf.write)
        assert buf.getvalue() == (triad_root.www / "index.html").read_bytes()
        for call in (lambda: f.storbinary("STOR new.txt", io.BytesIO(b"x")),
                     lambda: f.mkd("d"), lambda: f.delete("index.html"),
                     lambda: f.sendcmd("RNFR index.html"),
                     lambda: f.sendcmd("SITE CHMOD 600 index.html"),
                     lambda: f.sendcmd("MFMT 20200101000000 index.html")):
            with pytest.raises(ftplib.error_perm, match=r"^550"):
                call()
        f.quit()
    assert not (triad_root.www / "new.txt").exists()
    assert (triad_root.www / "index.html").exists()


def test_anonymous_off_by_default(pam_user, start_daemon):
    d = start_daemon("ftpd", env=pam_user.env)
    with pytest.raises(ftplib.error_perm, match=r"^530"):
        login(d, "anonymous", "x@example.org")


# ------------------------------------------------------------------ the command line

def test_long_line_unknown_and_bad_syntax(ftpd):
    """An over-long line gets 500 and the session goes on; an unknown verb 502 (RFC 959
    §4.2: not implemented); ACCT 502; a verb with a bad argument 501; never a hang."""
    c = raw_login(ftpd)
    c.send(b"NOOP " + b"x" * 5000 + b"\r\n")
    code, _ = c.read_reply()
    assert code == 500
    assert c.command("NOOP")[0] == 200
    assert c.command("XYZZ")[0] == 502
    assert c.command("XYZZY")[0] == 500  # five letters: not an FTP command (§5.3.1)
    assert c.command("ACCT x")[0] == 502
    assert c.command("TYPE Q")[0] in (501, 504)
    assert c.command("PORT 1,2,3")[0] == 501
    for cmd, want in [("MODE S", 200), ("MODE B", 504), ("STRU F", 200), ("STRU R", 504),
                      ("TYPE L 8", 200), ("TYPE E", 504), ("ALLO 100", 202),
                      ("OPTS FOO", 501), ("LPSV", 502)]:
        code, lines = c.command(cmd)
        assert code == want, (cmd, lines)
    c.send(b"NOOP\n")  # a bare LF ends a line too
    assert c.read_reply()[0] == 200
    assert c.command("QUIT")[0] == 221


def test_help_feat_opts_stat(ftpd):
    """HELP and FEAT are built from the command table (RFC 2389 §3: FEAT multi-line 211);
    OPTS MLST selects facts (RFC 3659 §7.9); STAT without argument is the server status."""
    f = login(ftpd)
    feat = f.sendcmd("FEAT")
    for line in ("AUTH TLS", "EPSV", "MLST type*;size*;modify*", "REST STREAM", "SIZE",
                 "UTF8", "MFMT", "MDTM"):
        assert line in feat
    assert "RETR" in f.sendcmd("HELP")
    assert f.sendcmd("HELP RETR").startswith("214")
    assert f.sendcmd("OPTS MLST type;size;").startswith("200 MLST OPTS type;size;")
    facts = dict(f.mlsd())["index.html"]
    assert set(facts) == {"type", "size"}
    stat = f.sendcmd("STAT")
    assert stat.startswith("211-") and "alice" in stat
    f.quit()


# ------------------------------------------------------------------ files and paths

def test_directories_rename_delete(ftpd, triad_root):
    """MKD (257, mode 0755), CWD/CDUP/PWD, RNFR/RNTO (350, 250), DELE, RMD; RNTO without
    RNFR is 503."""
    f = login(ftpd)
    assert f.mkd("new dir") == "/new dir"
    assert (triad_root.www / "new dir").stat().st_mode & 0o777 == 0o755
    f.cwd("new dir")
    assert f.pwd() == "/new dir"
    f.storbinary("STOR a", io.BytesIO(b"a"))
    assert (triad_root.www / "new dir" / "a").stat().st_mode & 0o777 == 0o644
    f.rename("a", "/sub/b")
    assert (triad_root.www / "sub" / "b").read_bytes() == b"a"
    f.sendcmd("CDUP")
    assert f.pwd() == "/"
    f.delete("sub/b")
    f.rmd("new dir")
    assert not (triad_root.www / "new dir").exists()
    with pytest.raises(ftplib.error_perm, match=r"^503"):
        f.sendcmd("RNTO x")
    with pytest.raises(ftplib.error_perm, match=r"^550"):
        f.delete("missing")
    with pytest.raises(ftplib.error_perm, match=r"^550"):
        f.rmd("sub")  # not empty
    f.quit()


def test_quoted_path(ftpd):
    """RFC 959 Appendix II: a '"' in a directory name is doubled in the 257 reply."""
    c = raw_login(ftpd)
    code, lines = c.command('MKD q"d')
    assert code == 257 and lines[0].startswith('257 "/q""d"'), lines
    assert c.command('CWD q"d')[0] == 250
    assert c.command("PWD")[1][0].startswith('257 "/q""d"')


def test_escape_attempts(ftpd, triad_root):
    """'..' stops at "/", absolute paths are inside ftp_root, and a symlink leading out is
    never followed (RETR, CWD, LIST all refuse or show it as a dangling link)."""
    outside = triad_root.root / "secret.txt"
    outside.write_text("outside\n")
    os.symlink(str(outside), triad_root.www / "out-link")
    os.symlink("../mail", triad_root.www / "out-dir")
    os.symlink("sub/inner.txt", triad_root.www / "in-link")
    f = login(ftpd)
    f.cwd("../../..")
    assert f.pwd() == "/"
    assert "index.html" in f.nlst("/../..")
    for path in ("out-link", "/../secret.txt", "../secret.txt", "out-dir/example.org"):
        with pytest.raises(ftplib.error_perm, match=r"^55"):
            f.retrbinary(f"RETR {path}", lambda b: None)
    with pytest.raises(ftplib.error_perm, match=r"^550"):
        f.cwd("out-dir")
    buf = io.BytesIO()
    f.retrbinary("RETR in-link", buf.write)  # a link within the root works
    assert buf.getvalue() == b"inner\n"
    lines = []
    f.dir(lines.append)
    link_line = [ln for ln in lines if "out-link" in ln][0]
    assert link_line.startswith("l") and link_line.endswith("out-link -> ?")
    f.quit()


def test_listing_forms(ftpd, triad_root):
    """LIST is ls -l (recent files with a time, older ones with a year); NLST names only;
    MLSD facts per RFC 3659 §7 with modify in UTC; dot files shown; temporary upload files
    never listed."""
    (triad_root.www / ".triad-tmp.0123456789abcdef0123456789abcdef").write_bytes(b"t")
    f = login(ftpd)
    lines = []
    f.dir(lines.append)
    by_name = {ln.split()[-1]: ln for ln in lines}
    assert set(by_name) >= {"index.html", "sub", "old.txt", ".well-known"}
    assert not any(".triad-tmp" in ln for ln in lines)
    assert by_name["sub"].startswith("drwx")
    assert by_name["index.html"].split()[2:4] == ["ftp", "ftp"]
    old_fields = by_name["old.txt"].split()
    assert len(old_fields[7]) == 4 and old_fields[7].isdigit()  # year
    assert ":" in by_name["index.html"].split()[7]  # HH:MM
    assert sorted(f.nlst()) == sorted([".well-known", "index.html", "old.txt", "sub"])
    facts = dict(f.mlsd())
    assert facts["sub"]["type"] == "dir"
    assert facts["index.html"]["type"] == "file"
    st = (triad_root.www / "index.html").stat()
    assert facts["index.html"]["size"] == str(st.st_size)
    assert facts["index.html"]["modify"] == time.strftime("%Y%m%d%H%M%S",
                                                          time.gmtime(st.st_mtime))
    assert "unique" in facts["index.html"] and "perm" in facts["index.html"]
    assert ".triad-tmp.0123456789abcdef0123456789abcdef" not in facts
    with pytest.raises(ftplib.error_perm, match=r"^550"):
        f.size(".triad-tmp.0123456789abcdef0123456789abcdef")
    mlst = f.sendcmd("MLST index.html")
    assert mlst.startswith("250-") and "type=file;" in mlst and " /index.html" in mlst
    f.quit()


def test_list_and_nlst_wildcards(ftpd, triad_root):
    """A last path component with * ? [ that names nothing is a pattern, as in vsftpd,
    ProFTPD and wu-ftpd (BSD ftp and Windows ftp.exe send "NLST *.txt" for mget): LIST and
    NLST list the matching entries. NLST names each as the argument's directory part plus
    the name, what `ls sub/*.txt` prints, so that RFC 959 §4.1.3's "to be used by a program
    to further process the files" works: each can be handed to RETR. So does NLST of a
    single file (the argument as given). A name that exists is taken literally; dot files
    match only an explicit dot (FNM_PERIOD); nothing matching is an empty listing."""
    for name in ("a.txt", "b.txt", ".hidden.txt", "lit*.txt", "sub/c.txt"):
        (triad_root.www / name).write_bytes(name.encode())
    triad_root.give_to_run_user()
    f = login(ftpd)
    assert sorted(f.nlst("*.txt")) == ["a.txt", "b.txt", "lit*.txt", "old.txt"]
    assert sorted(f.nlst("sub/*.txt")) == ["sub/c.txt", "sub/inner.txt"]
    assert sorted(f.nlst("/sub/?.txt")) == ["/sub/c.txt"]
    assert sorted(f.nlst(".*.txt")) == [".hidden.txt"]
    lines = []
    f.dir("*.txt", lines.append)
    assert sorted(ln.split()[-1] for ln in lines) == ["a.txt", "b.txt", "lit*.txt", "old.txt"]
    assert f.nlst("lit*.txt") == ["lit*.txt"]  # exists: literal
    assert f.nlst("sub/inner.txt") == ["sub/inner.txt"]
    assert f.nlst("*.none") == []
    with pytest.raises(ftplib.error_perm, match=r"^550"):
        f.nlst("nodir/*.txt")
    for name in f.nlst("sub/*.txt"):  # mget
        buf = io.BytesIO()
        f.retrbinary(f"RETR {name}", buf.write)
        assert buf.getvalue() == (triad_root.www / name).read_bytes()
    f.quit()


def test_temporary_names_are_not_targets(ftpd, triad_root):
    """The daemon's hidden upload names (.triad-tmp.*) cannot be created by a client:
    MKD, STOR, APPE and RNTO to one get 553 (RFC 959 §4.2: "File name not allowed"), not a
    misleading "No such file"; reading one is still 550, as for a name that does not
    exist (they are never shown)."""
    name = ".triad-tmp.00000000000000000000000000000000"
    c = raw_login(ftpd)
    assert c.command("TYPE I")[0] == 200
    for cmd in (f"MKD {name}", f"MKD sub/{name}"):
        code, lines = c.command(cmd)
        assert code == 553, (cmd, lines)
    for verb in ("STOR", "APPE"):
        pasv = c.command("PASV")
        assert pasv[0] == 227
        code, lines = c.command(f"{verb} {name}")
        assert code == 553, (verb, lines)
    assert c.command("RNFR index.html")[0] == 350
    code, lines = c.command(f"RNTO {name}")
    assert code == 553, lines
    assert c.command(f"SIZE {name}")[0] == 550
    assert c.command(f"CWD {name}/x")[0] == 550
    assert not list(triad_root.www.glob(".triad-tmp.*"))
    assert (triad_root.www / "index.html").exists()


def test_site_chmod_refusals_say_why(ftpd, triad_root):
    """SITE CHMOD with set-id or sticky bits is 504 (RFC 959 §4.2: command not implemented
    for that parameter) and says so, not "Syntax"; a malformed one is 501 with the syntax.
    The mode is unchanged."""
    c = raw_login(ftpd)
    code, lines = c.command("SITE CHMOD 4755 index.html")
    assert code == 504 and "Syntax" not in lines[0] and "0777" in lines[0], lines
    code, lines = c.command("SITE CHMOD 9 index.html")
    assert code == 501 and "Syntax" in lines[0], lines
    assert (triad_root.www / "index.html").stat().st_mode & 0o7777 == 0o644


def test_size_mdtm_mfmt_chmod_stat(ftpd, triad_root):
    """SIZE and MDTM (RFC 3659 §3, §4), MFMT sets the time, SITE CHMOD within ftp_root,
    SITE HELP, STAT with a path (RFC 959 §4.1.3: 212/213 multi-line)."""
    f = login(ftpd)
    size = (triad_root.www / "index.html").stat().st_size
    assert f.sendcmd("SIZE index.html") == f"213 {size}"
    with pytest.raises(ftplib.error_perm, match=r"^550"):
        f.sendcmd("SIZE sub")
    assert f.sendcmd("MFMT 20200102030405 index.html").startswith("213 Modify=20200102030405")
    assert f.sendcmd("MDTM index.html") == "213 20200102030405"
    assert (triad_root.www / "index.html").stat().st_mtime == \
        time.mktime((2020, 1, 2, 3, 4, 5, 0, 0, 0)) - time.timezone
    assert f.sendcmd("SITE CHMOD 600 index.html").startswith("200")
    assert (triad_root.www / "index.html").stat().st_mode & 0o777 == 0o600
    assert f.sendcmd("SITE HELP").startswith("214")
    with pytest.raises(ftplib.error_perm, match=r"^50"):
        f.sendcmd("SITE EXEC ls")
    st = f.sendcmd("STAT sub")
    assert st.startswith("212-") and "inner.txt" in st
    st = f.sendcmd("STAT index.html")
    assert st.startswith("213-") and "index.html" in st
    f.quit()


def test_rein(ftpd):
    """REIN (RFC 959 §4.1.1) ends the login: 220, then 530 until a new USER/PASS."""
    c = raw_login(ftpd)
    assert c.command("CWD sub")[0] == 250
    assert c.command("REIN")[0] == 220
    assert c.command("PWD")[0] == 530
    assert c.command("USER alice")[0] == 331
    assert c.command("PASS secret")[0] == 230
    assert c.command("PWD")[1][0].startswith('257 "/"')


def test_parallel_sessions(pam_user, start_daemon, triad_root):
    """20 sessions at once, each logging in, uploading and reading back its own file
    (with a passive port range wide enough that every session can hold a listener)."""
    import concurrent.futures as cf
    # Below the ephemeral range, so other loopback traffic's TIME_WAITs do not crowd it;
    # the daemon skips any port that is busy anyway.
    low = random.randrange(20000, 29800)
    d = start_daemon("ftpd", env=pam_user.env,
                     section_overrides={"passive_ports": f"{low}-{low + 199}"})

    def one(i):
        f = login(d)
        data = os.urandom(100_000 + i)
        f.storbinary(f"STOR p{i}.bin", io.BytesIO(data))
        buf = io.BytesIO()
        f.retrbinary(f"RETR p{i}.bin", buf.write)
        f.quit()
        return buf.getvalue() == data

    with cf.ThreadPoolExecutor(20) as ex:
        assert all(ex.map(one, range(20)))
    for i in range(20):
        assert (triad_root.www / f"p{i}.bin").stat().st_size == 100_000 + i


def test_utf8_names(ftpd, triad_root):
    """RFC 2640: OPTS UTF8 ON is accepted and UTF-8 names pass through byte for byte."""
    f = login(ftpd)
    f.encoding = "utf-8"
    assert f.sendcmd("OPTS UTF8 ON").startswith("200")
    f.storbinary("STOR café ☕.txt", io.BytesIO(b"utf8"))
    assert (triad_root.www / "café ☕.txt").read_bytes() == b"utf8"
    assert "café ☕.txt" in f.nlst()
    assert "café ☕.txt" in dict(f.mlsd())
    f.mkd("répertoire")
    assert f.pwd() == "/"
    f.cwd("répertoire")
    assert f.pwd() == "/répertoire"
    f.quit()


def test_idle_timeout(pam_user, start_daemon):
    """idle_timeout: a silent control connection gets 421 and is closed."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"idle_timeout": "1s"})
    c = raw_login(d)
    t0 = time.monotonic()
    code, lines = c.read_reply()
    assert code == 421, lines
    assert time.monotonic() - t0 >= 0.8
    assert c.at_eof()


def test_login_timeout(pam_user, start_daemon):
    """login_timeout: NOOP keeps idle_timeout at bay, but not the login deadline (USER/PASS
    must succeed within it): 421 and close. Logged-in sessions are not bound by it; REIN
    (RFC 959 §4.1.1) starts it again."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"login_timeout": "2s"})
    c = raw(d)
    t0 = time.monotonic()
    for _ in range(20):
        code, lines = c.command("NOOP")
        if code != 200:
            break
        time.sleep(0.25)
    assert code == 421 and "Login timed out" in lines[0], lines
    assert 1.7 <= time.monotonic() - t0 < 4
    assert c.at_eof()
    d.wait_log(r"login timeout peer=127.0.0.1")

    c = raw_login(d)
    time.sleep(2.5)
    assert c.command("NOOP")[0] == 200
    assert c.command("REIN")[0] == 220
    time.sleep(2.5)
    code, lines = c.read_reply()
    assert code == 421, lines


# A golden transcript (RFC 959 §4.2 reply formats): command -> the exact reply lines.
TRANSCRIPT = [
    (None, ["220 triad-ftpd ready"]),
    ("USER alice", ["331 Password required for alice"]),
    ("PASS secret", ["230 Login successful"]),
    ("PWD", ['257 "/" is the current directory']),
    ("TYPE I", ["200 Switching to Binary mode"]),
    ("SYST", ["215 UNIX Type: L8"]),
    ("SITE HELP", ["214 SITE commands: CHMOD HELP"]),
    ("SIZE /", ["550 Not a regular file"]),
    ("MDTM /nope", ["550 No such file or directory"]),
    ("CWD index.html", ["550 Not a directory"]),
    ("REST 10", ["350 Restarting at 10. Send STOR or RETR"]),
    ("RNTO x", ["503 RNFR required first"]),
    ("PBSZ 0", ["503 PBSZ requires a TLS session: send AUTH TLS first"]),
    ("CCC", ["534 CCC refused: the control connection stays protected"]),
    ("ABOR", ["225 No transfer to abort"]),
    ("QUIT", ["221 Goodbye"]),
]


def test_transcript(ftpd):
    """The exact replies of a short session."""
    c = th.LineClient(ftpd.addr, timeout=10)
    for cmd, want in TRANSCRIPT:
        if cmd is not None:
            c.send_line(cmd)
        code, lines = c.read_reply()
        assert lines == want, (cmd, lines)
    assert c.at_eof()


def test_failed_rnfr_drops_the_pending_one(ftpd, triad_root):
    """RFC 959 §4.1.3: RNTO names the file of the RNFR right before it. A failed RNFR
    (550, no such file) leaves nothing pending, so the RNTO that follows is 503 (bad
    sequence, as vsftpd answers) and the earlier RNFR's file is not renamed (issue 14
    fix 3: `RNFR a` 350, `RNFR missing` 550, `RNTO x` renamed a)."""
    (triad_root.www / "a.txt").write_text("a\n")
    triad_root.give_to_run_user()
    c = raw_login(ftpd)
    assert c.command("RNFR a.txt")[0] == 350
    assert c.command("RNFR missing.txt")[0] == 550
    code, lines = c.command("RNTO x.txt")
    assert code == 503, lines
    assert (triad_root.www / "a.txt").exists()
    assert not (triad_root.www / "x.txt").exists()
    # An RNFR refused before it reached the file system (no argument: 501) also drops it.
    assert c.command("RNFR a.txt")[0] == 350
    assert c.command("RNFR")[0] == 501
    assert c.command("RNTO x.txt")[0] == 503
    assert not (triad_root.www / "x.txt").exists()
    # A good pair still renames.
    assert c.command("RNFR a.txt")[0] == 350
    assert c.command("RNTO x.txt")[0] == 250
    assert (triad_root.www / "x.txt").read_text() == "a\n"
