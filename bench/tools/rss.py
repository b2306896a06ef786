"""rss.py PID...: sum of VmRSS (KiB) over each PID and all its descendants, one number.

Scans /proc for parents (works without CONFIG_PROC_CHILDREN); threads share their
process's RSS and are not counted twice."""
import os
import sys


def tree(roots):
    parent = {}
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        try:
            with open(f"/proc/{e}/stat") as f:
                st = f.read()
        except OSError:
            continue
        parent[int(e)] = int(st[st.rfind(")") + 2:].split()[1])
    found, todo = set(), [r for r in roots if r in parent]
    while todo:
        p = todo.pop()
        if p in found:
            continue
        found.add(p)
        todo.extend(c for c, pp in parent.items() if pp == p)
    return found


def vmrss(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def total(roots):
    return sum(vmrss(p) for p in tree(roots))


if __name__ == "__main__":
    print(total([int(a) for a in sys.argv[1:]]))
