"""A `certkit run`'s results read as data: verdict.json, outcomes by instance, evidence, and
the waits and figures the rules measured (what benchmarks add up)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from certkit.evidence import DUT_WAIT, IMPOSED_WAIT

_SECONDS_PER = {"s": 1.0, "ms": 0.001}


def read_verdict(out: Path) -> dict:
    return json.loads((Path(out) / "verdict.json").read_text("utf-8"))


def instance_id(result: dict) -> str:
    """"SER-004[2.1]", or "SER-002" for a rule of one instance."""
    return f"{result['rule']}[{result['instance']}]" if result["instance"] else result["rule"]


def outcomes(verdict: dict) -> dict[str, str]:
    """{"SER-004[2.1]": "pass", ...} from a verdict document."""
    return {instance_id(r): r["outcome"] for r in verdict["rules"]}


def seconds(figure: dict) -> float:
    """A measurement in seconds or milliseconds, in seconds."""
    return figure["value"] * _SECONDS_PER[figure["unit"]]


@dataclass
class RunResult:
    """What one `certkit run` left: its exit code and output, and its output folder."""

    code: int
    out: Path
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0  # wall time of the command, start-up included

    @classmethod
    def of(cls, out: Path) -> RunResult:
        """The results in a folder some run wrote (its exit code unknown: -1)."""
        return cls(-1, Path(out))

    @cached_property
    def verdict(self) -> dict:
        return read_verdict(self.out)

    @property
    def output(self) -> str:
        """Everything the run printed (progress goes to stdout, problems to stderr)."""
        return self.stdout + self.stderr

    def results(self, prefix: str | tuple[str, ...] = "") -> list[dict]:
        """The rule results, only of rules starting with `prefix` (e.g. "SER-") when given."""
        return [r for r in self.verdict["rules"] if not prefix or r["rule"].startswith(prefix)]

    @property
    def outcomes(self) -> dict[str, str]:
        return outcomes(self.verdict)

    def outcomes_of(self, rule: str) -> list[str]:
        """The outcome of each instance of one rule."""
        return [r["outcome"] for r in self.verdict["rules"] if r["rule"] == rule]

    def messages(self) -> dict[str, str]:
        return {instance_id(r): r["message"] for r in self.verdict["rules"]}

    def result(self, instance: str) -> dict:
        for r in self.verdict["rules"]:
            if instance_id(r) == instance:
                return r
        raise KeyError(instance)

    def failed(self, level: str | None = None) -> dict[str, str]:
        """{instance: message} of the failures (of one level)."""
        return {instance_id(r): r["message"] for r in self.failures(level=level)}

    def failures(self, prefix: str = "", level: str | None = None) -> list[dict]:
        """The failed results (of rules starting with `prefix`, of one level)."""
        return [r for r in self.results(prefix)
                if r["outcome"] == "fail" and (level is None or r["level"] == level)]

    def trouble(self) -> dict[str, str]:
        """What did not pass, with its message: the assertion text when a test fails."""
        return {instance_id(r): f"{r['outcome']}: {r['message']}" for r in self.verdict["rules"]
                if r["outcome"] not in ("pass", "not-applicable")}

    def explain(self, prefix: str = "") -> str:
        """Exit code, wall time, what did not pass and stderr: an assertion's message."""
        rows = [f"{instance_id(r)} {r['outcome']}: {r['message']}"
                for r in self.results(prefix) if r["outcome"] != "pass"]
        return f"exit {self.code} after {self.seconds:.1f} s\n" + "\n".join(rows) + self.stderr

    def evidence(self, instance: str) -> str:
        return (self.out / "evidence" / f"{instance}.log").read_text("utf-8")

    # ---------------------------------------------------------- figures, as benchmarks read them

    def in_rules_s(self, families: Iterable[str] = ()) -> float:
        """Seconds spent in rule instances (their durations added up), of these families
        (e.g. "MQT") when given."""
        return sum(r.get("duration_s") or 0.0 for r in self.results(tuple(families)))

    def figures(self, name: str, families: Iterable[str] = ()) -> list[dict]:
        """Every measurement called `name`, in the order of the results."""
        return [m for r in self.results(tuple(families)) for m in r.get("measurements") or []
                if m["name"] == name and m["value"] is not None]

    def waits_s(self, families: Iterable[str] = ()) -> tuple[float, float]:
        """(imposed by the standard, waiting for the DUT), in seconds, from the waits the rules
        and links recorded (`EvidenceLog.waited`)."""
        families = tuple(families)
        return (sum(seconds(m) for m in self.figures(IMPOSED_WAIT, families)),
                sum(seconds(m) for m in self.figures(DUT_WAIT, families)))
