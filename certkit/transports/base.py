"""What a transport is to certkit: one object per transport, registered by entry point.

A transport package (certkit's serial, MQTT and BLE, or a third party's) implements
`Transport` once and lists the instance in the `certkit.transports` entry-point group.
Central code (bench, profile, plan, design checks, CLI, bench files, records) iterates
the registry (`certkit.transports.transports()`) and never names a transport.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    from certkit.bench import Bench
    from certkit.evidence import EvidenceLog
    from certkit.links.base import Link
    from certkit.profile.model import Profile, Property, Service


@dataclass(frozen=True)
class BenchOption:
    """One bench option of a transport, declared once: the `certkit run` option, the
    plugin's `--certkit-*` option, the bench-file key (`<transport>: {<key>: ...}`), the
    bench description and the bench-file schema all come from it."""

    key: str
    metavar: str
    help: str
    # Checks and converts the given text; raises certkit.bench.BenchError naming `cli`.
    parse: Callable[[str], Any] | None = None
    cli: str = ""        # "--serial" for a historic name; bound: "--<transport>-<key>"
    transport: str = ""  # set when bound to its transport

    def bound(self, transport: str) -> BenchOption:
        return replace(self, transport=transport, cli=self.cli or f"--{transport}-{self.key}")

    @property
    def attr(self) -> str:
        """The argparse dest and `Bench.from_options` keyword (`mqtt_listen`)."""
        return self.cli[2:].replace("-", "_")

    @property
    def plugin(self) -> str:
        """The pytest plugin's option (`certkit run` passes the value on)."""
        return "--certkit-" + self.cli[2:]

    @property
    def shown(self) -> str:
        """Its name in `Bench.describe` (what reports show): the option without dashes."""
        return self.cli[2:]


@dataclass(frozen=True)
class Claim:
    """A bench resource one DUT holds that no other DUT of a bench file may use."""

    kind: str   # "serial port"
    value: str  # "/dev/ttyUSB0"
    key: str    # the bench-file key under the transport that gives it ("port")

    def clashes(self, held: str) -> bool:
        return held == self.value

    def message(self, holder: str, held: str, line: int) -> str:
        return (f"{self.kind} {self.value} is also {holder}'s (line {line}): two DUTs cannot "
                f"share a {self.kind}")


@dataclass(frozen=True)
class Condition:
    """A named plan condition (`needs: [NAME]` in the catalogue) and how it reads."""

    test: Callable[[Profile], bool]
    holds: str  # the reason when it holds
    fails: str  # the reason when it does not


class Transport(abc.ABC):
    """One transport: everything central code needs to know of it."""

    name: ClassVar[str]            # "serial": the profile's `transports.<name>`, --emulate's
    title: ClassVar[str]           # "MIoT serial"
    short: ClassVar[str]           # "MQTT": how sentences name it
    order: ClassVar[int] = 100     # the registry's order (certkit's own: 10, 20, 30)
    bench_options: ClassVar[tuple[BenchOption, ...]] = ()
    # The JSON Schema of `transports.<name>` in a profile ($refs into the profile schema's
    # $defs, such as "#/$defs/iid", may be used).
    profile_schema: ClassVar[dict[str, Any]] = {"type": "object"}
    # How values travel on the wire: "decimal" (text) or "binary32" (IEEE 754 single).
    wire_encoding: ClassVar[str] = "decimal"
    # A broker or a radio the device shares with other devices (the plan's
    # `shared-medium`), or None.
    medium: ClassVar[str | None] = None
    # Two controllers can reach the device over this transport alone (a broker).
    several_controllers: ClassVar[bool] = False
    # The MCU reports its version over this transport, so device.mcu-version is required.
    needs_mcu_version: ClassVar[bool] = False
    # What the unit reports about itself over this transport that the bench may name
    # (--identity KEY=VALUE), beyond model, firmware, mcu-version and serial-number.
    identity_keys: ClassVar[tuple[str, ...]] = ()
    identity_keys_any_case: ClassVar[tuple[str, ...]] = ()  # compared ignoring case
    # The last-resort deadline's base for one of its rule instances, and the progress
    # display's estimate of one instance, in seconds.
    base_deadline_s: ClassVar[float] = 10.0
    progress_s: ClassVar[float] = 0.5

    def options(self) -> tuple[BenchOption, ...]:
        """Its bench options, bound to it (their `cli` and `transport` filled in)."""
        return tuple(option.bound(self.name) for option in self.bench_options)

    # --- the profile -----------------------------------------------------------------

    @abc.abstractmethod
    def parse_settings(self, data: dict[str, Any]) -> object:
        """The typed settings of `transports.<name>` (a document that passed lint)."""

    def services(self, profile: Profile) -> tuple[Service, ...]:
        """The services it carries: all of the profile's unless it says otherwise."""
        return profile.services

    def exposes(self, profile: Profile, prop: Property) -> bool:
        return any(s.siid == prop.siid for s in self.services(profile))

    def conditions(self) -> dict[str, Condition]:
        """Plan conditions of its own (`needs: [bthome]`), beyond `needs: [<name>]`."""
        return {}

    def design_problems(self, settings: dict[str, Any], data: dict[str, Any]
                        ) -> list[tuple[tuple[Any, ...], str]]:
        """DSN-011: what in the document's `transports.<name>` (`settings`) is incoherent
        with the rest of it (`data`): (path under transports.<name>, message) for each."""
        return []

    def document_siids(self, settings: dict[str, Any], data: dict[str, Any]) -> set[int]:
        """The siids it carries, from the document (before it is typed)."""
        return {s["siid"] for s in data["services"]}

    def template_lines(self, model: str, siids: list[int]) -> list[str]:
        """`certkit init`: its `transports.<name>` entry in a new profile (lint-clean as
        written, TODO comments where the partner must choose)."""
        return [f"  {self.name}: {{}}"]

    def profile_identity(self, profile: Profile) -> dict[str, str | None]:
        """Identity keys the profile states for this transport (MQTT's device-id)."""
        return {}

    # --- the bench and the link --------------------------------------------------------

    @abc.abstractmethod
    def open_link(self, profile: Profile, bench: Bench, evidence: EvidenceLog) -> Link:
        """The link factory: a new link (the caller opens it, within its deadline)."""

    def face(self, link: Link) -> Any:
        """The link's interop face (certkit.transports.interop.InteropFace), from the
        transport package's `face` module."""
        module = importlib.import_module(f"{type(self).__module__.rpartition('.')[0]}.face")
        return module.face(link)

    def describe_bench(self, bench: Bench, emulated: bool, facts: dict[str, str]
                       ) -> dict[str, object]:
        """What the record's bench section shows of this transport as run (null:
        certkit's default)."""
        return {option.key: _text(bench.settings(self.name).get(option.key))
                for option in self.options()}

    def claims(self, bench: Bench, emulated: bool, declared: bool) -> list[Claim]:
        """Resources a DUT on this bench holds that two DUTs cannot share."""
        return []

    def reported_identity(self, link: Any, profile: Profile) -> dict[str, str]:
        """What the open link says the unit is beyond INT-002's fields (a BLE address)."""
        return {}

    def unreadable_errors(self) -> tuple[type[Exception], ...]:
        """How a read of a value the DUT lacks ends on this transport (the identity check
        then reads nothing: the rules judge a DUT short of an identity string)."""
        return (LookupError,)

    # --- rules of its own --------------------------------------------------------------

    def rules(self) -> tuple[Traversable, ...]:
        """Catalogues of the rules this transport adds to a standard: files of rules.yaml's
        format whose `standard:` names the standard they extend (and an optional
        `run-before: RULE-ID`, where their `run-order` goes in the standard's). A profile of
        that standard which declares this transport is planned and run with them; their IDs
        may not be the standard's, nor another transport's."""
        return ()

    def suite_modules(self) -> tuple[str, ...]:
        """Importable test modules (`certkit_rule` tests) that check the rules of `rules()`;
        a run collects them beside the standard's suite."""
        return ()

    # --- the emulator ----------------------------------------------------------------

    def faults(self) -> dict[str, Any]:
        """The emulator's faults (`--fault <name>:FAULT`), by name: by default those of the
        emulator registered for it in certkit_emulators."""
        from certkit_emulators import emulator_class

        return dict(emulator_class(self.name).FAULTS)

    def variants(self) -> dict[str, Any]:
        """The emulator's conformant variants (`--variant <name>:VARIANT`), by name."""
        from certkit_emulators import emulator_class

        return dict(emulator_class(self.name).VARIANTS)

    def emulator_main(self, argv: list[str]) -> int:
        """`certkit emulate <name> ...`: run the emulator on its own."""
        module = importlib.import_module(f"certkit_emulators.{self.name}.__main__")
        return int(module.main(argv))

    # --- the environment (certkit doctor) ----------------------------------------------

    # Python modules a run imports for it: when its DUT is real, or (modules_when_emulated)
    # whenever the profile declares it.
    run_modules: ClassVar[tuple[str, ...]] = ()
    modules_when_emulated: ClassVar[bool] = False

    def check_doctor_options(self, given: dict[str, str]) -> None:
        """`certkit doctor`: raise certkit.bench.BenchError for a malformed option (by
        default each option's `parse`)."""
        for option in self.options():
            if option.parse is not None and given.get(option.key):
                option.parse(given[option.key])

    def doctor_checks(self, given: dict[str, str], needs: Any) -> list[Any]:
        """`certkit doctor`'s checks of this transport's bench (certkit.doctor.Check), from
        its bench options as given (by key) and what the run needs (certkit.doctor.Needs)."""
        return []


def _text(value: object) -> str | None:
    return None if value is None else str(value)
