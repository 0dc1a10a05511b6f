"""amqtt 0.12.1 corrected where it delivers what MQTT 3.1.1 does not (ECS-1 C-3).

Imported by `amqtt_child.py` (run by path, so this module is found beside it and
imports nothing of certkit). Each correction overrides one private method of
`amqtt.broker.Broker`; `check()` refuses to run on an amqtt where they moved.
tests/mqtt/test_broker_conformance.py proves every point below on a real child.

1. Retained messages only for a new subscription (MQTT-3.3.1-6). On every
   CONNECT, `Broker._handle_client_session` walks `self._subscriptions`, the
   filters of *every* client, and sends the newcomer each retained message that
   matches any of them. certkit's controller holds `homie/5/<id>/#`, so a DUT
   reconnecting after a cut got its own will (`$state` = `lost`), description
   and values, retained, on no subscription of its own (issue 10).
2. The QoS of a delivery is the lower of the publish's and the subscription's
   (MQTT-3.8.4-6); `Broker._run_broadcast` used the subscription's alone, so a
   QoS 0 publish reached a QoS 2 subscriber at QoS 2.
3. Persistent sessions (clean session 0) keep their subscriptions and get the
   QoS 1 and 2 messages they missed (MQTT-3.1.2-4/5). amqtt forgets the session
   of an "anonymous" client and queues nothing for it, and its anonymous plugin
   marks every client so: `OpenAccess` admits everyone unmarked. The queued
   messages went out flagged retained; they are ordinary deliveries (retain 0).
4. Session take-over (MQTT-3.1.4-2): a CONNECT with a client id already
   connected closes the old connection. With clean session amqtt left the old
   connection open (and published its will whenever it ended, perhaps after
   the new connection's `$state`); with a persistent session the old
   connection's end marked the *shared* session disconnected, so the new
   connection got nothing. Now the old connection ends at once, its will goes
   out before the new connection is answered (MQTT-3.1.2-8: the will is
   published when the connection closes without DISCONNECT), and the session
   stays with the new connection. (mosquitto 2.0 publishes the old will when
   either session is clean, and drops it when a persistent session takes over
   a persistent one.)
5. The will of a resumed persistent session is the new CONNECT's (MQTT-3.1.2-8):
   amqtt copied its topic, payload and QoS but kept the old retain flag. The
   handler class that reads a CONNECT (`ReadsConnect`) now tells the broker
   what the CONNECT said.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from dataclasses import dataclass
from typing import Any

import amqtt.broker
from amqtt.broker import Broker
from amqtt.contexts import Action
from amqtt.mqtt.constants import QOS_1, QOS_2
from amqtt.mqtt.protocol.broker_handler import BrokerProtocolHandler
from amqtt.plugins.base import BaseAuthPlugin
from amqtt.session import ApplicationMessage, Session

OPEN_ACCESS = f"{__name__}.OpenAccess"  # the plugin path for the broker's configuration

# Set while the broker handles a SUBSCRIBE of the current connection.
_subscribing: contextvars.ContextVar[bool] = contextvars.ContextVar("subscribing", default=False)
# The QoS of the PUBLISH the current connection's task is passing on.
_publish_qos: contextvars.ContextVar[int | None] = contextvars.ContextVar("publish_qos",
                                                                         default=None)
# The session a CONNECT described, before amqtt merges it into a resumed one.
_incoming: contextvars.ContextVar[Session | None] = contextvars.ContextVar("incoming",
                                                                          default=None)
PUBLISH_QOS = "certkit_publish_qos"  # the key it travels under in amqtt's broadcast dict
TAKEN_OVER = "certkit_taken_over"    # set on the handler of a connection taken over
WILL = "certkit_will"                # the will of a handler's connection


class OpenAccess(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no types
    """Every client may connect, and none is marked anonymous (point 3)."""

    @dataclass
    class Config:
        pass

    async def authenticate(self, *, session: Session) -> bool:
        return True


class ReadsConnect(BrokerProtocolHandler):  # type: ignore[misc]  # amqtt ships no types
    """amqtt's broker handler, leaving what the CONNECT said where the broker sees it (5)."""

    @classmethod
    async def init_from_connect(cls, *args: Any, **kwargs: Any
                                ) -> tuple[BrokerProtocolHandler, Session]:
        handler, session = await super().init_from_connect(*args, **kwargs)
        _incoming.set(session)  # awaited in the broker's task: its context sees this
        return handler, session


class ConformantBroker(Broker):  # type: ignore[misc]  # amqtt ships no types
    """amqtt's broker with points 1 to 5 of the module doc corrected."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        amqtt.broker.BrokerProtocolHandler = ReadsConnect
        super().__init__(*args, **kwargs)

    # ------------------------------------------------------------ 1: retained on SUBSCRIBE only

    async def _handle_subscription(self, *args: Any, **kwargs: Any) -> None:
        token = _subscribing.set(True)
        try:
            await super()._handle_subscription(*args, **kwargs)
        finally:
            _subscribing.reset(token)

    async def _publish_retained_messages_for_subscription(self, *args: Any, **kwargs: Any
                                                          ) -> None:
        if _subscribing.get():
            await super()._publish_retained_messages_for_subscription(*args, **kwargs)

    # ------------------------------------------------------------ 2: the QoS of a delivery

    async def _handle_message_delivery(self, session: Session, handler: BrokerProtocolHandler,
                                       wait_deliver: asyncio.Future[Any]) -> bool:
        message = wait_deliver.result()
        token = _publish_qos.set(message.qos if isinstance(message, ApplicationMessage) else None)
        try:
            delivered: bool = await super()._handle_message_delivery(session, handler,
                                                                     wait_deliver)
            return delivered
        finally:
            _publish_qos.reset(token)

    async def _broadcast_message(self, session: Session | None, topic: str | None,
                                 data: bytes | bytearray | None,
                                 force_qos: int | None = None) -> None:
        broadcast: dict[str, Any] = {"session": session, "topic": topic, "data": data,
                                     PUBLISH_QOS: force_qos if force_qos is not None
                                     else _publish_qos.get()}
        await self._broadcast_queue.put(broadcast)

    async def _run_broadcast(self, running_tasks: deque[asyncio.Task[Any]]) -> None:
        """One message to every matching subscription: live sessions get it now, persistent
        ones that are away get QoS 1 and 2 queued."""
        broadcast = await self._broadcast_queue.get()
        topic, published = broadcast["topic"], broadcast.get(PUBLISH_QOS)
        for topic_filter, subscribers in list(self._subscriptions.items()):
            if not self._matches(topic, topic_filter):
                continue
            for target, granted in list(subscribers):
                qos = granted if published is None else min(published, granted)
                if not await self._topic_filtering(target, topic=topic, action=Action.RECEIVE):
                    continue
                if target.transitions.state != "connected":
                    if not target.clean_session and qos in (QOS_1, QOS_2):
                        await self._retain_broadcast_message(broadcast, qos, target)
                    continue
                handler = self._get_handler(target)
                if handler is not None:
                    running_tasks.append(asyncio.ensure_future(
                        handler.mqtt_publish(topic, broadcast["data"], qos, retain=False)))

    # ------------------------------------------------------------ 3: queued, not retained

    async def _publish_session_retained_messages(self, session: Session) -> None:
        handler = self._get_handler(session)
        sending = []
        while handler is not None and not session.retained_messages.empty():
            queued = session.retained_messages.get_nowait()
            sending.append(asyncio.ensure_future(
                handler.mqtt_publish(queued.topic, queued.data, queued.qos, retain=False)))
        if sending:
            await asyncio.wait(sending)

    # ------------------------------------------------------------ 4: take-over

    async def _initialize_client_session(self, *args: Any, **kwargs: Any
                                         ) -> tuple[BrokerProtocolHandler, Session]:
        _incoming.set(None)
        handler, session = await super()._initialize_client_session(*args, **kwargs)
        incoming = _incoming.get()
        if incoming is not None and incoming is not session:  # a persistent session resumed
            session.will_retain = incoming.will_retain
        # A persistent session resumed while its old connection is still open: amqtt's
        # take-over closes that connection next; it ends as taken over.
        current = self._sessions.get(session.client_id or "", (None, None))
        if current[0] is session and current[1] is not None and session.transitions.is_connected():
            await self._taken_over(session, current[1])
        # The will belongs to the connection: amqtt keeps it on the session, which the
        # next connection of a persistent session overwrites.
        setattr(handler, WILL, Will.of(session))
        return handler, session

    async def _delete_session(self, client_id: str) -> None:
        # A clean-session CONNECT for a client id that is still connected.
        session, handler = self._sessions.get(client_id, (None, None))
        if session is not None and handler is not None and session.transitions.is_connected():
            await self._taken_over(session, handler)
            await handler.handle_connection_closed()
            await handler.stop()
        await super()._delete_session(client_id)

    async def _taken_over(self, session: Session, handler: BrokerProtocolHandler) -> None:
        """The old connection ends without a DISCONNECT, so its will goes out now (MQTT-3.1.2-8),
        before the new connection is answered; its end then leaves the session be."""
        setattr(handler, TAKEN_OVER, True)
        will: Will | None = getattr(handler, WILL, None)
        if will is not None and will.flag and will.topic is not None:
            await self._broadcast_message(session, will.topic, will.message, will.qos)
            if will.retain:
                await self.retain_message(session, will.topic, will.message, will.qos)

    async def _handle_disconnect(self, session: Session, handler: BrokerProtocolHandler,
                                 disconnect_waiter: asyncio.Future[Any]) -> None:
        if getattr(handler, TAKEN_OVER, False):
            await self._stop_handler(handler)
            return
        await super()._handle_disconnect(session, handler, disconnect_waiter)


@dataclass(frozen=True)
class Will:
    flag: bool
    topic: str | None
    message: bytes | bytearray | None
    qos: int | None
    retain: bool

    @classmethod
    def of(cls, session: Session) -> Will:
        return cls(bool(session.will_flag), session.will_topic, session.will_message,
                   session.will_qos, bool(session.will_retain))


OVERRIDDEN = ("_handle_subscription", "_publish_retained_messages_for_subscription",
              "_handle_message_delivery", "_broadcast_message", "_run_broadcast",
              "_publish_session_retained_messages", "_delete_session",
              "_initialize_client_session", "_handle_disconnect", "_handle_client_session",
              "_retain_broadcast_message", "_matches", "_get_handler", "_topic_filtering",
              "_stop_handler")


def check() -> None:
    """The corrections hook amqtt's private methods: refuse to run if they moved."""
    missing = [m for m in OVERRIDDEN if not callable(getattr(Broker, m, None))]
    if missing:
        raise SystemExit(f"amqtt_fixes: this amqtt has no Broker.{', '.join(missing)}; "
                         "certkit's corrections cannot apply (amqtt 0.12.1 is pinned)")
