"""Faults of the multi-transport device: breaches only visible across its faces.

The serial, MQTT and BLE emulators of one run share one `DeviceState`
(`certkit_emulators.session`); these faults bend how the faces share it, so each
rule of ECS-1 section 8 (and SEC-002) can be shown to fail. They are given
as `--fault interop:NAME` and need at least one emulated transport; each
names the face that misbehaves.
"""

from __future__ import annotations

from certkit_emulators import Fault

FAULTS: dict[str, Fault] = {f.name: f for f in (
    Fault("no-propagation", "INT-001",
          "the MQTT face does not publish changes made through the other transports"),
    Fault("firmware-mismatch", "INT-002",
          "the MQTT face reports firmware-revision with a -beta suffix"),
    Fault("interleaved-writes-lost", "INT-003",
          "the MQTT face answers a /set that interleaves with another transport's writes "
          "but the device keeps the other transport's value"),
    Fault("crash-on-unknown-method", "INT-004",
          "the serial MCU reboots, without an answer, on a downlink method it does not know"),
    Fault("latency-tail", "INT-005",
          "the MQTT face applies every 10th /set after 1100 ms, from its 30th on"),
    Fault("obeys-neighbour", "INT-006",
          "the MQTT face also obeys /set commands addressed to other devices"),
    Fault("crash-on-oversized", "SEC-002",
          "the serial MCU reboots, forgetting what was set, on a downlink over 512 bytes"),
)}
