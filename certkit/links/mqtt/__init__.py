"""The MQTT link driver: Homie 5 over a broker endpoint that certkit owns.

The `mqtt` transport (`transport.py`). Its link factory only builds the link; its
`open` (bounded by the plugin's deadline) starts the broker, the controller,
the endpoint and, with `--emulate mqtt`, the reference emulator.

Modules, each readable alone:

| module | what |
| --- | --- |
| `homie.py` | the profile as Homie 5: mapping, topics, payloads (pure) |
| `description.py`, `homie5-description.schema.json` | `$description`: MQT-002, MQT-003 (pure) |
| `wire.py` | MQTT packets read off the DUT's stream (pure) |
| `tls.py` | certificates the endpoint presents; TLS settings from the environment |
| `aio.py` | the asyncio loop thread and bounded calls |
| `endpoint.py` | the pass-through endpoint: cut, TLS, tap |
| `dutlog.py` | what the endpoint saw of the DUT |
| `messages.py` | what the broker delivered to certkit, with waits |
| `broker.py` | which broker: embedded (child process, bounded stop) or external |
| `mosquitto_broker.py` | embedded mosquitto (MQTT 3.1.1 and 5; the default where installed) |
| `amqtt_broker.py`, `amqtt_child.py`, `amqtt_fixes.py` | embedded amqtt (3.1.1), corrected where it departs from MQTT |
| `controller.py` | `MqttLink`: the controller on paho-mqtt 2, and the bench it owns |
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # paho loads when a link is made, not when the transport registry is read.
    if name == "MqttLink":
        from certkit.links.mqtt.controller import MqttLink

        return MqttLink
    if name == "Message":
        from certkit.links.mqtt.messages import Message

        return Message
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Message", "MqttLink"]
