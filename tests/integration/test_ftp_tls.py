"""triad-ftpd: FTPS (RFC 4217) - AUTH TLS, PBSZ, PROT, CCC refused, tls = required, PROT P
data connections that must resume the control connection's TLS session, implicit FTPS.

Python's ftplib.FTP_TLS wraps each data socket with a fresh handshake (no session
resumption), so with tls_session_reuse = on (the default) its PROT P transfers are refused
with 522; ReusingFTP_TLS passes the control connection's session, as curl, lftp and
FileZilla do on their own.
"""

import ftplib
import io
import os
import ssl
import subprocess

import pytest

import triad_harness as th
from test_ftp_session import ftpd, login  # noqa: F401 (fixture)


def client_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class ReusingFTP_TLS(ftplib.FTP_TLS):
    """FTP_TLS whose data connections resume the control connection's TLS session."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                            session=self.sock.session)
        return conn, size


def tls_login(d, cls=ReusingFTP_TLS, user="alice", password="secret"):
    f = login(d, user, password, cls=cls, context=client_context())
    f.prot_p()
    return f


def test_prot_p_with_session_reuse(ftpd, triad_root):
    """AUTH TLS (234), PBSZ 0, PROT P; listing, download and upload over TLS data
    connections that resume the control session; the upload is closed with close_notify
    and committed."""
    f = tls_login(ftpd)
    assert f.sock.version() in ("TLSv1.2", "TLSv1.3")
    assert "index.html" in f.nlst()
    buf = io.BytesIO()
    f.retrbinary("RETR index.html", buf.write)
    assert buf.getvalue() == (triad_root.www / "index.html").read_bytes()
    data = os.urandom(3 << 20)
    f.storbinary("STOR tls.bin", io.BytesIO(data))
    assert (triad_root.www / "tls.bin").read_bytes() == data
    f.quit()
    ftpd.wait_log(r'login user="alice" ip=127\.0\.0\.1 tls=yes result=ok')
    ftpd.wait_log(r"cmd=STOR bytes=3145728 .*tls=yes path=\"/tls.bin\" result=complete")


class StrictFTP_TLS(ReusingFTP_TLS):
    """Data connections that raise on an EOF without close_notify (a cut stream)."""

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        conn = self.context.wrap_socket(conn, server_hostname=self.host,
                                        session=self.sock.session,
                                        suppress_ragged_eofs=False)
        return conn, size


def test_download_ends_with_close_notify(ftpd, triad_root):
    """RFC 4217 §10 (and RFC 8446 §6.1): the server ends a PROT P download with
    close_notify, so the client can tell the whole file from a truncated one."""
    data = os.urandom(1 << 20)
    (triad_root.www / "whole.bin").write_bytes(data)
    ctx = client_context()
    if hasattr(ssl, "OP_IGNORE_UNEXPECTED_EOF"):
        ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF  # Python >= 3.10 sets it by default
    f = login(ftpd, cls=StrictFTP_TLS, context=ctx)
    f.prot_p()
    buf = io.BytesIO()
    f.retrbinary("RETR whole.bin", buf.write)  # raises SSLEOFError without close_notify
    assert buf.getvalue() == data
    lines = []
    f.retrlines("LIST", lines.append)
    assert any(ln.endswith(" whole.bin") for ln in lines)
    f.quit()


def test_prot_p_without_reuse_refused(ftpd):
    """A PROT P data connection with a fresh TLS session is refused, the reply saying what
    the client must do; the session stays usable."""
    f = tls_login(ftpd, cls=ftplib.FTP_TLS)
    conn = f.transfercmd("RETR index.html")
    try:
        assert conn.recv(100) == b""
    except OSError:
        pass
    conn.close()
    with pytest.raises(ftplib.error_perm,
                       match=r"^522 Data connections must resume the TLS session"):
        f.voidresp()
    ftpd.wait_log(r"TLS session not resumed")
    assert f.pwd() == "/"
    f.quit()


def test_session_reuse_off(pam_user, start_daemon, triad_root):
    """tls_session_reuse = off lets plain FTP_TLS transfer over PROT P."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"tls_session_reuse": "off"})
    f = tls_login(d, cls=ftplib.FTP_TLS)
    buf = io.BytesIO()
    f.retrbinary("RETR index.html", buf.write)
    assert buf.getvalue() == (triad_root.www / "index.html").read_bytes()
    f.quit()


def test_tls_upload_without_close_notify_is_aborted(ftpd, triad_root):
    """A TLS data connection that ends without close_notify may have been truncated by an
    attacker: the upload is aborted (426) and nothing appears at the target."""
    f = tls_login(ftpd)
    f.voidcmd("TYPE I")
    conn = f.transfercmd("STOR trunc.bin")
    conn.sendall(b"x" * 100_000)
    conn.close()  # SSLSocket.close() sends no close_notify (unwrap() would)
    # 426 (cut transfer), or 425 when the reset (unread session tickets make the close
    # one) cut the handshake as the server saw it: refused either way.
    with pytest.raises(ftplib.error_temp, match=r"^42[56]"):
        f.voidresp()
    assert not (triad_root.www / "trunc.bin").exists()
    f.quit()


def test_tls_required(pam_user, start_daemon, triad_root):
    """tls = required: USER before AUTH TLS is 530; data before PROT P is 521 (RFC 4217
    §9); with PROT P everything works."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"tls": "required"})
    f = ftplib.FTP(timeout=10)
    f.connect(*d.addr)
    with pytest.raises(ftplib.error_perm, match=r"^530"):
        f.sendcmd("USER alice")
    f.close()

    f = ReusingFTP_TLS(timeout=10, context=client_context())
    f.connect(*d.addr)
    f.login("alice", "secret")
    f.sendcmd("PBSZ 0")  # RFC 4217 §9: PROT follows PBSZ (ftplib's prot_c skips it)
    f.prot_c()
    with pytest.raises(ftplib.error_perm, match=r"^521"):
        f.nlst()
    f.prot_p()
    assert "index.html" in f.nlst()
    f.quit()


def test_auth_sequencing(ftpd):
    """PBSZ/PROT need AUTH first (503), PROT needs PBSZ, an unknown mechanism is 504, CCC is
    refused with 534, AUTH twice is 503."""
    c = th.LineClient(ftpd.addr, timeout=10)
    assert c.read_reply()[0] == 220
    assert c.command("PBSZ 0")[0] == 503
    assert c.command("PROT P")[0] == 503
    assert c.command("AUTH KERBEROS_V4")[0] == 504
    c.close()

    f = ftplib.FTP_TLS(timeout=10, context=client_context())
    f.connect(*ftpd.addr)
    f.auth()
    with pytest.raises(ftplib.error_perm, match=r"^503"):
        f.sendcmd("PROT P")
    with pytest.raises(ftplib.error_perm, match=r"^503"):
        f.sendcmd("AUTH TLS")
    f.login("alice", "secret")
    with pytest.raises(ftplib.error_perm, match=r"^534"):
        f.sendcmd("CCC")
    assert f.sendcmd("PBSZ 0") == "200 PBSZ=0"
    with pytest.raises(ftplib.error_perm, match=r"^536"):
        f.sendcmd("PROT S")
    f.quit()


def test_tls_off(pam_user, start_daemon):
    """tls = off: AUTH TLS is refused and FEAT does not offer it."""
    d = start_daemon("ftpd", env=pam_user.env, section_overrides={"tls": "off"})
    f = ftplib.FTP(timeout=10)
    f.connect(*d.addr)
    assert "AUTH TLS" not in f.sendcmd("FEAT")
    with pytest.raises(ftplib.error_perm, match=r"^534"):
        f.sendcmd("AUTH TLS")
    f.quit()


def test_implicit_ftps_with_curl(pam_user, start_daemon, triad_root):
    """listen_tls: implicit FTPS (TLS from the first byte); curl lists, downloads and
    uploads over ftps:// with protected data connections that resume the session."""
    d = start_daemon("ftpd", env=pam_user.env,
                     section_overrides={"listen_tls": f"127.0.0.1:{th.free_port()}"})
    host, port = d.ports["listen_tls"][0]
    base = f"ftps://{host}:{port}"
    run = lambda *a: subprocess.run(["curl", "-sS", "-k", "-u", "alice:secret", *a],  # noqa
                                    capture_output=True, timeout=30)
    r = run(f"{base}/index.html")
    assert r.returncode == 0, r.stderr
    assert r.stdout == (triad_root.www / "index.html").read_bytes()
    src = triad_root.base / "implicit.bin"
    src.write_bytes(os.urandom(200_000))
    r = run("-T", str(src), f"{base}/implicit.bin")
    assert r.returncode == 0, r.stderr
    assert (triad_root.www / "implicit.bin").read_bytes() == src.read_bytes()
    d.wait_log(r"cmd=STOR .*tls=yes .*result=complete")
