"""A real terminal for the operator tests: a command in a tmux pane of a private server.

The pane is what an operator at the bench sees; `send` types as they would. The command
is wrapped so that its exit code shows in the pane and the pane stays for reading.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

WAIT_S = 60.0
POLL_S = 0.1
EXIT = re.compile(r"\[exit (\d+)\]")


class Pane:
    def __init__(self, command: list[str], cwd: Path, env: dict[str, str],
                 width: int = 200, height: int = 50) -> None:
        if shutil.which("tmux") is None:
            pytest.fail("tmux is not installed (apt install tmux): the operator tests need "
                        "a real terminal")
        # A socket path of its own (short: sockets have a 108-byte limit), no user config.
        self.folder = Path(tempfile.mkdtemp(prefix="certkit-tmux-"))
        self.socket = self.folder / "s"
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # CI unset: the operator tests are about an attended run wherever they run.
        # The shell outlives a Ctrl-C typed at the command (its trap; the command's own
        # SIGINT stays the default), so the exit code shows.
        line = (f"trap : INT; cd {shlex.quote(str(cwd))} && env -u CI {exports} "
                f"{shlex.join(command)}; "
                "echo \"[exit $?]\"; sleep 600")
        self._tmux("new-session", "-d", "-s", "operator", "-x", str(width), "-y", str(height),
                   "sh", "-c", line)

    def _tmux(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-f", "/dev/null", "-S", str(self.socket), *args],
                                capture_output=True, text=True, timeout=10, check=True)
        return result.stdout

    @property
    def tty(self) -> str:
        return self._tmux("display-message", "-p", "-t", "operator", "#{pane_tty}").strip()

    def screen(self) -> str:
        """Everything the pane showed, scrollback included, wrapped lines joined."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "operator")

    def wait_for(self, pattern: str, count: int = 1, timeout: float = WAIT_S) -> str:
        """The screen once `pattern` (a regex) shows `count` times; fails after `timeout`."""
        give_up = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if len(re.findall(pattern, shown)) >= count:
                return shown
            if EXIT.search(shown) or time.monotonic() > give_up:
                pytest.fail(f"waited for {pattern!r} x{count}; the terminal shows:\n{shown}")
            time.sleep(POLL_S)

    def exit_code(self, timeout: float = WAIT_S) -> int:
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            found = EXIT.search(self.screen())
            if found:
                return int(found.group(1))
            time.sleep(POLL_S)
        pytest.fail(f"the command did not end within {timeout:g} s:\n{self.screen()}")

    def send(self, *keys: str) -> None:
        """Type: literal text, or tmux key names such as Enter."""
        for key in keys:
            if key in ("Enter", "C-c", "C-d"):
                self._tmux("send-keys", "-t", "operator", key)
            else:
                self._tmux("send-keys", "-t", "operator", "-l", key)

    def close(self) -> None:
        try:
            subprocess.run(["tmux", "-f", "/dev/null", "-S", str(self.socket), "kill-server"],
                           check=False, capture_output=True, timeout=10)
        except subprocess.TimeoutExpired:
            pass
        shutil.rmtree(self.folder, ignore_errors=True)
