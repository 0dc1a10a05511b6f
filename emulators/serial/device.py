"""The emulated device's MIoT semantics, with no wire attached.

`DeviceModel` answers get, set and action requests with section 5 result
codes; the values live in the device's `DeviceState` (`certkit_emulators.state`),
which it may share with the device's other faces. The faults that
change what the device *does* (not how it talks) live here too; the MCU
loop in `mcu.py` deals with timing and framing.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from certkit_emulators.state import DeviceState, as_format

from certkit.links.serial.protocol import LineError, Token, decode_value
from certkit.profile.model import Action, Profile, Property

OK, NOT_READABLE, NOT_WRITABLE, NO_SUCH, BAD_VALUE, BAD_ARGUMENTS = (
    0, -4001, -4002, -4003, -4005, -4006)


class Crash(Exception):
    """The emulated MCU falls over (fault `crash-on-unknown`): it reboots."""


class DeviceModel:
    SOURCE = "serial"

    def __init__(self, profile: Profile, faults: frozenset[str],
                 state: DeviceState | None = None) -> None:
        """`state`: shared with the device's other faces (else its own)."""
        self.state = state or DeviceState(profile)
        self.profile = profile
        self.faults = faults
        self.props = self.state.props
        self.actions = {(a.siid, a.aiid): a for a in self.profile.actions()}
        self._drift_up: dict[tuple[int, int], bool] = {}

    def value(self, siid: int, piid: int) -> Any:
        return self.state.value((siid, piid))

    def get(self, siid: int, piid: int) -> tuple[int, Any]:
        prop = self._known(siid, piid)
        if prop is None:
            return NO_SUCH, None
        if not prop.readable and "access-not-enforced" not in self.faults:
            return NOT_READABLE, None
        value = self.state.value((siid, piid))
        if "out-of-range-values" in self.faults and not prop.writable:
            value = _out_of_range(prop, value)
        return OK, value

    def set(self, siid: int, piid: int, token: Token) -> tuple[int, bool]:
        """(code, whether the stored value changed)."""
        code, value = self.judge_set(siid, piid, token)
        if code != OK or value is None:
            return code, False
        return OK, self.state.write(self.props[(siid, piid)], value, self.SOURCE)

    def judge_set(self, siid: int, piid: int, token: Token) -> tuple[int, Any]:
        """(code, the value to store or None): a set's answer, before anything is stored."""
        prop = self._known(siid, piid)
        if prop is None:
            return NO_SUCH, None
        if not prop.writable and "access-not-enforced" not in self.faults:
            return NOT_WRITABLE, None
        value = _valid(prop, token)
        if value is None:
            return (OK if "invalid-values-accepted" in self.faults else BAD_VALUE), None
        if "sets-not-applied" in self.faults:
            return OK, None
        return OK, value

    def act(self, siid: int, aiid: int, args: list[Token]
            ) -> tuple[int, list[tuple[int, Any]], list[int]]:
        """(code, out values, piids whose value the action changed); `args` as on the wire."""
        action = self.actions.get((siid, aiid))
        if action is None:
            return NO_SUCH, [], []
        inputs = self._inputs(action, args)
        if inputs is None:
            if "bad-action-args-accepted" not in self.faults:
                return BAD_ARGUMENTS, [], []
            inputs = {}
        changed = []
        for piid, value in inputs.items():
            if self.state.write((siid, piid), value, self.SOURCE):
                changed.append(piid)
        return OK, [(piid, self.value(siid, piid)) for piid in action.outputs], changed

    def _inputs(self, action: Action, args: list[Token]) -> dict[int, Any] | None:
        """The action's `in` values, or None when their count, piids or values are wrong."""
        if len(args) != 2 * len(action.inputs):
            return None
        inputs: dict[int, Any] = {}
        for piid_token, value_token in zip(args[::2], args[1::2]):
            if piid_token.kind != "int" or int(piid_token.text) not in action.inputs:
                return None
            piid = int(piid_token.text)
            value = _valid(self.props[(action.siid, piid)], value_token)
            if value is None or piid in inputs:
                return None
            inputs[piid] = value
        return inputs

    def drift(self, prop: Property) -> Any:
        """A sensor reading moves one step, bouncing between the range's ends."""
        low, high, step = (Fraction(str(x)) for x in prop.value_range)
        key = (prop.siid, prop.piid)
        up = self._drift_up.get(key, True)
        current = Fraction(str(self.state.value(key)))
        nxt = current + step if up else current - step
        if not low <= nxt <= high:
            up = not up
            nxt = current + step if up else current - step
        self._drift_up[key] = up
        self.state.write(prop, as_format(prop, min(max(nxt, low), high)), "sensor")
        return self.state.value(key)

    def _known(self, siid: int, piid: int) -> Property | None:
        prop = self.props.get((siid, piid))
        if prop is None and "crash-on-unknown" in self.faults:
            raise Crash(f"downlink named unknown property {siid}.{piid}")
        return prop


def _valid(prop: Property, token: Token) -> Any:
    try:
        value = decode_value(token, prop)
    except LineError:
        return None
    return value if prop.check_value(value) is None else None


def _out_of_range(prop: Property, value: Any) -> Any:
    if prop.value_list:
        return max(entry.value for entry in prop.value_list) + 5
    if prop.value_range:
        _, high, step = prop.value_range
        return as_format(prop, Fraction(str(high)) + 10 * Fraction(str(step)))
    return value
