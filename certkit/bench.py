"""Where the DUT is: the bench wiring given on the command line.

The profile says what the device is; the bench says where it is plugged in
(port, broker endpoint, BLE adapter, reset method) or that an emulator
stands in for it. `Bench.from_options` turns option strings into a checked
value and raises `BenchError` naming the option when one is malformed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from certkit.standard.ecs1 import TRANSPORTS

RESET_METHODS = ("dtr", "rts", "prompt", "none")


@dataclass(frozen=True)
class BenchOption:
    """One bench option: its key under its transport in a bench file, its `certkit run`
    option, and what it holds (the one table the CLI help, bench files and their schema
    come from)."""

    transport: str
    key: str          # in a bench file: serial: {port: ...}
    attr: str         # Bench.from_options keyword and argparse dest
    metavar: str
    help: str

    @property
    def cli(self) -> str:
        return "--" + self.attr.replace("_", "-")

    @property
    def plugin(self) -> str:
        """The pytest plugin's option (`certkit run` passes the value on)."""
        return "--certkit-" + self.cli[2:]


BENCH_OPTIONS: tuple[BenchOption, ...] = (
    BenchOption("serial", "port", "serial", "PORT",
                "the MCU's serial port: a device path or a pyserial URL"),
    BenchOption("serial", "reset", "reset", "METHOD",
                "how to reset the DUT: dtr, rts, cmd:<shell command>, prompt, none"),
    BenchOption("mqtt", "listen", "mqtt_listen", "HOST:PORT",
                "where certkit's broker endpoint listens for the DUT"),
    BenchOption("mqtt", "broker", "mqtt_broker", "URL",
                "the broker behind the endpoint: embedded:mosquitto or embedded:amqtt "
                "(default: mosquitto where installed, else amqtt), or an external "
                "one, mqtt://HOST:PORT or mqtts://HOST:PORT"),
    BenchOption("ble", "address", "ble", "NAME_OR_ADDRESS", "which BLE device is the DUT"),
    BenchOption("ble", "adapter", "ble_adapter", "ADAPTER",
                "bluez (default) or bumble:<transport>"),
)

# What identifies one unit, as the bench expects it (--identity KEY=VALUE, a bench file's
# `identity`) and as the transports report it.
IDENTITY_KEYS = ("serial-number", "device-id", "ble-address", "model", "firmware",
                 "mcu-version")


class BenchError(ValueError):
    """A bench option is malformed; the message names the option."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Bench:
    emulate: frozenset[str] = frozenset()
    serial: str | None = None
    reset: str | None = None  # dtr, rts, prompt, none, cmd:<shell command>
    mqtt_listen: Endpoint | None = None
    mqtt_broker: str | None = None
    ble: str | None = None
    ble_adapter: str | None = None
    faults: dict[str, frozenset[str]] = field(default_factory=dict)  # transport -> fault names
    variants: dict[str, frozenset[str]] = field(default_factory=dict)  # transport -> variants
    identity: dict[str, str] = field(default_factory=dict)  # what the unit must report

    @classmethod
    def from_options(cls, *, emulate: str | None = None, serial: str | None = None,
                     reset: str | None = None, mqtt_listen: str | None = None,
                     mqtt_broker: str | None = None, ble: str | None = None,
                     ble_adapter: str | None = None, faults: list[str] | None = None,
                     variants: list[str] | None = None,
                     identity: list[str] | None = None) -> Bench:
        return cls(
            emulate=parse_emulate(emulate),
            serial=serial,
            reset=parse_reset(reset),
            mqtt_listen=parse_endpoint("--mqtt-listen", mqtt_listen) if mqtt_listen else None,
            mqtt_broker=parse_broker_url(mqtt_broker) if mqtt_broker else None,
            ble=ble,
            ble_adapter=ble_adapter,
            faults=parse_faults(faults or []),
            variants=parse_variants(variants or []),
            identity=parse_identity(identity or []),
        )

    def describe(self) -> dict[str, str]:
        """The bench as reports show it (no secrets: credentials never live here)."""
        shown = {
            "emulate": ",".join(sorted(self.emulate)),
            "serial": self.serial,
            "reset": self.reset,
            "mqtt-listen": str(self.mqtt_listen) if self.mqtt_listen else None,
            "mqtt-broker": self.mqtt_broker,
            "ble": self.ble,
            "ble-adapter": self.ble_adapter,
            "faults": _switches(self.faults),
            "variants": _switches(self.variants),
            "identity": ";".join(f"{k}={v}" for k, v in sorted(self.identity.items())),
        }
        return {key: value for key, value in shown.items() if value}


def parse_emulate(value: str | None) -> frozenset[str]:
    """`--emulate` alone means every transport; otherwise a comma list."""
    if value is None:
        return frozenset()
    if value in ("", "all"):
        return frozenset(TRANSPORTS)
    names = {part.strip() for part in value.split(",") if part.strip()}
    unknown = names - set(TRANSPORTS)
    if unknown:
        raise BenchError(f"--emulate: unknown transport {', '.join(sorted(unknown))} "
                         f"(choose from {', '.join(TRANSPORTS)})")
    return frozenset(names)


def parse_reset(value: str | None) -> str | None:
    if value is None or value in RESET_METHODS:
        return value
    if value.startswith("cmd:") and value[4:].strip():
        return value
    raise BenchError(f"--reset: {value!r} is not a reset method "
                     "(dtr, rts, cmd:<shell command>, prompt or none)")


def parse_endpoint(option: str, value: str) -> Endpoint:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise BenchError(f"{option}: {value!r} is not HOST:PORT (e.g. 127.0.0.1:1883; "
                         "port 0 picks a free one)")
    return Endpoint(host.strip("[]"), int(port))


EMBEDDED_BROKERS = ("mosquitto", "amqtt")


def mosquitto_path() -> str | None:
    """Debian's mosquitto, on the PATH or where Debian puts it (/usr/sbin is not on every
    user's PATH)."""
    return shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto") if Path(p).exists()), None)


def parse_broker_url(value: str) -> str:
    """`mqtt://HOST:PORT`, `mqtts://HOST:PORT`, or `embedded:mosquitto` / `embedded:amqtt`."""
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


INTEROP = "interop"  # faults of the multi-transport device as a whole (--fault interop:NAME)


def parse_faults(values: list[str]) -> dict[str, frozenset[str]]:
    """`--fault serial:slow-polls` (repeatable): faults to inject into emulators."""
    return _parse_switches("--fault", "FAULT", values, (*TRANSPORTS, INTEROP))


def parse_variants(values: list[str]) -> dict[str, frozenset[str]]:
    """`--variant mqtt:qos2` (repeatable): conformant behaviours the emulators choose."""
    return _parse_switches("--variant", "VARIANT", values, TRANSPORTS)


def parse_identity(values: list[str]) -> dict[str, str]:
    """`--identity serial-number=K1-0001` (repeatable): what the unit must say it is."""
    identity: dict[str, str] = {}
    for value in values:
        key, sep, expected = value.partition("=")
        key = key.strip()
        if not sep or key not in IDENTITY_KEYS or not expected.strip():
            raise BenchError(f"--identity: {value!r} is not KEY=VALUE "
                             f"(KEY one of {', '.join(IDENTITY_KEYS)})")
        if key in identity and identity[key] != expected.strip():
            raise BenchError(f"--identity: {key} given twice ({identity[key]!r} and "
                             f"{expected.strip()!r})")
        identity[key] = expected.strip()
    return identity


def _parse_switches(option: str, what: str, values: list[str],
                    transports: tuple[str, ...]) -> dict[str, frozenset[str]]:
    switches: dict[str, set[str]] = {}
    for value in values:
        transport, sep, name = value.partition(":")
        if not sep or transport not in transports or not name:
            raise BenchError(f"{option}: {value!r} is not TRANSPORT:{what} "
                             f"(TRANSPORT one of {', '.join(transports)})")
        switches.setdefault(transport, set()).add(name)
    return {t: frozenset(names) for t, names in switches.items()}


def _switches(by_transport: dict[str, frozenset[str]]) -> str:
    return ";".join(f"{t}:{','.join(sorted(names))}" for t, names in sorted(by_transport.items()))
