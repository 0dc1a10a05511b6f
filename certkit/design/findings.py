"""Design findings: one broken design rule at one place in a profile."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from certkit.profile.yaml12 import Document, Path, Position
from certkit.standard.catalogue import catalogue


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

    def text(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {severity(self.level)}: {self.rule} {self.message}"

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class Reporter:
    """Collects findings for one profile, turning document paths into lines."""

    file: str
    document: Document | None = None
    findings: list[Finding] = field(default_factory=list)

    def at(self, rule: str, position: Position, message: str) -> None:
        level = catalogue().get(rule).level
        self.findings.append(
            Finding(self.file, position.line, position.column, rule, level, message)
        )

    def __call__(self, rule: str, where: Path, message: str, *, key: bool = False) -> None:
        """Report `message` under `rule` at the node `where` (its key with key=True)."""
        position = self.document.position(where, key=key) if self.document else Position(1, 1)
        self.at(rule, position, message)


# A design check reads the profile's plain data and reports what is wrong.
DesignCheck = Callable[[dict, Reporter], None]
