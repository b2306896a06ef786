"""The `metrics` listener (interface.md "Operations"): GET /metrics in the Prometheus
text format 0.0.4; every family named triad_<daemon>_..., with HELP and TYPE lines;
counters end in _total and survive SIGHUP; the families the contract lists, moving when
the daemon works. The exposition is parsed here line by line (format 0.0.4: comments,
samples `name{labels} value`, histograms as cumulative _bucket{le} with +Inf, _sum,
_count), so a malformed line fails the test.
"""

import ftplib
import re
import smtplib
import socket
import ssl
import time
import urllib.request

import pytest

import triad_harness as th

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"(,|$)')


def parse(text):
    """{family: {"help", "type", "samples": {(name, labels-tuple): float}}}; asserts the
    format: HELP then TYPE before a family's samples, one family per block."""
    fams, current = {}, None
    assert text.endswith("\n")
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            assert name not in fams, f"family {name} twice"
            fams[name] = {"help": help_, "type": None, "samples": {}}
            current = name
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert name == current and typ in ("counter", "gauge", "histogram"), line
            fams[name]["type"] = typ
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        name, labels, value = m.group(1), m.group(3) or "", m.group(4)
        assert current and fams[current]["type"], line
        if fams[current]["type"] == "histogram":
            assert name in (current + "_bucket", current + "_sum", current + "_count"), line
        else:
            assert name == current, line
        pairs = tuple((k, v) for k, v, _ in LABEL.findall(labels))
        assert ",".join(f'{k}="{v}"' for k, v in pairs) == labels, labels
        fams[current]["samples"][(name, pairs)] = float(value)
    return fams


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return parse(r.read().decode())


def value(fams, family, labels=(), name=None):
    return fams[family]["samples"].get((name or family, tuple(labels)), 0.0)


def start(start_daemon, name, env=None, **section):
    port = th.free_port()
    section["metrics"] = f"127.0.0.1:{port}"
    d = start_daemon(name, section_overrides=section, env=env)
    return d, port


def check_common(fams, daemon):
    for fam, f in fams.items():
        assert fam.startswith(f"triad_{daemon}_"), fam
        assert f["help"] and f["type"], fam
        if f["type"] == "counter":
            assert fam.endswith("_total"), fam
    for suffix in ("connections_accepted_total", "connections_active",
                   "connections_refused_total", "tls_handshakes_total",
                   "bytes_received_total", "bytes_sent_total"):
        assert f"triad_{daemon}_{suffix}" in fams, suffix


def check_histogram(fams, family):
    samples = fams[family]["samples"]
    buckets = sorted(((float("inf") if dict(lab)["le"] == "+Inf" else float(dict(lab)["le"])), v)
                     for (n, lab), v in samples.items() if n == family + "_bucket")
    assert buckets[-1][0] == float("inf")
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "buckets are cumulative"
    assert counts[-1] == value(fams, family, name=family + "_count")
    return counts[-1], value(fams, family, name=family + "_sum")


def test_httpd_metrics_move_and_survive_reload(start_daemon, triad_root):
    d, port = start(start_daemon, "httpd", max_connections=50)

    settled_scrapes = []

    def settled():
        # The readiness probes connect to every listener; a worker may accept the
        # last one after the first scrape. Count from a moment when none is open.
        a = scrape(port)
        time.sleep(0.2)
        b = scrape(port)
        settled_scrapes.append(b)
        return value(a, "triad_httpd_connections_accepted_total") == \
            value(b, "triad_httpd_connections_accepted_total") and \
            value(b, "triad_httpd_connections_active") == 0
    th.wait_until(settled, 5, "the readiness probes' connections to close")
    before = settled_scrapes[-1]
    check_common(before, "httpd")
    for path in ("/", "/", "/missing"):
        th.tcp_exchange(d.addr, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                        .encode())
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(d.ports["listen_tls"][0], timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            th.recv_until_close(s)

    def moved():
        f = scrape(port)
        return f if value(f, "triad_httpd_tls_handshakes_total") >= 1 else None
    th.wait_until(moved, 5, "the TLS handshake to be counted")
    after = moved()
    assert value(after, "triad_httpd_requests_total", [("code", "200")]) == 3
    assert value(after, "triad_httpd_requests_total", [("code", "404")]) == 1
    assert value(after, "triad_httpd_connections_accepted_total") == 4 + \
        value(before, "triad_httpd_connections_accepted_total")
    count, total = check_histogram(after, "triad_httpd_request_duration_seconds")
    assert count == 4 and 0 <= total < 10
    assert value(after, "triad_httpd_bytes_sent_total") > 4 * 100
    assert value(after, "triad_httpd_bytes_received_total") > 4 * 40
    assert value(after, "triad_httpd_connections_active") == 0
    d.reload()
    again = scrape(port)
    assert value(again, "triad_httpd_requests_total", [("code", "200")]) == 3  # not reset


def hold_smtp(d):
    """A greeted session; the readiness probe's connection may hold the only slot for a
    moment after start (its close is seen asynchronously): retry."""
    deadline = time.monotonic() + 5 * th.timeout_scale()
    while True:
        c = th.LineClient(d.addr)
        if c.read_reply()[0] == 220:
            return c
        c.close()
        assert time.monotonic() < deadline, "the only slot never became free"
        time.sleep(0.05)


def test_refused_by_limit(start_daemon):
    d, port = start(start_daemon, "smtpd", max_connections_per_ip=1, limits_exempt="")
    with hold_smtp(d):
        before = scrape(port)
        with th.LineClient(d.addr) as b:
            assert b.read_reply()[0] == 421
        f = scrape(port)
        assert value(f, "triad_smtpd_connections_active") == 1
    per_ip = [("limit", "max_connections_per_ip")]
    assert value(f, "triad_smtpd_connections_refused_total", per_ip) == \
        value(before, "triad_smtpd_connections_refused_total", per_ip) + 1
    assert value(f, "triad_smtpd_connections_refused_total",
                 [("limit", "max_connections")]) == 0


def test_smtpd_messages_and_delivery_histogram(start_daemon):
    d, port = start(start_daemon, "smtpd")
    with smtplib.SMTP(*d.addr, timeout=10) as s:
        s.ehlo("client.example")
        s.sendmail("a@client.example", ["alice@example.org"], "Subject: m\r\n\r\nx\r\n")
        s.sendmail("a@client.example", ["alice@example.org"], "Subject: m2\r\n\r\nx\r\n")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            s.sendmail("a@client.example", ["nobody@example.org"], "Subject: r\r\n\r\nx\r\n")
        # a message refused after its data: bare LF (bare_lf = refuse)
        s.mail("a@client.example")
        s.rcpt("alice@example.org")
        code, _ = s.data(b"Subject: bad\r\n\r\nbare\nLF\r\n")
        assert code == 550
    f = scrape(port)
    assert value(f, "triad_smtpd_messages_total", [("result", "accepted")]) == 2
    assert value(f, "triad_smtpd_messages_total", [("result", "refused")]) == 1
    count, total = check_histogram(f, "triad_smtpd_delivery_seconds")
    assert count == 2 and total > 0


def test_ftpd_logins_transfers_and_data_bytes(start_daemon, pam_user, triad_root):
    d, port = start(start_daemon, "ftpd", env=pam_user.env)
    (triad_root.www / "big.bin").write_bytes(b"x" * 200000)
    triad_root.give_to_run_user()
    f = ftplib.FTP(timeout=10)
    f.connect(*d.addr)
    with pytest.raises(ftplib.error_perm):
        f.login(pam_user.user, "wrong")
    f.login(pam_user.user, pam_user.password)
    data = bytearray()
    f.retrbinary("RETR big.bin", data.extend)
    assert len(data) == 200000
    import io
    f.storbinary("STOR up.bin", io.BytesIO(b"y" * 50000))
    f.quit()

    def moved():
        m = scrape(port)
        return m if value(m, "triad_ftpd_bytes_sent_total") >= 200000 else None
    m = th.wait_until(moved, 5, "the data connection's bytes") or moved()
    assert value(m, "triad_ftpd_logins_total", [("result", "ok")]) == 1
    assert value(m, "triad_ftpd_logins_total", [("result", "failed")]) == 1
    assert value(m, "triad_ftpd_transfers_total", [("direction", "download")]) == 1
    assert value(m, "triad_ftpd_transfers_total", [("direction", "upload")]) == 1
    assert value(m, "triad_ftpd_bytes_received_total") >= 50000


@pytest.mark.parametrize("request_,status", [
    (b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", b"200"),
    (b"GET /metrics?x=1 HTTP/1.0\r\n\r\n", b"200"),
    (b"GET / HTTP/1.1\r\n\r\n", b"404"),
    (b"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", b"405"),
    (b"GET /metrics\r\n\r\n", b"400"),
    (b"GET /metrics HTTP/1.1\n\n", None),          # bare LF: the line never ends
    (b"GET /" + b"a" * 2000 + b" HTTP/1.1\r\n\r\n", b"400"),
])
def test_endpoint_answers(start_daemon, request_, status):
    d, port = start(start_daemon, "smtpd")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request_)
        if status is None:
            s.settimeout(0.5)
            with pytest.raises(socket.timeout):
                s.recv(100)
            return
        reply = th.recv_until_close(s)
    assert reply.startswith(b"HTTP/1.1 " + status), reply[:100]
    assert b"Connection: close" in reply


def test_metrics_port_in_use_is_an_error(start_daemon):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        d = start_daemon("httpd", section_overrides={
            "metrics": f"127.0.0.1:{busy.getsockname()[1]}"}, expect_ready=False)
        assert d.wait_exit() == 1
        assert "metrics: cannot listen on" in d.stderr_text(), d.stderr_text()
    finally:
        busy.close()
