"""One device state per run: how the emulated faces of one DUT come to share it.

With `--emulate` covering several transports, each link driver starts its
own emulator, but the DUT is one device: a set over MQTT must show on
serial and BLE. The drivers ask `shared_state(run, profile, faults)` for the
state of the run's DUT; the first ask makes it, the others get the same
one. `run` is any object that lives exactly as long as the run (certkit
passes its `EvidenceLog`), so the state goes when the run does.

    state = shared_state(evidence, profile, bench.faults.get("interop", frozenset()))
    SerialEmulator(profile, faults, state=state)
"""

from __future__ import annotations

import threading
import weakref

from certkit_emulators.state import DeviceState

from certkit.profile.model import Profile

_STATES: weakref.WeakKeyDictionary[object, DeviceState] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def shared_state(run: object, profile: Profile,
                 faults: frozenset[str] = frozenset()) -> DeviceState:
    """The run's one device state (made on first use, with the run's interop faults)."""
    with _LOCK:
        state = _STATES.get(run)
        if state is None or state.profile is not profile:
            state = DeviceState(profile, faults=faults)
            _STATES[run] = state
        return state
