"""confset.py FILE TEXT: applies TEXT, INI lines, to the triad configuration FILE.

TEXT holds "key = value" lines, separated by newlines or by " | "; a "[section]" line
makes the keys after it go to that section (the first ones go to [global]). A key the
section already has gets the new value in place (triad refuses a key set twice); a new
key is added at the end of its section, and a section FILE lacks is appended. Used by
bench/lib.sh for BENCH_TRIAD_EXTRA and for the scripts' own per-instance keys."""
import re
import sys


def parse(text):
    section, out = "global", []
    for raw in re.split(r"\n| \| ", text):
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        m = re.fullmatch(r"\[([A-Za-z0-9_ .-]+)\]", line)
        if m:
            section = m.group(1)
            continue
        if "=" not in line:
            sys.exit(f"confset: {line!r}: not 'key = value'")
        key, value = (x.strip() for x in line.split("=", 1))
        if not key:
            sys.exit(f"confset: {line!r}: no key")
        out.append((section, key, value))
    return out


def apply(lines, section, key, value):
    cur, end, found = None, None, None
    for i, line in enumerate(lines):
        s = line.strip()
        m = re.fullmatch(r"\[([^\]]+)\]", s)
        if m:
            cur = m.group(1)
            continue
        if cur == section:
            end = i + 1 if s and s[0] not in ";#" else end
            k = s.split("=", 1)[0].strip() if "=" in s and s[0] not in ";#" else None
            if k == key:
                found = i
    new = f"{key} = {value}\n"
    if found is not None:
        lines[found] = new
    elif end is not None or any(l.strip() == f"[{section}]" for l in lines):
        if end is None:
            end = next(i for i, l in enumerate(lines) if l.strip() == f"[{section}]") + 1
        lines.insert(end, new)
    else:
        lines.extend([f"\n[{section}]\n", new])


def main():
    path, text = sys.argv[1], sys.argv[2]
    with open(path) as f:
        lines = f.readlines()
    for section, key, value in parse(text):
        apply(lines, section, key, value)
    with open(path, "w") as f:
        f.writelines(lines)


if __name__ == "__main__":
    main()
