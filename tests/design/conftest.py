"""Shared helpers for the design-rule and profile-loader tests.

The tests build broken profiles by editing the text of a valid example
profile (`Source.edit`), lint the text in-process (`Source.lint`), and
compute the line and column they expect from the text itself
(`Source.where`), so that no test hard-codes a line number.

Everything here is offered as session-scoped fixtures (so that Hypothesis
tests may use them too):

- `kettle`, `light`, `outlet`, `purifier`, `sensor`: the example profiles
  of /work/main/profiles as `Source` objects;
- `check`: a `Checker` with the assertions most tests need
  (`check.only(result, rule, at=..., says=...)`, `check.clean(result)`);
- `run_lint`: runs `python -m certkit lint ...` in a subprocess.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from certkit.design import DESIGN_RULES, LintResult, lint_text
from certkit.design.findings import Finding
from certkit.standard.catalogue import catalogue
from tests.support.cli import CliResult, certkit
from tests.support.paths import KETTLE, PROFILES

EXAMPLES = sorted(p for p in PROFILES.glob("*.yaml")
                  if not p.name.endswith(".bench.yaml"))  # a bench of them, not a device


def locate(text: str, anchor: str, target: str | None = None) -> tuple[int, int]:
    """1-based (line, column) of `target` inside the one occurrence of `anchor`.

    `anchor` must occur exactly once in `text` (so the test cannot silently
    point at the wrong place); `target` defaults to the anchor itself and is
    searched for inside the anchor.
    """
    count = text.count(anchor)
    assert count == 1, f"anchor {anchor!r} occurs {count} times in the profile text"
    start = text.index(anchor)
    if target is not None:
        offset = anchor.find(target)
        assert offset >= 0, f"target {target!r} is not inside anchor {anchor!r}"
        start += offset
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    return line, column


@dataclass(frozen=True)
class Source:
    """The text of a profile, with the edits and look-ups the tests use."""

    text: str
    name: str = "profile.yaml"

    def edit(self, old: str, new: str) -> Source:
        """Replace the one occurrence of `old` with `new`."""
        count = self.text.count(old)
        assert count == 1, f"{old!r} occurs {count} times in {self.name}, expected once"
        return replace(self, text=self.text.replace(old, new))

    def drop(self, old: str) -> Source:
        return self.edit(old, "")

    def insert_before(self, anchor: str, new: str) -> Source:
        return self.edit(anchor, new + anchor)

    def insert_after(self, anchor: str, new: str) -> Source:
        return self.edit(anchor, anchor + new)

    def append(self, new: str) -> Source:
        return replace(self, text=self.text + new)

    def where(self, anchor: str, target: str | None = None) -> tuple[int, int]:
        return locate(self.text, anchor, target)

    def lint(self) -> LintResult:
        return lint_text(self.text, Path(self.name))

    def write(self, directory: Path, name: str | None = None) -> Path:
        path = directory / (name or self.name)
        path.write_text(self.text, encoding="utf-8")
        return path


class Kettle(Source):
    """The kettle example (ECS-1 section 2) with kettle-specific edits."""

    # Where a new property of service 2 (kettle) goes: just before its actions.
    PROPERTY_SLOT = "    actions:\n"

    def add_property(self, flow_mapping: str) -> Kettle:
        """Add one property (a flow mapping on one line) to service 2."""
        return self.insert_before(self.PROPERTY_SLOT, f"      - {flow_mapping}\n")

    def with_services(self, extra: Iterable[str]) -> Kettle:
        """Add whole services (YAML block items of the `services` list)."""
        return self.insert_before("transports:\n", "".join(extra))


def describe(result: LintResult) -> str:
    lines = [f.text() for f in result.findings]
    lines += [f"CRASHED {rule}: {trace}" for rule, trace in result.crashed.items()]
    return "\n".join(lines) or "(no findings)"


class Checker:
    """Assertions on a LintResult."""

    @staticmethod
    def clean(result: LintResult) -> None:
        assert not result.findings, describe(result)
        assert not result.crashed, describe(result)
        assert result.profile is not None
        assert result.ok

    @staticmethod
    def only(result: LintResult, rule: str, *, at: tuple[int, int] | None = None,
             says: Iterable[str] = (), count: int | None = None) -> list[Finding]:
        """Every finding is `rule`; one of them is at `at` and its message
        contains every string of `says`. Returns the findings."""
        assert not result.crashed, describe(result)
        assert result.findings, f"expected {rule}, got no findings"
        rules = {f.rule for f in result.findings}
        assert rules == {rule}, f"expected only {rule}, got:\n{describe(result)}"
        if count is not None:
            assert len(result.findings) == count, describe(result)
        candidates = result.findings
        if at is not None:
            candidates = [f for f in result.findings if (f.line, f.column) == at]
            assert candidates, f"no {rule} finding at line {at[0]} column {at[1]}:\n" \
                               f"{describe(result)}"
        says = list(says)
        matching = [f for f in candidates if all(word in f.message for word in says)]
        assert matching, f"no {rule} finding at {at} says {says}:\n{describe(result)}"
        for finding in result.findings:
            assert "\n" not in finding.message, finding.message
            assert finding.rule in DESIGN_RULES
        return result.findings

    @staticmethod
    def passes(result: LintResult, rule: str) -> None:
        """`rule` was checked and has no finding (other rules may have some)."""
        assert not result.crashed, describe(result)
        assert rule in result.checked, f"{rule} was not checked:\n{describe(result)}"
        assert not result.findings_for(rule), describe(result)


    @staticmethod
    def sane(result: LintResult, text: str | None = None) -> None:
        """What must hold for any input: no crash, and anything wrong comes
        back as well-formed findings (a known rule at a real place, with a
        one-line message); no typed profile without a mandatory finding."""
        assert isinstance(result, LintResult)
        assert not result.crashed, describe(result)
        breaks = None if text is None else \
            sum(text.count(c) for c in "\n\r\x85\u2028\u2029") + 1
        for finding in result.findings:
            assert finding.rule in DESIGN_RULES, finding
            assert finding.level == catalogue().get(finding.rule).level, finding
            assert finding.line >= 1 and finding.column >= 1, finding
            if breaks is not None:
                assert finding.line <= breaks + 1, finding
            assert finding.message.strip(), finding
            assert "\n" not in finding.message, finding.text()
        assert result.profile is not None or result.mandatory_findings, describe(result)
        assert result.ok == (result.profile is not None and not result.mandatory_findings)


@pytest.fixture(scope="session")
def check() -> Checker:
    return Checker()


def _source(stem: str) -> Source:
    path = PROFILES / f"{stem}.yaml"
    return Source(path.read_text(encoding="utf-8"), path.name)


@pytest.fixture(scope="session")
def kettle() -> Kettle:
    """The kettle as text to edit (here only: elsewhere `kettle` is the typed profile)."""
    return Kettle(KETTLE.read_text(encoding="utf-8"), KETTLE.name)


@pytest.fixture(scope="session")
def light() -> Source:
    return _source("acme.light.l2")


@pytest.fixture(scope="session")
def outlet() -> Source:
    return _source("acme.outlet.o1")


@pytest.fixture(scope="session")
def purifier() -> Source:
    return _source("acme.purifier.p3")


@pytest.fixture(scope="session")
def sensor() -> Source:
    return _source("acme.sensor.th1")


def lint_command(*args: str | Path, cwd: Path | None = None, timeout: float = 60) -> CliResult:
    """`python -m certkit lint ARGS...` in a subprocess."""
    return certkit("lint", *args, cwd=cwd, timeout=timeout)


@pytest.fixture(scope="session")
def run_lint():
    return lint_command
