"""The Debian package of `make deb` (interface.md, "Operations": the daemons in /usr/sbin,
the units in /usr/lib/systemd/system, gzipped man pages, a commented conffile
/etc/triad/triad.conf, /etc/logrotate.d/triad, a `triad` system user made at install).

Run by `make test-deb` (it builds the package first; TRIAD_DEB_DIR names build/deb):

- lintian reports no error and no warning (overrides carry their reason in
  debian/triad.lintian-overrides);
- the package holds what interface.md lists, with the right conffiles;
- `dpkg --root` installs it into a throw-away root, running its maintainer scripts
  without chroot (DPKG_ROOT): systemd-sysusers makes the `triad` user, in group ssl-cert,
  systemd-tmpfiles makes /srv/triad/www (with the default page) and /var/log/triad for it,
  and the services are enabled;
- the daemons start from that root's /usr/sbin with the shipped configuration, changed
  only where the host must differ (its paths prefixed with the throw-away root, loopback
  ports), and serve HTTP, HTTPS, FTP with AUTH TLS and SMTP with STARTTLS. They run in a
  mount namespace where /etc/passwd and /etc/group are the throw-away root's, so
  `user = triad` is the package's user: it owns the directories tmpfiles.d made, and it
  reads the key only through its supplementary group ssl-cert (a certificate made here
  stands in for the snakeoil one, with the snakeoil files' modes and group). Each unit's
  ExecStartPre check passes on that configuration; the shipped logrotate file rotates
  their logs and they reopen them on the SIGHUP.
"""

import ftplib
import gzip
import os
import re
import shutil
import signal
import smtplib
import ssl
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import triad_harness as th  # noqa: E402

DEB_DIR = Path(os.environ.get("TRIAD_DEB_DIR") or th.REPO / "build" / "deb")


def the_deb():
    debs = sorted(DEB_DIR.glob("triad_*.deb"))
    assert len(debs) == 1, f"expected one triad_*.deb in {DEB_DIR} (make deb): {debs}"
    return debs[0]


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run(argv, **kw)


def test_lintian_no_errors_no_warnings():
    changes = sorted(DEB_DIR.glob("triad_*.changes"))
    target = changes[0] if changes else the_deb()
    r = run(["lintian", "--fail-on", "error,warning", "--display-info", str(target)])
    findings = [l for l in r.stdout.splitlines() if re.match(r"[EW]: ", l)]
    assert r.returncode == 0 and not findings, r.stdout + r.stderr


def test_contents_and_conffiles(tmp_path):
    deb = the_deb()
    listing = run(["dpkg-deb", "-c", str(deb)], check=True).stdout
    paths = {line.split()[5].lstrip(".") for line in listing.splitlines()}
    expect = {f"/usr/sbin/triad-{n}" for n in th.DAEMONS}
    expect |= {f"/usr/lib/systemd/system/triad-{n}.service" for n in th.DAEMONS}
    expect |= {"/usr/lib/systemd/system/triad.target"}
    expect |= {f"/usr/lib/systemd/system/triad-{u}.socket"
               for u in ("httpd", "httpd-tls", "ftpd", "ftpd-tls", "smtpd")}
    expect |= {f"/usr/share/man/man8/triad-{n}.8.gz" for n in th.DAEMONS}
    expect |= {"/usr/share/man/man5/triad.conf.5.gz", "/etc/triad/triad.conf",
               "/etc/logrotate.d/triad", "/etc/pam.d/triad", "/usr/lib/sysusers.d/triad.conf",
               "/usr/lib/tmpfiles.d/triad.conf", "/usr/share/triad/www/index.html",
               "/usr/lib/triad/certbot-deploy-hook"}
    assert not expect - paths, f"missing from the package: {sorted(expect - paths)}"
    assert not [p for p in paths if p.startswith("/srv/")], "Debian policy: nothing in /srv"
    assert not [p for p in paths if p.startswith("/lib/")], "units belong in /usr/lib"

    ctl = tmp_path / "control"
    run(["dpkg-deb", "-e", str(deb), str(ctl)], check=True)
    conffiles = set((ctl / "conffiles").read_text().split())
    assert {"/etc/triad/triad.conf", "/etc/logrotate.d/triad", "/etc/pam.d/triad"} <= conffiles

    # The man pages are gzipped copies of man/ (Debian policy 12.1).
    root = tmp_path / "x"
    run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    page = root / "usr/share/man/man5/triad.conf.5.gz"
    assert gzip.decompress(page.read_bytes()) == (th.REPO / "man/triad.conf.5").read_bytes()
    # A release build: none of the test suite's sandbox hooks (sandbox.h, TEST_HOOKS=0).
    for n in th.DAEMONS:
        assert b"TRIAD_SANDBOX_PROBE" not in (root / f"usr/sbin/triad-{n}").read_bytes(), n
    # The shipped configuration is the commented one from debian/.
    shipped = (root / "etc/triad/triad.conf").read_text()
    assert shipped == (th.REPO / "debian/triad.conf").read_text()
    assert shipped.count("\n;") > 20


# ---------------------------------------------------------------- install into a root

def minimal_root(base):
    """An empty system root that dpkg and systemd-sysusers can work in."""
    r = base / "root"
    for d in ("var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers",
              "etc", "usr/sbin", "var/log"):
        (r / d).mkdir(parents=True, exist_ok=True)
    (r / "var/lib/dpkg/status").write_text("")
    (r / "var/lib/dpkg/available").write_text("")
    (r / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (r / "etc/group").write_text("root:x:0:\nadm:x:4:\nssl-cert:x:108:\n")
    (r / "etc/shadow").write_text("root:*:19000:0:99999:7:::\n")
    (r / "etc/gshadow").write_text("root:*::\nadm:*::\nssl-cert:!::\n")
    os.chmod(r / "etc/shadow", 0o640)
    os.chmod(r / "etc/gshadow", 0o640)
    return r


@pytest.fixture(scope="module")
def workdir():
    """A directory the run user can traverse (pytest's own tmp is 0700 root)."""
    d = Path(tempfile.mkdtemp(prefix="triad-deb-"))
    os.chmod(d, 0o755)
    yield d
    if not os.environ.get("TRIAD_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def installed(workdir):
    root = minimal_root(workdir)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # Chrootless maintainer scripts see the host's /run: hide /run/systemd so that on a
    # host where systemd runs they neither daemon-reload it nor start units there.
    dpkg = ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
            "--log=/dev/null", "-i", str(the_deb())]
    script = ("[ -d /run/systemd ] && mount -t tmpfs none /run/systemd; "
              'exec "$@"')
    r = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             *dpkg], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    return root


def passwd_entry(root, name):
    for line in (root / "etc/passwd").read_text().splitlines():
        f = line.split(":")
        if f[0] == name:
            return f
    return None


@pytest.mark.skipif(not th.IS_ROOT, reason="dpkg --root installs files owned by root")
def test_install_makes_user_dirs_and_enables_units(installed):
    root = installed
    status = run(["dpkg", f"--root={root}", "-s", "triad"], check=True).stdout
    assert "Status: install ok installed" in status
    user = passwd_entry(root, "triad")
    assert user, (root / "etc/passwd").read_text()
    uid, gid, home, shell = int(user[2]), int(user[3]), user[5], user[6]
    assert 0 < uid < 1000 and shell == "/usr/sbin/nologin" and home == "/srv/triad"
    groups = {l.split(":")[0]: l.split(":")[3].split(",")
              for l in (root / "etc/group").read_text().splitlines()}
    assert "triad" in groups["ssl-cert"], groups  # reads the snakeoil key (0640 root:ssl-cert)
    for path, mode in (("srv/triad/www", 0o755), ("srv/triad/mail", 0o750),
                       ("var/log/triad", 0o750)):
        st = (root / path).stat()
        assert (st.st_uid, st.st_mode & 0o7777) == (uid, mode), path
    assert (root / "srv/triad/www/index.html").read_text().startswith("<!doctype html>")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    for n in th.DAEMONS:
        link = wants / f"triad-{n}.service"
        assert link.is_symlink() and os.readlink(link) == \
            f"/usr/lib/systemd/system/triad-{n}.service"
    # Socket activation is the admin's choice: the socket units are not enabled; nor is
    # triad.target, which Wants= all three and would start one its admin disabled.
    assert not list((root / "etc/systemd/system").rglob("*.socket"))
    assert not list((root / "etc/systemd/system").rglob("triad.target"))


def set_in_section(text, section, key, value):
    """TEXT with the line `KEY = ...` of [SECTION] set to VALUE; (text, lines changed)."""
    out, current, n = [], None, 0
    for line in text.split("\n"):
        m = re.match(r"^\[(\w+)\]", line)
        if m:
            current = m.group(1)
        elif current == section and re.match(rf"^{key} = ", line):
            line, n = f"{key} = {value}", n + 1
        out.append(line)
    return "\n".join(out), n


def adapted_config(root, ports):
    """The shipped configuration with the throw-away root's paths and loopback ports."""
    text = (root / "etc/triad/triad.conf").read_text()
    for key_ in ("root", "tls_cert", "tls_key", "log", "access_log"):
        text, n = re.subn(rf"^({key_} = )(/.*)$", rf"\g<1>{root}\g<2>", text, count=1,
                          flags=re.M)
        assert n == 1, f"the shipped config sets no absolute {key_}"
    assert re.search(r"^user = triad$", text, re.M)
    for section, key_, value in (("httpd", "listen", f"127.0.0.1:{ports['http']}"),
                                 ("httpd", "listen_tls", f"127.0.0.1:{ports['https']}"),
                                 ("ftpd", "listen", f"127.0.0.1:{ports['ftp']}"),
                                 ("ftpd", "passive_ports", ports["pasv"]),
                                 ("smtpd", "listen", f"127.0.0.1:{ports['smtp']}")):
        text, n = set_in_section(text, section, key_, value)
        assert n == 1, f"the shipped config has no {key_} in [{section}]"
    return text


def in_root_accounts(root, argv):
    """ARGV in a mount namespace whose /etc/passwd and /etc/group are ROOT's."""
    script = (f"mount --bind {root}/etc/passwd /etc/passwd && "
              f"mount --bind {root}/etc/group /etc/group && exec \"$@\"")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]


def snakeoil_stand_in(root, tmp_path):
    """A certificate at the snakeoil paths inside ROOT, with the ssl-cert package's modes:
    the key 0640 root:ssl-cert in a 0710 root:ssl-cert directory."""
    ssl_cert_gid = int(next(l.split(":")[2] for l in (root / "etc/group").read_text()
                            .splitlines() if l.startswith("ssl-cert:")))
    cert, key = th.make_certificate(tmp_path / "tls")
    certs, private = root / "etc/ssl/certs", root / "etc/ssl/private"
    certs.mkdir(parents=True, exist_ok=True)
    private.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cert, certs / "ssl-cert-snakeoil.pem")
    shutil.copyfile(key, private / "ssl-cert-snakeoil.key")
    os.chmod(certs / "ssl-cert-snakeoil.pem", 0o644)
    os.chown(private, 0, ssl_cert_gid)
    os.chmod(private, 0o710)
    os.chown(private / "ssl-cert-snakeoil.key", 0, ssl_cert_gid)
    os.chmod(private / "ssl-cert-snakeoil.key", 0o640)
    for d in (root, root / "etc", root / "etc/ssl"):
        os.chmod(d, 0o755)
    return certs / "ssl-cert-snakeoil.pem"


@pytest.mark.skipif(not th.IS_ROOT, reason="the daemons start as root and drop to a user")
def test_daemons_start_from_the_installed_package(installed, workdir):
    root = installed
    tmp_path = workdir / "run"
    tmp_path.mkdir()
    cert = snakeoil_stand_in(root, tmp_path)
    uid = int(passwd_entry(root, "triad")[2])
    low, high = th.free_port_range(10)
    ports = {"http": th.free_port(), "https": th.free_port(), "ftp": th.free_port(),
             "smtp": th.free_port(), "pasv": f"{low}-{high}"}
    conf = tmp_path / "triad.conf"
    conf.write_text(adapted_config(root, ports))
    os.chmod(conf, 0o644)
    os.chmod(tmp_path, 0o755)

    procs = {}
    log = root / "var/log/triad/triad.log"
    try:
        for n in th.DAEMONS:
            unit = (root / f"usr/lib/systemd/system/triad-{n}.service").read_text()
            pre = re.search(r"^ExecStartPre=(.*)$", unit, re.M).group(1).split()
            start = re.search(r"^ExecStart=(.*)$", unit, re.M).group(1).split()
            assert pre[0] == start[0] == f"/usr/sbin/triad-{n}"
            fix = lambda argv: [str(root) + a if a.startswith("/usr/sbin/") else
                                str(conf) if a == "/etc/triad/triad.conf" else a for a in argv]
            r = run(in_root_accounts(root, fix(pre)), timeout=30)
            assert r.returncode == 0 and "configuration is valid" in r.stdout, r.stderr
            procs[n] = subprocess.Popen(in_root_accounts(root, fix(start)), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL,
                                        stderr=open(tmp_path / f"{n}.err", "wb"))
        for n, port in (("httpd", ports["http"]), ("httpd", ports["https"]),
                        ("ftpd", ports["ftp"]), ("smtpd", ports["smtp"])):
            th.wait_until(lambda: th.can_connect("127.0.0.1", port), 10,
                          f"triad-{n} on {port}")
        ctx = ssl.create_default_context(cafile=str(cert))
        page = urllib.request.urlopen(f"http://127.0.0.1:{ports['http']}/", timeout=10).read()
        assert page == (root / "usr/share/triad/www/index.html").read_bytes()
        page = urllib.request.urlopen(f"https://localhost:{ports['https']}/", context=ctx,
                                      timeout=10).read()
        assert b"triad-httpd is serving this page" in page
        ftp = ftplib.FTP_TLS(context=ctx)
        ftp.connect("127.0.0.1", ports["ftp"], timeout=10)
        assert ftp.auth().startswith("234")
        ftp.quit()
        with smtplib.SMTP("127.0.0.1", ports["smtp"], timeout=10) as s:
            code, _ = s.starttls(context=ssl._create_unverified_context())
            assert code == 220
            # `domains =` (empty) in the shipped file: no mail is accepted.
            s.ehlo("client.example")
            s.mail("a@example.net")
            code, _ = s.rcpt("b@example.org")
            assert code == 550
        text = log.read_text()
        for n in th.DAEMONS:
            assert re.search(rf"{n}\[main\].*ready: triad-{n}", text), text
            # sandbox = on by default (triad.conf(5)): Landlock and seccomp on every thread.
            assert re.search(rf"{n}\[main\].*sandbox: Landlock ABI \d+ applied", text), text
            for tid in os.listdir(f"/proc/{procs[n].pid}/task"):
                st = th.proc_status(f"{procs[n].pid}/task/{tid}")
                assert (st["NoNewPrivs"], st["Seccomp"]) == ("1", "2"), (n, tid, st)

        # The shipped logrotate file (run with the root's accounts: `create ... triad adm`),
        # with the throw-away root's paths and the SIGHUP sent to the daemons' pids
        # (systemctl has no running systemd to talk to here).
        lr = (root / "etc/logrotate.d/triad").read_text()
        lr = lr.replace("/var/log/triad/", f"{root}/var/log/triad/")
        lr = re.sub(r"postrotate\n.*?endscript",
                    "postrotate\n\t\tkill -HUP " + " ".join(str(p.pid) for p in
                                                            procs.values()) + "\n\tendscript",
                    lr, flags=re.S)
        (tmp_path / "logrotate.conf").write_text(lr)
        r = run(in_root_accounts(root, ["logrotate", "-f", "-s", str(tmp_path / "lr.state"),
                                        str(tmp_path / "logrotate.conf")]))
        assert r.returncode == 0, r.stdout + r.stderr
        assert (root / "var/log/triad/triad.log.1").exists()
        th.wait_until(lambda: log.exists() and log.read_text().count("reload") >= 3, 10,
                      "the three daemons to log their reload into the new file")
        assert log.stat().st_uid == uid
    finally:
        for n, p in procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for n, p in procs.items():
            try:
                assert p.wait(15) == 0, (tmp_path / f"{n}.err").read_text()
            finally:
                if p.poll() is None:
                    p.kill()
