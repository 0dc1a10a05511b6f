"""Example profiles linted and typed, as the link and emulator tests use them."""

from __future__ import annotations

from pathlib import Path

from certkit.design import lint_file
from certkit.profile.model import Profile


def load_profile(path: Path) -> Profile:
    profile = lint_file(path).profile
    assert profile is not None, f"{path.name} fails lint"
    return profile
