"""The embedded broker's process: an anonymous amqtt broker on HOST PORT until SIGTERM.

    python certkit/links/mqtt/amqtt_child.py 127.0.0.1 18830 [PARENT_PID]

Started by `certkit.links.mqtt.amqtt_broker.AmqttBroker`; it imports nothing
of certkit, so it is up in the time amqtt itself takes. It also stops when its
parent is gone (a certkit killed outright cannot stop it), so no broker is
ever left behind.

`ConformantBroker` corrects where amqtt 0.12.1 delivers what MQTT 3.1.1 does
not (ECS-1 C-3: a DUT must never get a message a conformant broker would not
send it):

- Retained messages only for a new subscription (MQTT-3.3.1-6). On every
  CONNECT, `Broker._handle_client_session` walks `self._subscriptions`, the
  filters of *every* client, and sends the newcomer each retained message that
  matches any of them. certkit's controller holds `homie/5/<id>/#`, so a DUT
  reconnecting after a cut got its own will (`$state` = `lost`), description
  and values, retained, on no subscription of its own.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import signal
import sys

from amqtt.broker import Broker

SHUTDOWN_TIMEOUT_S = 2.0
PARENT_CHECK_S = 1.0


# Set while the broker handles one SUBSCRIBE packet of the current connection.
_SUBSCRIBING: contextvars.ContextVar[bool] = contextvars.ContextVar("subscribing", default=False)


class ConformantBroker(Broker):
    """amqtt's broker with its departures from MQTT 3.1.1 corrected (see the module doc)."""

    async def _handle_subscription(self, *args: object, **kwargs: object) -> None:
        token = _SUBSCRIBING.set(True)
        try:
            await super()._handle_subscription(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            _SUBSCRIBING.reset(token)

    async def _publish_retained_messages_for_subscription(self, *args: object,
                                                          **kwargs: object) -> None:
        # amqtt also calls this on CONNECT, for every client's filters; only a SUBSCRIBE
        # of this client may bring retained messages.
        if _SUBSCRIBING.get():
            await super()._publish_retained_messages_for_subscription(  # type: ignore[arg-type]
                *args, **kwargs)


def _check_amqtt() -> None:
    """The corrections hook amqtt's private methods: refuse to run if they moved."""
    for method in ("_handle_subscription", "_publish_retained_messages_for_subscription",
                   "_handle_client_session"):
        if not callable(getattr(Broker, method, None)):
            raise SystemExit(f"amqtt_child: this amqtt has no Broker.{method}; certkit's "
                             "corrections cannot apply (amqtt 0.12.1 is pinned)")


def config(host: str, port: int) -> dict:
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def _orphaned(parent: int, stopping: asyncio.Event) -> None:
    while os.getppid() == parent:
        await asyncio.sleep(PARENT_CHECK_S)
    stopping.set()


async def serve(host: str, port: int, parent: int | None) -> None:
    _check_amqtt()
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
