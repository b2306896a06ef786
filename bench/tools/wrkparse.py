"""wrkparse.py < wrk --latency output: prints "req_per_s p99_ms MiB_per_s bad" where bad
counts non-2xx/3xx responses plus socket errors (connect, read, write, timeout)."""
import re
import sys

text = sys.stdin.read()
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
SIZES = {"B": 1 / 1048576, "KB": 1 / 1024, "MB": 1.0, "GB": 1024.0, "TB": 1048576.0}
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
tr = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB|TB)", text)
p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
if not rps:
    sys.exit("wrkparse: no Requests/sec in wrk output")
bad = 0
m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
if m:
    bad += int(m.group(1))
m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if m:
    bad += sum(int(x) for x in m.groups())
print(float(rps.group(1)),
      float(p99.group(1)) * UNITS[p99.group(2)] if p99 else -1,
      float(tr.group(1)) * SIZES[tr.group(2)] if tr else -1,
      bad)
