"""The embedded broker's process: an anonymous amqtt broker on HOST PORT until SIGTERM.

    python certkit/links/mqtt/amqtt_child.py 127.0.0.1 18830 [PARENT_PID]

Started by `certkit.links.mqtt.amqtt_broker.AmqttBroker`; it imports nothing
of certkit, so it is up in the time amqtt itself takes. It also stops when its
parent is gone (a certkit killed outright cannot stop it), so no broker is
ever left behind.

`amqtt_fixes.ConformantBroker` corrects where amqtt 0.12.1 delivers what MQTT
3.1.1 does not (ECS-1 C-3); its module doc lists each point.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

# Run by path: this folder is sys.path[0], so the corrections import without certkit.
if TYPE_CHECKING:  # the type checker knows the module by its name in the package
    from certkit.links.mqtt.amqtt_fixes import OPEN_ACCESS, ConformantBroker, check
else:
    from amqtt_fixes import OPEN_ACCESS, ConformantBroker, check

SHUTDOWN_TIMEOUT_S = 2.0
PARENT_CHECK_S = 1.0


def config(host: str, port: int) -> dict[str, Any]:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {
            OPEN_ACCESS: {},
            # $SYS/broker/version, retained, as mosquitto has it; no periodic statistics
            "amqtt.plugins.sys.broker.BrokerSysPlugin": {"sys_interval": 0},
        },
    }


async def _orphaned(parent: int, stopping: asyncio.Event) -> None:
    while os.getppid() == parent:
        await asyncio.sleep(PARENT_CHECK_S)
    stopping.set()


async def serve(host: str, port: int, parent: int | None) -> None:
    check()
    broker = ConformantBroker(config(host, port))
    await broker.start()
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    watch = loop.create_task(_orphaned(parent, stopping)) if parent else None
    await stopping.wait()
    if watch:
        watch.cancel()
    await asyncio.wait_for(broker.shutdown(), SHUTDOWN_TIMEOUT_S)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if sys.argv[3:] else None))
