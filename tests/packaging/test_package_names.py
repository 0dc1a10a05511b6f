"""The reference emulators install as `certkit_emulators` (from the repository's
emulators/ folder): a top-level package named `emulators` would clash with
other projects'. From the checkout the old name would still import, so this
looks for it in the sources; the wheel test shows the installed product."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.paths import ROOT

OLD_NAME = re.compile(r"^\s*(?:from|import) emulators\b|[\"'`]emulators\.[a-z_{]|-m emulators\.",
                      re.MULTILINE)
FOLDERS = ("certkit", "emulators", "tests", "benchmarks", "docs")


def sources() -> list[Path]:
    found = [ROOT / "README.md"]
    for folder in FOLDERS:
        found += [path for path in sorted((ROOT / folder).rglob("*"))
                  if path.suffix in (".py", ".md") and "__pycache__" not in path.parts]
    return found


def test_nothing_imports_or_runs_the_emulators_by_their_folder_name() -> None:
    found = []
    for path in sources():
        text = path.read_text("utf-8")
        for match in OLD_NAME.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(ROOT)}:{line}: {match.group().strip()}")
    assert found == [], "use certkit_emulators:\n" + "\n".join(found)
