"""diskceil.py DIR SECONDS THREADS: the disk's ceiling for Maildir-style durable writes.

Each of THREADS threads loops for SECONDS: create DIR/tmp/<unique>, write 4 KiB, fsync,
close, rename to DIR/new/, fsync DIR/new (the directory). Prints operations per second
(all threads together). DIR/tmp and DIR/new are created; files are removed afterwards.
The GIL is released during the syscalls that matter (fsync), so threads overlap on I/O."""
import os
import shutil
import sys
import threading
import time

base, seconds, nthreads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
tmp, new = os.path.join(base, "tmp"), os.path.join(base, "new")
os.makedirs(tmp, exist_ok=True)
os.makedirs(new, exist_ok=True)
block = os.urandom(4096)
counts = [0] * nthreads
start = threading.Barrier(nthreads + 1)


def worker(i):
    dfd = os.open(new, os.O_RDONLY | os.O_DIRECTORY)
    start.wait()
    end = time.monotonic() + seconds
    k = 0
    while time.monotonic() < end:
        name = f"{i}.{k}"
        fd = os.open(os.path.join(tmp, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, block)
        os.fsync(fd)
        os.close(fd)
        os.rename(os.path.join(tmp, name), os.path.join(new, name))
        os.fsync(dfd)
        k += 1
    counts[i] = k
    os.close(dfd)


threads = [threading.Thread(target=worker, args=(i,)) for i in range(nthreads)]
for t in threads:
    t.start()
start.wait()
t0 = time.monotonic()
for t in threads:
    t.join()
elapsed = time.monotonic() - t0
print(f"{sum(counts) / elapsed:.1f}")
shutil.rmtree(tmp, ignore_errors=True)
shutil.rmtree(new, ignore_errors=True)
