"""The run record behind `verdict.json`, written after every rule instance.

The file is rewritten atomically each time a rule instance ends, so a run
that is interrupted, killed or crashes still leaves its verdict (INCOMPLETE
at worst) and every result gathered so far. Planned instances without a
result are part of the record too: as `error` (not run) when they apply, as
`not-applicable` with the plan's reason when they do not.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from certkit import __version__
from certkit.plan import Instance, Plan
from certkit.standard.catalogue import catalogue
from certkit.standard.ecs1 import STANDARD
from certkit.waivers import Waiver, WaiverReport, apply_waivers
from certkit.verdict import Outcome, RuleResult, Verdict, decide, warnings


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


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

    def observe(self, name: str, value: str, source: str) -> None:
        """What a transport reported about the DUT's identity (model, firmware...)."""
        self.observed.setdefault(name, {})[source] = value

    def identity(self) -> dict:
        """The DUT identity as observed; the declared value where no transport reported one."""
        identity: dict[str, object] = {}
        for name in ("model", "firmware", "mcu-version", "device-id", "ble-address"):
            seen = set(self.observed.get(name, {}).values())
            if len(seen) > 1:
                identity[name] = "conflicting: " + ", ".join(
                    f"{source} {value}" for source, value in self.observed[name].items())
            else:
                identity[name] = seen.pop() if seen else self.declared.get(name)
        identity["observed"] = self.observed
        return identity

    def add(self, instance_id: str, result: RuleResult) -> None:
        self.results[instance_id] = result
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
        order = {rule.id: n for n, rule in enumerate(catalogue().rules)}
        return sorted(results.values(), key=lambda r: order.get(r.rule, len(order)))

    def final(self) -> WaiverReport:
        """Every result with the waivers applied (as of today)."""
        return apply_waivers(self.all_results(), self.waivers, date.today())

    def document(self) -> dict:
        final = self.final()
        results = final.results
        verdict = decide(results)
        if self.stop_reason and verdict is Verdict.CERTIFIED:
            verdict = Verdict.INCOMPLETE  # a run that stopped early proves nothing more
        return {
            "verdict": str(verdict),
            "standard": STANDARD,
            "certkit": __version__,
            "profile": {"path": str(self.profile_path), "sha256": self.sha256, "model": self.model},
            "dut": self.identity(),
            "selection": list(self.patterns),
            "bench": self.bench,
            "started": self.started,
            "finished": self.finished,
            "complete": self.finished is not None and not self.stop_reason,
            "stop_reason": self.stop_reason,
            "waivers": [w.as_json() for w in final.applied],
            "waiver_notes": final.notes,
            "warnings": [f"{r.rule}{f'[{r.instance}]' if r.instance else ''}: {r.message}"
                         for r in warnings(results)],
            "rules": [r.as_json() for r in results],
        }

    def write(self) -> dict:
        document = self.document()
        write_atomically(self.out / "verdict.json",
                         json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return document
