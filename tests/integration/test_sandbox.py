"""The sandbox every daemon enters after its privilege drop (issue 14, "Sandbox"; see
include/triad/sandbox.h and docs/security.md).

- NoNewPrivs and one seccomp filter (ours) are on every thread: /proc/PID/task/*/status
  says ``NoNewPrivs: 1``, ``Seccomp: 2`` (filter mode), ``Seccomp_filters: 1``, for httpd,
  ftpd and smtpd, and for the PAM helper of ftpd and smtpd;
- Landlock: a file outside what the configuration names cannot be opened from inside the
  running daemon even though `user` may read it (the test hook TRIAD_SANDBOX_PROBE opens
  it once the sandbox is on and after each reload), while with ``sandbox = off`` the same
  open succeeds;
- a system call outside the allowlist (the hook calls acct(2)) ends the process with a
  line naming the call, on stderr and in the log file, and exit status 159 (128 +
  SIGSYS): at start, in a daemon that has served (after a reload), and in a PAM child
  (that login fails as a temporary error and the daemon goes on);
- reloads: sites a reload adds are served (httpd) and writable (ftpd) under the rules set
  at start; a reload naming a file outside them is refused with the key and the path.
The hooks exist in test builds only (TEST_HOOKS=1, the default of `make`).
"""

import ftplib
import io
import os
import re
import shutil
import signal
import smtplib
import ssl
import tempfile
from pathlib import Path

import pytest

import triad_harness as th

SIGSYS = 31
ACCT = r"system call \d+ \(acct\) is not allowed"


def thread_statuses(pid):
    for tid in th.threads(pid):
        try:
            yield tid, th.proc_status(f"{pid}/task/{tid}")
        except FileNotFoundError:
            continue  # a thread that just ended


def assert_confined(pid):
    tasks = list(thread_statuses(pid))
    assert tasks
    for tid, st in tasks:
        assert (st["NoNewPrivs"], st["Seccomp"], st["Seccomp_filters"]) == ("1", "2", "1"), \
            (pid, tid, st["NoNewPrivs"], st["Seccomp"], st.get("Seccomp_filters"))
    return len(tasks)


@pytest.fixture
def outside(triad_root):
    """A file `user` could read, outside root, logs and certificates."""
    d = triad_root.base / "outside"
    d.mkdir()
    f = d / "secret.txt"
    f.write_text("not for the daemons\n")
    triad_root.give_to_run_user()
    return f


def needs_pam(name, pam_user):
    return pam_user.env if name in ("ftpd", "smtpd") else {}


@pytest.mark.parametrize("name", th.DAEMONS)
def test_nonewprivs_and_seccomp_on_every_thread(name, start_daemon, pam_user):
    d = start_daemon(name, env=needs_pam(name, pam_user))
    # Workers, the log writer and (ftpd, smtpd) the workq threads all exist by now.
    assert assert_confined(d.pid) >= 3
    assert re.search(r"sandbox: Landlock ABI \d+ applied \(\d+ rules\)", d.log_text())
    if name != "httpd":
        (helper,) = th.children(d.pid)
        # The helper confines itself just after the fork, while the daemon goes on
        # starting: wait for its filter rather than race it.
        th.wait_until(lambda: th.proc_status(helper)["Seccomp_filters"] == "1", 5,
                      "the PAM helper's seccomp filter")
        assert_confined(helper)


@pytest.mark.parametrize("name", th.DAEMONS)
def test_landlock_refuses_an_out_of_tree_open(name, start_daemon, pam_user, outside):
    env = dict(needs_pam(name, pam_user), TRIAD_SANDBOX_PROBE=str(outside))
    d = start_daemon(name, env=env)
    d.wait_log(rf"sandbox probe \(start\): open {re.escape(str(outside))}: Permission denied")
    d.reload(r"sandbox probe \(reload\): open .*: Permission denied")
    assert "sandbox probe (start): opened" not in d.log_text()
    assert "sandbox probe (reload): opened" not in d.log_text()
    assert d.running()


@pytest.mark.parametrize("name", th.DAEMONS)
def test_without_the_sandbox_the_same_open_succeeds(name, start_daemon, pam_user, outside):
    """The control: `user` may read the file; only the sandbox kept the daemons out."""
    env = dict(needs_pam(name, pam_user), TRIAD_SANDBOX_PROBE=str(outside))
    d = start_daemon(name, {"sandbox": "off"}, env=env)
    d.wait_log(rf"sandbox probe \(start\): opened {re.escape(str(outside))}")
    st = th.proc_status(d.pid)
    assert (st["Seccomp"], st["NoNewPrivs"]) == ("0", "0")
    assert "sandbox: off (sandbox = off)" in d.log_text()


@pytest.mark.parametrize("name", th.DAEMONS)
def test_forbidden_system_call_at_start_kills_with_a_logged_reason(name, start_daemon,
                                                                     pam_user, triad_config):
    triad_config.update("global", {"log": str(triad_config.layout.etc / f"{name}.log")})
    env = dict(needs_pam(name, pam_user), TRIAD_SANDBOX_PROBE_SYSCALL="start")
    d = start_daemon(name, config=triad_config, env=env, expect_ready=False)
    rc = d.wait_exit(timeout=15 * th.timeout_scale())
    assert rc == 128 + SIGSYS, (rc, d.stderr_text())
    assert re.search(ACCT, d.stderr_text())
    assert re.search(ACCT, d.log_text())


def test_forbidden_system_call_in_a_serving_daemon(start_daemon, triad_config):
    """After requests were served, the reload path makes the call: the process ends."""
    triad_config.update("global", {"log": str(triad_config.layout.etc / "serving.log")})
    d = start_daemon("httpd", config=triad_config,
                     env={"TRIAD_SANDBOX_PROBE_SYSCALL": "reload"})
    status, _, body = th.http_get(d.addr, "/index.html")
    assert status == 200 and b"It works." in body
    d.send_signal(signal.SIGHUP)
    rc = d.wait_exit(timeout=15 * th.timeout_scale())
    assert rc == 128 + SIGSYS, (rc, d.stderr_text())
    # Written by the SIGSYS handler itself (the log writer thread's queue dies with
    # the process, so the reload's own lines may not get there).
    assert re.search(ACCT, d.log_text())


def smtp_over_tls(d):
    """An smtplib session to D after STARTTLS and EHLO: AUTH is offered only over TLS
    (RFC 4954 §4)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s = smtplib.SMTP(*d.addr, timeout=10 * th.timeout_scale())
    s.starttls(context=ctx)
    s.ehlo("client.example")
    return s


@pytest.mark.parametrize("name", ["ftpd", "smtpd"])
def test_forbidden_system_call_in_a_pam_child(name, start_daemon, pam_user):
    """The PAM set holds in the PAM children: the call ends that child only; the login
    is a temporary failure, not a denial (SMTP: 454, RFC 4954 §6; FTP: 530 "temporary
    error", logged result=error), and the daemon and its helper go on."""
    d = start_daemon(name, env=dict(pam_user.env, TRIAD_SANDBOX_PROBE_PAM="1"))
    helper = th.children(d.pid)
    if name == "ftpd":
        f = ftplib.FTP()
        f.connect(*d.addr, timeout=10 * th.timeout_scale())
        with pytest.raises(ftplib.error_perm) as e:
            f.login(pam_user.user, pam_user.password)
        assert str(e.value) == "530 Login failed: temporary error, try again later"
        f.close()
        d.wait_log(r'login user="alice" .* result=error')
    else:
        with smtp_over_tls(d) as s:
            with pytest.raises(smtplib.SMTPAuthenticationError) as e:
                s.login(pam_user.user, pam_user.password)
            assert e.value.smtp_code == 454, e.value
    d.wait_for(lambda: re.search(ACCT, d.stderr_text()), 5, "the PAM child's SIGSYS line")
    d.wait_for(lambda: "PAM conversation ended by the sandbox" in d.stderr_text(), 5,
               "the helper's line about its child")
    assert d.running() and th.children(d.pid) == helper


@pytest.fixture
def outside_tmp():
    """A file the root PAM helper may read by its modes, outside its Landlock rules: not in
    /tmp (pam_wrapper, the tests' PAM, gets /tmp) nor /etc, /usr, /lib."""
    d = Path(tempfile.mkdtemp(prefix="triad-probe-", dir="/var/tmp"))
    f = d / "secret.txt"
    f.write_text("not for the PAM helper\n")
    yield f
    shutil.rmtree(d)


def login(name, d, pam_user):
    """A PAM login through the helper: FTP 230, SMTP 235 (RFC 4954 §6) after STARTTLS."""
    if name == "ftpd":
        f = ftplib.FTP()
        f.connect(*d.addr, timeout=10 * th.timeout_scale())
        assert f.login(pam_user.user, pam_user.password).startswith("230")
        f.quit()
        return
    with smtp_over_tls(d) as s:
        assert s.login(pam_user.user, pam_user.password)[0] == 235


@pytest.mark.parametrize("name", ["ftpd", "smtpd"])
@pytest.mark.parametrize("sandbox", ["on", "off"])
def test_landlock_confines_the_pam_helper(name, sandbox, start_daemon, pam_user, outside_tmp):
    """Inside a PAM child, just before PAM runs, the test hook opens a file root could read:
    with the sandbox Landlock refuses it (EACCES), and the login itself still succeeds,
    so PAM got every file it needs; with `sandbox = off` the same open succeeds."""
    env = dict(pam_user.env, TRIAD_SANDBOX_PROBE_PAM_OPEN=str(outside_tmp))
    d = start_daemon(name, {"sandbox": sandbox}, env=env)
    login(name, d, pam_user)
    outcome = ("open {}: Permission denied" if sandbox == "on" else "opened {}").format(
        re.escape(str(outside_tmp)))
    d.wait_for(lambda: re.search(rf"triad-auth: sandbox probe: {outcome}", d.stderr_text()),
               5, "the PAM child's probe line")
    assert "probe: opened" not in d.stderr_text() or sandbox == "off"


# ---------------------------------------------------------------- reloads


def add_site(triad_root, cfg, name, **keys):
    www = triad_root.root / "sites" / name / "www"
    www.mkdir(parents=True)
    (www / f"{name}.txt").write_text(f"{name}\n")
    triad_root.give_to_run_user()
    cfg.sections[f"site {name}"] = {"hosts": f"{name}.example", **keys}
    cfg.write(cfg.path)


def test_httpd_serves_a_site_a_reload_adds(start_daemon, triad_root, triad_config):
    """Every docroot lies beneath root, where httpd's read-only rule is (interface.md)."""
    d = start_daemon("httpd", config=triad_config)
    add_site(triad_root, triad_config, "late")
    d.reload(r"reload: done")
    status, _, body = th.http_get(d.addr, "/late.txt", headers={"Host": "late.example"})
    assert status == 200 and body == b"late\n"


def test_ftpd_writes_in_a_site_a_reload_adds(start_daemon, triad_root, triad_config, pam_user):
    d = start_daemon("ftpd", config=triad_config, env=pam_user.env)
    add_site(triad_root, triad_config, "late", ftp_users=pam_user.user)
    d.reload(r"reload: done")
    f = ftplib.FTP()
    f.connect(*d.addr, timeout=10 * th.timeout_scale())
    f.login(pam_user.user, pam_user.password)
    assert f.storbinary("STOR up.txt", io.BytesIO(b"uploaded\n")).startswith("226")
    f.quit()
    assert (triad_root.root / "sites" / "late" / "www" / "up.txt").read_bytes() == b"uploaded\n"


def test_a_reload_naming_a_path_outside_the_start_rules_is_refused(start_daemon, triad_root,
                                                                  triad_config, pam_user):
    """smtpd's maildir_root moved: refused at the reload with the key and the path (not a
    451 at the next delivery), and the running configuration keeps delivering."""
    d = start_daemon("smtpd", config=triad_config, env=pam_user.env)
    (triad_root.root / "mail2").mkdir()
    triad_root.give_to_run_user()
    triad_config.update("smtpd", {"maildir_root": "mail2"})
    triad_config.write(triad_config.path)
    line = triad_config.line("smtpd", "maildir_root")
    text = d.reload()
    assert re.search(rf"reload refused, keeping the running configuration: .*:{line}: "
                     rf"maildir_root: {re.escape(str(triad_root.root / 'mail2'))} lies outside "
                     r"what the sandbox allowed at start; restart the daemon to use it", text), text
    with smtplib.SMTP(*d.addr, timeout=10 * th.timeout_scale()) as s:
        s.sendmail("s@example.net", ["alice@example.org"], b"Subject: x\r\n\r\nbody\r\n")
    assert len(list((triad_root.mail / "example.org" / "alice" / "new").iterdir())) == 1


# ---------------------------------------------------------------- Landlock's lines name the key

# Runs as `python3 -c FAIL_LANDLOCK ERRNO -- ARGV`: a seccomp filter that fails Landlock's
# three system calls with ERRNO and allows every other call, then execs ARGV under it.
# ENOSYS is what a kernel without Landlock answers; EPERM is an outer filter (systemd's
# SystemCallFilter=) that forbids them.
FAIL_LANDLOCK = r"""
import errno, os, sys, seccomp
err, argv = getattr(errno, sys.argv[1]), sys.argv[3:]
f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
for name in ("landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self"):
    f.add_rule(seccomp.ERRNO(err), name)
f.load()
os.execv(argv[0], argv)
"""


@pytest.mark.parametrize("errname,why", [
    ("ENOSYS", r"this kernel has no Landlock \(Linux 5\.13 or later"),
    ("EPERM", r"an outer seccomp filter forbids Landlock's system calls"),
])
def test_without_landlock_the_warning_names_the_sandbox_key(errname, why, start_daemon,
                                                            triad_config, outside):
    """The operator reads which key the line is about (`sandbox`, FILE:LINE as for config
    errors), the daemon runs, and the warning is true: the out-of-tree open succeeds
    while seccomp still holds."""
    triad_config.update("global", {"sandbox": "on"})
    triad_config.write(triad_config.path or triad_config.layout.etc / "nolandlock.conf")
    line = triad_config.line("global", "sandbox")
    d = start_daemon("httpd", config=triad_config, env={"TRIAD_SANDBOX_PROBE": str(outside)},
                     prefix=["/usr/bin/python3", "-c", FAIL_LANDLOCK, errname, "--"])
    d.wait_log(rf"sandbox: {re.escape(str(triad_config.path))}:{line}: sandbox: {why}")
    d.wait_log(rf"sandbox probe \(start\): opened {re.escape(str(outside))}")
    assert "Landlock ABI" not in d.log_text()
    assert th.proc_status(d.pid)["Seccomp"] == "2"


@pytest.mark.skipif(not th.IS_ROOT, reason="a directory only root may enter, then `user`")
def test_a_path_landlock_cannot_open_fails_the_start_with_its_key(start_daemon, triad_root,
                                                                 triad_config):
    """The aliases file's directory lies in one root may enter but `user` may not:
    Landlock, set up as `user`, cannot open that directory for its rule, and the start
    fails naming `aliases` at its line (not only the path)."""
    locked = triad_root.base / "locked"
    (locked / "sub").mkdir(parents=True)
    (locked / "sub" / "aliases").write_text("postmaster: alice\n")
    os.chown(locked, 0, 0)
    os.chmod(locked, 0o700)
    triad_config.update("smtpd", {"aliases": str(locked / "sub" / "aliases")})
    triad_config.write(triad_config.path or triad_config.layout.etc / "locked.conf")
    line = triad_config.line("smtpd", "aliases")
    d = start_daemon("smtpd", config=triad_config, expect_ready=False)
    assert d.wait_exit(timeout=15) == 1, d.stderr_text()
    assert re.search(rf"triad-smtpd: {re.escape(str(triad_config.path))}:{line}: aliases: "
                     rf"sandbox: Landlock cannot allow {re.escape(str(locked / 'sub'))}: "
                     r"Permission denied", d.stderr_text()), d.stderr_text()


def test_a_missing_path_is_logged_with_its_key(start_daemon, triad_root, triad_config):
    """A directory named by the configuration that does not exist at start gets no rule:
    the log says so with the key and line, so the operator knows to create it and
    restart (a later mkdir would not be reachable through the sandbox)."""
    missing = triad_root.base / "not-yet" / "aliases"
    triad_config.update("smtpd", {"aliases": str(missing)})
    triad_config.write(triad_config.path or triad_config.layout.etc / "missing.conf")
    line = triad_config.line("smtpd", "aliases")
    d = start_daemon("smtpd", config=triad_config, expect_ready=False)
    d.wait_exit(timeout=15)
    assert re.search(rf"sandbox: {re.escape(str(triad_config.path))}:{line}: aliases: "
                     rf"{re.escape(str(missing.parent))} does not exist, so the sandbox allows "
                     r"nothing there; create it and restart the daemon", d.log_text()), \
        d.describe()
