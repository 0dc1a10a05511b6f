"""Where the DUT is: the bench wiring given on the command line.

The profile says what the device is; the bench says where it is plugged in
or that an emulator stands in for it. Each transport declares its bench options once
(`certkit.transports.base.BenchOption`); `Bench.from_options` turns option strings into
a checked value, per-transport settings kept as data (`bench.settings("<transport>")`),
and raises `BenchError` naming the option when one is malformed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from certkit.transports import names as transport_names
from certkit.transports import transports
from certkit.transports.base import BenchOption


def bench_options() -> tuple[BenchOption, ...]:
    """Every registered transport's bench options, bound to it, in the registry's order:
    the command line, the plugin's options, `Bench.describe`, the bench-file schema and
    the record's bench section all come from these."""
    return tuple(option for t in transports().values() for option in t.options())


def identity_keys() -> tuple[str, ...]:
    """What identifies one unit, as the bench expects it (--identity KEY=VALUE, a bench
    file's `identity`) and as the transports report it."""
    own = tuple(key for t in transports().values() for key in t.identity_keys)
    return ("serial-number", *own, "model", "firmware", "mcu-version")


def __getattr__(name: str) -> object:
    # The tables of earlier releases, from the registry (loaded on first use).
    if name == "BENCH_OPTIONS":
        return bench_options()
    if name == "IDENTITY_KEYS":
        return identity_keys()
    if name == "TRANSPORTS":
        return transport_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    # transport -> bench option key -> its parsed value (`Bench.settings`)
    wiring: dict[str, dict[str, Any]] = field(default_factory=dict)
    faults: dict[str, frozenset[str]] = field(default_factory=dict)  # transport -> fault names
    variants: dict[str, frozenset[str]] = field(default_factory=dict)  # transport -> variants
    identity: dict[str, str] = field(default_factory=dict)  # what the unit must report

    def settings(self, transport: str) -> dict[str, Any]:
        """Where a transport's DUT is: its bench options by key (absent: not given)."""
        return dict(self.wiring.get(transport, {}))

    @classmethod
    def from_options(cls, *, emulate: str | None = None, faults: list[str] | None = None,
                     variants: list[str] | None = None, identity: list[str] | None = None,
                     **options: str | None) -> Bench:
        """`options` by each bench option's `attr` (`mqtt_listen="127.0.0.1:1883"`)."""
        known = {option.attr: option for option in bench_options()}
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise TypeError(f"Bench.from_options: no bench option {', '.join(unknown)}")
        wiring: dict[str, dict[str, Any]] = {}
        for attr, option in known.items():
            value = options.get(attr)
            if value:  # None or "": not given
                parsed = option.parse(value) if option.parse else value
                wiring.setdefault(option.transport, {})[option.key] = parsed
        return cls(
            emulate=parse_emulate(emulate),
            wiring=wiring,
            faults=parse_faults(faults or []),
            variants=parse_variants(variants or []),
            identity=parse_identity(identity or []),
        )

    def describe(self) -> dict[str, str]:
        """The bench as reports show it (no secrets: credentials never live here)."""
        shown: dict[str, str | None] = {"emulate": ",".join(sorted(self.emulate))}
        for option in bench_options():
            value = self.wiring.get(option.transport, {}).get(option.key)
            shown[option.shown] = None if value is None else str(value)
        shown |= {
            "faults": _switches(self.faults),
            "variants": _switches(self.variants),
            "identity": ";".join(f"{k}={v}" for k, v in sorted(self.identity.items())),
        }
        return {key: value for key, value in shown.items() if value}


def parse_emulate(value: str | None) -> frozenset[str]:
    """`--emulate` alone means every transport; otherwise a comma list."""
    if value is None:
        return frozenset()
    known = transport_names()
    if value in ("", "all"):
        return frozenset(known)
    names = {part.strip() for part in value.split(",") if part.strip()}
    unknown = names - set(known)
    if unknown:
        raise BenchError(f"--emulate: unknown transport {', '.join(sorted(unknown))} "
                         f"(choose from {', '.join(known)})")
    return frozenset(names)


def parse_endpoint(option: str, value: str) -> Endpoint:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise BenchError(f"{option}: {value!r} is not HOST:PORT (e.g. 127.0.0.1:1883; "
                         "port 0 picks a free one)")
    return Endpoint(host.strip("[]"), int(port))


INTEROP = "interop"  # faults of the multi-transport device as a whole (--fault interop:NAME)


def parse_faults(values: list[str]) -> dict[str, frozenset[str]]:
    """`--fault serial:slow-polls` (repeatable): faults to inject into emulators."""
    return _parse_switches("--fault", "FAULT", values, (*transport_names(), INTEROP))


def parse_variants(values: list[str]) -> dict[str, frozenset[str]]:
    """`--variant mqtt:qos2` (repeatable): conformant behaviours the emulators choose."""
    return _parse_switches("--variant", "VARIANT", values, transport_names())


def parse_identity(values: list[str]) -> dict[str, str]:
    """`--identity serial-number=K1-0001` (repeatable): what the unit must say it is."""
    identity: dict[str, str] = {}
    for value in values:
        key, sep, expected = value.partition("=")
        key = key.strip()
        if not sep or key not in identity_keys() or not expected.strip():
            raise BenchError(f"--identity: {value!r} is not KEY=VALUE "
                             f"(KEY one of {', '.join(identity_keys())})")
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
