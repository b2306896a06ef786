"""[site NAME] in triad-ftpd and triad-smtpd (interface.md, "Sites (all three daemons)").

ftpd: a PAM login listed in a site's ftp_users sees that site's docroot as "/" (fsroot
confinement as for ftp_root), its uploads are live on that site at once (httpd serves
them by Host), the transfer log names the site; a login in no site and anonymous logins
stay on ftp_root. smtpd: mail_domains of every site are accepted as if in domains.
Real clients: lftp with two logins, ftplib, swaks.
"""

import ftplib
import subprocess

import pytest

import triad_harness as th
from test_http_helpers import get
from test_smtp_util import stored

USERS = {"alice": "secret", "bob": "hunter2", "carol": "pw3"}


@pytest.fixture
def pam_users(triad_root):
    """pam_matrix with three logins: alice (site shop), bob (site blog), carol (none)."""
    user = th.PamUser(triad_root.base / "pam")
    user.passdb.write_text("".join(f"{u}:{p}:triad\n" for u, p in USERS.items()))
    triad_root.give_to_run_user()
    return user


@pytest.fixture
def sites(triad_root, triad_config):
    for name in ("shop", "blog"):
        d = triad_root.root / "sites" / name / "www"
        d.mkdir(parents=True)
        (d / f"{name}.txt").write_text(f"{name}\n")
    (triad_root.www / "main.txt").write_text("main\n")
    for dom, local in (("shop.example", "orders"), ("blog.example", "editor")):
        for sub in ("tmp", "new", "cur"):
            (triad_root.mail / dom / local / sub).mkdir(parents=True, exist_ok=True)
    triad_root.give_to_run_user()
    cfg = triad_config
    cfg.sections["site shop"] = {"hosts": "shop.example", "ftp_users": "alice",
                                 "mail_domains": "Shop.Example"}
    cfg.sections["site blog"] = {"hosts": "blog.example", "ftp_users": "bob",
                                 "mail_domains": "blog.example"}
    cfg.update("ftpd", {"anonymous": "read"})
    return cfg


def lftp(d, user, script):
    host, port = d.addr
    r = subprocess.run(
        ["lftp", "-u", f"{user},{USERS[user]}", "-e",
         "set ftp:ssl-allow false; set net:max-retries 1; set net:timeout 10; "
         "set cmd:fail-exit true; " + script + "; bye", f"ftp://{host}:{port}"],
        capture_output=True, timeout=60 * th.timeout_scale(), stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def test_ftp_logins_see_their_site(sites, pam_users, start_daemon, triad_root):
    """alice sees shop's tree as "/", bob blog's, carol (in no site) ftp_root."""
    d = start_daemon("ftpd", config=sites, env=pam_users.env)
    rc, out, err = lftp(d, "alice", "cls -1")
    assert rc == 0, err
    assert out.split() == ["shop.txt"]
    rc, out, err = lftp(d, "bob", "cls -1")
    assert rc == 0, err
    assert out.split() == ["blog.txt"]
    rc, out, err = lftp(d, "carol", "cls -1")
    assert rc == 0, err
    assert "main.txt" in out.split() and "shop.txt" not in out
    # anonymous stays on ftp_root, read-only
    host, port = d.addr
    with ftplib.FTP() as f:
        f.connect(host, port, timeout=10)
        f.login("anonymous", "a@b")
        assert "main.txt" in f.nlst()
    d.wait_log(r'login user="alice" ip=127\.0\.0\.1 tls=no result=ok site=shop')
    d.wait_log(r'login user="carol" ip=127\.0\.0\.1 tls=no result=ok site=-')


def test_ftp_site_confinement(sites, pam_users, start_daemon, triad_root):
    """No path leads out of the site's docroot: ".." stops at "/", absolute paths are
    the site's, and a symbolic link out of it is not followed."""
    (triad_root.root / "sites" / "shop" / "www" / "out").symlink_to(triad_root.www)
    triad_root.give_to_run_user()
    d = start_daemon("ftpd", config=sites, env=pam_users.env)
    host, port = d.addr
    with ftplib.FTP() as f:
        f.connect(host, port, timeout=10)
        f.login("alice", USERS["alice"])
        assert f.pwd() == "/"
        f.cwd("/../..")
        assert f.pwd() == "/"
        assert "shop.txt" in f.nlst()
        for path in ("../www/main.txt", "/../../www/main.txt", "/out/main.txt",
                     "../blog/www/blog.txt"):
            with pytest.raises(ftplib.error_perm):
                f.retrbinary(f"RETR {path}", lambda b: None)
        # REIN: the next user gets its own tree
        assert f.sendcmd("REIN").startswith("220")
        f.login("bob", USERS["bob"])
        assert f.nlst() == ["blog.txt"]


def test_ftp_upload_is_live_on_the_site(sites, pam_users, start_daemon, triad_root):
    """An upload by a site's login is served at once by httpd for that site's Host;
    the transfer log names the site."""
    ftpd = start_daemon("ftpd", config=sites, env=pam_users.env)
    httpd = start_daemon("httpd", config=sites)
    src = triad_root.base / "new.html"
    src.write_text("fresh from ftp\n")
    rc, out, err = lftp(ftpd, "alice", f"put {src} -o new.html")
    assert rc == 0, err
    assert (triad_root.root / "sites" / "shop" / "www" / "new.html").read_text() == \
        "fresh from ftp\n"
    r = get(httpd, "/new.html", host="shop.example")
    assert (r.status, r.body) == (200, b"fresh from ftp\n")
    assert get(httpd, "/new.html", host="blog.example").status == 404
    ftpd.wait_log(r'transfer user="alice" .*cmd=STOR .*path="/new\.html" '
                  r'result=complete site=shop')


def test_ftp_missing_site_docroot_refuses_the_login(sites, pam_users, start_daemon,
                                                    triad_root):
    """A site whose docroot does not exist: its login gets 530, never ftp_root."""
    sites.sections["site gone"] = {"ftp_users": "carol"}
    d = start_daemon("ftpd", config=sites, env=pam_users.env)
    host, port = d.addr
    with ftplib.FTP() as f:
        f.connect(host, port, timeout=10)
        with pytest.raises(ftplib.error_perm, match="530"):
            f.login("carol", USERS["carol"])


def swaks(d, to, body="site mail"):
    host, port = d.addr
    return subprocess.run(["swaks", "--server", f"{host}:{port}", "--from", "s@example.net",
                           "--to", to, "--helo", "client.example", "--body", body,
                           "--timeout", "10"], capture_output=True, text=True, timeout=30)


def test_smtp_mail_domains(sites, start_daemon, triad_root):
    """A site's mail_domains are accepted as if listed in domains (any case); a mailbox
    that does not exist is 550 5.1.1; other domains stay 550 5.7.1 (no relaying)."""
    d = start_daemon("smtpd", config=sites)
    r = swaks(d, "orders@SHOP.example", "for the shop")
    assert r.returncode == 0, r.stdout + r.stderr
    [msg] = stored(triad_root, "shop.example", "orders")
    assert b"for the shop" in msg
    r = swaks(d, "editor@blog.example")
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(stored(triad_root, "blog.example", "editor")) == 1
    r = swaks(d, "nobody@shop.example")
    assert r.returncode != 0 and "550 5.1.1" in r.stdout
    r = swaks(d, "x@elsewhere.example")
    assert r.returncode != 0 and "550 5.7.1" in r.stdout
    # [smtpd] domains still work beside the sites'
    r = swaks(d, "alice@example.org")
    assert r.returncode == 0, r.stdout + r.stderr


def test_smtp_maildir_root_inside_a_site_is_refused(sites, triad_root):
    sites.sections["site shop"]["docroot"] = "mail"
    path = sites.write(triad_root.etc / "bad.conf")
    r = th.run_cli("smtpd", "-t", "-c", path)
    assert r.returncode == 1
    assert f"{path}:{sites.line('smtpd', 'maildir_root')}: maildir_root: " in r.stderr
    assert "is inside [site shop]'s docroot" in r.stderr


# ---------------------------------------------------------------- aliases

def mailbox(layout, domain, local):
    for sub in ("tmp", "new", "cur"):
        (layout.mail / domain / local / sub).mkdir(parents=True, exist_ok=True)


@pytest.fixture
def aliased(sites, triad_root):
    """Mailboxes alice, bob, info (shop.example) and the aliases file beside the config."""
    for local in ("alice", "bob", "info"):
        mailbox(triad_root, "shop.example", local)
    triad_root.give_to_run_user()
    (triad_root.etc / "aliases").write_text(
        "# Postfix virtual(5) syntax\n"
        "sales@shop.example    alice@shop.example, bob@shop.example\n"
        "info@shop.example     bob@shop.example\n"         # an alias beats the mailbox info
        "team@shop.example     alice@shop.example\n"
        "    bob@shop.example nobody@shop.example\n"        # a continuation; nobody: no Maildir
        "ghost@shop.example    nobody@shop.example\n"
        "@shop.example         alice@shop.example\n"        # the catch-all
        "editor@blog.example   alice@shop.example\n")       # blog's editor is a mailbox too
    sites.update("smtpd", {"aliases": "aliases"})
    return sites


def test_aliases_fan_out_and_catch_all(aliased, start_daemon, triad_root):
    """Postfix virtual alias semantics: an alias fans out to its targets; an alias beats
    the mailbox of its name; a mailbox beats the catch-all; the catch-all takes the rest."""
    d = start_daemon("smtpd", config=aliased)
    r = swaks(d, "sales@shop.example", "to sales")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [b"to sales" in m for m in stored(triad_root, "shop.example", "alice")] == [True]
    assert [b"to sales" in m for m in stored(triad_root, "shop.example", "bob")] == [True]
    r = swaks(d, "INFO@shop.example", "to info")
    assert r.returncode == 0, r.stdout + r.stderr
    assert stored(triad_root, "shop.example", "info") == []          # the alias won
    assert len(stored(triad_root, "shop.example", "bob")) == 2
    r = swaks(d, "bob@shop.example", "to bob directly")              # a mailbox, no alias
    assert r.returncode == 0
    assert len(stored(triad_root, "shop.example", "bob")) == 3
    assert len(stored(triad_root, "shop.example", "alice")) == 1     # catch-all not used
    r = swaks(d, "whoever@shop.example", "to nobody in particular")  # the catch-all
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(stored(triad_root, "shop.example", "alice")) == 2
    # an alias none of whose targets has a Maildir: 550 5.1.1
    r = swaks(d, "ghost@shop.example")
    assert r.returncode != 0 and "550 5.1.1" in r.stdout
    # an alias with a missing target delivers to the targets that exist
    r = swaks(d, "team@shop.example", "to the team")
    assert r.returncode == 0, r.stdout + r.stderr
    assert any(b"to the team" in m for m in stored(triad_root, "shop.example", "bob"))
    # editor@blog.example is an alias to a mailbox of another accepted domain
    r = swaks(d, "editor@blog.example", "cross-site")
    assert r.returncode == 0
    assert any(b"cross-site" in m for m in stored(triad_root, "shop.example", "alice"))
    assert stored(triad_root, "blog.example", "editor") == []
    d.wait_log(r"message id=\S+ from=<s@example\.net> to=<sales@shop\.example> nrcpt=1 ")


def test_aliases_one_copy_per_mailbox(aliased, start_daemon, triad_root):
    """One message to sales (alice, bob), info (bob) and alice: one copy per distinct
    mailbox across all its recipients."""
    d = start_daemon("smtpd", config=aliased)
    host, port = d.addr
    r = subprocess.run(["swaks", "--server", f"{host}:{port}", "--from", "s@example.net",
                        "--to", "sales@shop.example,info@shop.example,alice@shop.example",
                        "--body", "once each", "--timeout", "10"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(stored(triad_root, "shop.example", "alice")) == 1
    assert len(stored(triad_root, "shop.example", "bob")) == 1
    d.wait_log(r"to=<sales@shop\.example>,<info@shop\.example>,<alice@shop\.example> nrcpt=3 ")


@pytest.mark.parametrize("text,line,message", [
    ("a@shop.example b@shop.example\nbroken\n", 2,
     "'broken' is not an address (local@domain, or @domain for a catch-all)"),
    ("a@shop.example b@shop.example\n\nb@shop.example x@elsewhere.example\n", 3,
     "target 'x@elsewhere.example' is not in an accepted domain (domains or a site's "
     "mail_domains)"),
    ("a@elsewhere.example b@shop.example\n", 1,
     "'a@elsewhere.example' is not in an accepted domain (domains or a site's mail_domains)"),
    ("a@shop.example b@shop.example\nA@SHOP.example c@shop.example\n", 2,
     "'a@shop.example' is already on line 1"),
])
def test_aliases_checked_by_t(aliased, triad_root, text, line, message):
    """-t names the aliases file and the line of a bad entry."""
    (triad_root.etc / "aliases").write_text(text)
    path = aliased.write(triad_root.etc / "t.conf")
    r = th.run_cli("smtpd", "-t", "-c", path)
    assert r.returncode == 1
    assert r.stderr.strip().endswith(f"{triad_root.etc / 'aliases'}:{line}: {message}"), r.stderr


def test_aliases_reread_on_sighup(aliased, start_daemon, triad_root):
    """SIGHUP re-reads the file; a bad file is refused and the old one stays."""
    d = start_daemon("smtpd", config=aliased)
    assert swaks(d, "new@shop.example", "before").returncode == 0  # the catch-all: alice
    (triad_root.etc / "aliases").write_text("new@shop.example bob@shop.example\n")
    d.reload(expect=r"reload: done")
    assert swaks(d, "new@shop.example", "after").returncode == 0
    assert any(b"after" in m for m in stored(triad_root, "shop.example", "bob"))
    r = swaks(d, "whoever@shop.example")  # the catch-all is gone
    assert r.returncode != 0 and "550 5.1.1" in r.stdout
    (triad_root.etc / "aliases").write_text("new@shop.example nowhere@other.example\n")
    d.reload(expect=r"reload refused")
    assert swaks(d, "new@shop.example", "still bob").returncode == 0
    assert any(b"still bob" in m for m in stored(triad_root, "shop.example", "bob"))
