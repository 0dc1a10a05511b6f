"""The serial emulator's variants: conformant choices a partner's MCU firmware may make.

Each is a way to implement ECS-1 section 5 that the standard allows and real
firmware takes; every one must be CERTIFIED. A variant the suite misjudges
shows a rule that would misjudge a real MCU: the rule is fixed, never the
variant (`tests/variants/`).
"""

from __future__ import annotations

from certkit_emulators import Variant

from certkit.profile.model import Profile
from certkit.standard.catalogue import catalogue

VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("replies-near-limit",
            "ECS-1 section 10: \"reply to a downlink or command 1000 (`reply-ms`)\"; SER-004, "
            "SER-005, SER-008: \"within 1000 ms\"; INT-005: \"p95 latency at most 500 ms\"",
            "answers gets and the version request after 85 % of reply-ms, sets and actions "
            "after 85 % of the tighter of reply-ms and INT-005's p95 bar"),
    Variant("batched-reports",
            "ECS-1 section 5: \"`properties_changed <siid> <piid> <value> [...]`\" (several "
            "properties in one line)",
            "holds property reports for 200 ms and sends what gathered in one "
            "properties_changed line (a set's report shares a line with sensor readings)"),
    Variant("report-before-result",
            "SER-005: \"returns code 0 ... within 1000 ms; ... `properties_changed` carrying "
            "the new value arrives within 1000 ms\" (no order between the two)",
            "sends the properties_changed of a set before the set's result line"),
    Variant("slowest-polls",
            "SER-002: \"median interval 100..250 ms and no gap over 1000 ms\"",
            "polls get_down every 235 ms with every fourth gap 920 ms (median 235 ms, "
            "largest gap 920 ms), and does not poll sooner after a downlink"),
    Variant("accepted-then-applied",
            "ECS-1 section 5: \"Result codes: 0 done; 1 accepted\"; SER-005: \"returns code 0 "
            "(or 1)\"",
            "answers a valid set_properties with code 1 and applies (and reports) the value "
            "300 ms later, unless a later write to the property came first"),
    Variant("slow-boot",
            "SER-001: \"After a reset, the MCU sends `model` ... and `mcu_version` ... within "
            "2000 ms\" (`boot-ms`)",
            "after power-on and after every reset, starts talking (model, mcu_version, then "
            "polls) only after 85 % of the boot limit"),
    Variant("boot-sync",
            "SER-009: self-made changes \"reported at most once per second per property\" (a "
            "report of every value at boot is no change); SER-013 asks the same on going cloud",
            "after booting, once `net` answers `cloud`, reports every notify property in one "
            "properties_changed line"),
    Variant("net-queries",
            "ECS-1 section 5: \"`net` → `offline`, `local`, `cloud`, `updating`, `uap` or "
            "`unprov`\"",
            "asks `net` after every get_down answered `down none`, as firmware that drives a "
            "network LED does"),
    Variant("fixed-decimals",
            "ECS-1 section 5: \"floats in decimal with `.`\"",
            "writes every float with two decimals (C's %.2f: 87.50, 40.00), more where "
            "the step needs them"),
)}

REPLY_SHARE = 0.85          # replies-near-limit: this share of the tightest limit
BATCH_S = 0.2               # batched-reports: how long reports gather
SLOW_POLL_S = 0.235         # slowest-polls: the usual interval...
SLOW_POLL_GAP_S = 0.92      # ...and every SLOW_POLL_GAP_EVERY-th one
SLOW_POLL_GAP_EVERY = 4
APPLY_AFTER_S = 0.3         # accepted-then-applied: when an accepted set takes effect


def near_limit_delays_s(profile: Profile) -> dict[str, float]:
    """replies-near-limit: how long the MCU works on each kind of downlink before answering.

    Gets and the version request have the reply limit (`reply-ms`); a set or an action is
    also a set-and-confirm cycle of INT-005, whose p95 bar (500 ms) is tighter than the
    standard's reply limit, so they answer within the tighter of the two.
    """
    reply_ms = profile.limit_ms("reply-ms")
    quality_bar = catalogue().get("INT-005").limits["p95"].value
    confirm_ms = min(reply_ms, quality_bar)
    return {"get": REPLY_SHARE * reply_ms / 1000, "version": REPLY_SHARE * reply_ms / 1000,
            "set": REPLY_SHARE * confirm_ms / 1000, "action": REPLY_SHARE * confirm_ms / 1000}


def boot_delay_s(profile: Profile) -> float:
    """slow-boot: how long the MCU takes to start talking after power-on or a reset."""
    return REPLY_SHARE * profile.limit_ms("boot-ms") / 1000
