"""systemd readiness (interface.md: "A daemon runs in the foreground (systemd
`Type=notify` style). It is ready when its listeners accept connections.")

With NOTIFY_SOCKET set, each daemon sends READY=1 once it accepts, RELOADING=1
then READY=1 around a SIGHUP, and STOPPING=1 when SIGTERM starts the drain
(sd_notify(3) protocol, no libsystemd needed).
"""
import os
import socket

import pytest

import triad_harness as th


@pytest.fixture
def notify_socket(tmp_path):
    path = str(tmp_path / "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o777)  # the daemon may already run as `user` when it sends
    os.chmod(tmp_path, 0o755)
    s.settimeout(10)
    yield path, s
    s.close()


@pytest.mark.parametrize("name", ["httpd", "ftpd", "smtpd"])
def test_ready_reloading_stopping(start_daemon, notify_socket, name):
    path, sock = notify_socket
    d = start_daemon(name, env={"NOTIFY_SOCKET": path})
    th.check_notify_sequence(d, sock)


def test_no_socket_no_harm(start_daemon):
    """Without NOTIFY_SOCKET (Type=simple) nothing is sent and startup is unchanged."""
    d = start_daemon("httpd")
    d.stop()
