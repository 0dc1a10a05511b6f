"""What the INT rules and SEC-002 share (ECS-1 section 8): each transport's interop face on
its link, and how values seen on two transports compare.

A DUT with several transports is one device: these rules open every link it declares (the
`link` fixture opens each once per run) and drive each through its transport's interop face
(`Transport.face(link)`, an `InteropFace` of `certkit/transports/interop.py`). No transport
is named here: what differs between transports (the identity each reports, a second
controller, the unknown message, a neighbour, malformed inputs) is each face's business. A
transport whose face lacks a capability takes no part in that rule, and the evidence says
so. Every figure goes into the evidence with its limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from certkit.evidence import EvidenceLog
from certkit.profile.model import Profile, Property
from certkit.profile.values import same_value
from certkit.transports import transport
from certkit.transports.interop import InteropFace

SETTLE_S = 0.3        # after an unknown or malformed input, before the health check


def face_of(link: Callable[[str], Any], name: str, profile: Profile) -> InteropFace | None:
    """The transport's interop face on its link, the DUT ready on it (a link opened by
    this rule may not have seen the DUT yet; LabError when it never comes). None when
    the transport has no interop face."""
    face: InteropFace | None = transport(name).face(link(name))
    if face is not None:
        face.await_ready(profile)
    return face


def faces_of(profile: Profile, link: Callable[[str], Any], names: Iterable[str],
             evidence: EvidenceLog) -> Iterator[tuple[str, InteropFace]]:
    """(name, face) for each transport of `names` that has a face, each link opened as
    it comes (a transport whose link failed ends the rule in error; one without a face
    is left out, as the evidence says)."""
    for name in names:
        face = face_of(link, name, profile)
        if face is None:
            evidence.note(f"{name} has no interop face: it takes no part in this rule")
        else:
            yield name, face


def exposing(profile: Profile, prop: Property) -> list[str]:
    return [t for t in profile.transports.declared if prop in profile.properties_on(t)]


def writable_on(profile: Profile, name: str) -> Property | None:
    props = [p for p in profile.properties_on(name) if p.writable and p.readable]
    return next((p for p in props if p.format != "bool"), props[0] if props else None)


def same_across(prop: Property, a: Any, b: Any) -> bool:
    """Values seen on two transports: compared as decimal text carries them, the coarser
    encoding, so a value that passes a per-transport rule cannot fail here."""
    return same_value(prop.format, a, b, "decimal")
