"""TLS handshake deadlines (issue 14, fix 1): every handshake ends within
TRIAD_TLS_HANDSHAKE_MS (10 s) or the connection is closed, whatever the idle and
login timeouts say, and closing never waits on an unfinished handshake.

A hostile probe held every implicit-FTPS slot of ftpd with TCP connects that sent
nothing: other clients got 421 for as long as ftpd ran and the abandoned sockets stayed
in CLOSE-WAIT. RFC 8446 sets no handshake timeout; nginx closes after 60 s
(ssl_handshake_timeout), HAProxy after `timeout client`.
"""

import socket
import ssl
import subprocess
import time

import triad_harness as th
from test_http_helpers import httpd
from test_smtp_util import Smtp, smtpd

DEADLINE_S = 10.0


def stalled(addr, n):
    """N TCP connections to ADDR that never send a byte."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(addr, timeout=5)
        socks.append(s)
    return socks


def closed_by_server(s, timeout):
    """True once the server closed S (EOF or reset) within TIMEOUT seconds."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except (socket.timeout, TimeoutError):
        return False


def close_wait(port):
    """Server-side sockets on PORT in CLOSE-WAIT (the peer left, we never closed)."""
    r = subprocess.run(["ss", "-Htn", "state", "close-wait", f"( sport = :{port} )"],
                       capture_output=True, text=True, timeout=10)
    return [line for line in r.stdout.splitlines() if line.strip()]


def test_ftps_implicit_stalled_handshakes_closed(pam_user, start_daemon, triad_root):
    """60 TCP connects to ftpd's listen_tls that send nothing fill max_connections = 60.
    Half the attackers leave at once: their sockets do not stay in CLOSE-WAIT. The rest
    are closed by the server at the handshake deadline, long before the 60 s login
    timeout; then a normal implicit-FTPS client (curl) is served."""
    d = start_daemon("ftpd", env=pam_user.env,
                     section_overrides={"listen_tls": f"127.0.0.1:{th.free_port()}",
                                        "max_connections": "60",
                                        "max_connections_per_ip": "0"})
    host, port = d.ports["listen_tls"][0]
    t0 = time.monotonic()
    socks = stalled((host, port), 60)
    for s in socks[:30]:
        s.close()
    kept = socks[30:]
    limit = (DEADLINE_S + 5) * th.timeout_scale()
    try:
        for s in kept:
            left = max(0.1, limit - (time.monotonic() - t0))
            assert closed_by_server(s, left), "a stalled handshake outlived the deadline"
        elapsed = time.monotonic() - t0
        assert elapsed >= DEADLINE_S - 1, f"closed after {elapsed:.1f}s: not the deadline"
    finally:
        for s in kept:
            s.close()
    for _ in range(50):
        if not close_wait(port):
            break
        time.sleep(0.1)
    assert close_wait(port) == []
    r = subprocess.run(["curl", "-sS", "-k", "-u", "alice:secret",
                        f"ftps://{host}:{port}/index.html"],
                       capture_output=True, timeout=30 * th.timeout_scale())
    assert r.returncode == 0, r.stderr
    assert r.stdout == (triad_root.www / "index.html").read_bytes()


def test_https_and_starttls_stalls_closed(start_daemon, triad_root):
    """HTTPS: connects that send nothing, and one that trickles a ClientHello a byte a
    second, are closed at the deadline while curl is served meanwhile. SMTP: a client
    that stops after STARTTLS's 220 (RFC 3207 §4) is closed at the same deadline, not
    after smtpd's 5-minute command timeout."""
    triad_root.give_to_run_user()
    h = httpd(start_daemon)
    s = smtpd(start_daemon)
    haddr = h.ports["listen_tls"][0]
    t0 = time.monotonic()
    idle = stalled(haddr, 20)
    trickle = socket.create_connection(haddr, timeout=5)
    smtp = Smtp(s.addr)
    assert smtp.command("EHLO x")[0] == 250
    assert smtp.command("STARTTLS")[0] == 220
    hello = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
    # Meanwhile a normal HTTPS client is served.
    r = subprocess.run(["curl", "-sS", "-k", f"https://{haddr[0]}:{haddr[1]}/index.html"],
                       capture_output=True, timeout=30 * th.timeout_scale())
    assert r.returncode == 0, r.stderr
    assert r.stdout == (triad_root.www / "index.html").read_bytes()
    limit = (DEADLINE_S + 5) * th.timeout_scale()
    sent = 0
    trickle.settimeout(0.1)
    closed = False
    while time.monotonic() - t0 < limit:
        if sent < len(hello):
            try:
                trickle.send(hello[sent:sent + 1])
                sent += 1
            except OSError:
                closed = True
                break
        try:
            if trickle.recv(1) == b"":
                closed = True
                break
        except (socket.timeout, TimeoutError):
            pass
        except (ConnectionResetError, ssl.SSLError):
            closed = True
            break
        time.sleep(0.9)
    assert closed, "a trickled ClientHello outlived the deadline"
    try:
        for sock in idle + [smtp.sock]:
            left = max(0.1, limit - (time.monotonic() - t0))
            assert closed_by_server(sock, left)
        assert time.monotonic() - t0 >= DEADLINE_S - 1
    finally:
        for sock in idle:
            sock.close()
        trickle.close()
        smtp.sock.close()
