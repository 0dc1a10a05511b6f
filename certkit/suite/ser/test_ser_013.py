"""SER-013: MCU reports notify properties on going to cloud (ECS-1 section 5)."""

from __future__ import annotations

import pytest

from certkit.checks import fail, not_applicable
from certkit.evidence import EvidenceLog
from certkit.links.serial import SerialLink
from certkit.links.serial.module import Uplink
from certkit.links.serial.protocol import net_change
from certkit.plan import Instance
from certkit.profile.model import Profile
from certkit.suite.ser.support import (
    PATIENCE_MS,
    LimitMs,
    line_of,
    section10_reply_ms,
    sent_at,
)


@pytest.mark.certkit_rule("SER-013")
def test_ser_013_reports_on_cloud(rule_instance: Instance, serial: SerialLink, profile: Profile,
                                  evidence: EvidenceLog, limit_ms: LimitMs) -> None:
    report_ms = rule_instance.rule.limits["report"].value
    wanted = {p.key: p for p in profile.properties() if p.notifies}
    if not wanted:
        not_applicable("the profile declares no notify property")
    patience = section10_reply_ms(limit_ms) + PATIENCE_MS
    try:
        # Go offline first: an MCU may well report only on a change to cloud.
        for state in ("offline", "cloud"):
            serial.net_state = state
            exchange = serial.request(net_change(state), patience / 1000, expect=None)
            if exchange.status != "sent":
                fail(f"the MCU to poll for `down {exchange.downlink}`", exchange.describe())
    finally:
        serial.net_state = "cloud"
    seen: set[str] = set()

    def all_reported(uplink: Uplink) -> bool:
        if uplink.command == "properties_changed":
            p = line_of(uplink).params
            seen.update(f"{p[i].text}.{p[i + 1].text}" for i in range(0, len(p) - 2, 3))
        return not set(wanted) - seen

    since = sent_at(exchange)
    done = serial.wait_for(all_reported, since, since + report_ms / 1000)
    if done is not None:
        elapsed = (done.t - since) * 1000
        evidence.measure("every notify property reported after", round(elapsed, 1), "ms",
                         limit=f"at most {report_ms:g} ms", ok=True)
        return
    missing = [wanted[key].label for key in wanted if key not in seen]
    fail(f"properties_changed for every notify property within {report_ms:g} ms of "
         "`MIIO_net_change cloud`",
         f"none for {', '.join(missing)} ({len(wanted) - len(missing)} of {len(wanted)} "
         "reported)")
