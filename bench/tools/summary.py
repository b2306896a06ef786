"""summary.py RESULTS.TSV [--markdown] --title T [--versions V] [--command C] [--elapsed S]

Reads the rows that bench/lib.sh `record` writes (workload, unit, better, server, value;
value "SKIP:reason" for a server that could not run the workload) and prints, per
workload and server, the median, the spread (min-max), the number of runs and the ratio
of triad's median to that peer's. BETTER is "hi" (rates) or "lo" (latency, seconds,
memory): the ratio is always triad/peer, so for "lo" rows below 1 means triad wins.
--markdown: a section for bench/RESULTS.md with the machine, versions, date and command."""
import argparse
import os
import platform
import statistics
import subprocess
import time


def machine():
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = "?"
    try:
        with open("/proc/meminfo") as f:
            mem = f"{int(f.readline().split()[1]) // 1024} MiB"
    except OSError:
        pass
    return f"nproc {os.cpu_count()}, CPU {cpu}, kernel {platform.release()}, memory {mem}"


def fmt(v):
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}"


def load(path):
    order, rows = [], {}
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 5:
                continue
            wl, unit, better, server, value = parts
            if wl not in rows:
                order.append(wl)
                rows[wl] = {"unit": unit, "better": better, "servers": {}}
            w = rows[wl]
            if unit != "-":
                w["unit"], w["better"] = unit, better
            w["servers"].setdefault(server, [])
            w.setdefault("fails", {}).setdefault(server, 0)
            if value.startswith("SKIP:"):
                w["servers"][server] = value
            elif value.startswith("FAIL:"):
                w["fails"][server] += 1
            elif isinstance(w["servers"][server], list):
                w["servers"][server].append(float(value))
    return order, rows


def table(order, rows):
    out = []
    for wl in order:
        w = rows[wl]
        unit = w["unit"] + (" (lower is better)" if w["better"] == "lo" else "")
        tri = w["servers"].get("triad")
        tri_med = statistics.median(tri) if isinstance(tri, list) and tri else None
        for server, vals in w["servers"].items():
            if isinstance(vals, str):
                out.append((wl, unit, server, vals[5:], "", "0", ""))
                continue
            fails = w.get("fails", {}).get(server, 0)
            if not vals:
                out.append((wl, unit, server, f"failed ({fails} runs)", "", "0", ""))
                continue
            med = statistics.median(vals)
            ratio = ""
            if server != "triad" and "triad" in w["servers"]:
                ratio = f"{tri_med / med:.2f}" if tri_med is not None and med else "n/a"
            runs = str(len(vals)) + (f" ({fails} failed)" if fails else "")
            out.append((wl, unit, server, fmt(med), f"{fmt(min(vals))}-{fmt(max(vals))}",
                        runs, ratio))
    return out


HEAD = ("workload", "unit", "server", "median", "min-max", "runs", "triad/peer")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tsv")
    ap.add_argument("--title", default="bench")
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--versions", default="")
    ap.add_argument("--command", default="")
    ap.add_argument("--notes", default="")
    ap.add_argument("--elapsed", default="")
    ap.add_argument("--load-start", default="")
    a = ap.parse_args()
    order, rows = load(a.tsv)
    t = table(order, rows)
    if a.markdown:
        print(f"\n## {a.title}: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n")
        print(f"- machine: {machine()}")
        if a.versions:
            print(f"- versions: {a.versions}")
        if a.command:
            print(f"- command: `{a.command}`" + (f" ({a.elapsed} s)" if a.elapsed else ""))
        with open("/proc/loadavg") as f:
            load_end = " ".join(f.read().split()[:3])
        print(f"- load average (1, 5, 15 min): {a.load_start or '?'} at the start, {load_end} at "
              "the end (other work on the machine shows here)")
        if a.notes:
            print(f"- notes: {a.notes}")
        print()
        print("| " + " | ".join(HEAD) + " |")
        print("|" + "---|" * len(HEAD))
        for r in t:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(x[i]) for x in t + [HEAD]) for i in range(len(HEAD))]
    print()
    print(f"== {a.title}" + (f" ({a.elapsed} s)" if a.elapsed else ""))
    for r in [HEAD] + t:
        print("  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())


if __name__ == "__main__":
    main()
