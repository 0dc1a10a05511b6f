"""The serial emulator's fault switches: each breaks one rule on purpose.

A fault names what it breaks, not how it is built, and lists the rule it
makes fail, so the suite can be shown to catch every breach it claims to.
"""

from __future__ import annotations

from certkit_emulators import Fault

FAULTS: dict[str, Fault] = {f.name: f for f in (
    Fault("wrong-model", "SER-001", "announces a model other than the profile's after boot"),
    Fault("slow-polls", "SER-002", "polls get_down every 400 ms instead of every 120 ms"),
    Fault("goes-silent", "SER-002", "hangs 2 s after power-on: sends nothing, answers nothing"),
    Fault("lf-line-ends", "SER-003", "ends every line with LF instead of CR"),
    Fault("garbage", "SER-003", "every 400 ms sends a line with a NUL byte, non-ASCII bytes "
                                "or more than 512 bytes"),
    Fault("no-line-end", "SER-003", "never ends a line, so its lines run together"),
    Fault("out-of-range-values", "SER-004", "answers get_properties of read-only numeric "
                                            "properties with values outside their range or list"),
    Fault("slow-replies", "SER-004", "answers get_properties 300 ms after the profile's "
                                     "reply limit"),
    Fault("sets-not-applied", "SER-005", "answers set_properties with 0 but keeps the old value"),
    Fault("no-notify", "SER-005", "sends no properties_changed after a set"),
    Fault("access-not-enforced", "SER-006", "lets read-only properties be set"),
    Fault("crash-on-unknown", "SER-006", "reboots, without a result, when a downlink names "
                                         "a property it does not have"),
    Fault("invalid-values-accepted", "SER-007", "answers invalid set values with code 0 "
                                                "(without applying them)"),
    Fault("bad-action-args-accepted", "SER-008", "runs actions with wrong argument counts or "
                                                 "values and answers code 0"),
    Fault("notify-flood", "SER-009", "reports a sensor property every 100 ms"),
    Fault("undeclared-events", "SER-010", "sends event_occured for an event the profile does "
                                          "not declare, every 500 ms"),
    Fault("event-flood", "SER-010", "sends a declared event 10 times a second"),
    Fault("split-results", "SER-011", "answers a multi-property downlink with one result line "
                                      "per property"),
    Fault("version-request-ignored", "SER-012", "ignores down MIIO_mcu_version_req"),
    Fault("no-cloud-sync", "SER-013", "sends no reports after down MIIO_net_change cloud"),
)}
