"""MQTT (Homie 5) as a certkit transport (registered in the `certkit.transports` group)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from certkit.transports.base import BenchOption, Claim, Condition, Transport

if TYPE_CHECKING:
    from certkit.bench import Bench
    from certkit.evidence import EvidenceLog
    from certkit.links.base import Link
    from certkit.profile.model import Profile

EMBEDDED_BROKERS = ("mosquitto", "amqtt")
ANY_HOST = ("0.0.0.0", "::", "")


@dataclass(frozen=True)
class MqttSettings:
    device_id: str
    tls: str = "none"


def mosquitto_path() -> str | None:
    """Debian's mosquitto, on the PATH or where Debian puts it (/usr/sbin is not on every
    user's PATH)."""
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if Path(p).exists()), None)


def parse_broker_url(value: str) -> str:
    """`mqtt://HOST:PORT`, `mqtts://HOST:PORT`, or `embedded:mosquitto` / `embedded:amqtt`."""
    from certkit.bench import BenchError

    kind, colon, name = value.partition(":")
    if kind == "embedded" and colon:
        if name not in EMBEDDED_BROKERS:
            raise BenchError(f"--mqtt-broker: {value!r}: no such embedded broker (choose "
                             f"{' or '.join('embedded:' + b for b in EMBEDDED_BROKERS)})")
        if name == "mosquitto" and mosquitto_path() is None:
            raise BenchError("--mqtt-broker embedded:mosquitto: mosquitto is not installed "
                             "(on Debian: apt-get install mosquitto), or choose embedded:amqtt")
        return value
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in ("mqtt", "mqtts") or not rest:
        raise BenchError(f"--mqtt-broker: {value!r} is not mqtt://HOST:PORT, mqtts://HOST:PORT, "
                         "embedded:mosquitto or embedded:amqtt")
    if "@" in rest:
        raise BenchError("--mqtt-broker: put credentials in CERTKIT_MQTT_USERNAME and "
                         "CERTKIT_MQTT_PASSWORD, not in the URL (reports would show them)")
    return value


def _parse_listen(value: str) -> Any:
    from certkit.bench import parse_endpoint

    return parse_endpoint("--mqtt-listen", value)


@dataclass(frozen=True)
class ListenClaim(Claim):
    """A listen address clashes with another on its port when either host is any host."""

    def clashes(self, held: str) -> bool:
        host, _, port = held.rpartition(":")
        mine, _, my_port = self.value.rpartition(":")
        return int(port) == int(my_port) and (host == mine or host in ANY_HOST
                                              or mine in ANY_HOST)

    def message(self, holder: str, held: str, line: int) -> str:
        return (f"MQTT listen address {self.value} clashes with {holder}'s {held} "
                f"(line {line}): two DUTs cannot listen on one port")


class MqttTransport(Transport):
    name = "mqtt"
    title = "MQTT (Homie 5)"
    short = "MQTT"
    order = 20
    bench_options = (
        BenchOption("listen", "HOST:PORT", "where certkit's broker endpoint listens for the DUT",
                    parse=_parse_listen, cli="--mqtt-listen"),
        BenchOption("broker", "URL",
                    "the broker behind the endpoint: embedded:mosquitto or embedded:amqtt "
                    "(default: mosquitto where installed, else amqtt), or an external "
                    "one, mqtt://HOST:PORT or mqtts://HOST:PORT",
                    parse=parse_broker_url, cli="--mqtt-broker"),
    )
    profile_schema: ClassVar[dict[str, Any]] = {"type": "object", "additionalProperties": False,
                      "required": ["device-id"], "properties": {
                          "device-id": {"type": "string", "description": "Homie device ID."},
                          "tls": {"enum": ["required", "none"], "default": "none"}}}
    wire_encoding = "decimal"
    medium = "broker"
    several_controllers = True
    identity_keys = ("device-id",)
    base_deadline_s = 10.0
    progress_s = 0.5

    run_modules = ("paho.mqtt", "amqtt")
    modules_when_emulated = True  # an emulated DUT talks to an embedded broker too

    def check_doctor_options(self, given: dict[str, str]) -> None:
        """The shape of --mqtt-broker only: a missing mosquitto is the broker check's to
        report."""
        from certkit.bench import BenchError

        if given.get("listen"):
            _parse_listen(given["listen"])
        broker = given.get("broker")
        if broker is None:
            return
        if broker.startswith("embedded:"):
            if broker.split(":", 1)[1] not in EMBEDDED_BROKERS:
                raise BenchError(f"--mqtt-broker: {broker!r}: no such embedded broker")
            return
        parse_broker_url(broker)

    def doctor_checks(self, given: dict[str, str], needs: Any) -> list[Any]:
        from certkit.links.mqtt.doctor import check_broker, check_listen

        listen = _parse_listen(given["listen"]) if given.get("listen") else None
        return [check_broker(given.get("broker"), needs), check_listen(listen, needs)]

    def parse_settings(self, data: dict[str, Any]) -> MqttSettings:
        return MqttSettings(data["device-id"], data.get("tls", "none"))

    def conditions(self) -> dict[str, Condition]:
        return {"mqtt-tls-required": Condition(
            lambda p: bool(p.transports.get(self.name)
                           and p.transports.get(self.name).tls == "required"),
            "the profile requires MQTT over TLS",
            "the profile does not require MQTT over TLS (transports.mqtt.tls)")}

    def design_problems(self, settings: dict[str, Any], data: dict[str, Any]
                        ) -> list[tuple[tuple[Any, ...], str]]:
        from certkit.standard.ecs1 import DEVICE_ID_RE

        if DEVICE_ID_RE.fullmatch(settings["device-id"]):
            return []
        return [(("device-id",), (f"device-id {settings['device-id']!r} does not match "
                                 f"{DEVICE_ID_RE.pattern}"))]

    def template_lines(self, model: str, siids: list[int]) -> list[str]:
        device_id = model.replace(".", "-")
        return [f"  mqtt: {{device-id: {device_id}-0001}}  # TODO this unit's Homie id"]

    def profile_identity(self, profile: Profile) -> dict[str, str | None]:
        settings = profile.transports.get(self.name)
        return {"device-id": settings.device_id if settings else None}

    def open_link(self, profile: Profile, bench: Bench, evidence: EvidenceLog) -> Link:
        from certkit.links.mqtt.controller import MqttLink

        return MqttLink(profile, bench, evidence)

    def describe_bench(self, bench: Bench, emulated: bool, facts: dict[str, str]
                       ) -> dict[str, object]:
        settings = bench.settings(self.name)
        listen = settings.get("listen")
        return {"endpoint": str(listen) if listen else None, "broker": settings.get("broker"),
                "broker_served": facts.get("mqtt-broker-served")}

    def claims(self, bench: Bench, emulated: bool, declared: bool) -> list[Claim]:
        listen = bench.settings(self.name).get("listen")
        if not listen or listen.port == 0:
            return []
        return [ListenClaim("MQTT listen address", str(listen), "listen")]

    def reported_identity(self, link: Any, profile: Profile) -> dict[str, str]:
        ids = sorted({p.publish.topic.split("/")[2] for p in link.dut.publishes_since(0.0)
                      if p.publish.topic.startswith("homie/5/")
                      and len(p.publish.topic.split("/")) > 3})
        return {"device-id": ", ".join(ids)} if ids else {}


MQTT = MqttTransport()
