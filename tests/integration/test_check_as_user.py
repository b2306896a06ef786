"""`-t` checks what the daemon will be able to open once it runs as `user`.

interface.md: "When started as root, the process ... runs as `user` once it is ready";
logs, TLS files and the root are opened after the drop (docs/configuration.md,
"Permissions"), so `-t` run as root drops to `user` before opening them: it fails on a
log directory only root may write, and a log file it creates belongs to `user`.
"""
import os
import pwd

import pytest

from triad_harness import run_cli

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")


def test_check_fails_on_root_only_log_dir(triad_config, tmp_path):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    triad_config.update("global", {"user": "nobody", "log": str(private / "triad.log")})
    conf = triad_config.write(triad_config.layout.etc / "t.conf")
    r = run_cli("httpd", "-t", "-c", conf)
    assert r.returncode == 1, r.stdout
    assert "log" in r.stderr and "Permission denied" in r.stderr, r.stderr
    assert not (private / "triad.log").exists()


def test_check_creates_log_as_user(triad_config):
    logdir = triad_config.layout.etc / "logs"
    logdir.mkdir(exist_ok=True)
    nobody = pwd.getpwnam("nobody")
    os.chown(logdir, nobody.pw_uid, nobody.pw_gid)
    log = logdir / "triad.log"
    triad_config.update("global", {"user": "nobody", "log": str(log)})
    conf = triad_config.write(triad_config.layout.etc / "t.conf")
    r = run_cli("httpd", "-t", "-c", conf)
    assert r.returncode == 0, r.stderr
    assert log.stat().st_uid == nobody.pw_uid
