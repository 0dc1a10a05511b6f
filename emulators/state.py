"""One emulated device's state, shared by every face it shows (serial, MQTT, BLE).

A partner device with several transports is one device: a value set over
MQTT is the value serial reports and BLE notifies. `DeviceState` is that one
truth, safe to use from the emulators' threads and loops at once:

- a value per (siid, piid) of the profile, starting from plausible valid
  values (the device-information strings for service 1);
- `write(prop, value, source)`: a write that a face has already validated,
  tagged with the face it came through (`"serial"`, `"mqtt"`, `"ble"`) or
  `"sensor"` for changes the device makes on its own;
- `subscribe(callback)`: every face hears `callback(prop, value, source)`
  after each change and reports it in its own way, except changes it made
  itself (it answers those already). Listeners are called with the state's
  lock held, in the order the writes were applied, so they must not block:
  they queue or schedule their report;
- `identity`: what the device says it is (model, firmware, mcu-version,
  serial number), the same on every face.

Each emulator makes a private `DeviceState` when used alone; with several
transports emulated in one run they share one (`certkit_emulators.session`).

    state = DeviceState(profile)
    state.subscribe(lambda prop, value, source: print(prop.label, value, source))
    state.write(profile.property(2, 1), True, "mqtt")   # kettle.on True mqtt
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from certkit.profile.model import Profile, Property
from certkit.standard.ecs1 import INTEGER_BOUNDS

Key = tuple[int, int]
Listener = Callable[[Property, Any, str], None]


@dataclass(frozen=True)
class Identity:
    """What the device says it is, on every face."""

    manufacturer: str
    model: str
    firmware: str
    mcu_version: str
    serial_number: str

    def information(self) -> dict[str, str]:
        """The strings of service 1 (device-information), by property name."""
        return {"manufacturer": self.manufacturer, "model": self.model,
                "serial-number": self.serial_number, "firmware-revision": self.firmware}


def identity_of(profile: Profile) -> Identity:
    device = profile.device
    return Identity(device.manufacturer, device.model, device.firmware,
                    device.mcu_version or "0000",
                    f"{device.model.rsplit('.', 1)[-1].upper()}-0001")


def as_format(prop: Property, number: Fraction | float) -> int | float:
    return int(number) if prop.format in INTEGER_BOUNDS else float(number)


def initial_value(prop: Property, identity: Identity) -> Any:
    """A plausible valid power-on value: middle of the range, first list entry..."""
    if prop.siid == 1 and prop.name in identity.information():
        return identity.information()[prop.name]
    if prop.format == "bool":
        return False
    if prop.format == "string":
        return prop.name
    if prop.value_list:
        return prop.value_list[0].value
    if prop.value_range:
        low, high, step = (Fraction(str(x)) for x in prop.value_range)
        return as_format(prop, low + ((high - low) / step // 2) * step)
    return as_format(prop, 0)


class DeviceState:
    """The values and identity of one emulated device, shared by its faces."""

    def __init__(self, profile: Profile, identity: Identity | None = None,
                 faults: frozenset[str] = frozenset()) -> None:
        """`faults`: interop faults (`certkit_emulators.interop`), which the faces consult."""
        self.profile = profile
        self.faults = frozenset(faults)
        self.identity = identity or identity_of(profile)
        self.props: dict[Key, Property] = {(p.siid, p.piid): p for p in profile.properties()}
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        self._values: dict[Key, Any] = {}
        self._writers: dict[Key, tuple[str, float]] = {}  # last writer and when
        self.reset()

    def has(self, fault: str) -> bool:
        return fault in self.faults

    # ------------------------------------------------------------ values

    def value(self, prop: Property | Key) -> Any:
        with self._lock:
            return self._values[_key(prop)]

    def values(self) -> dict[Key, Any]:
        """A consistent copy of every value."""
        with self._lock:
            return dict(self._values)

    def last_writer(self, prop: Property | Key) -> tuple[str, float] | None:
        """(source, monotonic time) of the last write that changed the value, if any."""
        with self._lock:
            return self._writers.get(_key(prop))

    def write(self, prop: Property | Key, value: Any, source: str) -> bool:
        """Store a validated value; True when it changed (listeners then hear of it)."""
        key = _key(prop)
        with self._lock:
            at = time.monotonic()
            if self._values[key] == value:
                return False
            self._values[key] = value
            self._writers[key] = (source, at)
            # Under the lock, so every face hears concurrent writes in the one
            # order they were applied and ends at the value the state ends at.
            for listener in list(self._listeners):
                listener(self.props[key], value, source)
        return True

    def reset(self, source: str = "reset") -> None:
        """Power-on values (a reboot forgets what was set); listeners hear what changed."""
        fresh = {key: initial_value(prop, self.identity) for key, prop in self.props.items()}
        with self._lock:
            changed = [key for key, value in fresh.items() if self._values.get(key) != value]
            self._values = fresh
            self._writers.clear()
            for key in changed:
                for listener in list(self._listeners):
                    listener(self.props[key], fresh[key], source)

    # ------------------------------------------------------------ listeners

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Hear every change; returns the function that stops it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
        return unsubscribe


def _key(prop: Property | Key) -> Key:
    return prop if isinstance(prop, tuple) else (prop.siid, prop.piid)
