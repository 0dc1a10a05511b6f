"""`certkit doctor`: each check passes on a ready bench and fails, with its fix, under a real
condition that breaks it (a port already bound, a device that is not there, a user outside
group dialout, no D-Bus, PATH without Node.js, the clock in 2001, ...)."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import certkit
from tests.support.paths import KETTLE, ROOT

FAKETIME = shutil.which("faketime")
SETPRIV = shutil.which("setpriv")


def doctor(*args: object, env: dict[str, str] | None = None,
           prefix: list[str] = ()) -> tuple[int, dict[str, dict], str]:
    """`certkit doctor ARGS --format json`: exit code, the checks by name, stderr."""
    done = certkit("doctor", *args, "--format", "json", env=env, prefix=prefix)
    report = json.loads(done.stdout) if done.stdout.strip() else {"checks": [], "ready": None}
    checks = {check["name"]: check for check in report["checks"]}
    assert report["ready"] is (done.code == 0), done.stdout + done.stderr
    return done.code, checks, done.stderr


def failed(checks: dict[str, dict]) -> set[str]:
    return {name for name, check in checks.items() if check["status"] == "fail"}


@pytest.fixture
def listening() -> Iterator[int]:
    """A port something listens on."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_emulated_bench_with_reports_is_ready() -> None:
    code, checks, stderr = doctor(KETTLE, "--emulate", "--report")
    assert code == 0, checks
    assert failed(checks) == set()
    assert {"profile", "python", "certkit", "mqtt-broker", "mqtt-listen", "serial", "ble",
            "node", "allure", "chromium", "clock"} <= set(checks)
    assert "mosquitto" in checks["mqtt-broker"]["detail"]  # a run would embed it here
    assert stderr == ""


def test_text_output_gives_each_problem_its_fix(tmp_path: Path) -> None:
    done = certkit("doctor", KETTLE, "--emulate", "mqtt,ble", "--serial", tmp_path / "ttyUSB9")
    assert done.code == 1
    lines = done.stdout.splitlines()
    fail = next(i for i, line in enumerate(lines) if line.startswith("FAIL  serial"))
    assert str(tmp_path / "ttyUSB9") in lines[fail] and "fix: " in lines[fail + 1]
    assert lines[-1].startswith("NOT READY")


def test_a_profile_that_fails_lint(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(KETTLE.read_text("utf-8").replace("model: acme.kettle.k1",
                                                        "model: Acme.Kettle.K1"), "utf-8")
    code, checks, _ = doctor(broken, "--emulate")
    assert code == 1 and failed(checks) == {"profile"}
    assert f"certkit lint {broken}" in checks["profile"]["fix"]


def test_python_older_than_3_11_fails() -> None:
    older = [path for pattern in ("/root/.pyenv/versions/3.10.*/bin/python",
                                  "/usr/bin/python3.10", "/usr/bin/python3.9")
             for path in glob.glob(pattern)]
    if not older:
        pytest.skip("no Python older than 3.11 on this machine to run the check with")
    probe = ("import json, sys; sys.path.insert(0, sys.argv[1]); "
             "from certkit.doctor import check_python; "
             "print(json.dumps(check_python().as_json()))")
    proc = subprocess.run([older[0], "-c", probe, str(ROOT)], capture_output=True, text=True,
                          timeout=60, check=False)
    check = json.loads(proc.stdout)
    assert check["status"] == "fail" and "3.11" in check["fix"], proc.stderr


def test_an_install_without_certkits_dependencies(tmp_path: Path) -> None:
    """A Python environment with certkit's sources and PyYAML only (lint's needs), as a
    partial install leaves it: the certkit check names what a run would miss."""
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", venv], check=True,
                   timeout=120)
    only_yaml = tmp_path / "only-yaml"
    only_yaml.mkdir()
    import yaml

    (only_yaml / "yaml").symlink_to(Path(yaml.__file__).parent)
    (site,) = (venv / "lib").glob("python3.*/site-packages")
    (site / "certkit-sources.pth").write_text(f"{ROOT}\n{only_yaml}\n", "utf-8")
    proc = subprocess.run([venv / "bin" / "python", "-m", "certkit", "doctor", KETTLE,
                           "--emulate", "--format", "json"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    checks = {check["name"]: check for check in json.loads(proc.stdout)["checks"]}
    assert failed(checks) == {"certkit"}
    assert "pytest" in checks["certkit"]["detail"] and "amqtt" in checks["certkit"]["detail"]
    assert "pip install" in checks["certkit"]["fix"]


def test_an_external_broker_that_does_not_answer(closed_port: int) -> None:
    code, checks, _ = doctor(KETTLE, "--emulate", "--mqtt-broker",
                             f"mqtt://127.0.0.1:{closed_port}")
    assert code == 1 and failed(checks) == {"mqtt-broker"}
    assert "does not accept connections" in checks["mqtt-broker"]["detail"]


def test_an_external_broker_that_answers(listening: int) -> None:
    code, checks, _ = doctor(KETTLE, "--emulate", "--mqtt-broker", f"mqtt://127.0.0.1:{listening}")
    assert code == 0 and checks["mqtt-broker"]["status"] == "ok"


def test_without_mosquitto_on_the_path_a_run_still_finds_debians(tmp_path: Path) -> None:
    """mosquitto is looked for where a run looks (certkit.bench.mosquitto_path): on the PATH,
    then where Debian installs it."""
    empty = tmp_path / "bin"
    empty.mkdir()
    code, checks, _ = doctor(KETTLE, "--emulate", env={"PATH": str(empty)})
    broker = checks["mqtt-broker"]
    installed = any(Path(p).exists() for p in ("/usr/sbin/mosquitto", "/usr/bin/mosquitto"))
    assert installed, "the tests need Debian's mosquitto (dev/test installs it)"
    assert code == 0 and broker["status"] == "ok"
    assert "not on the PATH" in broker["detail"]


def test_mqtt_listen_on_a_port_already_bound(listening: int) -> None:
    code, checks, _ = doctor(KETTLE, "--emulate", "serial,ble", "--mqtt-listen",
                             f"127.0.0.1:{listening}")
    assert code == 1 and failed(checks) == {"mqtt-listen"}
    assert "already in use" in checks["mqtt-listen"]["detail"]
    assert f"sport = :{listening}" in checks["mqtt-listen"]["fix"]


def test_mqtt_listen_free_and_missing(closed_port: int) -> None:
    code, checks, _ = doctor(KETTLE, "--emulate", "serial,ble", "--mqtt-listen",
                             f"127.0.0.1:{closed_port}")
    assert code == 0 and checks["mqtt-listen"]["status"] == "ok"
    code, checks, _ = doctor(KETTLE, "--emulate", "serial,ble")  # a real DUT on MQTT
    assert code == 1 and failed(checks) == {"mqtt-listen"}
    assert "cannot reach" in checks["mqtt-listen"]["detail"]


def test_a_serial_port_that_does_not_exist(tmp_path: Path) -> None:
    code, checks, _ = doctor(KETTLE, "--emulate", "mqtt,ble", "--serial", tmp_path / "ttyUSB9")
    assert code == 1 and failed(checks) == {"serial"}
    assert "no such file" in checks["serial"]["detail"]


def test_no_serial_port_given_for_a_real_dut() -> None:
    code, checks, _ = doctor(KETTLE, "--emulate", "mqtt,ble")
    assert code == 1 and failed(checks) == {"serial"}
    assert "--serial PORT" in checks["serial"]["fix"]


@pytest.fixture
def dialout_pty() -> Iterator[str]:
    """A real pseudo-terminal owned by nobody:dialout, mode 0660, as udev makes a USB serial
    adapter."""
    primary, secondary = os.openpty()
    name = os.ttyname(secondary)
    os.chown(name, 65534, 20)
    os.chmod(name, 0o660)
    try:
        yield name
    finally:
        os.close(secondary)
        os.close(primary)


# root without the capabilities that bypass file permissions, in no supplementary group
UNPRIVILEGED = ["--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]


@pytest.mark.skipif(os.geteuid() != 0 or SETPRIV is None,
                    reason="needs root and setpriv to take a user out of group dialout")
def test_a_serial_port_of_a_group_the_user_is_not_in(dialout_pty: str) -> None:
    outside = [SETPRIV, *UNPRIVILEGED, "--clear-groups"]
    code, checks, _ = doctor(KETTLE, "--emulate", "mqtt,ble", "--serial", dialout_pty,
                             prefix=outside)
    assert code == 1 and failed(checks) == {"serial"}
    assert "may not open it" in checks["serial"]["detail"]
    assert "usermod -aG dialout" in checks["serial"]["fix"]
    inside = [SETPRIV, *UNPRIVILEGED, "--groups", "20"]
    code, checks, _ = doctor(KETTLE, "--emulate", "mqtt,ble", "--serial", dialout_pty,
                             prefix=inside)
    assert code == 0 and checks["serial"]["status"] == "ok", checks["serial"]


def test_bluez_without_a_system_bus(tmp_path: Path) -> None:
    code, checks, _ = doctor(KETTLE, "--emulate", "serial,mqtt",
                             env={"DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={tmp_path}/no-bus"})
    assert code == 1 and failed(checks) == {"ble"}
    assert "BlueZ is not reachable" in checks["ble"]["detail"]
    assert "bumble:" in checks["ble"]["fix"]


def test_a_bumble_transport_given(listening: int, closed_port: int) -> None:
    code, checks, _ = doctor(KETTLE, "--emulate", "serial,mqtt", "--ble-adapter",
                             f"bumble:tcp-client:127.0.0.1:{listening}")
    assert code == 0 and checks["ble"]["status"] == "ok"
    code, checks, _ = doctor(KETTLE, "--emulate", "serial,mqtt", "--ble-adapter",
                             f"bumble:tcp-client:127.0.0.1:{closed_port}")
    assert code == 1 and failed(checks) == {"ble"}


def test_path_without_node_or_chromium(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    code, checks, _ = doctor(KETTLE, "--emulate", "--report", env={"PATH": str(empty)})
    assert code == 1 and failed(checks) == {"node", "allure", "chromium"}
    assert "Node.js" in checks["node"]["fix"] and "chromium" in checks["chromium"]["fix"]
    # Not needed without --report: warnings, and the bench is ready for a run
    code, checks, _ = doctor(KETTLE, "--emulate", env={"PATH": str(empty)})
    assert code == 0 and {checks[n]["status"] for n in ("node", "allure", "chromium")} == {"warn"}


def test_an_allure_that_is_not_there(tmp_path: Path) -> None:
    code, checks, _ = doctor(KETTLE, "--emulate", "--report",
                             env={"CERTKIT_ALLURE": str(tmp_path / "allure")})
    assert code == 1 and failed(checks) == {"allure"}
    assert "CERTKIT_ALLURE" in checks["allure"]["detail"]


@pytest.mark.skipif(FAKETIME is None, reason="needs faketime (dev/test installs it)")
def test_a_clock_in_2001() -> None:
    code, checks, _ = doctor(KETTLE, "--emulate", prefix=[FAKETIME, "2001-01-01 00:00:00"])
    assert code == 1 and failed(checks) == {"clock"}
    assert "2001-01-01" in checks["clock"]["detail"] and "timedatectl" in checks["clock"]["fix"]


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    for args in (["--mqtt-listen", "nowhere"], ["--emulate", "zigbee"],
                 ["--mqtt-broker", "embedded:hivemq"], [tmp_path / "missing.yaml"]):
        done = certkit("doctor", *args, timeout=60)
        assert done.code == 2 and "Traceback" not in done.stderr, (args, done.stderr)
