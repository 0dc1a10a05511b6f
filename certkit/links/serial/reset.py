"""How the bench resets the DUT, for rules that need a fresh boot (SER-001).

`--reset` names the method (ECS-1 section 10):

- `dtr`, `rts`: pulse a modem line of the serial adapter (wired to the
  MCU's reset pin): active for 100 ms, then inactive. A pty has no modem
  lines, so this fails there with a clear `LabError`.
- `cmd:<shell command>`: run a command (a relay, a debug probe, `kill -USR1`
  to a standalone emulator). A non-zero exit or a hang is a `LabError`.
- `prompt`: ask the run's operator (`certkit.operator`) to power-cycle the
  DUT, waiting at most `PROMPT_TIMEOUT_S` for the answer; a run without an
  operator (`--no-operator`, CI, no terminal) cannot reset this way, so the
  rule ends in `error`. The reset moment is then only known to the answer,
  so boot timing is measured leniently (see `ResetMethod.reset`).
- `power`: power-cycle the DUT through the power switch of the labgrid place
  the run is on (`certkit.lab.power`, docs/lab.md).
- `none`, or nothing: no reset; rules that need one end in `error`.

Emulators reset themselves (`EmulatorReset`) unless `--reset` says otherwise.
"""

from __future__ import annotations

import abc
import os
import signal
import subprocess
import time
from typing import Protocol

import serial

from certkit.checks import LabError
from certkit.operator import Operator, Status
from certkit.operator import current as current_operator

PULSE_S = 0.1
PROMPT_TIMEOUT_S = 60.0
KILL_WAIT_S = 2.0  # reaping a reset command killed for its hang


class Resettable(Protocol):
    def reset(self, timeout: float) -> None: ...


class ResetMethod(abc.ABC):
    """One way to reboot the DUT. `reset` returns once the reset has been done.

    The caller measures boot time from that return, and accepts boot lines
    from the call on, so a method that cannot say exactly when the MCU
    restarted (an operator's button) errs in the device's favour.
    """

    name: str

    @abc.abstractmethod
    def reset(self, port: serial.SerialBase | None, timeout: float) -> None: ...

    def __str__(self) -> str:
        return self.name


class LinePulse(ResetMethod):
    def __init__(self, line: str) -> None:
        if line not in ("dtr", "rts"):
            raise ValueError(line)
        self.line = line
        self.name = line

    def reset(self, port: serial.SerialBase | None, timeout: float) -> None:
        if port is None:
            raise LabError(f"cannot pulse {self.line.upper()}: the serial port is not open")
        try:
            setattr(port, self.line, True)
            time.sleep(min(PULSE_S, timeout))
            setattr(port, self.line, False)
        except (OSError, serial.SerialException) as exc:
            raise LabError(f"cannot pulse {self.line.upper()} on {port.portstr}: {exc} "
                           "(a pty or an adapter without modem lines? use --reset cmd:...)"
                           ) from None


class ShellCommand(ResetMethod):
    def __init__(self, command: str) -> None:
        self.command = command
        self.name = f"cmd:{command}"

    def reset(self, port: serial.SerialBase | None, timeout: float) -> None:
        # In a session of its own, so that a hang ends with everything the shell started (a
        # `sleep` under `sh -c` would outlive the shell and hold its output pipes open).
        process = subprocess.Popen(self.command, shell=True, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                   start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise LabError(f"reset command `{self.command}` did not finish within "
                           f"{timeout:g} s; stopped it and what it started") from None
        except BaseException:  # an interrupt: the command does not outlive the run
            _kill_group(process)
            raise
        if process.returncode != 0:
            said = (stderr or stdout).strip().splitlines()
            raise LabError(f"reset command `{self.command}` exited with {process.returncode}"
                           + (f": {said[-1]}" if said else ""))


def _kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL the command's process group, then reap the shell (bounded)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        process.communicate(timeout=KILL_WAIT_S)
    except subprocess.TimeoutExpired:
        pass


class OperatorPrompt(ResetMethod):
    """The run's operator power-cycles the DUT (certkit.operator): asked by the deadline,
    with no operator (an unattended run) or no answer the reset is a `LabError`."""

    name = "prompt"
    ACTION = ("Power-cycle the device under test now (switch it off and on again, or press "
              "its reset button)")

    def __init__(self, timeout_s: float = PROMPT_TIMEOUT_S,
                 operator: Operator | None = None) -> None:
        self.timeout_s = timeout_s
        self.operator = operator  # None: the run's, when the reset is due

    def reset(self, port: serial.SerialBase | None, timeout: float) -> None:
        operator = self.operator or current_operator()
        answer = operator.do_now(self.ACTION, min(self.timeout_s, timeout))
        if answer.affirmative:
            return
        if answer.status is Status.NO_OPERATOR:
            raise LabError(f"--reset prompt needs an operator to power-cycle the DUT, and "
                           f"this run has none ({answer.why}); use dtr, rts or cmd:... for "
                           "unattended runs")
        if answer.status is Status.NO_ANSWER:
            raise LabError(f"the operator did not power-cycle the DUT: "
                           f"{answer.shown()}")
        raise LabError("the operator could not power-cycle the DUT (answered: cannot)")


class EmulatorReset(ResetMethod):
    name = "emulator"

    def __init__(self, emulator: Resettable) -> None:
        self.emulator = emulator

    def reset(self, port: serial.SerialBase | None, timeout: float) -> None:
        self.emulator.reset(timeout)


def reset_method(spec: str | None, emulator: Resettable | None = None) -> ResetMethod | None:
    """The bench's reset method, from `--reset` and whether an emulator stands in.

    An emulator resets itself when `--reset` is not given; `--reset none`
    still means none, so a bench without a reset can be rehearsed on it.
    """
    if spec is None:
        return EmulatorReset(emulator) if emulator is not None else None
    if spec == "none":
        return None
    if spec in ("dtr", "rts"):
        return LinePulse(spec)
    if spec == "prompt":
        return OperatorPrompt()
    if spec.startswith("cmd:") and spec[4:].strip():
        return ShellCommand(spec[4:].strip())
    if spec == "power":  # the power switch of the labgrid place the run is on
        from certkit.lab.power import power_reset

        return power_reset()
    raise LabError(f"--reset {spec!r} is not a reset method "
                   "(dtr, rts, cmd:<shell command>, prompt, power or none)")
