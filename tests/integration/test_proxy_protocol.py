"""PROXY protocol v1 and v2 on all three daemons (interface.md "Operations":
`proxy_protocol`; HAProxy's doc/proxy-protocol.txt §2.1 text and §2.2 binary header).

From a listed source a connection must begin with the header, nothing is sent before
it (no greeting), it comes before TLS, and the address it carries is the client's:
access log, Received:, FTP PORT checks, per-IP limits. LOCAL / UNKNOWN keep the real
endpoints. An invalid header, or none within 5 s, closes the connection. From any other
source a PROXY line is ordinary input: httpd 400, ftpd and smtpd 500.
"""

import socket
import ssl
import struct
import time

import pytest

import triad_harness as th

SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src="192.0.2.7", dst="198.51.100.1", sport=40000, dport=443):
    fam = "TCP6" if ":" in src else "TCP4"
    return f"PROXY {fam} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src="192.0.2.7", dst="198.51.100.1", sport=40000, dport=443, local=False, tlvs=b""):
    if local:
        return SIG + b"\x20\x00" + struct.pack("!H", len(tlvs)) + tlvs
    if ":" in src:
        body = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
                + struct.pack("!HH", sport, dport))
        fam = b"\x21"
    else:
        body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
        fam = b"\x11"
    body += tlvs
    return SIG + b"\x21" + fam + struct.pack("!H", len(body)) + body


def start(start_daemon, name, trusted="127.0.0.1", env=None, **section):
    section.setdefault("proxy_protocol", trusted)
    return start_daemon(name, section_overrides=section, env=env)


def access_log(root, n=1):
    path = root.etc / "access.log"
    th.wait_until(lambda: path.exists() and len(path.read_text().splitlines()) >= n, 5,
                  "access log lines")
    return path.read_text().splitlines()


def tls_client(sock):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(sock, server_hostname="localhost")


GET = b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"

# ------------------------------------------------------------------ httpd


def test_httpd_v1_address_in_access_log(start_daemon, triad_root):
    d = start(start_daemon, "httpd")
    reply = th.tcp_exchange(d.addr, v1("192.0.2.7") + GET)
    assert reply.startswith(b"HTTP/1.1 200 "), reply[:100]
    assert access_log(triad_root)[-1].startswith("192.0.2.7 - - ")


def test_httpd_v2_before_tls_ipv6_client(start_daemon, triad_root):
    """The header comes before the TLS ClientHello (HAProxy send-proxy-v2 in TCP mode)."""
    d = start(start_daemon, "httpd")
    host, port = d.ports["listen_tls"][0]
    with socket.create_connection((host, port), timeout=5) as raw:
        raw.sendall(v2("2001:db8::7", "2001:db8::1", 50000, port))
        with tls_client(raw) as s:
            s.sendall(GET)
            reply = th.recv_until_close(s)
    assert reply.startswith(b"HTTP/1.1 200 "), reply[:100]
    assert access_log(triad_root)[-1].startswith("2001:db8::7 - - ")


def test_httpd_header_split_across_segments(start_daemon, triad_root):
    """TCP may deliver the header in pieces (§2.1); the request after it is not lost."""
    d = start(start_daemon, "httpd")
    hdr = v2("192.0.2.9") + GET
    with th.connect(d.addr) as s:
        for piece in (hdr[:5], hdr[5:14], hdr[14:20], hdr[20:]):
            s.sendall(piece)
            time.sleep(0.05)
        reply = th.recv_until_close(s)
    assert reply.startswith(b"HTTP/1.1 200 "), reply[:100]
    assert access_log(triad_root)[-1].startswith("192.0.2.9 - - ")


def test_httpd_local_and_unknown_keep_real_address(start_daemon, triad_root):
    d = start(start_daemon, "httpd")
    assert th.tcp_exchange(d.addr, v2(local=True) + GET).startswith(b"HTTP/1.1 200 ")
    assert th.tcp_exchange(d.addr, b"PROXY UNKNOWN\r\n" + GET).startswith(b"HTTP/1.1 200 ")
    lines = access_log(triad_root, 2)
    assert all(line.startswith("127.0.0.1 - - ") for line in lines[-2:]), lines


@pytest.mark.parametrize("data", [
    GET,                                                        # no header at all
    b"PROXY TCP4 192.0.2.7 198.51.100.1 1 2\n" + GET,           # bare LF (§2.1)
    b"PROXY TCP4 192.0.2.07 198.51.100.1 1 2\r\n" + GET,        # leading zero
    SIG + b"\x31\x11\x00\x0c" + b"\x00" * 12 + GET,             # version 3
    SIG + b"\x21\x11\x04\x00" + b"\x00" * 1024,                 # longer than the bound
])
def test_httpd_invalid_header_closes(start_daemon, data):
    d = start(start_daemon, "httpd")
    assert th.tcp_exchange(d.addr, data) == b""
    d.wait_log(r"proxy protocol: invalid header from 127\.0\.0\.1; closed")


# ------------------------------------------------------------------ untrusted sources


@pytest.mark.parametrize("name,expect", [("httpd", b"HTTP/1.1 400 "), ("smtpd", b"500"),
                                         ("ftpd", b"500")])
def test_untrusted_source_proxy_line_is_ordinary_input(start_daemon, name, expect):
    """proxy_protocol names 127.0.0.2 only: from 127.0.0.1 a PROXY line is a request
    line or a command like any other, and the connection keeps its real address."""
    d = start(start_daemon, name, trusted="127.0.0.2")
    line = v1("192.0.2.7")
    if name == "httpd":
        reply = th.tcp_exchange(d.addr, line + GET)
        assert reply.startswith(expect), reply[:100]
        return
    with th.LineClient(d.addr) as c:
        assert c.read_reply()[0] == 220
        c.send(line)
        code, lines = c.read_reply()
        assert str(code).encode() == expect, lines


# ------------------------------------------------------------------ smtpd


def test_smtpd_no_greeting_before_header_and_received_has_client(start_daemon, triad_root):
    d = start(start_daemon, "smtpd")
    with th.connect(d.addr) as s:
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(100)  # §1: the receiver must not speak before the header
        s.settimeout(5)
        s.sendall(v1("203.0.113.5", "198.51.100.1", 40000, 25))
        c = th.LineClient.__new__(th.LineClient)
        c.sock, c.timeout, c.buf = s, 5.0, b""
        assert c.read_reply()[0] == 220
        assert c.command("EHLO client.example")[0] == 250
        assert c.command("MAIL FROM:<a@client.example>")[0] == 250
        assert c.command("RCPT TO:<alice@example.org>")[0] == 250
        assert c.command("DATA")[0] == 354
        assert c.command("Subject: proxied\r\n\r\nbody\r\n.")[0] == 250
        c.command("QUIT")
    new = triad_root.mail / "example.org" / "alice" / "new"
    msgs = [p.read_text() for p in new.iterdir()]
    assert len(msgs) == 1
    received = [line for line in msgs[0].splitlines() if line.startswith("Received:")]
    assert "[203.0.113.5]" in msgs[0].split("\n\n")[0], received


def test_smtpd_header_timeout_closes(start_daemon):
    """An incomplete header is not waited for more than 5 s."""
    d = start(start_daemon, "smtpd")
    with th.connect(d.addr, timeout=10) as s:
        s.sendall(b"PROXY TCP4 192.0.2.1")
        t0 = time.monotonic()
        assert th.recv_until_close(s, timeout=10) == b""
        waited = time.monotonic() - t0
    assert 4.0 <= waited <= 8.0 * th.timeout_scale(), waited
    d.wait_log(r"proxy protocol: no complete header in time from 127\.0\.0\.1")


def test_per_ip_limit_counts_the_proxied_address(start_daemon):
    """max_connections_per_ip applies to the client behind the proxy, not to the proxy."""
    d = start(start_daemon, "smtpd", max_connections_per_ip=1, limits_exempt="")
    held = []
    try:
        for src in ("192.0.2.1", "192.0.2.2"):
            s = th.connect(d.addr)
            held.append(s)
            s.sendall(v1(src))
            assert s.recv(100).startswith(b"220"), src
        s = th.connect(d.addr)
        held.append(s)
        s.sendall(v2("192.0.2.1"))
        assert s.recv(100).startswith(b"421")
        d.wait_log(r"refused peer=192\.0\.2\.1: connection limit")
    finally:
        for s in held:
            s.close()


# ------------------------------------------------------------------ ftpd


def test_ftpd_proxied_client_port_check(start_daemon, pam_user):
    """RFC 2577 §3: PORT must name the control peer, which is now the proxied client:
    a PORT to 127.0.0.1 (the proxy's own address) is refused, the log names the client."""
    d = start(start_daemon, "ftpd", env=pam_user.env)
    with th.connect(d.addr) as s:
        s.sendall(v2("192.0.2.44", "198.51.100.1", 40000, 21))
        c = th.LineClient.__new__(th.LineClient)
        c.sock, c.timeout, c.buf = s, 5.0, b""
        assert c.read_reply()[0] == 220
        assert c.command(f"USER {pam_user.user}")[0] == 331
        assert c.command(f"PASS {pam_user.password}")[0] == 230
        assert c.command("PORT 127,0,0,1,8,0")[0] == 504
        assert c.command("EPRT |1|127.0.0.1|2048|")[0] == 504
        c.command("QUIT")
    d.wait_log(r"192\.0\.2\.44")  # the log thread writes it asynchronously
