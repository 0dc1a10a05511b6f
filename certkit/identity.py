"""The right unit on the right place: what a DUT says it is, checked before rules judge it.

When the bench names the unit (`--identity KEY=VALUE`, a bench file's `identity`), the
`link` fixture reads the DUT's identity over each transport as its link opens, before
the first rule on it, and compares it with what the bench expects. A mismatch is a bench error: that link is refused, the run
stops INCOMPLETE, and no rule is judged against the wrong unit.
"""

from __future__ import annotations

from typing import Any

from certkit.profile.model import Profile
from certkit.standard.ecs1 import DEVICE_INFORMATION

CONFIRM_S = 1.5  # patience for one identity read


def expected_identity(bench_identity: dict[str, str], profile: Profile) -> dict[str, str]:
    """What the unit must report: the bench's identity. The profile's model and firmware are
    not added: a unit that names the wrong model is a DUT that breaks SER-001 or INT-002 (a
    fail), told from another unit by what the bench names (its serial number, say). A bench
    file's identity that contradicts its profile is refused when the file is read."""
    return dict(bench_identity)


def observe(transport: str, opened: Any, profile: Profile) -> dict[str, str]:
    """What one transport says the DUT is: model, firmware, mcu-version (as INT-002 reads
    them), serial-number, and what the transport alone reports (an MQTT device id, a BLE
    address)."""
    from certkit.transports import transport as registered

    carrier = registered(transport)
    face = carrier.face(opened)
    face.await_ready(profile)
    unreadable = carrier.unreadable_errors()
    try:
        found = dict(face.identity(profile, CONFIRM_S))
    except unreadable:  # a DUT short of an identity string: the rules judge that
        found = {}
    found |= carrier.reported_identity(opened, profile)
    info = {p.name: p for p in profile.properties_on(transport) if p.siid == 1 and p.readable}
    name = DEVICE_INFORMATION[3]
    if "serial-number" not in found and name in info:
        try:
            value = face.read(info[name], CONFIRM_S)
        except unreadable:
            value = None
        if value is not None:
            found["serial-number"] = str(value)
    return found


def unconfirmed(expected: dict[str, str], observed: dict[str, dict[str, str]],
                read_over: set[str]) -> list[str]:
    """Each identity field the bench names that no transport the run read reported: the unit
    may be another one, so a run that read the DUT's identity cannot vouch for it."""
    if not read_over:  # no link opened (a design-only run): there was no unit to confirm
        return []
    over = ", ".join(sorted(read_over))
    return [f"{key} {want!r} was never reported (identity read over {over})"
            for key, want in sorted(expected.items()) if not observed.get(key)]


def mismatches(expected: dict[str, str], observed: dict[str, str]) -> list[str]:
    """Each identity field the unit reports otherwise than expected: 'KEY expected X,
    observed Y'."""
    from certkit.transports import transports

    any_case = {k for t in transports().values() for k in t.identity_keys_any_case}
    wrong = []
    for key, want in expected.items():
        seen = observed.get(key)
        if seen is None:
            continue
        same = seen.lower() == want.lower() if key in any_case else seen == want
        if not same:
            wrong.append(f"{key} expected {want!r}, observed {seen!r}")
    return wrong
