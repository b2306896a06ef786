"""One certificate lifecycle for all three daemons (issue 13 item 8, docs/tls.md).

Debian's pebble (an ACME server for tests, RFC 8555) issues a certificate to Debian's
certbot, whose webroot mode answers the http-01 challenge (RFC 8555 §8.3) through
triad-httpd: pebble fetches http://www.triad.test:PORT/.well-known/acme-challenge/TOKEN
from httpd's listener (pebble-challtestsrv answers its DNS queries with 127.0.0.1).
certbot then runs dist/certbot/deploy-hook, which copies the certificate where tls_cert
and tls_key point and sends SIGHUP to the three daemons. Checked afterwards:

- new HTTPS, FTPS (AUTH TLS, RFC 4217) and SMTP STARTTLS (RFC 3207) connections present
  the certificate certbot obtained;
- connections established before the reload keep working, each still on the old
  certificate it negotiated.
"""

import ftplib
import http.client
import json
import os
import shutil
import smtplib
import ssl
import subprocess
from pathlib import Path

import pytest

import triad_harness as th

DOMAIN = "www.triad.test"
HOOK = th.REPO / "dist" / "certbot" / "deploy-hook"


def leaf_der(pem_path):
    """DER of the first certificate in a PEM file."""
    text = Path(pem_path).read_text()
    first = text[:text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    return ssl.PEM_cert_to_DER_cert(first + "\n")


def client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test compares the certificates itself
    return ctx


class Proc:
    """A helper process (pebble, its DNS) with its output in a file, killed at the end."""

    def __init__(self, argv, out, env=None):
        self.out = out
        with open(out, "wb") as f:
            self.p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=env)

    def text(self):
        return Path(self.out).read_text(errors="replace")

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)


@pytest.fixture
def acme(tmp_path, certificate):
    """pebble on loopback with pebble-challtestsrv as its DNS; yields (directory URL,
    CA bundle for certbot, set_http_port)."""
    for tool in ("pebble", "pebble-challtestsrv", "certbot"):
        assert shutil.which(tool), f"{tool} missing: make deps installs it"
    procs = []
    dns_port = th.free_port()
    procs.append(Proc(["pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                       "-dns01", f"127.0.0.1:{dns_port}", "-http01", "", "-https01", "",
                       "-tlsalpn01", "", "-management", f"127.0.0.1:{th.free_port()}"],
                      tmp_path / "challtestsrv.out"))
    cert, key = certificate  # pebble's own HTTPS listener (the ACME API)
    state = {}

    def start(http_port):
        api, mgmt = th.free_port(), th.free_port()
        conf = tmp_path / "pebble.json"
        conf.write_text(json.dumps({"pebble": {
            "listenAddress": f"127.0.0.1:{api}",
            "managementListenAddress": f"127.0.0.1:{mgmt}",
            "certificate": str(cert), "privateKey": str(key),
            "httpPort": http_port, "tlsPort": th.free_port(),
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}))
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0",
                   PEBBLE_AUTHZREUSE="0")
        p = Proc(["pebble", "-config", str(conf), "-dnsserver", f"127.0.0.1:{dns_port}"],
                 tmp_path / "pebble.out", env)
        procs.append(p)
        th.wait_until(lambda: th.can_connect("127.0.0.1", api), 15, "pebble to listen")
        state["pebble"] = p
        return f"https://127.0.0.1:{api}/dir"

    yield start, str(cert), state
    for p in procs:
        p.stop()


@pytest.mark.skipif(not th.IS_ROOT, reason="certbot and the deploy hook run as root")
def test_certbot_webroot_through_httpd_reloads_all_three(triad_root, triad_config, acme,
                                                         start_daemon, tmp_path):
    start_acme, ca_bundle, state = acme
    # tls_cert and tls_key where the deploy hook writes them, first holding the old one.
    live = triad_root.etc / "tls-live"
    live.mkdir()
    shutil.copyfile(triad_root.cert, live / "fullchain.pem")
    shutil.copyfile(triad_root.key, live / "privkey.pem")
    triad_root.give_to_run_user()
    os.chmod(live / "privkey.pem", 0o600)
    old = leaf_der(live / "fullchain.pem")
    cfg = triad_config
    cfg.update("global", {"tls_cert": str(live / "fullchain.pem"),
                          "tls_key": str(live / "privkey.pem")})
    cfg.write(triad_root.etc / "certbot.conf")
    daemons = {n: start_daemon(n, config=cfg) for n in th.DAEMONS}
    http_port = daemons["httpd"].addr[1]
    https_addr = cfg.addrs("httpd", "listen_tls")[0]

    # Connections established before the renewal, on the old certificate.
    ctx = client_context()
    old_https = http.client.HTTPSConnection(*https_addr, context=ctx, timeout=10)
    old_https.request("GET", "/", headers={"Host": "localhost"})
    assert old_https.getresponse().read() and \
        old_https.sock.getpeercert(binary_form=True) == old
    old_ftp = ftplib.FTP_TLS(context=ctx)
    old_ftp.connect(*daemons["ftpd"].addr, timeout=10)
    old_ftp.auth()
    assert old_ftp.sock.getpeercert(binary_form=True) == old
    old_smtp = smtplib.SMTP(*daemons["smtpd"].addr, timeout=10)
    old_smtp.starttls(context=ctx)
    assert old_smtp.sock.getpeercert(binary_form=True) == old

    server = start_acme(http_port)
    cb = tmp_path / "certbot"
    offsets = {n: d._log_size() for n, d in daemons.items()}
    env = dict(os.environ, REQUESTS_CA_BUNDLE=ca_bundle, TRIAD_TLS_DIR=str(live),
               TRIAD_TLS_GROUP=str(th.run_user_ids()[1]),
               TRIAD_RELOAD="kill -HUP " + " ".join(str(d.pid) for d in daemons.values()))
    r = subprocess.run(
        ["certbot", "certonly", "--non-interactive", "--agree-tos",
         "--register-unsafely-without-email", "--server", server,
         "--config-dir", str(cb / "etc"), "--work-dir", str(cb / "work"),
         "--logs-dir", str(cb / "log"), "--webroot", "-w", str(triad_root.www),
         "-d", DOMAIN, "--deploy-hook", str(HOOK)],
        capture_output=True, text=True, env=env, timeout=120 * th.timeout_scale())
    assert r.returncode == 0, (f"certbot failed\n{r.stdout}\n{r.stderr}\n"
                               f"--- pebble\n{state['pebble'].text()}\n"
                               f"--- access log\n{(triad_root.etc / 'access.log').read_text()}")
    access = (triad_root.etc / "access.log").read_text()
    assert "GET /.well-known/acme-challenge/" in access and '" 200 ' in access, access
    issued = leaf_der(cb / "etc" / "live" / DOMAIN / "cert.pem")
    assert issued != old and leaf_der(live / "fullchain.pem") == issued
    for n, d in daemons.items():
        d.wait_log(r"reload\b.*\b(done|complete)", offset=offsets[n])

    # New connections: the new certificate, on all three.
    fresh = http.client.HTTPSConnection(*https_addr, context=ctx, timeout=10)
    fresh.request("GET", "/", headers={"Host": "localhost"})
    assert fresh.getresponse().status == 200
    assert fresh.sock.getpeercert(binary_form=True) == issued
    fresh.close()
    ftp = ftplib.FTP_TLS(context=ctx)
    ftp.connect(*daemons["ftpd"].addr, timeout=10)
    ftp.auth()
    assert ftp.sock.getpeercert(binary_form=True) == issued
    ftp.quit()
    with smtplib.SMTP(*daemons["smtpd"].addr, timeout=10) as s:
        s.starttls(context=ctx)
        assert s.sock.getpeercert(binary_form=True) == issued

    # The established ones are untouched: still answering, still on the old certificate.
    old_https.request("GET", "/", headers={"Host": "localhost"})
    assert old_https.getresponse().status == 200
    assert old_https.sock.getpeercert(binary_form=True) == old
    old_https.close()
    assert old_ftp.voidcmd("NOOP").startswith("200")
    assert old_ftp.sock.getpeercert(binary_form=True) == old
    old_ftp.quit()
    old_smtp.ehlo("client.example")
    assert old_smtp.noop()[0] == 250
    assert old_smtp.sock.getpeercert(binary_form=True) == old
    old_smtp.quit()
