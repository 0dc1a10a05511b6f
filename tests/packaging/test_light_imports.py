"""`certkit lint` and `certkit plan` run without the radio stack (bleak, bumble, amqtt, paho)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.paths import KETTLE, ROOT

RADIO_STACK = ("bleak", "bumble", "amqtt", "paho", "habluetooth", "bthome_ble")

# Runs the command as the `certkit` script does, then reports which radio packages it loaded.
PROBE = f"""
import json, sys
from certkit.cli import main
code = main(sys.argv[1:])
loaded = sorted({{name.split(".")[0] for name in sys.modules}} & set({RADIO_STACK!r}))
print(json.dumps({{"code": code, "loaded": loaded}}))
"""


@pytest.mark.parametrize("command", [["lint"], ["plan"], ["plan", "--explain"]])
def test_command_imports_nothing_of_the_radio_stack(command: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE, *command, str(KETTLE)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, check=False)
    report = json.loads(proc.stdout.splitlines()[-1])
    assert report["code"] == 0, proc.stderr
    assert report["loaded"] == [], f"certkit {command[0]} imported {report['loaded']}"
