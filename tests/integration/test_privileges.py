"""Privilege drop and the PAM helper process.

interface.md, "Command line": "When started as root, the process that was started runs as
`user` once it is ready; only the PAM helper process it forks may keep root." Issue 2,
server: drop with setgroups, setgid, setuid; auth: "a helper process forked while still
root, before the drop" (ftpd and smtpd, which authenticate; httpd does not).
"""

import pytest

import triad_harness as th
from triad_harness import DAEMONS, assert_serving

pytestmark = pytest.mark.skipif(not th.IS_ROOT, reason="needs root to drop privileges")


def assert_runs_as(pid, uid, gid):
    """Every thread of PID: all four uids and gids are UID/GID, no other group."""
    for tid in th.threads(pid):
        uids, gids, groups = th.proc_ids(f"{pid}/task/{tid}")
        assert uids == [uid] * 4, f"thread {tid} Uid: {uids}"
        assert gids == [gid] * 4, f"thread {tid} Gid: {gids}"
        assert set(groups) <= {gid}, f"thread {tid} Groups: {groups}"


@pytest.mark.parametrize("name", DAEMONS)
def test_drops_to_user(name, start_daemon):
    """Started as root with user = nobody: once ready, the daemon is nobody everywhere,
    and it still serves (it can reach the world-readable root as nobody)."""
    d = start_daemon(name, global_overrides={"user": th.RUN_USER})
    uid, gid = th.run_user_ids()
    assert_runs_as(d.pid, uid, gid)
    assert_serving(d)
    assert_runs_as(d.pid, uid, gid)


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
    assert_runs_as(d.pid, uid, gid)
    # the helper goes away with the daemon
    helper = root_kids[0]
    d.stop()
    th.wait_until(lambda: not th.pid_alive(helper), 5.0, f"helper {helper} to exit")
