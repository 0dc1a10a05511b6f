"""TOY-1.0, a standard of two rules: TOY-001 on the profile, TOY-002 on the serial link."""

from __future__ import annotations

from certkit.standard import Standard

TOY = Standard(
    "TOY-1.0",
    title="Toy standard 1.0",
    data="certkit_toy",                     # rules.yaml; no device categories of its own
    suite="certkit_toy.suite",
    design="certkit_toy.design:CHECKS",
    categories_file=None,
)
