"""Design findings: one broken design rule at one place in a profile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from certkit.profile.yaml12 import Document, Path, Position
from certkit.standard import BUILTIN, Standard, builtin


def severity(level: str) -> str:
    """A mandatory rule's finding is an error (a run refuses the profile), a
    recommended rule's a warning."""
    return "error" if level == "M" else "warning"


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    column: int
    rule: str
    level: str
    message: str
    standard: str = field(default=BUILTIN, compare=False)  # whose rule it is

    def text(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {severity(self.level)}: {self.rule} {self.message}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Reporter:
    """Collects findings for one profile, turning document paths into lines. Its standard is
    the profile's once known; the document's rules (PRF-001..003) are ECS-1.0's until then."""

    file: str
    document: Document | None = None
    findings: list[Finding] = field(default_factory=list)
    standard: Standard = field(default_factory=builtin)

    def at(self, rule: str, position: Position, message: str) -> None:
        owner = self.standard if rule in self.standard.catalogue else builtin()
        level = owner.catalogue.get(rule).level
        self.findings.append(
            Finding(self.file, position.line, position.column, rule, level, message, owner.name)
        )

    def __call__(self, rule: str, where: Path, message: str, *, key: bool = False) -> None:
        """Report `message` under `rule` at the node `where` (its key with key=True)."""
        position = self.document.position(where, key=key) if self.document else Position(1, 1)
        self.at(rule, position, message)


# A design check reads the profile's plain data and reports what is wrong.
DesignCheck = Callable[[dict[str, Any], Reporter], None]
