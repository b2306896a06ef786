"""Integration harness for the triad daemons (imported by conftest.py and tests).

Contract: everything a test needs to run a real daemon binary against a throwaway
document root, as /work/shared/interface.md describes it:

- ``free_port()`` hands out loopback ports nobody in this session got before;
- ``Layout`` is one temporary deployment: <base>/root/{www,mail}, <base>/etc (configs,
  logs) and the session's self-signed certificate; as root it belongs to the run user
  (``nobody``) so a daemon that dropped privileges can still read and write it;
- ``TriadConfig`` renders the one INI file (all three sections, so every daemon is seen
  ignoring the others') and remembers the line of every key for ``FILE:LINE`` checks;
- ``Daemon`` runs build/triad-<name> -c FILE with stdout/stderr captured to files, waits
  for "ready" plus accepting listeners, and stops it with a signal, asserting exit 0 and
  no sanitizer report;
- with ``TRIAD_VALGRIND`` set (``make valgrind``), every daemon runs under valgrind
  memcheck (its value, unless "1", adds valgrind options); a definite leak or an invalid
  access in the daemon or a process it forked fails the test like a sanitizer report;
- small raw-TCP helpers (``tcp_exchange``, ``LineClient``) for byte-exact checks.

Nothing here sleeps for a fixed time where polling a condition works.
"""

import functools
import os
import pwd
import re
import shutil
import signal
import random
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("TRIAD_BUILD") or (REPO / "build")).resolve()
DAEMONS = ("httpd", "ftpd", "smtpd")
PAM_MATRIX = "/usr/lib/x86_64-linux-gnu/pam_wrapper/pam_matrix.so"
PAM_DENY = "/usr/lib/x86_64-linux-gnu/security/pam_deny.so"
RUN_USER = "nobody"  # `user` in generated configs: dropped to when started as root

IS_ROOT = os.geteuid() == 0
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "SUMMARY: UndefinedBehaviorSanitizer",
)


def binary(name):
    return BUILD / f"triad-{name}"


@functools.lru_cache(maxsize=None)
def asan_runtime(name):
    """Path of the ASan runtime build/triad-<name> links, or None (plain build).

    ASan insists on being first in the library list, so any LD_PRELOAD we add (pam_wrapper)
    must come after it; ``Daemon`` prepends this path whenever LD_PRELOAD is set.
    """
    try:
        out = subprocess.run(["ldd", str(binary(name))], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"libasan\.so[.\d]*\s*=>\s*(\S+)", out)
    return m.group(1) if m else None


def sanitized():
    return any(asan_runtime(n) for n in DAEMONS if binary(n).exists())


# TRIAD_VALGRIND: run each daemon under valgrind memcheck (`make valgrind`). Memcheck
# reports into <daemon tag>.valgrind.<pid> (forked children too); an invalid access or a
# definite leak is an error and makes the process exit 97, which stop() reports.
VALGRIND = os.environ.get("TRIAD_VALGRIND", "")
VALGRIND_EXIT = 97


def valgrind_command(log_prefix):
    """The valgrind words that go before a daemon's command line."""
    extra = VALGRIND.split() if VALGRIND not in ("", "1") else []
    supp = REPO / "tools" / "valgrind.supp"
    return ["valgrind", "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", f"--error-exitcode={VALGRIND_EXIT}",
            "--trace-children=yes", "--num-callers=30", f"--log-file={log_prefix}.%p",
            *([f"--suppressions={supp}"] if supp.exists() else []), *extra]


def valgrind_report(text):
    """Memcheck's error summary line when it counted errors, or None."""
    m = re.search(r"ERROR SUMMARY: ([1-9]\d*) errors?", text)
    return m.group(0) if m else None


def timeout_scale():
    if VALGRIND:
        return 10.0
    return 3.0 if sanitized() else 1.0


def sanitizer_report(text):
    """The first sanitizer report marker found in TEXT, or None."""
    for marker in SANITIZER_MARKERS:
        if marker in text:
            return marker
    return None


# ---------------------------------------------------------------- ports

_handed_out = set()


def _bindable(family, host, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


# Below the kernel's ephemeral range (32768-60999 by default), so neither the
# clients' own source ports nor a machine full of TIME_WAIT sockets (a benchmark
# just ran) can crowd the daemons' ports out. Single ports are picked at random
# from the lower band; ftpd's passive ranges are cut in turn from the upper band
# (random picks of 10 consecutive ports among hundreds of handed-out ones
# failed once a session had run ~400 tests).
PORT_LOW, PORT_SPLIT, PORT_HIGH = 20000, 26000, 32700
_range_cursor = [PORT_SPLIT]


def free_port(also_v6=False):
    """A loopback TCP port that is free now and was not handed out before.

    A random port below PORT_SPLIT that binds on 127.0.0.1 (and on [::1] with
    ALSO_V6, for dual-stack listeners). A later bind by the daemon can still lose a race
    with another process; ``start_daemon`` retries with new ports on EADDRINUSE.
    """
    for _ in range(2000):
        port = random.randrange(PORT_LOW, PORT_SPLIT)
        if port in _handed_out:
            continue
        if not _bindable(socket.AF_INET, "127.0.0.1", port):
            continue
        if also_v6 and not _bindable(socket.AF_INET6, "::1", port):
            continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free port found")


def free_port_range(count=10):
    """LOW, HIGH of COUNT consecutive free loopback ports (ftpd passive_ports).

    Blocks are cut in turn from [PORT_SPLIT, PORT_HIGH); after a whole lap the
    oldest blocks are handed out again (their tests ended long before), still only
    when every port of the block binds."""
    blocks = (PORT_HIGH - PORT_SPLIT) // count
    for _ in range(blocks):
        low = _range_cursor[0]
        _range_cursor[0] = low + count if low + 2 * count <= PORT_HIGH else PORT_SPLIT
        ports = range(low, low + count)
        if all(_bindable(socket.AF_INET, "127.0.0.1", p) for p in ports):
            return low, low + count - 1
    raise RuntimeError("no free port range found")


# ---------------------------------------------------------------- TLS material

def make_certificate(directory):
    """A self-signed P-256 certificate for localhost / 127.0.0.1 in DIRECTORY."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=30)
    return cert, key


# ---------------------------------------------------------------- the temporary deployment

def run_user_ids():
    pw = pwd.getpwnam(RUN_USER)
    return pw.pw_uid, pw.pw_gid


class Layout:
    """One temporary deployment: the document root, a config directory, TLS material.

    base/            0755 (mkdtemp is 0700; the run user must traverse it)
      root/www/index.html
      root/mail/example.org/alice/{tmp,new,cur}
      etc/           configs, log files, access logs, cert.pem, key.pem
    """

    def __init__(self, base, cert, key):
        self.base = Path(base)
        self.root = self.base / "root"
        self.www = self.root / "www"
        self.mail = self.root / "mail"
        self.etc = self.base / "etc"
        for d in (self.www, self.etc):
            d.mkdir(parents=True, exist_ok=True)
        for sub in ("tmp", "new", "cur"):
            (self.mail / "example.org" / "alice" / sub).mkdir(parents=True, exist_ok=True)
        (self.www / "index.html").write_text(
            "<!doctype html>\n<title>triad</title>\n<p>It works.</p>\n")
        self.cert = self.etc / "cert.pem"
        self.key = self.etc / "key.pem"
        shutil.copyfile(cert, self.cert)
        shutil.copyfile(key, self.key)
        self.give_to_run_user()

    def give_to_run_user(self):
        """World-readable tree; as root also owned by the run user (it writes logs, mail)."""
        os.chmod(self.base, 0o755)
        uid, gid = run_user_ids()
        for dirpath, dirnames, filenames in os.walk(self.base):
            for n in dirnames:
                os.chmod(os.path.join(dirpath, n), 0o755)
            for n in filenames:
                os.chmod(os.path.join(dirpath, n), 0o644)
            if IS_ROOT:
                os.chown(dirpath, uid, gid)
                for n in filenames:
                    os.chown(os.path.join(dirpath, n), uid, gid)
        os.chmod(self.key, 0o600)


def make_layout(session_dir, cert, key):
    base = tempfile.mkdtemp(prefix="t-", dir=session_dir)
    return Layout(base, cert, key)


# ---------------------------------------------------------------- the configuration

class TriadConfig:
    """The one INI file of interface.md, with test defaults on free loopback ports.

    ``sections`` maps section name -> {key: value}; a value of None leaves the key out.
    ``render()`` also fills ``lines``: (section, key) -> 1-based line number.
    ``extra`` maps section name -> raw lines appended to that section as written.
    """

    def __init__(self, layout):
        self.layout = layout
        low, high = free_port_range(10)
        self.sections = {
            "global": {
                "root": str(layout.root),
                "user": RUN_USER,
                "tls_cert": str(layout.cert),
                "tls_key": str(layout.key),
                "log": "stderr",
                "log_level": "info",
                "workers": "2",
                "shutdown_timeout": "3s",
                # valgrind cannot run a process under seccomp ("seccomp attributes
                # refused"): memcheck checks memory; the sandbox has its own tests.
                **({"sandbox": "off"} if VALGRIND else {}),
            },
            "httpd": {
                "listen": f"127.0.0.1:{free_port()}",
                "listen_tls": f"127.0.0.1:{free_port()}",
                "docroot": "www",
                "index": "index.html",
                "autoindex": "off",
                "access_log": "access.log",
                "header_timeout": "20s",
                "keepalive_timeout": "75s",
                "max_request_line": "8K",
                "max_header_size": "32K",
                "max_body_size": "1M",
            },
            "ftpd": {
                "listen": f"127.0.0.1:{free_port()}",
                "ftp_root": "www",
                "anonymous": "off",
                "pam_service": "triad",
                "passive_ports": f"{low}-{high}",
                "tls": "optional",
                "idle_timeout": "5m",
            },
            "smtpd": {
                "listen": f"127.0.0.1:{free_port()}",
                "hostname": "mx.example.org",
                "domains": "example.org example.net",
                "maildir_root": "mail",
                "max_message_size": "25M",
                "tls": "optional",
                "pam_service": "triad",
                "max_recipients": "100",
                "timeout": "5m",
            },
        }
        self.extra = {}
        self.lines = {}
        self.path = None
        self.harness_ports = True  # ports chosen here (safe to re-roll on EADDRINUSE)

    def update(self, section, values):
        for k, v in values.items():
            if v is None:
                self.sections[section].pop(k, None)
            else:
                self.sections[section][k] = str(v)
            if k.startswith("listen"):
                self.harness_ports = False

    def reroll_ports(self):
        for name in DAEMONS:
            for key in ("listen", "listen_tls"):
                if key in self.sections[name]:
                    self.sections[name][key] = f"127.0.0.1:{free_port()}"
        low, high = free_port_range(10)
        self.sections["ftpd"]["passive_ports"] = f"{low}-{high}"

    def render(self):
        out, self.lines = [], {}
        out.append("; generated by tests/integration (triad_harness.TriadConfig)")
        for section, values in self.sections.items():
            out.append("")
            out.append(f"[{section}]")
            self.lines[(section, None)] = len(out)
            for k, v in values.items():
                out.append(f"{k} = {v}")
                self.lines[(section, k)] = len(out)
            for raw in self.extra.get(section, ()):
                out.append(raw)
                m = re.match(r"\s*([^=;#\s]+)\s*=", raw)
                if m:
                    self.lines[(section, m.group(1))] = len(out)
        return "\n".join(out) + "\n"

    def copy(self):
        c = TriadConfig.__new__(TriadConfig)
        c.__dict__.update(self.__dict__)
        c.sections = {k: dict(v) for k, v in self.sections.items()}
        c.extra = {k: list(v) for k, v in self.extra.items()}
        c.lines = dict(self.lines)
        return c

    def write(self, path=None):
        path = Path(path or self.path)
        self.path = path
        path.write_text(self.render())
        if IS_ROOT:
            uid, gid = run_user_ids()
            os.chown(path, uid, gid)
        return path

    def line(self, section, key):
        return self.lines[(section, key)]

    def addrs(self, section, key="listen"):
        """[(host, port)] of a host:port list value ([v6] brackets stripped)."""
        return [parse_hostport(item) for item in
                re.split(r"[\s,]+", self.sections[section].get(key, "").strip()) if item]

    def log_path(self):
        """The log file when `log` names a file, else None (stderr, syslog)."""
        target = self.sections["global"].get("log", "stderr")
        if target in ("stderr", "syslog"):
            return None
        p = Path(target)
        return p if p.is_absolute() else self.layout.etc / p


def parse_hostport(text):
    m = re.fullmatch(r"\[([^\]]+)\]:(\d+)|([^:]+):(\d+)", text)
    if not m:
        raise ValueError(f"not host:port: {text!r}")
    host = m.group(1) or m.group(3)
    port = int(m.group(2) or m.group(4))
    if host in ("*", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return host, port


# ---------------------------------------------------------------- the daemon

class DaemonError(AssertionError):
    pass


class Daemon:
    """One running build/triad-<name>; see the module docstring."""

    READY_TIMEOUT = 10.0

    def __init__(self, name, config, conf_path, env=None, prefix=()):
        self.name = name
        self.prefix = list(prefix)  # words run before the binary (an exec wrapper)
        self.config = config
        self.conf_path = Path(conf_path)
        self.binary = binary(name)
        tag = f"{name}-{os.getpid()}-{time.monotonic_ns()}"
        self.stdout_path = config.layout.etc / f"{tag}.stdout"
        self.stderr_path = config.layout.etc / f"{tag}.stderr"
        self.valgrind_prefix = config.layout.etc / f"{tag}.valgrind"
        self.env = build_env(name, env or {})
        self.proc = None
        self.returncode = None
        self._log_start = 0

    # -- views

    @property
    def pid(self):
        return self.proc.pid

    @property
    def ports(self):
        """{'listen': [(host, port), ...], 'listen_tls': [...]} of this daemon's section."""
        return {k: self.config.addrs(self.name, k)
                for k in ("listen", "listen_tls") if k in self.config.sections[self.name]}

    @property
    def addr(self):
        """The first plaintext listener, (host, port)."""
        return self.ports["listen"][0]

    @property
    def port(self):
        return self.addr[1]

    def stderr_text(self):
        try:
            return self.stderr_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stdout_text(self):
        try:
            return self.stdout_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_text(self, since_start=False):
        """The daemon's log: the `log` file when it names one, else its stderr."""
        p = self.config.log_path()
        if p is None:
            return self.stderr_text()
        try:
            with open(p, "rb") as f:
                if since_start:
                    f.seek(self._log_start)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def _log_size(self):
        p = self.config.log_path()
        if p is None:
            p = self.stderr_path
        try:
            return p.stat().st_size
        except FileNotFoundError:
            return 0

    def _log_since(self, offset):
        p = self.config.log_path() or self.stderr_path
        try:
            with open(p, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def describe(self):
        conf = self.conf_path.read_text() if self.conf_path.exists() else ""
        parts = [f"triad-{self.name} pid={self.proc.pid if self.proc else None} "
                 f"rc={self.proc.poll() if self.proc else None}",
                 f"--- config {self.conf_path}\n{conf}",
                 f"--- stderr\n{self.stderr_text()}"]
        if self.config.log_path():
            parts.append(f"--- log {self.config.log_path()}\n{self.log_text()}")
        return "\n".join(parts)

    # -- lifecycle

    def start(self):
        self._log_start = self._log_size()
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            wrap = valgrind_command(self.valgrind_prefix) if VALGRIND else []
            self.proc = subprocess.Popen([*self.prefix, *wrap, str(self.binary), "-c",
                                          str(self.conf_path)],
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                         env=self.env, close_fds=True)
        return self

    def wait_exit(self, timeout=10.0):
        """Waits for the process to exit on its own; returns its status."""
        try:
            self.returncode = self.proc.wait(timeout * timeout_scale())
        except subprocess.TimeoutExpired:
            raise DaemonError(f"triad-{self.name} still running after {timeout}s\n"
                              f"{self.describe()}")
        self.check_sanitizer()
        return self.returncode

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_for(self, predicate, timeout, what):
        """Polls PREDICATE until true; fails early, with stderr, if the daemon exits."""
        deadline = time.monotonic() + timeout * timeout_scale()
        delay = 0.005
        while True:
            result = predicate()
            if result:
                return result
            if not self.running():
                raise DaemonError(f"triad-{self.name} exited ({self.proc.returncode}) "
                                  f"while waiting for {what}\n{self.describe()}")
            if time.monotonic() > deadline:
                raise DaemonError(f"timed out waiting for {what}\n{self.describe()}")
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _ready_line(self):
        text = self._log_since(self._log_start)
        shared = self.config.log_path() is not None
        # \b: "Address already in use" must not count as ready
        return any(re.search(r"\bready\b", line) and (not shared or self.name in line)
                   for line in text.splitlines())

    def wait_ready(self, timeout=READY_TIMEOUT):
        self.wait_for(self._ready_line, timeout, "the 'ready' log line")
        for key, addrs in self.ports.items():
            for host, port in addrs:
                self.wait_for(lambda: can_connect(host, port), timeout,
                              f"{key} {host}:{port} to accept")
        if not self.running():
            raise DaemonError(f"triad-{self.name} exited ({self.proc.returncode}) right after "
                              f"it looked ready\n{self.describe()}")
        return self

    def wait_log(self, pattern, offset=None, timeout=5.0):
        """Waits for a log line matching PATTERN written after OFFSET; returns the new text."""
        rx = re.compile(pattern)
        start = self._log_start if offset is None else offset
        return self.wait_for(
            lambda: (lambda t: t if rx.search(t) else None)(self._log_since(start)),
            timeout, f"a log line matching {pattern!r}")

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    # The line that ends a reload: accepted or refused (not an earlier "reload: reading").
    RELOAD_OUTCOME = r"(?i)reload\b.*\b(done|complete|refus|fail|error|invalid)"

    def reload(self, expect=RELOAD_OUTCOME, timeout=5.0):
        """SIGHUP, then wait for a new log line matching EXPECT; returns the new log text."""
        offset = self._log_size()
        self.send_signal(signal.SIGHUP)
        return self.wait_log(expect, offset=offset, timeout=timeout)

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Sends SIG and asserts exit status 0 within TIMEOUT and no sanitizer report."""
        if timeout is None:
            timeout = 10.0 * timeout_scale()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise DaemonError(f"triad-{self.name} did not exit within {timeout}s of "
                                  f"{signal.Signals(sig).name}\n{self.describe()}")
        self.returncode = self.proc.returncode
        self.check_sanitizer()
        if self.returncode != 0:
            raise DaemonError(f"triad-{self.name} exited with {self.returncode} after "
                              f"{signal.Signals(sig).name}\n{self.describe()}")
        return self.returncode

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def valgrind_text(self):
        """Memcheck's reports for this daemon and the processes it forked."""
        parts = []
        for p in sorted(self.valgrind_prefix.parent.glob(self.valgrind_prefix.name + ".*")):
            parts.append(f"--- {p.name}\n{p.read_text(errors='replace')}")
        return "\n".join(parts)

    def check_sanitizer(self):
        marker = sanitizer_report(self.stderr_text())
        if not marker and VALGRIND:
            marker = valgrind_report(self.valgrind_text())
            if marker:
                raise DaemonError(f"valgrind ({marker}) from triad-{self.name}\n"
                                  f"{self.valgrind_text()}\n{self.describe()}")
        if marker:
            raise DaemonError(f"sanitizer report ({marker}) from triad-{self.name}\n"
                              f"{self.describe()}")


def build_env(name, extra):
    """The daemon's environment: ours, plus EXTRA; ASan's runtime first in any LD_PRELOAD."""
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "PAM_WRAPPER", "PAM_WRAPPER_SERVICE_DIR"):
        env.pop(k, None)
    env.update({k: str(v) for k, v in extra.items()})
    shim = os.environ.get("TRIAD_VALGRIND_PRELOAD")
    if VALGRIND and shim:
        # tests/valgrind/openat2_shim.c: valgrind 3.19 lacks openat2 (see there).
        env["LD_PRELOAD"] = " ".join([shim] + ([env["LD_PRELOAD"]] if env.get("LD_PRELOAD")
                                               else []))
    runtime = asan_runtime(name)
    if runtime:
        # A sanitized daemon must not exit 0 with a report; leaks are reported too.
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        if env.get("LD_PRELOAD"):
            preload = [p for p in re.split(r"[\s:]+", env["LD_PRELOAD"]) if p]
            if runtime not in preload:
                env["LD_PRELOAD"] = " ".join([runtime] + preload)
    return env


def run_cli(name, *args, env=None, timeout=20):
    """build/triad-<name> ARGS to completion: CompletedProcess with text stdout/stderr."""
    r = subprocess.run([str(binary(name)), *map(str, args)], capture_output=True, text=True,
                       env=build_env(name, env or {}), timeout=timeout * timeout_scale(),
                       stdin=subprocess.DEVNULL)
    marker = sanitizer_report(r.stderr)
    if marker:
        raise DaemonError(f"sanitizer report ({marker}) from triad-{name} {args}\n{r.stderr}")
    return r


# ---------------------------------------------------------------- /proc

def proc_status(pid):
    """/proc/PID/status as {field: value string}."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def proc_ids(pid):
    """(uids, gids, groups) of PID: four real/effective/saved/fs ids each, supplementary."""
    st = proc_status(pid)
    return ([int(x) for x in st["Uid"].split()], [int(x) for x in st["Gid"].split()],
            [int(x) for x in st.get("Groups", "").split()])


def children(pid):
    """PIDs whose parent is PID (scans /proc; works without CONFIG_PROC_CHILDREN)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # comm may hold spaces and parentheses: ppid is the 2nd field after the last ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            kids.append(int(entry))
    return kids


def threads(pid):
    return [int(t) for t in os.listdir(f"/proc/{pid}/task")]


# ---------------------------------------------------------------- sd_notify

def check_notify_sequence(d, sock):
    """sd_notify(3) as systemd's Type=notify sees it on SOCK (the NOTIFY_SOCKET datagram
    socket D was started with): READY=1, then RELOADING=1 and READY=1 around a SIGHUP,
    then STOPPING=1 on SIGTERM (D is stopped)."""
    assert sock.recv(256) == b"READY=1"
    d.reload()
    assert sock.recv(256) == b"RELOADING=1"
    assert sock.recv(256) == b"READY=1"
    d.stop()
    assert sock.recv(256) == b"STOPPING=1"


# ---------------------------------------------------------------- raw TCP

def can_connect(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def connect(addr, timeout=5.0):
    host, port = addr
    return socket.create_connection((host, port), timeout=timeout * timeout_scale())


def recv_until_close(sock, timeout=5.0, limit=16 << 20):
    """Everything SOCK sends until it closes; raises TimeoutError if it stays open."""
    deadline = time.monotonic() + timeout * timeout_scale()
    chunks, total = [], 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"peer still open after {timeout}s; got {b''.join(chunks)[:200]!r}")
        sock.settimeout(left)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            # a reset after the reply still leaves what already arrived
            break
        if not data:
            break
        chunks.append(data)
        total += len(data)
        if total > limit:
            raise AssertionError(f"more than {limit} bytes before close")
    return b"".join(chunks)


def tcp_exchange(addr, data=b"", timeout=5.0):
    """Connect to ADDR, send DATA (if any), return all bytes until the peer closes."""
    with connect(addr, timeout) as s:
        if data:
            s.sendall(data)
        return recv_until_close(s, timeout)


class RawClient:
    """One raw TCP connection with a receive buffer and a (scaled) timeout; a context
    manager. LineClient and test_http_helpers.KeepAlive build their framing on it."""

    def __init__(self, addr, timeout=5.0):
        self.sock = connect(addr, timeout)
        self.timeout = timeout * timeout_scale()
        self.buf = b""

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)


class LineClient(RawClient):
    """A CRLF line protocol client over raw TCP (FTP, SMTP), byte-exact on the wire."""

    def send_line(self, line):
        self.send((line.encode() if isinstance(line, str) else line) + b"\r\n")

    def read_line(self):
        """One line without its CRLF; b'' at EOF with nothing buffered."""
        deadline = time.monotonic() + self.timeout
        while b"\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete line; buffered {self.buf[:200]!r}")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                line, self.buf = self.buf, b""
                return line
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def read_reply(self):
        """A (multi-line) FTP/SMTP reply: (code, [lines]); code None at EOF."""
        lines = []
        line = self.read_line()
        if not line:
            return None, lines
        lines.append(line.decode(errors="replace"))
        code = line[:3]
        if line[3:4] == b"-":
            while True:
                line = self.read_line()
                if not line:
                    break
                lines.append(line.decode(errors="replace"))
                if line[:3] == code and line[3:4] == b" ":
                    break
        return int(code) if code.isdigit() else code.decode(errors="replace"), lines

    def command(self, line):
        self.send_line(line)
        return self.read_reply()

    def at_eof(self, timeout=5.0):
        """True when the peer closes (after any pending data) within TIMEOUT."""
        try:
            rest = recv_until_close(self.sock, timeout)
        except TimeoutError:
            return False
        self.buf += rest
        return True


# ---------------------------------------------------------------- PAM (pam_wrapper + pam_matrix)

class PamUser:
    """A pam_wrapper service directory with SERVICE backed by a pam_matrix passdb.

    ``env`` is what a daemon needs to use it (LD_PRELOAD, PAM_WRAPPER,
    PAM_WRAPPER_SERVICE_DIR; see pam_wrapper(1) and pam_matrix(8)). An ``other`` service
    denying everything keeps libpam from complaining about a missing default.
    """

    def __init__(self, directory, user="alice", password="secret", service="triad"):
        self.user, self.password, self.service = user, password, service
        self.dir = Path(directory)
        self.service_dir = self.dir / "services"
        self.service_dir.mkdir(parents=True, exist_ok=True)
        self.passdb = self.dir / "passdb"
        self.passdb.write_text(f"{user}:{password}:{service}\n")
        (self.service_dir / service).write_text(
            f"auth required {PAM_MATRIX} passdb={self.passdb}\n"
            f"account required {PAM_MATRIX} passdb={self.passdb}\n")
        (self.service_dir / "other").write_text(
            f"auth required {PAM_DENY}\naccount required {PAM_DENY}\n")
        self.env = {
            "LD_PRELOAD": "libpam_wrapper.so",
            "PAM_WRAPPER": "1",
            "PAM_WRAPPER_SERVICE_DIR": str(self.service_dir),
        }


# Runs in a child python with the PAM env: pam_start/authenticate/acct_mgmt through the
# preloaded pam_wrapper (symbols looked up in the global scope, where the preload wins).
_PAM_CHECK = r'''
import ctypes, sys
service, user, password = (a.encode() for a in sys.argv[1:4])
ctypes.CDLL("libpam.so.0", mode=ctypes.RTLD_GLOBAL)
g = ctypes.CDLL(None)
g.calloc.restype = ctypes.c_void_p
g.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
g.strdup.restype = ctypes.c_void_p
g.strdup.argtypes = [ctypes.c_char_p]
class Msg(ctypes.Structure):
    _fields_ = [("style", ctypes.c_int), ("msg", ctypes.c_char_p)]
class Resp(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_void_p), ("retcode", ctypes.c_int)]
CONV = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.POINTER(Msg)),
                        ctypes.POINTER(ctypes.POINTER(Resp)), ctypes.c_void_p)
class Conv(ctypes.Structure):
    _fields_ = [("conv", CONV), ("data", ctypes.c_void_p)]
def conv(n, msgs, out, data):
    r = ctypes.cast(g.calloc(n, ctypes.sizeof(Resp)), ctypes.POINTER(Resp))
    for i in range(n):
        if msgs[i].contents.style in (1, 2):
            r[i].resp = g.strdup(password)
    out[0] = r
    return 0
c = Conv(CONV(conv), None)
h = ctypes.c_void_p()
rc = g.pam_start(service, user, ctypes.byref(c), ctypes.byref(h))
if rc == 0:
    rc = g.pam_authenticate(h, 0)
if rc == 0:
    rc = g.pam_acct_mgmt(h, 0)
print("ok" if rc == 0 else "denied %d" % rc)
'''


def pam_check(pam_user, user, password, service=None):
    """Authenticates through PAM_USER's stack in a child process: 'ok' or 'denied N'."""
    env = dict(os.environ)
    env.update(pam_user.env)
    r = subprocess.run(["/usr/bin/python3", "-c", _PAM_CHECK, service or pam_user.service,
                        user, password], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


# ---------------------------------------------------------------- "is it serving?"

def http_get(addr, path="/", timeout=5.0, headers=None):
    """GET PATH over a fresh http.client connection: (status, headers, body)."""
    import http.client
    host, port = addr
    conn = http.client.HTTPConnection(host, port, timeout=timeout * timeout_scale())
    try:
        conn.request("GET", path, headers=headers or {"Host": "localhost"})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def assert_serving(daemon, addr=None):
    """ADDR (default: the daemon's first listener) gives the protocol's normal first
    answer: HTTP 200 for /, FTP/SMTP 220."""
    addr = addr or daemon.addr
    if daemon.name == "httpd":
        status, _, _ = http_get(addr)
        assert status == 200, f"HTTP {status} from {addr}"
    else:
        with LineClient(addr) as c:
            code, lines = c.read_reply()
            assert code == 220, f"{lines} from {addr}"


def pid_alive(pid):
    """PID exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout * timeout_scale()
    delay = 0.005
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)
