"""The design rules, checked on the profile alone.

`lint_file(path)` runs PRF-001..003, then, on a document of the right
shape, the design checks of the standard the profile names (ECS-1.0's:
DSN-001..012 and SEC-001, below), and returns every finding with its file,
line and column. Nothing here touches a device.
"""

from __future__ import annotations

import hashlib
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from certkit.design import capabilities, device, document
from certkit.design.findings import DesignCheck, Finding, Reporter
from certkit.profile.model import Profile
from certkit.standard import Standard, builtin

# ECS-1.0's checks that need a document of the right shape, in catalogue order (its
# Standard's `design`; another standard names its own).
DESIGN_CHECKS: dict[str, DesignCheck] = {
    "DSN-001": device.check_model,
    "DSN-002": device.check_category,
    "DSN-003": capabilities.check_device_information,
    "DSN-004": capabilities.check_names_and_iids,
    "DSN-005": capabilities.check_formats,
    "DSN-006": capabilities.check_units,
    "DSN-007": capabilities.check_access,
    "DSN-008": device.check_names,
    "DSN-009": device.check_versions,
    "DSN-010": capabilities.check_sizes,
    "DSN-011": device.check_transports,
    "DSN-012": device.check_timing,
    "SEC-001": capabilities.check_secrets,
}
DESIGN_RULES = ("PRF-001", "PRF-002", "PRF-003", *DESIGN_CHECKS)


class ProfileReadError(Exception):
    """The profile file cannot be read at all (missing, a directory, not UTF-8)."""


@dataclass
class LintResult:
    path: Path
    sha256: str
    findings: list[Finding] = field(default_factory=list)
    checked: set[str] = field(default_factory=set)  # rules that were evaluated
    crashed: dict[str, str] = field(default_factory=dict)  # rule -> harness error
    profile: Profile | None = None
    standard: Standard = field(default_factory=builtin)  # the one the profile names

    @property
    def design_rules(self) -> tuple[str, ...]:
        """The rules of its standard checked on the profile alone."""
        return self.standard.design_rules

    def findings_for(self, rule: str) -> list[Finding]:
        return [f for f in self.findings if f.rule == rule]

    @property
    def mandatory_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "M"]

    @property
    def ok(self) -> bool:
        """No mandatory finding and every check ran: the run may touch the device."""
        return not self.mandatory_findings and not self.crashed and self.profile is not None

    def why_not_checked(self, rule: str) -> str:
        failed = next((r for r in ("PRF-001", "PRF-002", "PRF-003") if self.findings_for(r)), "")
        return (f"not checked: the profile failed {failed}, so there is nothing to check "
                f"{rule} on") if failed else "not checked"


def read_profile(path: Path) -> tuple[str, str]:
    """The profile's text and SHA-256; raises ProfileReadError with the reason."""
    from certkit.inputfiles import InputFileError, read_input

    try:  # a regular file of at most 1 MiB; a FIFO, a device or a folder is refused unread
        raw = read_input(path)
    except InputFileError as exc:
        raise ProfileReadError(str(exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileReadError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return text, hashlib.sha256(raw).hexdigest()


def lint_text(text: str, path: Path, sha256: str = "") -> LintResult:
    result = LintResult(path=path, sha256=sha256 or hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
    report = Reporter(str(path))
    result.checked.add("PRF-001")
    doc = document.parse(text, report)
    if doc is not None:
        result.checked |= {"PRF-002", "PRF-003"}
        shaped = document.check_schema(doc, report)
        versions = document.check_versions(doc.value, report)
        result.standard = report.standard
        if shaped and versions:
            for rule, check in result.standard.design_checks.items():
                result.checked.add(rule)
                try:
                    check(doc.value, report)
                except Exception:  # noqa: BLE001 - a harness bug must not pass for a device verdict
                    result.crashed[rule] = traceback.format_exc(limit=-3)
            if not result.crashed:
                result.profile = Profile.from_document(doc, path, result.sha256)
                # With the rules the declared transports add to it (Transport.rules).
                result.standard = result.standard.with_transports(
                    result.profile.transports.declared)
    result.findings = sorted(report.findings, key=lambda f: (f.line, f.column, f.rule))
    return result


def lint_file(path: Path) -> LintResult:
    text, sha256 = read_profile(path)
    return lint_text(text, path, sha256)
