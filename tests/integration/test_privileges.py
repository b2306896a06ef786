"""Privilege drop and the PAM helper process.

interface.md, "Command line": "When started as root, the process that was started runs as
`user` once it is ready; only the PAM helper process it forks may keep root." Issue 2,
server: drop with initgroups, setgid, setuid; auth: "a helper process forked while still
root, before the drop" (ftpd and smtpd, which authenticate; httpd does not).

The group set the daemon keeps is exactly `user`'s groups in the group database (its
primary group and every group it is a member of, initgroups(3)): the Debian package
makes the triad user a member of ssl-cert so that it reads the snakeoil key through that
group (docs/configuration.md, `user`). test_keeps_supplementary_groups checks it with a
user made for the test, whose only way to the TLS key is a supplementary group.
"""

import grp
import os
import pwd
import secrets
import subprocess
import time

import pytest

import triad_harness as th
from triad_harness import DAEMONS, assert_serving

pytestmark = pytest.mark.skipif(not th.IS_ROOT, reason="needs root to drop privileges")


def user_groups(user):
    """The groups initgroups(3) gives USER: its primary group and its memberships."""
    pw = pwd.getpwnam(user)
    return set(os.getgrouplist(user, pw.pw_gid))


def assert_runs_as(pid, uid, gid, groups):
    """Every thread of PID (/proc/PID/task/*/status): all four uids and gids are UID/GID,
    and Groups: is exactly GROUPS, no more and no fewer."""
    for tid in th.threads(pid):
        uids, gids, have = th.proc_ids(f"{pid}/task/{tid}")
        assert uids == [uid] * 4, f"thread {tid} Uid: {uids}"
        assert gids == [gid] * 4, f"thread {tid} Gid: {gids}"
        assert set(have) == groups, f"thread {tid} Groups: {have}, want {sorted(groups)}"


def run_tool(*argv):
    """useradd & co. refuse while another process holds /etc/passwd's lock: retry."""
    for _ in range(20):
        r = subprocess.run(argv, capture_output=True, text=True)
        if r.returncode == 0:
            return
        if "lock" not in r.stderr:
            break
        time.sleep(0.25)
    raise AssertionError(f"{' '.join(argv)}: {r.stderr.strip()}")


@pytest.fixture
def grouped_user():
    """A system user made for this test: primary group G1, member of group G2 only.
    Yields (name, g1 gid, g2 gid); removed afterwards."""
    tag = secrets.token_hex(3)
    user, g1, g2 = f"trt{tag}", f"trt{tag}p", f"trt{tag}s"
    run_tool("groupadd", "--system", g1)
    try:
        run_tool("groupadd", "--system", g2)
        try:
            run_tool("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                     "--gid", g1, "--groups", g2, user)
            try:
                yield user, grp.getgrnam(g1).gr_gid, grp.getgrnam(g2).gr_gid
            finally:
                run_tool("userdel", user)
        finally:
            run_tool("groupdel", g2)
    finally:
        run_tool("groupdel", g1)


@pytest.mark.parametrize("name", DAEMONS)
def test_drops_to_user(name, start_daemon):
    """Started as root with user = nobody: once ready, the daemon is nobody everywhere,
    and it still serves (it can reach the world-readable root as nobody)."""
    d = start_daemon(name, global_overrides={"user": th.RUN_USER})
    uid, gid = th.run_user_ids()
    groups = user_groups(th.RUN_USER)
    assert_runs_as(d.pid, uid, gid, groups)
    assert_serving(d)
    assert_runs_as(d.pid, uid, gid, groups)


@pytest.mark.parametrize("name", DAEMONS)
def test_keeps_supplementary_groups(name, grouped_user, triad_root, start_daemon):
    """The daemon keeps `user`'s supplementary groups (initgroups), and through one of them
    reads a TLS key it could not read otherwise (0640 root:G2, as ssl-cert's snakeoil key):
    a drop to the primary group alone would fail to start here."""
    user, g1, g2 = grouped_user
    os.chown(triad_root.key, 0, g2)
    os.chmod(triad_root.key, 0o640)
    # The harness's access log lies in etc/, which only the run user may write.
    own = {"access_log": "off"} if name == "httpd" else {}
    d = start_daemon(name, global_overrides={"user": user}, section_overrides=own)
    pw = pwd.getpwnam(user)
    assert user_groups(user) == {g1, g2}
    assert_runs_as(d.pid, pw.pw_uid, g1, {g1, g2})
    assert_serving(d)


@pytest.mark.parametrize("name", DAEMONS)
def test_pam_helper_keeps_root(name, start_daemon):
    """ftpd and smtpd fork one PAM helper that stays root while the daemon is nobody;
    httpd forks nothing."""
    d = start_daemon(name, global_overrides={"user": th.RUN_USER})
    kids = th.children(d.pid)
    if name == "httpd":
        assert kids == [], f"httpd has child processes {kids}"
        return
    assert kids, f"{name} has no PAM helper process"
    root_kids = [k for k in kids if th.proc_ids(k)[0] == [0, 0, 0, 0]]
    assert len(root_kids) == 1, {k: th.proc_ids(k) for k in kids}
    uid, gid = th.run_user_ids()
    assert_runs_as(d.pid, uid, gid, user_groups(th.RUN_USER))
    # the helper goes away with the daemon
    helper = root_kids[0]
    d.stop()
    th.wait_until(lambda: not th.pid_alive(helper), 5.0, f"helper {helper} to exit")


@pytest.mark.parametrize("name", DAEMONS)
def test_no_nss_module_loaded(name, start_daemon):
    """The groups are looked up in a child (common/groups.c): initgroups in the daemon
    would dlopen every module of nsswitch.conf's group: line (libnss_systemd, with libcap
    and libm on Debian: ~600 KiB resident for the daemon's life). On a machine whose
    nsswitch.conf names only `files` (built into glibc) this cannot fail."""
    d = start_daemon(name, global_overrides={"user": th.RUN_USER})
    assert_serving(d)
    with open(f"/proc/{d.pid}/maps") as f:
        nss = sorted({line.split()[-1] for line in f if "/libnss_" in line})
    assert not nss, f"triad-{name} maps {nss}"
