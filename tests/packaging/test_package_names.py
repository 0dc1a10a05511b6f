"""The reference emulators install as `certkit_emulators` (from the repository's
emulators/ folder): a top-level package named `emulators` would clash with
other projects'. From the checkout the old name would still import, so this
looks for it in the sources; the wheel test shows the installed product."""

from __future__ import annotations

import re

from tests.conftest import ROOT

OLD_NAME = re.compile(r"^\s*(?:from|import) emulators\b|[\"'`]emulators\.[a-z_{]|-m emulators\.",
                      re.MULTILINE)
FOLDERS = ("certkit", "emulators", "tests", "benchmarks", "docs")


def test_nothing_imports_or_runs_the_emulators_by_their_folder_name() -> None:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".py", ".md") or "__pycache__" in path.parts:
                continue
            for match in OLD_NAME.finditer(path.read_text("utf-8")):
                line = path.read_text("utf-8").count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {match.group().strip()}")
    assert found == [], "use certkit_emulators:\n" + "\n".join(found)
