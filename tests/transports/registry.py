"""certkit's own transports only, whatever else the environment registers (certkit UDP from
tests/transports/udplink, a user's third-party transport): for the tests of what certkit
ships generated from the registry (the profile and bench-file schemas, docs/variants.md)
and of certkit's own three in order.

    with own_transports(EntryPoint("loop", "tests.core.test_transports:LOOP", GROUP)):
        ...
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from importlib.metadata import EntryPoint

import pytest

import certkit.transports as registry

OWN = "certkit."  # where certkit's own transports live (certkit.links.<name>.transport)


def clear_caches() -> None:
    """Everything certkit computes once from the registered transports."""
    from certkit.benchfile import load
    from certkit.design import document
    from certkit.plan import conditions
    from certkit.standard import base

    for cached in (registry.transports, conditions, document.profile_schema,
                   document._validator, load.bench_schema, base._with_transports):
        cached.cache_clear()


@contextlib.contextmanager
def own_transports(*extra: EntryPoint) -> Iterator[None]:
    """Within: the registry lists certkit's own transports and `extra`, nothing else."""
    real = registry.registered

    @functools.wraps(real)
    def listed(group: str) -> list[tuple[str, str]]:
        found = list(real(group))
        if group == registry.GROUP:
            found = [(name, value) for name, value in found if value.startswith(OWN)]
            found += [(entry.name, entry.value) for entry in extra]
        return found

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(registry, "registered", listed)
            clear_caches()
            yield
    finally:
        clear_caches()
