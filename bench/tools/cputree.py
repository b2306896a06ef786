"""cputree.py PID...: CPU time (user + system, ms) used so far by each PID and all its
descendants, summed into one number. Threads are counted with their process (the
per-process counters in /proc/PID/stat include every thread); an exited child's time
is in its parent's cutime/cstime, which nginx's master and triad never reap during a
run, so it is left out."""
import os
import sys

from rss import tree

TCK = os.sysconf("SC_CLK_TCK")


def cpu_ms(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except OSError:
        return 0
    fields = st[st.rfind(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / TCK  # utime, stime


if __name__ == "__main__":
    print(round(sum(cpu_ms(p) for p in tree([int(a) for a in sys.argv[1:]]))))
