"""Reading a bench file: YAML 1.2 with positions, its JSON Schema, then what the schema
cannot say (unique names, profiles that exist, options that parse, faults for emulated
transports, resources no two DUTs may share). Every problem names file, line and column."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from certkit.bench import Bench, BenchError, bench_options
from certkit.design.document import StrictValidator, describe_schema_error
from certkit.inputfiles import InputFileError, read_input
from certkit.lab.bench_entry import entry_problems, place_key, place_of
from certkit.lab.lease import PlaceRef
from certkit.profile.yaml12 import Document, Position, YamlError, load_yaml
from certkit.profile.yaml12 import Path as KeyPath
from certkit.transports import Claim, transports


class BenchFileError(ValueError):
    """A bench file that cannot be used: every problem as FILE:LINE:COLUMN: what."""

    def __init__(self, path: Path, problems: list[tuple[Position, str]]) -> None:
        self.path = path
        self.problems = sorted(problems)
        super().__init__("\n".join(f"{path}:{p.line}:{p.column}: {what}"
                                   for p, what in self.problems))


@dataclass(frozen=True)
class Dut:
    """One DUT of a bench file, its options checked."""

    name: str
    profile: Path
    bench: Bench
    options: dict[str, str] = field(default_factory=dict)  # Bench.from_options keyword -> value
    faults: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()
    identity: dict[str, str] = field(default_factory=dict)
    transports: tuple[str, ...] = ()  # as the profile declares them
    labgrid: PlaceRef | None = None  # the labgrid place the DUT is on (docs/lab.md)

    def run_args(self) -> list[str]:
        """The `certkit run` arguments that certify this DUT alone (no --out)."""
        args = [str(self.profile)]
        if self.bench.emulate:
            args.append("--emulate=" + ",".join(sorted(self.bench.emulate)))
        by_attr = {o.attr: o for o in bench_options()}
        for attr, value in self.options.items():
            args.append(f"{by_attr[attr].cli}={value}")
        args += [f"--fault={f}" for f in self.faults]
        args += [f"--variant={v}" for v in self.variants]
        args += [f"--identity={k}={v}" for k, v in self.identity.items()]
        return args


@dataclass(frozen=True)
class BenchFile:
    path: Path
    duts: tuple[Dut, ...]

    def select(self, names: list[str]) -> list[Dut]:
        """The DUTs named (all when none); BenchFileError for a name not in the file."""
        if not names:
            return list(self.duts)
        known = {d.name: d for d in self.duts}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise BenchFileError(self.path, [(Position(1, 1), (
                f"--dut {unknown[0]!r}: no such DUT (the file has "
                f"{', '.join(known)})"))])
        return [known[n] for n in dict.fromkeys(names)]


@functools.cache
def bench_schema() -> dict[str, Any]:
    """Generated from the registered transports (the shipped bench.schema.json is its output
    for certkit's own, for editors)."""
    from certkit.benchfile.schema import bench_schema as generated

    return generated()


def load_bench_file(path: Path) -> BenchFile:
    try:
        text = read_input(path).decode("utf-8")
    except InputFileError as exc:
        raise BenchFileError(path, [(Position(1, 1), str(exc).removeprefix(f"{path}: "))])
    except UnicodeDecodeError as exc:
        raise BenchFileError(path, [(Position(1, 1), f"not UTF-8 text ({exc.reason})")])
    try:
        document = load_yaml(text)
    except YamlError as exc:
        raise BenchFileError(path, [(exc.position, (f"not a well-formed YAML document: "
                                                   f"{exc.message}"))])
    if not isinstance(document.value, dict):
        raise BenchFileError(path, [(Position(1, 1), ("a bench file is a YAML mapping with "
                                                     "certkit-bench: 1 and duts"))])
    problems = []
    for error in StrictValidator(bench_schema()).iter_errors(document.value):
        for where, message, key in describe_schema_error(error):
            problems.append((document.position(where, key=key), message))
    if problems:
        raise BenchFileError(path, problems)
    checker = _Checker(path, document)
    duts = tuple(checker.dut(n, entry) for n, entry in enumerate(document.value["duts"]))
    checker.clashes(duts)
    if checker.problems:
        raise BenchFileError(path, checker.problems)
    return BenchFile(path, duts)


class _Checker:
    def __init__(self, path: Path, document: Document) -> None:
        self.path, self.document = path, document
        self.problems: list[tuple[Position, str]] = []
        self.names: dict[str, int] = {}
        self.claims: dict[tuple[str, str], tuple[str, Position]] = {}  # resource -> holder

    def at(self, where: KeyPath, message: str, key: bool = False) -> None:
        self.problems.append((self.document.position(where, key=key), message))

    def dut(self, n: int, entry: dict[str, Any]) -> Dut:
        here = ("duts", n)
        name = entry["name"]
        if name in self.names:
            first = self.document.position(("duts", self.names[name], "name"))
            self.at(here + ("name",), f"DUT name {name!r} is also used on line {first.line}: "
                                      "each DUT needs a name of its own (its results folder)")
        self.names.setdefault(name, n)
        profile = (self.path.parent / entry["profile"])
        transports: tuple[str, ...] = ()
        if not profile.is_file():
            self.at(here + ("profile",), f"profile {entry['profile']!r}: no such file "
                                         f"({profile}; relative to the bench file's folder)")
        else:
            transports = self._against_profile(here, profile, entry.get("identity", {}))
        options = {o.attr: entry[o.transport][o.key] for o in bench_options()
                   if o.key in entry.get(o.transport, {})}
        faults, variants = tuple(entry.get("fault", ())), tuple(entry.get("variant", ()))
        identity = dict(entry.get("identity", {}))
        emulate = entry.get("emulate")
        place = place_of(entry)
        for where, message in entry_problems(entry, place):
            self.at(here + where, message)
        bench = Bench()
        try:
            bench = Bench.from_options(
                emulate=",".join(emulate) if emulate else None, **options,
                faults=list(faults), variants=list(variants),
                identity=[f"{k}={v}" for k, v in identity.items()])
        except BenchError as exc:
            self.at(self._where(here, str(exc)), _plain(str(exc)))
        else:
            from certkit_emulators import UnknownFault, check_faults, check_variants

            for check, key in ((check_faults, "fault"), (check_variants, "variant")):
                try:
                    check(getattr(bench, key + "s"), bench.emulate)
                except UnknownFault as exc:
                    self.at(here + (key,), _plain(str(exc)))
        return Dut(name, profile.resolve(), bench, options, faults, variants, identity,
                   transports, place)

    def _against_profile(self, here: KeyPath, path: Path, identity: dict[str, str]
                         ) -> tuple[str, ...]:
        """The transports the profile declares; an identity that contradicts it is refused
        (its lint findings are the DUT's run's to report)."""
        from certkit.design import ProfileReadError, lint_file

        try:
            profile = lint_file(path).profile
        except ProfileReadError:
            return ()
        if profile is None:
            return ()
        stated: dict[str, str | None] = {
            "model": profile.device.model, "firmware": profile.device.firmware,
            "mcu-version": profile.device.mcu_version}
        needs: dict[str, str] = {}  # identity key -> the one transport that reports it
        for name, transport in transports().items():
            needs |= {key: name for key in transport.identity_keys}
            if name in profile.transports.declared:
                stated |= transport.profile_identity(profile)
        for key, value in identity.items():
            if key in needs and needs[key] not in profile.transports.declared:
                self.at(here + ("identity", key), f"identity {key}: the profile declares no "
                                                  f"{needs[key]} transport to read it over")
            elif stated.get(key) is not None and stated[key] != value:
                self.at(here + ("identity", key), f"identity {key} {value!r} contradicts the "
                                                  f"profile ({key} {stated[key]!r})")
        return tuple(profile.transports.declared)

    def _where(self, here: KeyPath, message: str) -> KeyPath:
        """The key an option error is about, from the option it names."""
        for option in bench_options():
            if message.startswith(option.cli + ":"):
                return here + (option.transport, option.key)
        for key in ("emulate", "fault", "variant", "identity"):
            if message.startswith(f"--{key}:"):
                return here + (key,)
        return here

    def clashes(self, duts: tuple[Dut, ...]) -> None:
        """Resources two DUTs cannot share: a serial port, a listen address, a BLE adapter
        (an emulated transport has its own pty, free port and in-process radio)."""
        for n, dut in enumerate(duts):
            here = ("duts", n)
            for name, transport in transports().items():
                for claim in transport.claims(dut.bench, name in dut.bench.emulate,
                                              name in dut.transports):
                    self._claim(claim, dut.name, here + (name, claim.key))
            if dut.labgrid is not None:
                self._claim(Claim("labgrid place", place_key(dut.labgrid), "place"),
                            dut.name, here + ("labgrid", "place"))

    def _claim(self, claim: Claim, name: str, where: KeyPath) -> None:
        for (kind, held), (holder, position) in self.claims.items():
            if kind == claim.kind and holder != name and claim.clashes(held):
                self.at(where, claim.message(holder, held, position.line))
                return
        self.claims[(claim.kind, claim.value)] = (name, self.document.position(where))


def _plain(message: str) -> str:
    """An option error as a bench file shows it (the file's key, not the CLI option)."""
    for option in bench_options():
        message = message.replace(option.cli + ":", f"{option.transport}.{option.key}:", 1)
    return message
