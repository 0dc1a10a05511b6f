"""`certkit run` over MQTT as users call it, against the embedded amqtt broker and mosquitto.

- the reference emulator is CERTIFIED (every MQT rule passes; SEC-003 with TLS);
- under each fault exactly the rule instances the fault targets fail, each
  with an expected/observed message, and nothing else fails or errs;
- a bench run: the emulator started on its own, certkit listening where it points;
- a broker that dies mid-run ends the affected rules in `error`, within a bound;
- an external `mqtts://` broker with credentials from the environment, which
  never reach the reports.

Every run is a real `python -m certkit` subprocess. The emulator runs
(conformant and under each fault) share one pool, three at a time, since
they mostly wait; each mosquitto run gets a broker of its own.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from certkit_emulators.mqtt import FAULTS

from certkit.links.mqtt import tls
from certkit.links.mqtt.broker import free_port
from tests.mqtt.conftest import kettle_variant
from tests.support.cli import run_certkit, start_certkit
from tests.support.mosquitto import MOSQUITTO
from tests.support.paths import KETTLE
from tests.support.processes import MqttEmulatorProcess
from tests.support.results import RunResult, outcomes, read_verdict

# amqtt: the embedded amqtt broker; mosquitto: an external mosquitto behind --mqtt-broker
# (the embedded mosquitto, the default, runs in tests/variants).
BACKENDS = ["amqtt", "mosquitto"]
PARALLEL_RUNS = 3
RUN_TIMEOUT_S = 120
DEATH_BOUND_S = 30.0   # from the broker's death to the verdict

# fault -> (the rule it breaks, the instances that must fail, profile variant)
TARGETS: dict[str, tuple[str, list[str], dict]] = {
    "no-description": ("MQT-001", ["MQT-001"], {}),
    "invalid-json": ("MQT-002", ["MQT-002"], {}),
    "wrong-datatype": ("MQT-003", ["MQT-003"], {}),
    "wrong-type": ("MQT-003", ["MQT-003"], {}),
    "never-ready": ("MQT-004", ["MQT-004"], {}),
    "no-will": ("MQT-004", ["MQT-004"], {}),
    "invalid-retained-value": ("MQT-005", ["MQT-005[2.2]"], {}),
    "set-ignored": ("MQT-006", ["MQT-006[2.1]", "MQT-006[2.3]", "MQT-006[2.5]",
                                "MQT-006[action-2.1]"], {}),
    "slow-set": ("MQT-006", ["MQT-006[2.1]", "MQT-006[2.3]", "MQT-006[2.5]",
                             "MQT-006[action-2.1]"], {}),
    "action-ignored": ("MQT-006", ["MQT-006[action-2.1]"], {}),
    "action-argument-misreported": ("MQT-006", ["MQT-006[action-2.1]"], {}),
    "out-of-range-accepted": ("MQT-007", ["MQT-007[2.3]"], {}),
    "crash-on-garbage": ("MQT-007", ["MQT-007[2.1]", "MQT-007[2.3]", "MQT-007[2.5]",
                                     "MQT-007[action-2.1]"], {}),
    "action-invalid-accepted": ("MQT-007", ["MQT-007[action-2.1]"], {}),
    # A tighter reconnect-ms (allowed: only stricter) so the failing run takes 3 s, not 30.
    "no-reconnect": ("MQT-008", ["MQT-008"], {"timing": "reply-ms: 500, reconnect-ms: 3000"}),
    "qos0": ("MQT-009", ["MQT-009"], {}),
    "stray-topic": ("MQT-010", ["MQT-010"], {}),
    "publishes-to-set": ("MQT-010", ["MQT-010"], {}),
    "accepts-untrusted-certificate": ("SEC-003", ["SEC-003"], {"tls": True}),
}


def run(out: Path, profile: Path, *args: str, env: dict | None = None) -> RunResult:
    return run_certkit(profile, out, *args, timeout=RUN_TIMEOUT_S, env=env)


def mqtt_outcomes(result: RunResult) -> dict[str, str]:
    return {k: v for k, v in result.outcomes.items() if k.startswith(("MQT-", "SEC-003"))}


# ---------------------------------------------------------------- the runs, pooled


@dataclass(frozen=True)
class Case:
    """One `certkit run` with the emulator: conformant, or under one fault."""

    backend: str
    rules: tuple[str, ...]
    fault: str | None = None
    variant: tuple[tuple[str, object], ...] = ()  # kettle_variant arguments
    seconds: float = 5.0  # about how long it takes, to start the longest first


def _cases() -> dict[str, Case]:
    cases = {}
    for backend in BACKENDS:
        cases[f"conformant-{backend}"] = Case(backend, ("MQT-*", "SEC-003"), seconds=7)
        for fault, (rule, _, variant) in TARGETS.items():
            slow = {"accepts-untrusted-certificate": 12, "never-ready": 8}.get(fault, 5)
            cases[f"{backend}/{fault}"] = Case(backend, (rule,), fault,
                                               tuple(sorted(variant.items())), slow)
    cases["tls-mosquitto"] = Case("mosquitto", ("MQT-*", "SEC-003"), None,
                                  (("tls", True),), seconds=18)
    return cases


CASES = _cases()


def _cases_of(item: pytest.Item) -> list[str]:
    """The pooled runs a collected test reads."""
    params = item.callspec.params if hasattr(item, "callspec") else {}
    return {
        "test_reference_emulator_is_certified": lambda: [f"conformant-{params['backend']}"],
        "test_run_prints_the_endpoint_and_keeps_evidence_per_instance":
            lambda: ["conformant-amqtt"],
        "test_tls_profile_is_certified_in_front_of_mosquitto": lambda: ["tls-mosquitto"],
        "test_fault_fails_its_rule": lambda: [f"{params['backend']}/{params['fault']}"],
        "test_the_issues_example_message": lambda: ["amqtt/wrong-datatype"],
    }.get(item.originalname, list)()


class RunPool:
    """Runs the cases this session needs, a few at a time, from the first demand on.

    The runs mostly wait (on the emulator, on ECS-1's windows), so overlapping
    them turns minutes into about one; each mosquitto run gets its own broker.
    """

    def __init__(self, wanted: list[str], folder: Callable[[str], Path],
                 backend_args: Callable[[str, Path], list[str]]) -> None:
        self.wanted = sorted(set(wanted), key=lambda name: -CASES[name].seconds)
        self.folder, self.backend_args = folder, backend_args
        self.pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.futures: dict[str, concurrent.futures.Future] = {}

    def _run(self, name: str, folder: Path) -> RunResult:
        case = CASES[name]
        profile = kettle_variant(folder, **dict(case.variant)) if case.variant else KETTLE
        args = ["--emulate", "mqtt"] + [f"--rules={rule}" for rule in case.rules]
        if case.fault:
            args += ["--fault", f"mqtt:{case.fault}"]
        return run(folder / "out", profile, *args,
                   *self.backend_args(case.backend, folder / "mosquitto"))

    def result(self, name: str) -> RunResult:
        if CASES[name].backend == "mosquitto" and MOSQUITTO is None:
            pytest.fail("mosquitto is not installed: run ./dev/test, which installs it")
        if self.pool is None:
            self.pool = concurrent.futures.ThreadPoolExecutor(PARALLEL_RUNS)
            for each in self.wanted:
                if CASES[each].backend == "amqtt" or MOSQUITTO is not None:
                    # Folders are made here: pytest's mktemp is not safe from threads.
                    folder = self.folder(each.replace("/", "-"))
                    self.futures[each] = self.pool.submit(self._run, each, folder)
        return self.futures[name].result(timeout=RUN_TIMEOUT_S * len(self.futures))

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def backend_args(mosquitto) -> Callable[[str, Path], list[str]]:
    """The options that put a run on a backend (a fresh mosquitto in `folder` each time)."""
    def args(backend: str, folder: Path) -> list[str]:
        if backend == "amqtt":
            return ["--mqtt-broker", "embedded:amqtt"]
        return ["--mqtt-broker", mosquitto(folder=folder).url]
    return args


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory, backend_args):
    wanted = [name for item in request.session.items for name in _cases_of(item)]
    pool = RunPool(wanted, tmp_path_factory.mktemp, backend_args)
    yield pool
    pool.close()


# ---------------------------------------------------------------- conformant


@pytest.mark.parametrize("backend", BACKENDS)
def test_reference_emulator_is_certified(runs, backend):
    result = runs.result(f"conformant-{backend}")
    found = mqtt_outcomes(result)
    assert result.code == 0 and result.verdict["verdict"] == "CERTIFIED", result.trouble()
    assert found.pop("SEC-003") == "not-applicable"  # the kettle does not require TLS
    assert len(found) == 24 and set(found.values()) == {"pass"}, found


def test_run_prints_the_endpoint_and_keeps_evidence_per_instance(runs):
    result = runs.result("conformant-amqtt")
    assert "certkit: MQTT endpoint for the DUT: mqtt://127.0.0.1:" in result.output
    ran = [r for r in result.verdict["rules"] if r["rule"].startswith("MQT-")]
    assert ran and all(r["evidence"] for r in ran)


def test_tls_profile_is_certified_in_front_of_mosquitto(runs):
    result = runs.result("tls-mosquitto")
    found = mqtt_outcomes(result)
    assert result.code == 0 and set(found.values()) == {"pass"}, result.trouble()
    assert len(found) == 25, found
    assert "certkit: MQTT endpoint for the DUT: mqtts://127.0.0.1:" in result.output
    evidence = (result.out / "evidence" / "SEC-003.log").read_text("utf-8")
    assert "TLS handshake with the untrusted certificate failed" in evidence
    assert "imposed wait: 10000 ms" in evidence


def test_evidence_has_messages_and_measurements(tmp_path):
    result = run(tmp_path, KETTLE, "--emulate", "mqtt", "--rules", "MQT-006")
    assert result.code == 0, result.trouble()
    log = (tmp_path / "evidence" / "MQT-006[2.3].log").read_text("utf-8")
    assert "mqtt -> PUBLISH homie/5/acme-k1-0001/kettle/target-temperature/set qos=1" in log
    assert ("mqtt <- dut PUBLISH homie/5/acme-k1-0001/kettle/target-temperature "
            "qos=1 retain=1") in log
    assert "measure /set to published value" in log and "limit: at most 500 ms" in log


# ---------------------------------------------------------------- faults


def test_fault_table_covers_every_fault():
    assert set(TARGETS) == set(FAULTS)
    for name, (rule, instances, _) in TARGETS.items():
        assert FAULTS[name].rule == rule
        assert all(i.split("[")[0] == rule for i in instances)


@pytest.mark.parametrize("fault", sorted(TARGETS))
@pytest.mark.parametrize("backend", BACKENDS)
def test_fault_fails_its_rule(runs, backend, fault):
    result = runs.result(f"{backend}/{fault}")
    rule, instances, _ = TARGETS[fault]
    found = mqtt_outcomes(result)
    failed = sorted(k for k, v in found.items() if v == "fail")
    assert failed == instances, result.trouble()
    assert "error" not in found.values(), result.trouble()
    for instance in instances:
        message = result.messages()[instance]
        assert message.startswith("expected ") and ", observed " in message, message
    level = next(r["level"] for r in result.verdict["rules"] if r["rule"] == rule)
    assert result.code == (1 if level == "M" else 0), result.verdict["verdict"]


def test_the_issues_example_message(runs):
    message = runs.result("amqtt/wrong-datatype").messages()["MQT-003"]
    assert message == ('expected "float" at $description.nodes.kettle.properties.temperature'
                       '.datatype, observed "string"')


# ---------------------------------------------------------------- a bench


def test_emulator_started_on_its_own_as_on_a_bench(tmp_path):
    port = free_port()
    with MqttEmulatorProcess(KETTLE, f"127.0.0.1:{port}"):
        time.sleep(0.3)  # the device is up first and retries until certkit listens
        result = run(tmp_path, KETTLE, "--mqtt-listen", f"127.0.0.1:{port}", "--rules", "MQT-*")
    assert result.code == 0 and set(mqtt_outcomes(result).values()) == {"pass"}, result.trouble()
    assert f"MQTT endpoint for the DUT: mqtt://127.0.0.1:{port}" in result.output
    assert result.verdict["bench"]["mqtt-listen"] == f"127.0.0.1:{port}"


def test_no_dut_at_the_endpoint_is_a_lab_error_not_a_fail(tmp_path):
    profile = kettle_variant(tmp_path, timing="reply-ms: 500, reconnect-ms: 2000")
    result = run(tmp_path / "out", profile, "--rules", "MQT-001", "--rules", "MQT-006")
    found = mqtt_outcomes(result)
    assert result.code == 3 and set(found.values()) == {"error"}, found
    assert "is the DUT pointed at it?" in result.messages()["MQT-001"]


# ---------------------------------------------------------------- a dying broker


def test_broker_dying_mid_run_ends_in_error_within_a_bound(tmp_path, mosquitto):
    broker = mosquitto()
    out = tmp_path / "out"
    process = start_certkit("run", KETTLE, "--emulate", "mqtt", "--mqtt-broker", broker.url,
                            "--rules", "MQT-*", "--out", out, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                done = [r for r in read_verdict(out)["rules"] if r["outcome"] == "pass"]
            except (OSError, ValueError):
                done = []
            if len(done) >= 3:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before the broker could be killed"
        broker.stop()
        killed = time.monotonic()
        code = process.wait(DEATH_BOUND_S + 10)
        took = time.monotonic() - killed
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    verdict = read_verdict(out)
    found = {k: v for k, v in outcomes(verdict).items() if k.startswith("MQT-")}
    assert took < DEATH_BOUND_S, f"{took:.1f} s from the broker's death to the verdict"
    assert code == 3 and verdict["verdict"] == "INCOMPLETE"
    assert "fail" not in found.values(), found
    errors = [r["message"] for r in verdict["rules"] if r["outcome"] == "error"]
    assert errors and all("broker" in m for m in errors), errors
    assert list(found.values()).count("pass") >= 3


# ---------------------------------------------------------------- an external mqtts:// broker


@pytest.fixture(scope="module")
def secure_broker(mosquitto, tmp_path_factory):
    """mosquitto on TLS with a password file (anonymous still allowed, for the DUT)."""
    folder = tmp_path_factory.mktemp("mqtts")
    authority = tls.Authority.create(folder, "test broker CA")
    server = authority.issue_server(folder, "broker", ["127.0.0.1", "localhost"])
    passwords = folder / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), "certkit", "s3cret-Pw"],
                   check=True, timeout=10, capture_output=True)
    passwords.chmod(0o600)
    extra = [f"certfile {server.cert}", f"keyfile {server.key}", f"password_file {passwords}"]
    if os.geteuid() == 0:
        extra.append("user root")  # else mosquitto drops to its own user, who cannot read these
    broker = mosquitto(extra)
    return broker, authority.files.cert


def test_external_mqtts_broker_with_credentials_from_the_environment(tmp_path, secure_broker):
    broker, ca = secure_broker
    env = {"CERTKIT_MQTT_CA": str(ca), "CERTKIT_MQTT_USERNAME": "certkit",
           "CERTKIT_MQTT_PASSWORD": "s3cret-Pw"}
    result = run(tmp_path, KETTLE, "--emulate", "mqtt", "--mqtt-broker",
                 f"mqtts://127.0.0.1:{broker.port}", "--rules", "MQT-001", env=env)
    assert result.code == 0, result.messages()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert b"s3cret-Pw" not in path.read_bytes(), path


def test_wrong_credentials_are_a_lab_error(tmp_path, secure_broker):
    broker, ca = secure_broker
    env = {"CERTKIT_MQTT_CA": str(ca), "CERTKIT_MQTT_USERNAME": "certkit",
           "CERTKIT_MQTT_PASSWORD": "wrong"}
    result = run(tmp_path, KETTLE, "--emulate", "mqtt", "--mqtt-broker",
                 f"mqtts://127.0.0.1:{broker.port}", "--rules", "MQT-001", env=env)
    assert result.code == 3, result.messages()
    assert "refused" in result.messages()["MQT-001"]
