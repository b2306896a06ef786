"""systemd socket activation (interface.md "Operations"): started with LISTEN_PID /
LISTEN_FDS, a daemon uses the passed sockets instead of binding its `listen` addresses;
httpd takes those named `https` as TLS listeners, ftpd those named `ftps` as implicit-TLS
listeners, any other name (or none) is plain. READY=1 / RELOADING=1 / STOPPING=1 work as
without activation (sd_notify(3)).

The real peer is Debian's systemd-socket-activate(1): it binds, waits for the first
connection, then execs the daemon in its own process with the sockets as fds 3, 4...
(sd_listen_fds(3)), so no running systemd is needed.
"""

import ftplib
import os
import re
import shutil
import socket
import ssl
import signal
import subprocess
import time

import pytest

import triad_harness as th

SSA = shutil.which("systemd-socket-activate")
pytestmark = pytest.mark.skipif(SSA is None, reason="systemd-socket-activate missing "
                                "(Debian package systemd; tools/deps.sh installs it)")


class Activated(th.Daemon):
    """A Daemon exec'd by systemd-socket-activate with SOCKETS = [(port, name or None)]."""

    def __init__(self, name, config, conf_path, sockets, env=None):
        super().__init__(name, config, conf_path, env)
        self.sockets = sockets

    @property
    def ports(self):
        return {"passed": [("127.0.0.1", port) for port, _ in self.sockets]}

    def start(self):
        self._log_start = self._log_size()
        argv = [SSA]
        for port, _ in self.sockets:
            argv += ["-l", f"127.0.0.1:{port}"]
        # All named or none: systemd-socket-activate 252 drops an empty name and repeats
        # the last one (":https" became "https:https").
        names = [n for _, n in self.sockets]
        assert all(names) or not any(names), names
        if any(names):
            argv.append("--fdname=" + ":".join(names))
        # systemd-socket-activate passes on only what -E names.
        for k, v in self.env.items():
            if k in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "NOTIFY_SOCKET",
                     "PAM_WRAPPER", "PAM_WRAPPER_SERVICE_DIR", "TZ"):
                argv += ["-E", f"{k}={v}"]
        argv += [str(self.binary), "-c", str(self.conf_path)]
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=self.env, close_fds=True)
        port = self.sockets[0][0]
        self.wait_for(lambda: "Listening on" in self.stderr_text() and
                      th.can_connect("127.0.0.1", port), 10, "systemd-socket-activate")
        return self


@pytest.fixture
def activate(triad_root):
    started = []

    def start(name, sockets, env=None, section=None, glob=None, expect_ready=True):
        cfg = th.TriadConfig(triad_root)
        cfg.update(name, section or {})
        cfg.update("global", glob or {})
        path = cfg.write(triad_root.etc / f"{name}-activated.conf")
        d = Activated(name, cfg, path, [(th.free_port(), n) for n in sockets], env)
        started.append(d)
        d.start()
        if expect_ready:
            d.wait_ready()
        return d

    yield start
    for d in started:
        try:
            if d.running():
                d.stop()
            else:
                d.check_sanitizer()
        finally:
            d.kill()


def https_get(port, path="/"):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5 * th.timeout_scale()) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                      .encode())
            return th.recv_until_close(s)


def http_get(port):
    return th.tcp_exchange(("127.0.0.1", port),
                           b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")


def test_httpd_plain_and_https_from_passed_sockets(activate):
    d = activate("httpd", ["http", "https", "www"])
    (plain, _), (tls, _), (named, _) = d.sockets
    # many requests, so both workers (each with its own dup of the socket) serve some
    for _ in range(20):
        assert http_get(plain).startswith(b"HTTP/1.1 200 ")
        assert https_get(tls).startswith(b"HTTP/1.1 200 ")
        assert http_get(named).startswith(b"HTTP/1.1 200 ")
    # the config's own listen addresses were not bound
    for key in ("listen", "listen_tls"):
        for host, port in d.config.addrs("httpd", key):
            assert not th.can_connect(host, port), f"{key} {host}:{port} was bound"
    text = d.log_text()
    assert "(fd 4 https)" in text and "tls:" in text, text


def test_ftpd_ftps_socket_is_implicit_tls(activate, pam_user):
    d = activate("ftpd", ["ftp", "ftps"], env=pam_user.env)
    (plain, _), (implicit, _) = d.sockets
    f = ftplib.FTP(timeout=5 * th.timeout_scale())
    assert f.connect("127.0.0.1", plain).startswith("220")
    f.login(pam_user.user, pam_user.password)
    f.quit()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", implicit), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            assert s.recv(512).startswith(b"220")


def test_smtpd_unnamed_socket_is_plain(activate):
    d = activate("smtpd", [None])
    with th.LineClient(("127.0.0.1", d.sockets[0][0])) as c:
        code, lines = c.read_reply()
        assert code == 220, lines
        assert c.command("QUIT")[0] == 221


@pytest.mark.parametrize("name", ["httpd", "ftpd", "smtpd"])
def test_notify_under_activation(activate, name, tmp_path, pam_user):
    """READY=1 once the passed sockets are watched, RELOADING=1 + READY=1 around SIGHUP,
    STOPPING=1 on SIGTERM (the same sequence as test_notify.py without activation)."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    os.chmod(path, 0o777)
    os.chmod(tmp_path, 0o755)
    sock.settimeout(10 * th.timeout_scale())
    try:
        env = dict(pam_user.env) if name == "ftpd" else {}
        env["NOTIFY_SOCKET"] = path
        d = activate(name, [None], env=env)
        th.check_notify_sequence(d, sock)
    finally:
        sock.close()


def test_https_socket_without_certificate_is_an_error(activate):
    d = activate("httpd", ["http", "https"], glob={"tls_cert": "", "tls_key": ""},
                 section={"listen_tls": ""}, expect_ready=False)
    th.can_connect("127.0.0.1", d.sockets[0][0])  # the first connection starts it
    assert d.wait_exit() == 1
    assert "passed a 'https' socket" in d.stderr_text(), d.stderr_text()
    assert "tls_cert and tls_key are unset" in d.stderr_text()


def test_listen_pid_of_another_process_is_ignored(start_daemon):
    """sd_listen_fds(3): LISTEN_FDS is for the process LISTEN_PID names; any other binds
    its own addresses (and descriptor 3 is not taken for a listener)."""
    d = start_daemon("smtpd", env={"LISTEN_PID": "1", "LISTEN_FDS": "1",
                                   "LISTEN_FDNAMES": "smtp"})
    with th.LineClient(d.addr) as c:
        assert c.read_reply()[0] == 220


def test_malformed_listen_fds_is_an_error(start_daemon):
    d = start_daemon("smtpd", env={"LISTEN_PID": "self", "LISTEN_FDS": "1"},
                     expect_ready=False)
    assert d.wait_exit() == 1
    assert "socket activation: malformed" in d.stderr_text(), d.stderr_text()


class HeldByManager(th.Daemon):
    """Socket activation as systemd does it: the manager (this test) binds the socket,
    passes it as fd 3 (sd_listen_fds(3)) and keeps its own descriptor of it open, so the
    socket outlives every descriptor the daemon holds and queues connections while the
    daemon drains. systemd-socket-activate cannot show that: it execs the daemon."""

    def __init__(self, name, config, conf_path):
        super().__init__(name, config, conf_path)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)

    @property
    def ports(self):
        return {"passed": [self.sock.getsockname()]}

    def start(self):
        self._log_start = self._log_size()
        os.dup2(self.sock.fileno(), 3, inheritable=True) if self.sock.fileno() != 3 else None
        cmd = f'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" -c "$1"'
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(["sh", "-c", cmd, str(self.binary),
                                          str(self.conf_path)],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=self.env, pass_fds=(3,))
        return self


def process_cpu_ticks(pid):
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def test_draining_worker_does_not_spin_on_a_held_socket(triad_root):
    """SIGTERM drains (interface.md): the workers stop watching the passed socket. While
    a request is still in flight the daemon lives on, and systemd still holds the socket
    and queues new connections on it; the workers must not wake for them (the listener
    was closed before epoll was told, and every epoll_wait() returned at once: about
    2,500 wakeups a second, a core's worth of CPU until shutdown_timeout)."""
    cfg = th.TriadConfig(triad_root)
    cfg.update("global", {"shutdown_timeout": "20s", "log_level": "debug"})
    path = cfg.write(triad_root.etc / "httpd-held.conf")
    d = HeldByManager("httpd", cfg, path)
    try:
        d.start()
        d.wait_ready()
        addr = d.sock.getsockname()
        with socket.create_connection(addr, timeout=5 * th.timeout_scale()) as busy:
            busy.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert busy.recv(65536).startswith(b"HTTP/1.1 ")
            busy.sendall(b"GET / HTTP/1.1\r\nHo")  # in flight: the drain waits for it

            def partial_head_read():  # the served conn went idle -> head a second time
                t = d.log_text()
                served = re.findall(r"(c\d+) debug: http head -> idle", t)
                return bool(served) and len(re.findall(served[0] + " debug: http idle -> head",
                                                       t)) == 2

            d.wait_for(partial_head_read, 5, "the partial head to be read")
            d.send_signal(signal.SIGTERM)
            d.wait_for(lambda: len(re.findall(r"draining: listeners closed",
                                              d.log_text())) == 2,  # both workers
                       5, "both workers to drain")
            queued = socket.create_connection(addr, timeout=5)  # the kernel queues it
            before = process_cpu_ticks(d.proc.pid)
            time.sleep(2)
            spent = process_cpu_ticks(d.proc.pid) - before
            queued.close()
            assert d.running()
            assert spent < 5, f"{spent} ticks of CPU in 2 s while draining"
            busy.sendall(b"st: localhost\r\nConnection: close\r\n\r\n")
            assert th.recv_until_close(busy).startswith(b"HTTP/1.1 ")
        d.wait_exit(timeout=10)
        d.check_sanitizer()
    finally:
        d.kill()
        d.sock.close()
