"""The systemd units of dist/systemd/ (interface.md, "Operations": Type=notify, READY=1,
RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM).

- `systemd-analyze verify` accepts every unit without a single message (an unknown key or
  a bad value is only a warning there, so any output fails), with ExecStart pointing at
  this build's binaries instead of /usr/sbin;
- `systemd-analyze security --offline` rates each service's exposure below 3.0 ("OK");
- the services' own command lines run as systemd would run them: ExecStartPre's `-t`,
  then ExecStart with NOTIFY_SOCKET, under the unit's CapabilityBoundingSet= and
  NoNewPrivileges= (setpriv(1) applies both, as root) and its SystemCallFilter= with
  SystemCallErrorNumber= (a seccomp filter of the same system calls, loaded with
  python3-seccomp), through ExecReload and a stop;
  for ftpd and smtpd a PAM login through the helper, which runs PAM as root inside the
  same bounding set and no_new_privs;
- the socket units' sockets, passed by systemd-socket-activate(1) with their
  FileDescriptorName= to the service's ExecStart, are the daemon's listeners: `https` and
  `ftps` ones speak TLS from the first byte, the others the plain protocol.
No systemd needs to run as PID 1 for any of this.
"""

import configparser
import ftplib
import os
import re
import shlex
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

import triad_harness as th

UNITS = th.REPO / "dist" / "systemd"
SERVICES = {name: UNITS / f"triad-{name}.service" for name in th.DAEMONS}
SOCKETS = {"triad-httpd.socket": None, "triad-httpd-tls.socket": "https",
           "triad-ftpd.socket": None, "triad-ftpd-tls.socket": "ftps",
           "triad-smtpd.socket": None}


def read_unit(path):
    """[section] -> {key: [values]} (a key may repeat in a unit file)."""
    out, section = {}, None
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        m = re.match(r"\[(\w+)\]$", line)
        if m:
            section = out.setdefault(m.group(1), {})
            continue
        k, v = line.split("=", 1)
        section.setdefault(k, []).append(v)
    return out


def local_units(tmp_path):
    """The units with /usr/sbin/triad-X replaced by this build's binaries."""
    d = tmp_path / "units"
    d.mkdir()
    for src in UNITS.iterdir():
        text = src.read_text().replace("/usr/sbin/triad-", f"{th.BUILD}/triad-")
        (d / src.name).write_text(text)
    return d


def test_all_units_present():
    names = sorted(p.name for p in UNITS.iterdir())
    assert names == sorted([f"triad-{n}.service" for n in th.DAEMONS] + list(SOCKETS)
                           + ["triad.target"])


def test_systemd_analyze_verify_is_silent(tmp_path):
    d = local_units(tmp_path)
    names = sorted(p.name for p in d.iterdir())
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", *names], cwd=d,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), \
        r.stdout + r.stderr


def test_verify_would_catch_a_bad_key(tmp_path):
    """The check above fails on what a typo in a unit produces."""
    d = local_units(tmp_path)
    unit = d / "triad-httpd.service"
    unit.write_text(unit.read_text().replace("Type=notify", "Type=notify\nProtectSystm=strict"))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", unit.name], cwd=d,
                       capture_output=True, text=True, timeout=60)
    assert "ProtectSystm" in r.stderr


@pytest.mark.parametrize("name", th.DAEMONS)
def test_service_shape(name):
    """interface.md: Type=notify, reload by SIGHUP, the config checked before start."""
    s = read_unit(SERVICES[name])["Service"]
    assert s["Type"] == ["notify"]
    assert s["ExecStartPre"] == [f"/usr/sbin/triad-{name} -t -c /etc/triad/triad.conf"]
    assert s["ExecStart"] == [f"/usr/sbin/triad-{name} -c /etc/triad/triad.conf"]
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert s["ProtectSystem"] == ["strict"] and s["PrivateTmp"] == ["yes"]
    assert s["NoNewPrivileges"] == ["yes"]
    # systemd's filter, plus the calls the daemon's own sandbox (sandbox.h) makes.
    assert s["SystemCallFilter"] == ["@system-service", "seccomp landlock_create_ruleset "
                                     "landlock_add_rule landlock_restrict_self"]
    assert s["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6"]
    assert "User" not in s  # the daemon drops to `user` itself after binding


@pytest.mark.parametrize("unit,fdname", sorted(SOCKETS.items(), key=lambda x: x[0]))
def test_socket_units(unit, fdname):
    """interface.md: sockets named https (httpd) and ftps (ftpd) are TLS listeners."""
    sock = read_unit(UNITS / unit)["Socket"]
    service = re.match(r"(triad-\w+)", unit).group(1) + ".service"
    assert sock["Service"] == [service]
    if fdname:
        assert sock["FileDescriptorName"] == [fdname]
    else:
        assert sock["FileDescriptorName"][0] not in ("https", "ftps")


@pytest.mark.parametrize("name", th.DAEMONS)
def test_security_exposure(tmp_path, name):
    d = local_units(tmp_path)
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager",
                        f"triad-{name}.service"], cwd=d, capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
    assert m, r.stdout + r.stderr
    assert float(m.group(1)) < 3.0, r.stdout


# ---------------------------------------------------------------- the command lines

def unit_argv(service, key, conf):
    """A unit's command line for KEY with this build and CONF."""
    (line,) = read_unit(service)["Service"][key]
    argv = shlex.split(line.replace("/usr/sbin/triad-", f"{th.BUILD}/triad-"))
    return [conf if a == "/etc/triad/triad.conf" else a for a in argv]


def syscall_set(spec):
    """The system calls of a SystemCallFilter= allow list, groups expanded as systemd
    itself lists them (systemd-analyze syscall-filter)."""
    out, todo, seen = set(), spec.split(), set()
    while todo:
        item = todo.pop()
        if not item.startswith("@"):
            out.add(item)
            continue
        if item in seen:
            continue
        seen.add(item)
        r = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", item],
                           capture_output=True, text=True, check=True, timeout=30)
        for line in r.stdout.splitlines()[1:]:
            word = line.strip()
            if word and not word.startswith("#"):
                todo.append(word)
    return out


# Runs as `python3 -c SECCOMP_EXEC ERRNO SYSCALLS... -- ARGV`: loads a seccomp filter
# that allows SYSCALLS and fails every other call with ERRNO, as systemd does for
# SystemCallFilter= with SystemCallErrorNumber=, then execs ARGV under it.
SECCOMP_EXEC = r"""
import errno, os, sys, seccomp
args = sys.argv[1:]
cut = args.index("--")
err, calls, argv = getattr(errno, args[0]), args[1:cut], args[cut + 1:]
f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(err))
for name in calls:
    try:
        f.add_rule(seccomp.ALLOW, name)
    except (RuntimeError, ValueError, OSError):
        pass  # not a system call of this architecture (arm_fadvise64_64 on x86-64)
f.load()
os.execv(argv[0], argv)
"""


def sandbox_prefix(service):
    """setpriv(1) applying the unit's CapabilityBoundingSet= and NoNewPrivileges=, then
    a seccomp filter from its SystemCallFilter= and SystemCallErrorNumber=."""
    s = read_unit(service)["Service"]
    caps = " ".join(s["CapabilityBoundingSet"]).split()
    bounding = "-all," + ",".join("+" + c.lower().removeprefix("cap_") for c in caps)
    argv = ["setpriv", f"--bounding-set={bounding}"]
    if s.get("NoNewPrivileges") == ["yes"]:
        argv.append("--no-new-privs")
    calls = syscall_set(" ".join(s["SystemCallFilter"]))
    if th.sanitized():
        # LeakSanitizer stops the threads with ptrace to scan their stacks at exit: a
        # call of the sanitizer's, not of the daemon's, so only the sanitized build gets it.
        calls.add("ptrace")
    (errname,) = s["SystemCallErrorNumber"]
    return argv + ["--", "/usr/bin/python3", "-c", SECCOMP_EXEC, errname, *sorted(calls),
                   "--"]


CAP_NUMBERS = {"CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_NET_BIND_SERVICE": 10}


def bounding_mask(service):
    caps = " ".join(read_unit(service)["Service"]["CapabilityBoundingSet"]).split()
    return sum(1 << CAP_NUMBERS[c] for c in caps)


class UnitDaemon(th.Daemon):
    """A Daemon started with the unit's ExecStart under the unit's sandbox prefix."""

    def start(self):
        self._log_start = self._log_size()
        argv = sandbox_prefix(SERVICES[self.name]) + unit_argv(
            SERVICES[self.name], "ExecStart", str(self.conf_path))
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=self.env, close_fds=True)
        return self


@pytest.fixture
def notify_socket(tmp_path):
    path = str(tmp_path / "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o777)
    os.chmod(tmp_path, 0o755)
    s.settimeout(10)
    yield path, s
    s.close()


@pytest.mark.skipif(not th.IS_ROOT, reason="the units start the daemons as root")
@pytest.mark.parametrize("name", th.DAEMONS)
def test_unit_commands_run_in_the_units_sandbox(triad_config, pam_user, notify_socket, name):
    path, note = notify_socket
    conf = triad_config.write(triad_config.layout.etc / f"unit-{name}.conf")
    service = SERVICES[name]
    pre = subprocess.run(sandbox_prefix(service) + unit_argv(service, "ExecStartPre",
                                                             str(conf)),
                         capture_output=True, text=True, timeout=30,
                         env=th.build_env(name, pam_user.env))
    assert pre.returncode == 0 and "configuration is valid" in pre.stdout, pre.stderr

    d = UnitDaemon(name, triad_config, conf, env={**pam_user.env, "NOTIFY_SOCKET": path})
    try:
        d.start()
        d.wait_ready()
        assert note.recv(256) == b"READY=1"
        status = th.proc_status(d.pid)
        # Dropped to `user` (no capability left) inside the unit's bounding set.
        assert int(status["CapEff"], 16) == 0
        assert int(status["CapBnd"], 16) == bounding_mask(service)
        assert status["Seccomp"] == "2"  # filter mode
        # The unit's filter and the daemon's own (sandbox = on), stacked, and its
        # Landlock rules: the unit's filter lets the daemon confine itself further.
        assert status["Seccomp_filters"] == "2"
        assert re.search(r"sandbox: Landlock ABI \d+ applied", d.log_text())
        if name != "httpd":
            (helper,) = th.children(d.pid)
            # The helper stacks its own filter just after the fork, while the daemon
            # goes on to READY=1: wait for it rather than race it.
            th.wait_until(lambda: th.proc_status(helper)["Seccomp_filters"] == "2", 5,
                          "the PAM helper's own seccomp filter under the unit's")
        assert status["NoNewPrivs"] == ("1" if read_unit(service)["Service"].get(
            "NoNewPrivileges") == ["yes"] else "0")

        reload_argv = unit_argv(service, "ExecReload", str(conf))
        reload_argv = [str(d.pid) if a == "$MAINPID" else a for a in reload_argv]
        offset = d._log_size()
        subprocess.run(reload_argv, check=True, timeout=10)
        assert note.recv(256) == b"RELOADING=1"
        assert note.recv(256) == b"READY=1"
        d.wait_log(d.RELOAD_OUTCOME, offset=offset)

        if name == "httpd":
            code, _, body = th.http_get(d.addr)
            assert code == 200 and b"It works" in body
        elif name == "ftpd":
            # The PAM helper (root, same bounding set, no_new_privs) checks the login.
            ftp = ftplib.FTP()
            ftp.connect(*d.addr, timeout=10)
            assert ftp.login(pam_user.user, pam_user.password).startswith("230")
            ftp.quit()
        else:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with smtplib.SMTP(*d.addr, timeout=10) as s:
                s.starttls(context=ctx)
                s.ehlo("client.example")
                code, _ = s.login(pam_user.user, pam_user.password)
                assert code == 235
        d.stop(signal.SIGTERM)
        assert note.recv(256) == b"STOPPING=1"
    finally:
        d.kill()


# ---------------------------------------------------------------- socket activation

SSA = shutil.which("systemd-socket-activate")


def daemon_sockets(name):
    """[(unit, ListenStream, FileDescriptorName)] of the socket units feeding NAME."""
    out = []
    for unit in sorted(SOCKETS):
        sock = read_unit(UNITS / unit)["Socket"]
        if sock["Service"] == [f"triad-{name}.service"]:
            (listen,) = sock["ListenStream"]
            (fdname,) = sock["FileDescriptorName"]
            out.append((unit, listen, fdname))
    return out


class SocketActivated(th.Daemon):
    """The unit's ExecStart exec'd by systemd-socket-activate(1) with the sockets of the
    daemon's socket units (their names; loopback ports instead of their ListenStream)."""

    def __init__(self, name, config, conf_path, sockets, env=None):
        super().__init__(name, config, conf_path, env)
        self.sockets = sockets  # [(port, fdname)]

    @property
    def ports(self):
        return {"passed": [("127.0.0.1", port) for port, _ in self.sockets]}

    def start(self):
        self._log_start = self._log_size()
        argv = [SSA]
        for port, _ in self.sockets:
            argv += ["-l", f"127.0.0.1:{port}"]
        argv.append("--fdname=" + ":".join(n for _, n in self.sockets))
        for k in ("LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "NOTIFY_SOCKET",
                  "PAM_WRAPPER", "PAM_WRAPPER_SERVICE_DIR"):
            if k in self.env:
                argv += ["-E", f"{k}={self.env[k]}"]
        argv += unit_argv(SERVICES[self.name], "ExecStart", str(self.conf_path))
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=self.env, close_fds=True)
        # systemd-socket-activate execs the daemon at the first connection.
        port = self.sockets[0][0]
        self.wait_for(lambda: "Listening on" in self.stderr_text() and
                      th.can_connect("127.0.0.1", port), 10, "systemd-socket-activate")
        return self


def tls_handshake(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            return s.version()


@pytest.mark.parametrize("name", th.DAEMONS)
def test_socket_units_activate_their_service(triad_config, notify_socket, name):
    """The socket units' names reach the daemon: `https` and `ftps` sockets speak TLS from
    the first byte, the others the plain protocol; the listen addresses of the config are
    not bound; READY=1 comes as without activation."""
    units = daemon_sockets(name)
    assert units, f"no socket unit for triad-{name}.service"
    path, note = notify_socket
    conf = triad_config.write(triad_config.layout.etc / f"sa-{name}.conf")
    d = SocketActivated(name, triad_config, conf,
                        [(th.free_port(), fdname) for _, _, fdname in units],
                        env={"NOTIFY_SOCKET": path})
    try:
        d.start()
        d.wait_ready()
        assert note.recv(256) == b"READY=1"
        for (port, fdname), (unit, listen, _) in zip(d.sockets, units):
            if fdname in ("https", "ftps"):
                assert tls_handshake(port) in ("TLSv1.2", "TLSv1.3"), unit
            else:
                greeting = th.tcp_exchange(("127.0.0.1", port),
                                           b"GET / HTTP/1.0\r\n\r\n" if name == "httpd"
                                           else b"QUIT\r\n")
                first = {"httpd": b"HTTP/1.1 200", "ftpd": b"220", "smtpd": b"220"}[name]
                assert greeting.startswith(first), (unit, greeting[:80])
        for host, port in triad_config.addrs(name, "listen"):
            assert not th.can_connect(host, port), "bound its listen address too"
        d.stop()
        assert note.recv(256) == b"STOPPING=1"
    finally:
        d.kill()
