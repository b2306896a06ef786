"""The man pages (man/) against the code and against mandoc's linter.

- triad.conf(5) has one `.It Ic KEY` entry per key of every schema table, inside the
  subsection of its section, and no entry for a key the code does not have; each entry
  states the default the table has. The key list comes from build/tools/confkeys, linked
  with the same schema tables the daemons load with (tools/confkeys.c).
- Every page is clean under `mandoc -T lint` (style level included).
- Each daemon page documents exactly the flags the daemon's usage message lists.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

import triad_harness as th

MAN = th.REPO / "man"
PAGES = ["triad.conf.5", "triad-httpd.8", "triad-ftpd.8", "triad-smtpd.8"]
CONFKEYS = th.BUILD / "tools" / "confkeys"


def schema():
    """{section: {key: default}} from the tables in the code."""
    assert CONFKEYS.exists(), f"{CONFKEYS} missing: `make integration` builds it"
    out = subprocess.run([str(CONFKEYS)], check=True, capture_output=True, text=True,
                         timeout=10).stdout
    keys = {}
    for line in out.splitlines():
        section, key, _type, default = line.split("\t")
        keys.setdefault(section, {})[key] = default
    return keys


SS = re.compile(r'^\.Ss The \[(\w+)(?: NAME)?\] section$')


def page_entries(text):
    """{section: {key: entry source}} for the top-level `.It Ic` entries of each
    `.Ss The [SECTION] section` subsection of triad.conf(5)."""
    entries = {}
    section = None
    key = None
    depth = 0
    for line in text.splitlines():
        m = SS.match(line)
        if line.startswith(".Ss") or line.startswith(".Sh"):
            section = m.group(1) if m else None
            key = None
            if section:
                entries.setdefault(section, {})
            continue
        if section is None:
            continue
        if line.startswith(".Bl"):
            depth += 1
        elif line.startswith(".El"):
            depth -= 1
            if depth == 0:
                key = None
        elif depth == 1 and line.startswith(".It"):
            m = re.match(r"^\.It Ic (\S+)", line)
            assert m, f"triad.conf.5: an entry of [{section}] that is not `.It Ic KEY`: {line}"
            key = m.group(1)
            assert key not in entries[section], f"triad.conf.5: [{section}] {key} twice"
            entries[section][key] = ""
            continue
        if key is not None:
            entries[section][key] += line + "\n"
    return entries


def page_default(entry):
    """The default an entry states: the `.Ql` after `Default:`, or a word."""
    m = re.search(r"Default:\n\.Ql (.*?)(?: [.,;])?\n", entry)
    if m:
        return m.group(1)
    m = re.search(r"Default: (none|unset|empty)\b", entry)
    return f"({m.group(1)})" if m else None


def test_conf_page_has_every_key_of_the_code_and_no_other():
    code = schema()
    page = page_entries((MAN / "triad.conf.5").read_text())
    problems = []
    for section, keys in code.items():
        documented = page.get(section)
        if documented is None:
            problems.append(f"no `.Ss The [{section}] section` in man/triad.conf.5")
            continue
        for key in keys:
            if key not in documented:
                problems.append(f"[{section}] {key}: in the code, not in man/triad.conf.5 "
                                f"(add an `.It Ic {key}` entry to its section)")
        for key in documented:
            if key not in keys:
                problems.append(f"[{section}] {key}: in man/triad.conf.5, not in the code")
    for section in page:
        if section not in code:
            problems.append(f"[{section}]: a section of man/triad.conf.5 the code lacks")
    assert not problems, "\n".join(problems)


def test_conf_page_states_each_default_of_the_code():
    code = schema()
    page = page_entries((MAN / "triad.conf.5").read_text())
    problems = []
    for section, keys in code.items():
        for key, default in keys.items():
            entry = page.get(section, {}).get(key)
            if entry is None:
                continue  # reported by the test above
            stated = page_default(entry)
            # An unset default reads "none" or "unset" on the page.
            ok = stated == default or (default == "(unset)" and stated == "(none)")
            if not ok:
                problems.append(f"[{section}] {key}: the code's default is {default!r}, "
                                f"man/triad.conf.5 says {stated!r} (write `Default:` then "
                                f"`.Ql VALUE`, or `Default: none|unset|empty`)")
    assert not problems, "\n".join(problems)


def test_page_parser_sees_a_missing_key():
    """The checks above cannot pass on an empty parse: a page without one entry is caught."""
    text = (MAN / "triad.conf.5").read_text()
    page = page_entries(text)
    assert len(page["httpd"]) >= 20 and "root" in page["global"]
    cut = re.sub(r"^\.It Ic keepalive_timeout .*?(?=^\.It )", "", text, count=1,
                 flags=re.M | re.S)
    assert "keepalive_timeout" not in page_entries(cut)["httpd"]
    assert page_default(page["httpd"]["listen"]) == "0.0.0.0:80 [::]:80"
    assert page_default(page["global"]["root"]) == "(none)"


@pytest.mark.parametrize("page", PAGES)
def test_mandoc_lint_clean(page):
    r = subprocess.run(["mandoc", "-T", "lint", "-W", "style", str(MAN / page)],
                       capture_output=True, text=True, timeout=30)
    # Cross references are checked against the manuals installed on this machine
    # (mandoc.db), which differ between machines: the pages' own Xr to one another and
    # to sd_notify(3) or initgroups(3) are not findings about the page.
    found = [l for l in r.stderr.splitlines()
             if "referenced manual not found" not in l and "outdated mandoc.db" not in l]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("name", th.DAEMONS)
def test_daemon_page_documents_the_usage_flags(name):
    r = subprocess.run([str(th.binary(name)), "-h"], capture_output=True, text=True,
                       timeout=10)
    flags = set(re.findall(r"^\s+-(\w)\b", r.stderr, flags=re.M))
    assert flags >= {"c", "t", "V"}, r.stderr
    page = (MAN / f"triad-{name}.8").read_text()
    options = page.split(".Sh OPTIONS", 1)[1].split(".Sh ", 1)[0]
    documented = set(re.findall(r"^\.It Fl (\w)\b", options, flags=re.M))
    assert flags <= documented, f"undocumented flags: {flags - documented}"
    # -h prints the usage too but is not in the usage text itself.
    assert documented <= flags | {"h"}, f"flags the daemon lacks: {documented - flags}"


def test_make_install_puts_pages_and_units_under_prefix(tmp_path):
    """interface.md: `make install` installs the man pages under $(PREFIX)/share/man."""
    args = ["make", "-s", "-C", str(th.REPO), "install", f"DESTDIR={tmp_path}", "PREFIX=/usr"]
    if th.sanitized():
        args.append("SANITIZE=1")  # reuse the build under test instead of building another
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    usr = tmp_path / "usr"
    for page in PAGES:
        section = page.rsplit(".", 1)[1]
        installed = usr / "share" / "man" / f"man{section}" / page
        assert installed.read_bytes() == (MAN / page).read_bytes()
    for name in th.DAEMONS:
        assert os.access(usr / "sbin" / f"triad-{name}", os.X_OK)
        unit = (usr / "lib" / "systemd" / "system" / f"triad-{name}.service").read_text()
        assert f"ExecStart=/usr/sbin/triad-{name} -c /etc/triad/triad.conf" in unit
    assert (usr / "lib" / "systemd" / "system" / "triad.target").exists()
    assert os.access(usr / "lib" / "triad" / "certbot-deploy-hook", os.X_OK)
