"""Application servers the proxy tests put behind triad-httpd.

- ``RawBackend``: a threaded TCP (or unix socket) server whose per-connection behaviour is a
  Python function: byte-exact control for misbehaving servers (malformed heads, CL+TE, cut
  bodies, silence). It counts connections and keeps every request it read.
- ``read_request(sock_file)``: one HTTP/1.1 request (head, then a Content-Length or chunked
  body) as the server side sees it.
- ``echo(...)``: a well-behaved keep-alive handler answering JSON that describes the request.
- ``PhpFpm``: Debian's php8.2-fpm in the foreground with its own pool on a unix socket.
- ``Gunicorn``: Debian's python3-gunicorn serving a small WSGI app.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import triad_harness as th


def read_head(f):
    """Reads a head (up to the blank line) from binary file F: (first line, [(name, value)])."""
    line = f.readline()
    if not line:
        return None, []
    first = line.rstrip(b"\r\n").decode("latin-1")
    fields = []
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        fields.append((name, value.strip()))
    return first, fields


def field(fields, name):
    vals = [v for n, v in fields if n.lower() == name.lower()]
    return ", ".join(vals) if vals else None


def read_body(f, fields):
    te = field(fields, "transfer-encoding")
    if te and "chunked" in te.lower():
        body = b""
        while True:
            size = int(f.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b""):
                    pass
                return body, True
            body += f.read(size)
            f.readline()
    n = int(field(fields, "content-length") or 0)
    return f.read(n) if n else b"", False


def read_request(f):
    """One request from F: dict(method, target, version, fields, body, chunked) or None."""
    first, fields = read_head(f)
    if first is None:
        return None
    method, target, version = first.split(" ", 2)
    body, chunked = read_body(f, fields)
    return {"method": method, "target": target, "version": version, "fields": fields,
            "body": body, "chunked": chunked}


class RawBackend:
    """HANDLER(sock, f, backend) runs for every accepted connection on its own thread."""

    def __init__(self, handler, unix_path=None):
        self.handler = handler
        self.connections = 0
        self.requests = []
        self.lock = threading.Lock()
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(str(unix_path))
            os.chmod(str(unix_path), 0o666)
            self.address = f"unix:{unix_path}"
        else:
            self.sock = socket.socket()
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.port = th.free_port()
            self.sock.bind(("127.0.0.1", self.port))
            self.address = f"127.0.0.1:{self.port}"
        self.sock.listen(64)
        self.stopped = False
        self.live = set()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopped:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.live.add(s)
            threading.Thread(target=self._run, args=(s,), daemon=True).start()

    def _run(self, s):
        f = s.makefile("rb")
        try:
            self.handler(s, f, self)
        except (OSError, ValueError):
            pass
        finally:
            with self.lock:
                self.live.discard(s)
            try:
                f.close()
                s.close()
            except OSError:
                pass

    def record(self, req):
        with self.lock:
            self.requests.append(req)

    def close(self):
        """Stops listening and cuts every connection still open (a server gone)."""
        self.stopped = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        with self.lock:
            live = list(self.live)
        for s in live:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def requests(f, backend):
    """Each request read from F until the client closes, recorded in BACKEND first."""
    while (req := read_request(f)) is not None:
        backend.record(req)
        yield req


def echo(s, f, backend, status=200, extra=b"", close_after=None):
    """Keep-alive JSON echo of each request: method, target, fields, body."""
    served = 0
    while True:
        req = read_request(f)
        if req is None:
            return
        backend.record(req)
        body = json.dumps({"method": req["method"], "target": req["target"],
                           "fields": req["fields"], "body": req["body"].decode("latin-1"),
                           "chunked": req["chunked"], "conn": backend.connections}).encode()
        s.sendall(b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                  % (status, len(body)) + extra + b"\r\n" + (b"" if req["method"] == "HEAD"
                                                            else body))
        served += 1
        if close_after and served >= close_after:
            return


def run_user_owns(path):
    if th.IS_ROOT:
        uid, gid = th.run_user_ids()
        os.chown(path, uid, gid)


class PhpFpm:
    """php-fpm8.2 -F -y CONF (-R as root): one static pool on a unix socket in DIRECTORY."""

    BINARY = shutil.which("php-fpm8.2") or "/usr/sbin/php-fpm8.2"

    def __init__(self, directory, children=2):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.socket = self.dir / "fpm.sock"
        self.error_log = self.dir / "fpm-error.log"
        conf = self.dir / "fpm.conf"
        user = ""
        if th.IS_ROOT:
            user = f"user = {th.RUN_USER}\n"
        conf.write_text(
            "[global]\n"
            f"error_log = {self.error_log}\n"
            "daemonize = no\n"
            "[app]\n"
            f"listen = {self.socket}\n"
            "listen.mode = 0666\n"
            f"{user}"
            "pm = static\n"
            f"pm.max_children = {children}\n"
            "catch_workers_output = yes\n"
            "decorate_workers_output = no\n"
            "clear_env = no\n")
        args = [self.BINARY, "-F", "-y", str(conf)]
        if th.IS_ROOT:
            args.insert(1, "-R")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self._accepting():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("php-fpm did not start: " + self._log())
            time.sleep(0.05)
        self.address = f"unix:{self.socket}"

    def _accepting(self):
        try:
            with socket.socket(socket.AF_UNIX) as s:
                s.connect(str(self.socket))
            return True
        except OSError:
            return False

    def _log(self):
        try:
            return self.error_log.read_text()
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


WSGI_APP = '''
import json

def app(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return (b"line %d\\n" % i for i in range(1000))
    n = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(n) if n else b""
    out = json.dumps({
        "method": environ["REQUEST_METHOD"], "path": path,
        "query": environ.get("QUERY_STRING", ""), "body": body.decode("latin-1"),
        "host": environ.get("HTTP_HOST"), "xff": environ.get("HTTP_X_FORWARDED_FOR"),
        "proto": environ.get("HTTP_X_FORWARDED_PROTO"),
    }).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(out)))])
    return [out]
'''


class Gunicorn:
    """python3 -m gunicorn (Debian's python3-gunicorn) on a free loopback port."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "wsgiapp.py").write_text(WSGI_APP)
        self.port = th.free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log = self.dir / "gunicorn.log"
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-m", "gunicorn", "--chdir", str(self.dir), "-b",
             self.address, "-w", "1", "--keep-alive", "30", "wsgiapp:app"],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"))
        deadline = time.monotonic() + 15
        while not th.can_connect("127.0.0.1", self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start: " + self.log.read_text())
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
