"""The run record behind `verdict.json`, written after every rule instance.

The file is rewritten atomically each time a rule instance ends, so a run
that is interrupted, killed or crashes still leaves its verdict (INCOMPLETE
at worst) and every result gathered so far. Planned instances without a
result are part of the record too: as `error` (not run) when they apply, as
`not-applicable` with the plan's reason when they do not.

The document also says what was certified: the bench as run (`bench_as_run`:
each transport real or emulated, with its faults and variants), the rule
selection, the sha256 of the suite that ran, and the rules of one's own
(`custom_rules`: their files' sha256 and their results, apart from the
standard's). docs/records.md describes every field.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from certkit import __version__
from certkit.bench import INTEROP, Bench
from certkit.evidence import Measurement
from certkit.lab.lease import lab_facts
from certkit.plan import Instance, Plan
from certkit.standard import Standard, builtin
from certkit.transports import transports as registered_transports
from certkit.verdict import Outcome, RuleResult, Verdict, decide, warnings
from certkit.waivers import Waiver, WaiverReport, apply_waivers

CUSTOM = "custom:"  # the namespace of rules of one's own: LAB-001 is recorded as custom:LAB-001


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _umask() -> int:
    try:  # Linux says it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path: Path, text: str) -> None:
    """Write a whole file or nothing (a temporary file renamed over it), with the permissions
    an ordinary file gets (mkstemp's are 0600); a failed write leaves no temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def is_custom(rule_id: str) -> bool:
    return rule_id.startswith(CUSTOM)


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def suite_files(standard: Standard | None = None) -> list[tuple[str, Path]]:
    """The files whose sha256 make the suite's: the standard's suite package and its rule
    catalogue (ECS-1.0's: certkit/suite/ and certkit/standard/rules.yaml), as (path relative
    to the folder holding the package, file), sorted by that path."""
    return (standard or builtin()).suite_files()


@cache
def suite_sha256(standard: Standard | None = None) -> str:
    """sha256 of `sha256sum`-style lines ("<hex>  <path>\n") of the suite's files, sorted by
    path: for ECS-1.0, `find certkit/suite certkit/standard/rules.yaml -type f ! -path
    '*__pycache__*' | LC_ALL=C sort | xargs sha256sum | sha256sum` gives it too."""
    lines = "".join(f"{sha256_file(path)}  {name}\n" for name, path in suite_files(standard))
    return hashlib.sha256(lines.encode("utf-8")).hexdigest()


def bench_as_run(bench: Bench, transports: tuple[str, ...],
                 facts: dict[str, str]) -> dict[str, Any]:
    """Each declared transport as the run reached it: the DUT real or an emulator (with its
    faults and variants), and the port, endpoint, broker or adapter (null: certkit's
    default). `facts` are what the links reported once open (the broker that served)."""
    shown: dict[str, dict[str, Any]] = {}
    for transport in transports:
        emulated = transport in bench.emulate
        entry: dict[str, object] = {
            "dut": "emulated" if emulated else "real",
            "faults": sorted(bench.faults.get(transport, ())),
            "variants": sorted(bench.variants.get(transport, ())),
        }
        found = registered_transports().get(transport)
        if found is not None:
            entry |= found.describe_bench(bench, emulated, facts)
        shown[transport] = entry
    document = {"transports": shown,
                "emulated": sorted(t for t in transports if t in bench.emulate),
                "interop_faults": sorted(bench.faults.get(INTEROP, ()))}
    lab = lab_facts(facts)
    if lab:  # the labgrid place the DUT was on (or could not be held): docs/lab.md
        document["lab"] = lab
    return document


@dataclass
class RunRecord:
    out: Path
    profile_path: Path
    sha256: str
    model: str | None
    plan: Plan | None = None
    patterns: tuple[str, ...] = ()  # the --rules selection
    bench: dict[str, str] = field(default_factory=dict)
    results: dict[str, RuleResult] = field(default_factory=dict)  # by instance id
    started: str = field(default_factory=now)
    finished: str | None = None
    implemented: set[str] = field(default_factory=set)  # rule IDs the suite has a test for
    collected: dict[str, Instance] = field(default_factory=dict)  # what the session will run
    stop_reason: str | None = None  # set when the run was interrupted
    waivers: list[Waiver] = field(default_factory=list)
    declared: dict[str, str | None] = field(default_factory=dict)  # identity the profile states
    observed: dict[str, dict[str, str]] = field(default_factory=dict)  # field -> source -> value
    setup: Bench = field(default_factory=Bench)  # the bench as given, for bench_as_run
    transports: tuple[str, ...] = ()  # the transports the profile declares
    custom_files: dict[str, str] = field(default_factory=dict)  # path -> sha256, rules of one's own
    claims: dict[str, list[str]] = field(default_factory=dict)  # instance id -> tests that check it
    duplicates: dict[str, list[RuleResult]] = field(default_factory=dict)  # more than one result
    measurements: dict[str, list[Measurement]] = field(default_factory=dict)  # by instance id
    charts: dict[str, str] = field(default_factory=dict)  # instance id -> its chart (SVG) path
    # The run's overall bound in force (seconds, source, plan_seconds).
    bound: dict[str, Any] | None = None
    standard: Standard = field(default_factory=builtin)  # the standard the profile names
    resumed: tuple[str, ...] = ()  # `--resume`: the only instances this run re-runs
    ended: dict[str, str] = field(default_factory=dict)  # instance id -> when its result came

    def observe(self, name: str, value: str, source: str) -> None:
        """What a transport reported about the DUT's identity (model, firmware...)."""
        self.observed.setdefault(name, {})[source] = value

    def identity(self) -> dict[str, Any]:
        """The DUT identity as observed; the declared value where no transport reported one."""
        identity: dict[str, object] = {}
        own = [key for t in registered_transports().values() for key in t.identity_keys]
        for name in ("model", "firmware", "mcu-version", "serial-number", *own):
            seen = set(self.observed.get(name, {}).values())
            if len(seen) > 1:
                identity[name] = "conflicting: " + ", ".join(
                    f"{source} {value}" for source, value in self.observed[name].items())
            else:
                identity[name] = seen.pop() if seen else self.declared.get(name)
        identity["observed"] = self.observed
        return identity

    def add(self, instance_id: str, result: RuleResult) -> None:
        """One result per instance: a second is a harness error naming both, never "last wins"
        (two tests that claim one rule would otherwise hide each other's results)."""
        if instance_id in self.results:
            given = self.duplicates.setdefault(instance_id, [self.results[instance_id]])
            given.append(result)
            tests = self.claims.get(instance_id, [])
            results = "; ".join(f"{r.outcome}{f' ({r.message})' if r.message else ''}"
                                for r in given)
            result = replace(given[0], outcome=Outcome.ERROR, evidence=result.evidence,
                             duration_s=sum(r.duration_s for r in given), message=(
                f"harness error: {len(given)} results for one instance, from "
                f"{', '.join(tests) or 'more than one test'}: {results}"))
        self.results[instance_id] = result
        self.ended[instance_id] = now()
        self.write()

    def all_results(self) -> list[RuleResult]:
        """Every result, with the planned instances that have none filled in, in rule order."""
        results = dict(self.results)
        planned = {i.id: i for i in self.plan.instances} if self.plan else {}
        for instance in (planned | self.collected).values():
            if instance.id in results:
                continue
            rule = instance.rule
            if not instance.applies:
                outcome, message = Outcome.NOT_APPLICABLE, instance.reason
            elif self.finished is None or self.stop_reason:
                outcome, message = Outcome.ERROR, f"not run: {self.stop_reason or 'the run is still going'}"
            elif rule.id not in self.implemented:
                outcome, message = Outcome.ERROR, (f"not run: certkit {__version__} has no check "
                                                   f"for {rule.id} yet")
            else:
                outcome, message = Outcome.ERROR, "not run"
            results[instance.id] = RuleResult(rule.id, instance.key, rule.level, outcome,
                                              message, title=rule.title)
        order = {rule.id: n for n, rule in enumerate(self.standard.catalogue.rules)}
        return sorted(results.values(), key=lambda r: order.get(r.rule, len(order)))

    def final(self) -> WaiverReport:
        """Every result with the waivers applied (as of today)."""
        return apply_waivers(self.all_results(), self.waivers, date.today())

    def document(self) -> dict[str, Any]:
        final = self.final()
        results = final.results
        # Rules of one's own count toward the verdict like the standard's (docs/custom-rules.md).
        verdict = decide(results)
        if self.stop_reason and verdict is Verdict.CERTIFIED:
            verdict = Verdict.INCOMPLETE  # a run that stopped early proves nothing more
        return {
            "verdict": str(verdict),
            "standard": self.standard.name,
            "certkit": __version__,
            "suite_sha256": suite_sha256(self.standard),
            "profile": {"path": str(self.profile_path), "sha256": self.sha256, "model": self.model},
            "dut": self.identity(),
            "selection": list(self.patterns),
            "partial": bool(self.patterns or self.resumed),
            **({"resumed": list(self.resumed)} if self.resumed else {}),
            "bench": self.bench,
            "bench_as_run": bench_as_run(self.setup, self.transports, self.bench),
            "started": self.started,
            "finished": self.finished,
            "complete": self.finished is not None and not self.stop_reason,
            "stop_reason": self.stop_reason,
            "bound": self.bound,
            "waivers": [w.as_json() for w in final.applied],
            "waiver_notes": final.notes,
            "warnings": [f"{r.rule}{f'[{r.instance}]' if r.instance else ''}: {r.message}"
                         for r in warnings(results)],
            "rules": [self._result_json(r) for r in results if not is_custom(r.rule)],
            "custom_rules": {
                "files": [{"path": path, "sha256": digest}
                          for path, digest in sorted(self.custom_files.items())],
                "rules": [self._result_json(r) for r in results if is_custom(r.rule)],
            },
        }

    def _result_json(self, result: RuleResult) -> dict[str, Any]:
        """A result with its measured figures (samples in the order taken) and its chart."""
        key = f"{result.rule}[{result.instance}]" if result.instance else result.rule
        data = result.as_json()
        data["id"] = self.standard.qualified(result.rule)  # ECS-1.0:SER-004 (docs/records.md)
        data["measurements"] = [m.as_json() for m in self.measurements.get(key, [])]
        data["chart"] = self.charts.get(key)
        data["ended"] = self.ended.get(key)
        return data

    def write(self) -> dict[str, Any]:
        document = self.document()
        write_atomically(self.out / "verdict.json",
                         json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return document
