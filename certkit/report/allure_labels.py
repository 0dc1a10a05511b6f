"""Allure labels, evidence attachments and environment for a certification run.

A reviewer navigates the Allure report by rule family (epic), transport
(feature) and rule (story); severity follows the rule's level, and each test
links to its section of the standard. ECS-1 `fail` of a mandatory rule shows
as Allure "failed" and `error` as "broken", so device failures and lab
errors never mix; a waived fail and a recommended rule's fail (a warning)
are "passed" with the reason in the status message, as in junit.xml.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest

from certkit import __version__
from certkit.evidence import EvidenceItem, Measurement
from certkit.plan import Instance
from certkit.profile.model import Profile
from certkit.report.categories import CATEGORIES
from certkit.report.record import write_atomically
from certkit.standard import Standard, builtin

SEVERITY = {"M": "critical", "R": "minor"}
FEATURE = {"design": "profile", "interop": "all transports"}
# The standard's order of rule families; the report's tree sorts by name, so each family's
# name starts with its place ("3. SER Serial ..."), not the order the rules happened to run in.
FAMILY_ORDER = ("PRF", "DSN", "SER", "MQT", "BLE", "INT", "SEC")


def family_label(family_id: str, standard: Standard | None = None) -> str:
    standard = standard or builtin()
    family = standard.catalogue.families.get(family_id)
    named = f"{family_id} {family.title}" if family else family_id
    # Another standard's families in its catalogue's order.
    order = (FAMILY_ORDER if standard.name == builtin().name  # ECS-1.0, with any rules added
             else tuple(standard.catalogue.families))
    place = (order.index(family_id) + 1 if family_id in order
             else len(order) + 1)  # rules of one's own after the standard's
    return f"{place}. {named}"



def _label(value: str, kind: str) -> pytest.MarkDecorator:
    return pytest.mark.allure_label(value, label_type=kind)


def label(item: pytest.Item, instance: Instance, profile: Profile | None,
          standard: Standard | None = None) -> None:
    """`standard`: the run's; the rule's ID is tagged qualified by it (ECS-1.0:SER-004)."""
    standard = standard or builtin()
    rule = instance.rule
    item.add_marker(_label(family_label(rule.family, standard), "epic"))
    item.add_marker(_label(FEATURE.get(rule.transport, rule.transport), "feature"))
    item.add_marker(_label(f"{rule.id} {rule.title}", "story"))
    item.add_marker(_label(SEVERITY[rule.level], "severity"))
    item.add_marker(_label(standard.qualified(rule.id), "tag"))
    if rule.section and standard.url:
        item.add_marker(pytest.mark.allure_link(f"{standard.url}#section-{rule.section}",
                                                name=f"{standard.name} section {rule.section}",
                                                link_type="link"))
    item.add_marker(pytest.mark.allure_description(
        f"{rule.text}\n\nLevel: {rule.level}. Instance: {instance.label or 'once'}. "
        f"Why it applies: {instance.reason}"))
    item.user_properties.append(("rule", standard.qualified(rule.id)))
    if profile is not None:
        item.user_properties.append(("model", profile.device.model))


def set_title_and_parameters(instance: Instance, profile: Profile | None) -> None:
    """Called while the test runs, when Allure's test result exists."""
    import allure

    rule = instance.rule
    # allure-python-commons leaves dynamic.title and attach.file unannotated.
    allure.dynamic.title(f"{instance.id} {rule.title}"  # type: ignore[no-untyped-call]
                         + (f" ({instance.label})" if instance.label else ""))
    if profile is not None:
        allure.dynamic.parameter("model", profile.device.model)
        allure.dynamic.parameter("firmware", profile.device.firmware)
    allure.dynamic.parameter("instance", instance.label or "once")


def attach_evidence(items: Iterable[EvidenceItem], summary: str) -> None:
    import allure

    lines = [summary, ""] + [item.line() for item in items]
    allure.attach("\n".join(lines), name="evidence", attachment_type=allure.attachment_type.TEXT)


def attach_measurements(figures: Iterable[Measurement], chart: Path | None) -> None:
    """Each measured figure as a parameter (`p95 latency = 412 ms (limit: at most 500 ms, ok)`),
    the samples behind it as a CSV attachment in the order taken, and the latency chart."""
    import allure

    for figure in figures:
        verdict = "ok" if figure.ok else "OUTSIDE the limit"
        allure.dynamic.parameter(figure.name, f"{figure.value:g} {figure.unit} "
                                              f"(limit: {figure.limit}; {verdict})")
        if figure.samples:
            allure.attach("sample,value\n" + "".join(f"{n},{value:g}\n" for n, value
                                                      in enumerate(figure.samples, 1)),
                          name=f"{figure.name} samples ({figure.unit}, in the order taken)",
                          attachment_type=allure.attachment_type.CSV)
    if chart is not None:
        allure.attach.file(str(chart), name="latency chart",  # type: ignore[no-untyped-call]
                           attachment_type=allure.attachment_type.SVG)


# ECS-1 outcome as shown (see certkit/plugin/outcome.py, judged) -> Allure status.
STATUS = {"pass": "passed", "fail": "failed", "error": "broken", "not-applicable": "skipped",
          "waived": "passed", "warning": "passed"}


def set_status(item: pytest.Item, shown: str, message: str) -> None:
    """Give the item's Allure result the ECS-1 status. Allure sets it from pytest's reports
    while the test runs; this comes after (the result is written when the item ends)."""
    listener = item.config.pluginmanager.get_plugin("allure_listener")
    if listener is None:
        return
    from allure_commons.model2 import StatusDetails

    try:  # allure-pytest keeps the open result by node id
        result = listener.allure_logger.get_test(listener._cache.get(item.nodeid))
    except (AttributeError, KeyError):
        return
    if result is None:
        return
    result.status = STATUS.get(shown, "broken")
    if shown != "pass":
        detail = result.statusDetails
        result.statusDetails = StatusDetails(
            message=f"{shown}: {message}" if shown in ("waived", "warning") else message,
            trace=getattr(detail, "trace", None))


def write_environment(folder: Path, profile_path: Path, profile_sha256: str,
                      profile: Profile | None, bench: dict[str, str],
                      patterns: tuple[str, ...], standard: str = "ECS-1.0") -> None:
    """environment.properties and categories.json in the Allure results folder: what was
    certified, on which bench, and whether the run was partial."""
    env = {"certkit": __version__, "standard": standard,
           "profile": str(profile_path), "profile.sha256": profile_sha256}
    if profile is not None:
        device = profile.device
        env |= {"model": device.model, "firmware": device.firmware,
                "mcu-version": device.mcu_version or "-"}
    env |= {f"bench.{key}": value for key, value in bench.items()}
    if patterns:  # a partial run says so wherever its results are shown
        env["selection"] = "partial: only rules matching " + ", ".join(patterns)
    write_atomically(folder / "environment.properties",
                     "".join(f"{key}={str(value).replace(chr(10), ' ')}\n"
                             for key, value in env.items()))
    write_atomically(folder / "categories.json", json.dumps(CATEGORIES, indent=2))
