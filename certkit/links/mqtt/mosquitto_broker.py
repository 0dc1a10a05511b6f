"""mosquitto as the embedded broker: Debian's binary with a configuration certkit writes.

MQTT 3.1, 3.1.1 and 5; anonymous, no persistence to disk, on loopback only.
"""

from __future__ import annotations

import functools
import getpass
import re
import subprocess

from certkit.links.mqtt.broker import EmbeddedBroker

VERSION_TIMEOUT_S = 2.0


@functools.lru_cache(maxsize=4)
def mosquitto_version(path: str) -> str:
    """`mosquitto -h` prints "mosquitto version 2.0.11" first (and exits with code 3)."""
    try:
        shown = subprocess.run([path, "-h"], capture_output=True, text=True,
                               timeout=VERSION_TIMEOUT_S, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    found = re.search(r"mosquitto version (\S+)", shown)
    return found.group(1) if found else "unknown"


class MosquittoBroker(EmbeddedBroker):
    kind = "mosquitto"
    protocols = (3, 4, 5)

    def __init__(self, path: str, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.path = path

    @property
    def version(self) -> str:
        return mosquitto_version(self.path)

    def command(self) -> list[str]:
        config = self.folder / "mosquitto.conf"
        config.write_text("\n".join([
            f"listener {self.port} {self.host}",
            "allow_anonymous true",
            "persistence false",
            "set_tcp_nodelay true",  # else every QoS 1 echo waits ~40 ms for delayed ACKs
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "log_type notice",
            # Started as root, mosquitto would switch to its own user, and a change of
            # user clears the signal that stops it with certkit (see broker.py).
            f"user {getpass.getuser()}",
        ]) + "\n", "utf-8")
        return [self.path, "-c", str(config)]
