"""probe.py httpd|ftpd|smtpd PORT: exit 0 when the server on 127.0.0.1:PORT speaks its
protocol, 1 when it answers "service not available" (HTTP 503, FTP/SMTP 421) or nothing."""
import socket
import sys

name, port = sys.argv[1], int(sys.argv[2])
try:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        if name == "httpd":
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = s.recv(4096)
except OSError:
    sys.exit(1)
if name == "httpd":
    ok = data.startswith(b"HTTP/1.1 ") and not data.startswith(b"HTTP/1.1 503")
else:
    ok = data.startswith(b"220")
sys.exit(0 if ok else 1)
