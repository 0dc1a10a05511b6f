"""The reference serial emulator: a partner MCU on a pty, driven by any profile.

    from certkit_emulators.serial import SerialEmulator
    emulator = SerialEmulator(profile, frozenset({"slow-polls"}))
    emulator.start(timeout=5)
    print(emulator.port)      # /dev/pts/7: open it with pyserial
    emulator.stop(timeout=5)

Or on its own, for a session at the bench:
`python -m certkit_emulators.serial PROFILE [--fault NAME]...` prints its port and
how to reset it.
"""

from certkit_emulators.serial.faults import FAULTS
from certkit_emulators.serial.mcu import SerialEmulator
from certkit_emulators.serial.variants import VARIANTS

__all__ = ["FAULTS", "VARIANTS", "SerialEmulator"]
