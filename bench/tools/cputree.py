"""cputree.py PID...: CPU time (user + system, ms) used so far by each PID and all its
descendants, summed into one number. Threads are counted with their process (the
per-process counters in /proc/PID/stat include every thread); an exited child's time
is in its parent's cutime/cstime, which nginx's master and triad never reap during a
run, so it is left out. --split: "USER_MS SYSTEM_MS" instead of their sum."""
import os
import sys

from rss import tree

TCK = os.sysconf("SC_CLK_TCK")


def cpu_split(pid):
    """(user, system) ms of PID, every thread included."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return 0, 0
    fields = st[st.rfind(")") + 2:].split()
    return int(fields[11]) * 1000 / TCK, int(fields[12]) * 1000 / TCK  # utime, stime


def cpu_ms(pid):
    return sum(cpu_split(pid))


if __name__ == "__main__":
    args = sys.argv[1:]
    split = "--split" in args
    pids = tree([int(a) for a in args if a != "--split"])
    if split:
        u = sum(cpu_split(p)[0] for p in pids)
        s = sum(cpu_split(p)[1] for p in pids)
        print(round(u), round(s))
    else:
        print(round(sum(cpu_ms(p) for p in pids)))
