"""The operator options of a run: `certkit run`'s and the pytest plugin's.

`certkit run --no-operator | --operator-terminal PATH | --operator-lock FILE |
--operator-dut NAME` pass on to `--certkit-...` of the same names; the plugin makes the
run's operator from them (`for_config`).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from certkit.evidence import EvidenceLog
from certkit.operator import Operator, for_run

if TYPE_CHECKING:  # `certkit run` imports pytest only when a run starts
    import pytest

# (name, argparse keywords, help); `certkit run --NAME`, the plugin's `--certkit-NAME`.
OPTIONS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("no-operator", {"action": "store_true"},
     ("an unattended run: every question for the operator (power-cycle the DUT, change a "
     "sensor's value) is answered 'no operator' at once, and the rule ends as ECS-1 says; "
     "also so in CI (CI set) or when not started from a terminal (docs/operators.md)")),
    ("operator-terminal", {"metavar": "PATH"},
     "the terminal the operator answers at (default: the one the run was started from)"),
    ("operator-lock", {"metavar": "FILE"},
     ("show one question at a time with the other runs that share this file (the DUTs of "
     "a bench run)")),
    ("operator-dut", {"metavar": "NAME"},
     "the DUT's name in the operator's questions (default: the profile's model)"),
)


def add_run_arguments(cmd: argparse.ArgumentParser) -> None:
    for name, kwargs, text in OPTIONS:
        cmd.add_argument(f"--{name}", help=text, **kwargs)


def run_to_plugin(args: argparse.Namespace) -> list[str]:
    """`certkit run`'s operator options as the plugin's."""
    argv = []
    for name, kwargs, _ in OPTIONS:
        value = getattr(args, name.replace("-", "_"), None)
        if kwargs.get("action") == "store_true":
            argv += [f"--certkit-{name}"] if value else []
        elif value is not None:
            argv.append(f"--certkit-{name}={value}")
    return argv


def add_plugin_options(group: pytest.OptionGroup) -> None:
    for name, kwargs, text in OPTIONS:
        group.addoption(f"--certkit-{name}", help=text, **kwargs)


def for_config(config: pytest.Config, evidence: EvidenceLog, dut: str,
               all_emulated: bool) -> Operator:
    """The run's operator from the plugin's options; `dut` names the DUT by default;
    `all_emulated`: emulators stand in for every transport the DUT has."""
    lock = config.getoption("--certkit-operator-lock")
    return for_run(evidence, no_operator=config.getoption("--certkit-no-operator"),
                   stdin_is_terminal=_stdin_is_terminal(config),
                   terminal=config.getoption("--certkit-operator-terminal"),
                   lock=Path(lock) if lock else None,
                   dut=config.getoption("--certkit-operator-dut") or dut,
                   all_emulated=all_emulated)


def _stdin_is_terminal(config: pytest.Config) -> bool:
    """Whether the run was started from a terminal: pytest has put /dev/null in place of
    stdin by now, so the real one is looked at with its capture suspended."""
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        return os.isatty(0)
    capture.suspend_global_capture(in_=True)
    try:
        return os.isatty(0)
    finally:
        # Back as pytest has it while plugins configure: stdin captured, stdout and stderr
        # not (resuming alone started capturing them: the progress display, which copies
        # stdout's descriptor next, then wrote into pytest's capture file and was lost).
        capture.resume_global_capture()
        capture.suspend_global_capture()
