"""httpd at its descriptor limit (issue 14, fix 2).

A probe filled httpd's RLIMIT_NOFILE with idle connections: accept(2) failed with EMFILE,
the listener stayed armed, both cores burned at 100 %, a normal request took 8 s and no
client got a 503. What must hold instead:

- accept backs off on EMFILE/ENFILE (the daemon's CPU stays low while descriptors are
  exhausted);
- a reserve descriptor lets httpd accept the clients it cannot serve and answer them
  503 (RFC 9110 §15.6.4) or close them, instead of leaving them in the backlog;
- a normal request is served again as soon as a slot frees;
- with `max_connections` left at its default, the limit is derived from RLIMIT_NOFILE,
  so the connection limit (503) is reached before the descriptors run out.
"""

import os
import socket
import time

import triad_harness as th

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of every thread of PID (proc(5) stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def held_connection(addr):
    """A keep-alive connection httpd accepted and answered once (so it holds a descriptor),
    or None when httpd refused or closed it."""
    s = socket.create_connection(addr, timeout=5 * th.timeout_scale())
    s.sendall(b"HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    head = b""
    try:
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    if head.startswith(b"HTTP/1.1 200 "):
        return s
    s.close()
    return head or b"closed"


def outcome(s, timeout):
    """What a client that sent a full request got within TIMEOUT: the status line, b''
    for a close or reset, or None when nothing happened (left waiting in the backlog)."""
    s.settimeout(timeout)
    try:
        data = s.recv(4096)
    except ConnectionResetError:
        return b""
    except socket.timeout:
        return None
    return data.split(b"\r\n", 1)[0]


def start_limited(config, tmp_path, nofile, httpd_values):
    """httpd under RLIMIT_NOFILE = NOFILE (soft and hard, set by prlimit(1) before exec:
    a dropped-privilege daemon's limit cannot be changed from outside)."""
    wrapper = tmp_path / "limited-httpd"
    wrapper.write_text(f"#!/bin/sh\nexec prlimit --nofile={nofile}:{nofile} "
                       f"{th.binary('httpd')} \"$@\"\n")
    wrapper.chmod(0o755)
    config.update("httpd", httpd_values)
    config.update("global", {"workers": "1"})
    config.write(config.layout.etc / "limited.conf")
    d = th.Daemon("httpd", config, config.path)
    d.binary = wrapper
    d.start()
    try:
        d.wait_ready()
    except BaseException:
        d.kill()
        raise
    return d


def test_emfile_backs_off_sheds_and_recovers(triad_config, tmp_path):
    # An explicit max_connections far above the descriptors: EMFILE is what stops accept.
    d = start_limited(triad_config, tmp_path, 64, {"max_connections": "100000"})
    held = []
    try:
        th.assert_serving(d)
        # Fill every descriptor with connections that sent half a request head: each
        # costs httpd exactly its socket (a served request would also open a file).
        limit = 64
        deadline = time.monotonic() + 10 * th.timeout_scale()
        while open_fds(d.pid) < limit:
            assert time.monotonic() < deadline, f"stuck at {open_fds(d.pid)} descriptors"
            if len(held) < 2 * limit:
                s = socket.create_connection(d.addr, timeout=5)
                s.sendall(b"GET /index.html HTTP/1.1\r\n")
                held.append(s)
            time.sleep(0.01)
        # Clients past the limit, each with a full request.
        waiting = []
        for _ in range(5):
            s = socket.create_connection(d.addr, timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            waiting.append(s)
        time.sleep(0.3)
        before = cpu_seconds(d.pid)
        time.sleep(2.0)
        used = cpu_seconds(d.pid) - before
        # A spinning accept loop burns ~2 s of CPU here; backing off costs a few ms.
        assert used < 0.5, f"httpd used {used:.2f} s CPU in 2 s at its descriptor limit"
        results = [outcome(s, 3 * th.timeout_scale()) for s in waiting]
        for s in waiting:
            s.close()
        # Every client past the limit was answered 503 or closed, none left waiting.
        assert all(r is not None for r in results), results
        assert all(r in (b"", b"HTTP/1.1 503 Service Unavailable") for r in results), results
        d.wait_log(r"out of file descriptors")

        # A slot frees: a normal request is served again.
        for s in held[:8]:
            s.close()
        held = held[8:]
        deadline = time.monotonic() + 5 * th.timeout_scale()
        while True:
            try:
                status, _, body = th.http_get(d.addr, "/index.html")
                if status == 200:
                    break
            except (ConnectionError, OSError):
                pass
            assert time.monotonic() < deadline, "no request served after slots freed"
            time.sleep(0.1)
        assert b"It works." in body
    finally:
        for s in held:
            s.close()
        d.stop()


def test_default_max_connections_follows_rlimit(triad_config, tmp_path):
    """With max_connections unset, the limit derived from RLIMIT_NOFILE answers 503 before
    the descriptors run out (no EMFILE)."""
    d = start_limited(triad_config, tmp_path, 128, {"max_connections": None})
    held = []
    try:
        m = d.wait_log(r"max_connections=(\d+) \(derived from RLIMIT_NOFILE=128\)")
        assert m
        results = []
        for _ in range(80):
            r = held_connection(d.addr)
            if isinstance(r, socket.socket):
                held.append(r)
            else:
                results.append(r)
        assert held and results, (len(held), results)
        # The limit, not the descriptors, refused them: with a 503 and a log line each.
        assert all(r.startswith(b"HTTP/1.1 503 ") for r in results), results[:3]
        d.wait_log(r"refused peer=127\.0\.0\.1: connection limit")
        assert "Too many open files" not in d.log_text()
    finally:
        for s in held:
            s.close()
        d.stop()
