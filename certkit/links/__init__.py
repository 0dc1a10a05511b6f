"""Opening a transport's link: the factory is the transport's own
(`certkit.transports`, one registered object per transport). The plugin's link
fixtures call `open_link`, which says plainly what is missing when no installed
transport serves the name.

Light on import: the transport registry loads each transport package through here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from certkit.bench import Bench
    from certkit.evidence import EvidenceLog
    from certkit.links.base import Link
    from certkit.profile.model import Profile

LinkFactory = Callable[["Profile", "Bench", "EvidenceLog"], "Link"]


def factory_for(transport: str) -> LinkFactory | None:
    from certkit.transports import transports

    found = transports().get(transport)
    return found.open_link if found is not None else None


def open_link(transport: str, profile: Profile, bench: Bench, evidence: EvidenceLog,
              timeout: float) -> Link:
    from certkit.checks import LabError

    factory = factory_for(transport)
    if factory is None:
        raise LabError(f"this certkit has no {transport} link driver yet, so no {transport} "
                       "rule can be checked")
    link = factory(profile, bench, evidence)
    link.open(timeout)
    return link


def __getattr__(name: str) -> Any:
    if name == "Link":
        from certkit.links.base import Link

        return Link
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Link", "LinkFactory", "factory_for", "open_link"]
