"""amqtt as the embedded broker: `amqtt_child.py` in a child process (MQTT 3.1.1 only)."""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from certkit.links.mqtt.broker import EmbeddedBroker

# Run by path, not with -m: importing certkit's packages would double the start time.
CHILD = Path(__file__).with_name("amqtt_child.py")


class AmqttBroker(EmbeddedBroker):
    kind = "amqtt"
    protocols = (4,)

    @property
    def version(self) -> str:
        try:
            return version("amqtt")
        except PackageNotFoundError:
            return "unknown"

    def command(self) -> list[str]:
        return [sys.executable, str(CHILD), self.host, str(self.port), str(os.getpid())]
