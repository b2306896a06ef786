"""idle_conns.py PORT PATH COUNT HOLD PID...: RSS of a server holding COUNT idle
keep-alive connections.

Measures the summed VmRSS of the server's process trees (PIDs and descendants), opens
COUNT connections to 127.0.0.1:PORT, sends one keep-alive GET PATH on each and reads the
whole response, keeps them all open and idle, waits HOLD seconds for the server to settle,
measures again and prints "before_kib after_kib connections_that_got_200". Needs COUNT
plus a few descriptors (ulimit -n). Bounded: gives up on a connection after 20 s."""
import asyncio
import sys
import time

sys.path.insert(0, __import__("os").path.dirname(__file__))
import rss  # noqa: E402

port, path, count, hold = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
pids = [int(p) for p in sys.argv[5:]]
REQ = f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode()


async def one(sem, held):
    async with sem:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 20)
        except (OSError, asyncio.TimeoutError):
            return False
        try:
            w.write(REQ)
            head = await asyncio.wait_for(r.readuntil(b"\r\n\r\n"), 20)
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await asyncio.wait_for(r.readexactly(length), 20)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            w.close()
            return False
        held.append(w)
        return head.startswith(b"HTTP/1.1 200")


async def main():
    before = rss.total(pids)
    sem = asyncio.Semaphore(256)  # connects in flight (the listen backlog is finite)
    held = []
    t0 = time.monotonic()
    ok = sum(await asyncio.gather(*(one(sem, held) for _ in range(count))))
    opened = time.monotonic() - t0
    await asyncio.sleep(hold)
    after = rss.total(pids)
    print(before, after, ok, f"{opened:.1f}")
    for w in held:
        w.close()


asyncio.run(main())
