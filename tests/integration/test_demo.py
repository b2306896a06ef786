"""`make run`'s demo, started the way `make run` starts it, checked with real clients.

tools/run-demo.sh writes the demo configuration (two sites: "main" for 127.0.0.1 with
FTP login demo and mail for example.org, "local" for localhost with FTP login local,
mail for localhost.example and its own certificate) and starts the three daemons. Here
it runs with --detach on free ports (TRIAD_DEMO_*_PORT) and its own directory
(TRIAD_DEMO_DIR), so the test never touches build/demo/ or the fixed ports; at the end
--stop must stop all three cleanly. What a newcomer does after `make run` must work:
browse both sites over HTTP and HTTPS, log in over FTP as each demo user and see the
upload served at once, send mail to each site's domain, and log in over SMTP AUTH.
The demo broke unnoticed once (every login failed for a whole session): these checks
fail when it does.
"""

import ftplib
import io
import os
import smtplib
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import triad_harness as th

DEMO_SRC = th.REPO / "demo"
SCRIPT = th.REPO / "tools" / "run-demo.sh"


class Demo:
    def __init__(self, base):
        self.dir = Path(base)
        self.http = self.https = self.ftp = self.smtp = None
        self.pasv = None

    def env(self):
        env = dict(os.environ)
        env.update({
            "TRIAD_DEMO_DIR": str(self.dir),
            "TRIAD_DEMO_HTTP_PORT": str(self.http),
            "TRIAD_DEMO_HTTPS_PORT": str(self.https),
            "TRIAD_DEMO_FTP_PORT": str(self.ftp),
            "TRIAD_DEMO_SMTP_PORT": str(self.smtp),
            "TRIAD_DEMO_PASV_PORTS": "%d-%d" % self.pasv,
        })
        return env

    def run(self, *args, timeout=60):
        return subprocess.run([str(SCRIPT), *args, str(th.BUILD)], cwd=th.REPO, env=self.env(),
                              capture_output=True, text=True, timeout=timeout)

    def start(self):
        # The daemons listen on 127.0.0.1 and [::1]; a port another process grabbed
        # between the pick and the bind gets new ports (as start_daemon does).
        for attempt in range(3):
            self.http, self.https, self.ftp, self.smtp = (
                th.free_port(also_v6=True) for _ in range(4))
            self.pasv = th.free_port_range(10)
            r = self.run("--detach")
            if r.returncode == 0:
                return r
            if "in use" not in r.stderr or attempt == 2:
                pytest.fail(f"run-demo.sh --detach failed ({r.returncode}):\n"
                            f"{r.stdout}\n{r.stderr}", pytrace=False)

    def log(self, daemon):
        return (self.dir / f"{daemon}.log").read_text(errors="replace")

    def maildir(self, domain, user):
        return self.dir / "root" / "mail" / domain / user / "new"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("demo")
    os.chmod(base, 0o755)
    d = Demo(base / "demo")
    r = d.start()
    assert f"http://127.0.0.1:{d.http}/" in r.stdout  # the banner names the real ports
    pids = (d.dir / "demo.pids").read_text().split()
    assert len(pids) == 3
    try:
        yield d
    finally:
        stop = d.run("--stop")
        logs = {n: d.log(n) for n in th.DAEMONS}
        assert stop.returncode == 0, f"run-demo.sh --stop: {stop.stderr}"
        for p in pids:  # --stop returned only after they were gone
            assert not Path(f"/proc/{p}").exists() or \
                Path(f"/proc/{p}/stat").read_text().split(") ")[1][0] == "Z"
        for name, text in logs.items():
            assert "stopped" in text, f"triad-{name} did not stop cleanly:\n{text[-2000:]}"
            assert th.sanitizer_report(text) is None, text
        assert not (d.dir / "demo.pids").exists()


def curl(*args):
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "-o", "-",
                        "-w", "\n%{http_code}", *args],
                       capture_output=True, timeout=30)
    body, _, code = r.stdout.rpartition(b"\n")
    return r.returncode, int(code or 0), body


def site_file(site, name):
    return (DEMO_SRC / ("www" if site == "main" else "localhost") / name).read_bytes()


# ---------------------------------------------------------------- HTTP and HTTPS

def test_http_two_sites_by_host(demo):
    """RFC 9110 §7.2: the Host picks the site; 127.0.0.1 and localhost differ."""
    rc, code, body = curl(f"http://127.0.0.1:{demo.http}/")
    assert (rc, code) == (0, 200)
    assert body == site_file("main", "index.html")
    rc, code, body = curl(f"http://localhost:{demo.http}/")
    assert (rc, code) == (0, 200)
    assert body == site_file("local", "index.html")
    assert site_file("main", "index.html") != site_file("local", "index.html")
    # The local site's clean URLs and its own 404 page (docs/sites.md).
    rc, code, body = curl(f"http://localhost:{demo.http}/about")
    assert (code, body) == (200, site_file("local", "about.html"))
    rc, code, body = curl(f"http://localhost:{demo.http}/no-such-page")
    assert (code, body) == (404, site_file("local", "404.html"))
    rc, code, body = curl(f"http://127.0.0.1:{demo.http}/about.html")
    assert code == 404  # main has no such file: the sites' trees are apart


def test_https_each_site_its_certificate(demo):
    """RFC 6066 §3: SNI "localhost" gets the local site's own certificate, the
    address 127.0.0.1 the main one; each verifies against its own file only."""
    tls = demo.dir / "tls"
    rc, code, body = curl("--cacert", str(tls / "cert.pem"), f"https://127.0.0.1:{demo.https}/")
    assert (rc, code) == (0, 200)
    assert body == site_file("main", "index.html")
    rc, code, body = curl("--cacert", str(tls / "localhost.pem"),
                          f"https://localhost:{demo.https}/")
    assert (rc, code) == (0, 200)
    assert body == site_file("local", "index.html")
    # The main certificate also names localhost, but SNI localhost is not served with it.
    rc, _, _ = curl("--cacert", str(tls / "cert.pem"), f"https://localhost:{demo.https}/")
    assert rc == 60  # CURLE_PEER_FAILED_VERIFICATION


# ---------------------------------------------------------------- FTP

@pytest.mark.parametrize("user,host", [("demo", "127.0.0.1"), ("local", "localhost")])
def test_ftp_login_upload_served_at_once(demo, user, host):
    """RFC 959 STOR as each demo user: the file lands in that user's site and
    httpd serves it on the next request; the other site does not have it."""
    name = f"up-{user}-{uuid.uuid4().hex[:8]}.txt"
    data = f"uploaded by {user}\n".encode() * 100
    with ftplib.FTP() as f:
        f.connect("127.0.0.1", demo.ftp, timeout=10)
        assert f.login(user, user).startswith("230")
        assert f.storbinary(f"STOR {name}", io.BytesIO(data)).startswith("226")
        assert name in f.nlst()
    rc, code, body = curl(f"http://{host}:{demo.http}/{name}")
    assert (rc, code, body) == (0, 200, data)
    other = "localhost" if host == "127.0.0.1" else "127.0.0.1"
    _, code, _ = curl(f"http://{other}:{demo.http}/{name}")
    assert code == 404


def test_ftps_upload_and_wrong_password(demo, tmp_path):
    """RFC 4217 AUTH TLS (tls = optional) with curl, whose data connections
    resume the control connection's session: local/local uploads over PROT P
    and the file is served over HTTPS by its site; a wrong password gets 530
    (RFC 959 §4.2), curl's CURLE_LOGIN_DENIED."""
    name = f"tls-{uuid.uuid4().hex[:8]}.bin"
    src = tmp_path / name
    src.write_bytes(os.urandom(200_000))
    cert = str(demo.dir / "tls" / "cert.pem")
    rc, _, _ = curl("--ssl-reqd", "--cacert", cert, "-u", "local:local", "-T", str(src),
                    f"ftp://127.0.0.1:{demo.ftp}/{name}")
    assert rc == 0
    rc, code, body = curl("--cacert", str(demo.dir / "tls" / "localhost.pem"),
                          f"https://localhost:{demo.https}/{name}")
    assert (rc, code) == (0, 200)
    assert body == src.read_bytes()
    rc, _, _ = curl("--ssl-reqd", "--cacert", cert, "-u", "local:wrong",
                    f"ftp://127.0.0.1:{demo.ftp}/")
    assert rc == 67  # CURLE_LOGIN_DENIED: 530


# ---------------------------------------------------------------- SMTP

def wait_for_message(maildir, marker, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in maildir.iterdir():
            if marker in p.read_bytes():
                return p
        time.sleep(0.05)
    return None


@pytest.mark.parametrize("rcpt,domain,box", [
    ("postmaster@example.org", "example.org", "postmaster"),
    ("info@localhost.example", "localhost.example", "info"),
])
def test_smtp_delivers_to_each_site_domain(demo, rcpt, domain, box):
    """RFC 5321 §4.1.1.3/§4.1.1.4: RCPT and DATA get 250 and the message is in
    that mailbox's Maildir new/, not in the other site's."""
    marker = uuid.uuid4().hex.encode()
    msg = b"From: visitor@example.net\r\nSubject: demo\r\n\r\n" + marker + b"\r\n"
    with smtplib.SMTP("127.0.0.1", demo.smtp, timeout=10) as s:
        s.ehlo("client.example.net")
        code, _ = s.mail("visitor@example.net")
        assert code == 250
        code, _ = s.rcpt(rcpt)
        assert code == 250
        code, _ = s.data(msg)
        assert code == 250
    assert wait_for_message(demo.maildir(domain, box), marker) is not None
    others = [demo.maildir("example.org", "postmaster"), demo.maildir("localhost.example", "info")]
    for other in others:
        if other != demo.maildir(domain, box):
            assert all(marker not in p.read_bytes() for p in other.iterdir())


def test_smtp_unknown_domain_refused(demo):
    """RFC 5321 §4.1.1.3: a domain the demo does not take is refused at RCPT (5xx)."""
    with smtplib.SMTP("127.0.0.1", demo.smtp, timeout=10) as s:
        s.ehlo("client.example.net")
        s.mail("visitor@example.net")
        code, _ = s.rcpt("someone@not-the-demo.example")
        assert 500 <= code < 600


def test_smtp_auth_after_starttls(demo):
    """RFC 4954 §4 with RFC 3207: AUTH is offered only after STARTTLS; demo/demo
    and local/local log in (235). (A wrong password is refused in the FTPS test:
    each refusal costs the daemon's failed-login delay.)"""
    ctx = ssl.create_default_context(cafile=str(demo.dir / "tls" / "cert.pem"))
    ctx.check_hostname = False
    for user in ("demo", "local"):
        with smtplib.SMTP("127.0.0.1", demo.smtp, timeout=10) as s:
            s.ehlo("client.example.net")
            assert not s.has_extn("auth")
            s.starttls(context=ctx)
            s.ehlo("client.example.net")
            assert "PLAIN" in s.esmtp_features.get("auth", "").upper()
            code, _ = s.login(user, user)
            assert code == 235
