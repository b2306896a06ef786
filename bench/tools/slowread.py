"""slowread.py PORT PATH RATE PIDFILE: GET PATH from 127.0.0.1:PORT and read the body at
RATE bytes/s (a small receive buffer, so the proxy, not the kernel, holds what the client
has not read), sampling the VmRSS of the process in PIDFILE every 0.25 s. Prints
"bytes seconds rss_start_kib rss_max_kib"; exits 1 if the body is not whole."""
import socket
import sys
import time

from rss import vmrss

port, path, rate, pid = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4]


def rss():
    return vmrss(pid)


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
s.connect(("127.0.0.1", port))
s.sendall(f"GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".encode())
start_rss = rss()
max_rss = start_rss
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(4096)
hdr, body = head.split(b"\r\n\r\n", 1)
length = int([l.split(b":")[1] for l in hdr.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
got = len(body)
t0 = time.monotonic()
next_sample = t0
while got < length:
    d = s.recv(min(65536, length - got))
    if not d:
        break
    got += len(d)
    now = time.monotonic()
    ahead = got / rate - (now - t0)
    if ahead > 0:
        time.sleep(ahead)
    if now >= next_sample:
        max_rss = max(max_rss, rss())
        next_sample = now + 0.25
max_rss = max(max_rss, rss())
print(got, round(time.monotonic() - t0, 1), start_rss, max_rss)
sys.exit(0 if got == length else 1)
