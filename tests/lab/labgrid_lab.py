"""A labgrid lab on loopback, all real parts: labgrid-coordinator, a labgrid-exporter that
exports the reference MCU's pty (through ser2net, which the exporter starts when the place is
acquired) and its network power outlet, and places made with labgrid-client."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab.processes import START_S, PoweredMcu, accepts, free_port, lab_child
from tests.support.paths import KETTLE
from tests.support.processes import ChildProcess

BIN = Path(sys.executable).parent  # labgrid's commands, installed beside this Python
CLIENT_S = 60.0  # one labgrid-client command (its imports take a second or two)


@dataclass
class LabgridLab:
    folder: Path
    coordinator: str = ""
    mcus: list[PoweredMcu] = field(default_factory=list)  # one per place, in order
    children: list[ChildProcess] = field(default_factory=list)

    def env(self, user: str | None = None) -> dict[str, str]:
        env = {**os.environ, "LG_COORDINATOR": self.coordinator}
        if user:
            env["LG_USERNAME"] = user
        return env

    def client(self, *args: str, user: str | None = None, check: bool = True
               ) -> subprocess.CompletedProcess:
        """`labgrid-client ARGS` as `user` (LG_USERNAME), within CLIENT_S."""
        done = subprocess.run([str(BIN / "labgrid-client"), *args], env=self.env(user),
                              capture_output=True, text=True, timeout=CLIENT_S, check=False)
        with (self.folder / "labgrid-client.log").open("a", encoding="utf-8") as log:
            log.write(f"$ labgrid-client {' '.join(args)} ({user or 'default user'}): "
                      f"{done.returncode}\n{done.stdout}{done.stderr}\n")
        if check and done.returncode != 0:
            raise AssertionError(f"labgrid-client {' '.join(args)}: {done.stderr}")
        return done

    def holder_name(self) -> str:
        """HOST/USER: how the coordinator names this user's runs as holders."""
        return (f"{os.environ.get('LG_HOSTNAME', socket.gethostname())}/"
                f"{os.environ.get('LG_USERNAME', getpass.getuser())}")

    def holder(self, place: str) -> str | None:
        """Who holds the place, as `labgrid-client show` says (None: nobody)."""
        shown = self.client("-p", place, "show").stdout
        for line in shown.splitlines():
            if line.strip().startswith("acquired:"):
                value = line.split(":", 1)[1].strip()
                return None if value == "None" else value
        raise AssertionError(f"labgrid-client show said no holder line:\n{shown}")

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()


def start_lab(folder: Path, places: tuple[str, ...] = ("kettle",)) -> LabgridLab:
    """The coordinator; per place, an MCU behind its outlet (its own folder), exported as
    group bench-N by one exporter, and the place matching every resource of its group.
    Stop it with `lab.stop()`."""
    lab = LabgridLab(folder)
    try:
        groups = []
        for n, place in enumerate(places, 1):
            home = folder / place
            home.mkdir()
            mcu = PoweredMcu(home, KETTLE)
            lab.children.append(mcu)
            lab.mcus.append(mcu)
            groups.append(textwrap.dedent(f"""\
                bench-{n}:
                  RawSerialPort:
                    port: {mcu.port}
                    speed: 115200
                  NetworkPowerPort:
                    model: rest
                    host: '{mcu.outlet}'
                    index: 0
                """))
        port = free_port()
        lab.coordinator = f"127.0.0.1:{port}"
        home = folder / "coordinator"  # it keeps places.yaml and resources.yaml here
        home.mkdir()
        lab.children.append(lab_child("coordinator", [str(BIN / "labgrid-coordinator"), "-l",
                                                      lab.coordinator],
                                      folder / "coordinator.log", cwd=home))
        if not accepts(port, time.monotonic() + START_S):
            raise AssertionError(f"labgrid-coordinator did not listen within {START_S:g} s")
        config = folder / "exporter.yaml"
        config.write_text("".join(groups), "utf-8")
        exporter = lab_child("exporter", [str(BIN / "labgrid-exporter"), "-c", lab.coordinator,
                                          "--name", "exporter-1",
                                          "--hostname", "127.0.0.1", str(config)],
                             folder / "exporter.log", env=lab.env())
        lab.children.append(exporter)
        exporter.expect("Exporter ready", START_S)
        for n, place in enumerate(places, 1):
            lab.client("-p", place, "create")
            lab.client("-p", place, "add-match", f"exporter-1/bench-{n}/*")
        return lab
    except BaseException:
        lab.stop()
        raise
