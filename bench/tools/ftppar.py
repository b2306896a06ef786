"""ftppar.py PORT USER PASS PATH SIZE N: N FTP sessions at once, each logging in and
downloading PATH (SIZE bytes) in binary mode over passive data connections; prints the
aggregate MiB/s from the moment all threads start to connect until the last 226.

Connects are admitted 10 at a time (see `connecting`). One process with N threads (blocking sockets release the GIL; data is read with
recv_into a per-thread buffer): N client processes would spend more CPU starting than
transferring on a 2-core machine. Exit 1 if any session fails or gets a wrong size."""
import ftplib
import sys
import threading
import time

port, user, password, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
size, n = int(sys.argv[5]), int(sys.argv[6])
errors = []
start = threading.Barrier(n + 1)
# At most 10 connects waiting for their greeting at once: pure-ftpd listens with a backlog
# of 15, and a burst of 50 SYNs overflows it (the kernel then retries SYN-ACKs for up to a
# minute). The transfers themselves all run at once.
connecting = threading.Semaphore(10)


def one(i):
    buf = bytearray(256 * 1024)
    view = memoryview(buf)
    stage = "connect"
    try:
        start.wait()
        ftp = ftplib.FTP()
        with connecting:
            ftp.connect("127.0.0.1", port, timeout=60)
        stage = "login"
        ftp.login(user, password)
        ftp.voidcmd("TYPE I")
        got = 0
        stage = "PASV+RETR"
        with ftp.transfercmd(f"RETR {path}") as data:
            stage = "data"
            while True:
                k = data.recv_into(view)
                if not k:
                    break
                got += k
        stage = "226"
        ftp.voidresp()
        ftp.quit()
        if got != size:
            errors.append(f"session {i}: {got} of {size} bytes")
    except Exception as e:  # noqa: BLE001 - any failure fails the run
        errors.append(f"session {i} at {stage}: {e!r}")


threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
start.wait()
t0 = time.monotonic()
for t in threads:
    t.join()
elapsed = time.monotonic() - t0
if errors:
    sys.exit("ftppar: " + "; ".join(errors[:5]))
print(f"{n * size / elapsed / 1048576:.1f}")
