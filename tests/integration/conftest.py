"""pytest fixtures for the triad integration suites (helpers live in triad_harness.py).

- ``triad_root``: a fresh Layout (document root, etc/ with the session's certificate);
- ``triad_config``: a TriadConfig on that layout, all three sections on free ports;
- ``start_daemon(name, global_overrides={}, section_overrides={}, env={},
  expect_ready=True, config=None, sections={})``: writes the config, starts
  build/triad-<name>, waits for "ready" and accepting listeners (re-rolling ports when a
  harness-chosen one turned out to be taken), returns a ``Daemon``; at teardown every
  daemon still running is stopped with SIGTERM and must exit 0, and no daemon may have
  left a sanitizer report on stderr;
- ``pam_user``: a pam_wrapper + pam_matrix user alice/secret for service "triad".

Run with TRIAD_BUILD=<abs build dir> (default <repo>/build); TRIAD_KEEP=1 keeps the temp
directories for inspection.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

import triad_harness as th


def pytest_report_header(config):
    return f"triad build: {th.BUILD} (sanitized: {th.sanitized()}, root: {th.IS_ROOT})"


@pytest.fixture(scope="session", autouse=True)
def _binaries_present():
    missing = [str(th.binary(n)) for n in th.DAEMONS if not th.binary(n).exists()]
    if missing:
        pytest.exit(f"daemon binaries missing (run make): {' '.join(missing)}", returncode=1)


@pytest.fixture(scope="session")
def session_dir():
    d = tempfile.mkdtemp(prefix="triad-it-")
    os.chmod(d, 0o755)  # the run user must traverse it after the privilege drop
    yield Path(d)
    if not os.environ.get("TRIAD_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def certificate(session_dir):
    return th.make_certificate(session_dir / "tls")


@pytest.fixture
def triad_root(session_dir, certificate):
    return th.make_layout(session_dir, *certificate)


@pytest.fixture
def triad_config(triad_root):
    return th.TriadConfig(triad_root)


@pytest.fixture
def pam_user(triad_root):
    user = th.PamUser(triad_root.base / "pam")
    triad_root.give_to_run_user()
    return user


@pytest.fixture
def start_daemon(triad_root):
    started = []
    counter = [0]

    def start(name, global_overrides=None, section_overrides=None, env=None,
              expect_ready=True, config=None, sections=None, prefix=()):
        cfg = config if config is not None else th.TriadConfig(triad_root)
        cfg.update("global", global_overrides or {})
        cfg.update(name, section_overrides or {})
        for section, values in (sections or {}).items():
            cfg.update(section, values)
        if cfg.path is None or global_overrides or section_overrides or sections:
            counter[0] += 1
            cfg.write(cfg.path or triad_root.etc / f"{name}-{counter[0]}.conf")
        for attempt in range(3):
            d = th.Daemon(name, cfg, cfg.path, env, prefix)
            started.append(d)
            d.start()
            if not expect_ready:
                return d
            try:
                return d.wait_ready()
            except th.DaemonError:
                lost_race = (not d.running() and "in use" in d.stderr_text()
                             and cfg.harness_ports and attempt < 2)
                if not lost_race:
                    raise
                cfg.reroll_ports()
                cfg.write()

    yield start

    errors = []
    for d in started:
        try:
            if d.running():
                d.stop()
            else:
                d.check_sanitizer()
        except AssertionError as e:
            errors.append(str(e))
        finally:
            d.kill()
    if errors:
        pytest.fail("\n\n".join(errors), pytrace=False)
