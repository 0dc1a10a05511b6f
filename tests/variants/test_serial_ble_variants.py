"""The serial and BLE variance matrix (issue 10, part 4): every variant is CERTIFIED.

A variant is a conformant choice a real firmware may make (`certkit_emulators.serial.VARIANTS`,
`certkit_emulators.ble.VARIANTS`); one that ends anything but CERTIFIED shows a rule that
misjudges real devices, and the rule is what gets fixed.

Each variant runs alone, as a user runs it: `certkit run PROFILE --emulate --variant
TRANSPORT:NAME` with the rules it concerns. Serial variants run SER-* and INT-* on the
kettle; BLE variants run BLE-* and SEC-004 on the kettle, the sensor-like ones on the
sensor too, and those that touch what other transports see add INT-*. Two profiles
written here widen the kettle where a variant needs it: a writable float (`fixed-decimals`
prints it its own way) and a writable string (`long-strings` beyond the ATT MTU). One run
goes through the emulator's own process over HCI on TCP (`no-mtu-exchange`: the refusal
crosses a real HCI transport).

The runs go four at a time: they mostly wait (the slow serial variants on the MCU's pace).
The matrix (run -> verdict) is printed and written to `serial-ble-variant-matrix.json`
in the session's temporary folder, or to the file CERTKIT_VARIANT_MATRIX_SERIAL_BLE
names. Below the runs, checks on the evidence that each variant did what it says, so
none passes by doing nothing.
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from certkit_emulators.ble import VARIANTS as BLE_VARIANTS
from certkit_emulators.serial import VARIANTS as SERIAL_VARIANTS

from tests.ble.conftest import run_cli, run_over_tcp
from tests.support.paths import KETTLE, PROFILES, SENSOR
from tests.support.results import RunResult

PARALLEL_RUNS = 4  # the runs mostly wait: on the MCU's pace, the radio, the broker
SER_RULES = ("SER-*", "INT-*")
# The two slowest variants (every exchange waits on them) keep the INT rules they bear on:
# propagation, concurrent writers, the latency bar.
SLOW_SER_RULES = ("SER-*", "INT-001", "INT-003", "INT-005")
BLE_RULES = ("BLE-*", "SEC-004")
# Kettle additions: a writable float and a writable string, on every transport.
EXTRA_PROPERTIES = (
    "      - {piid: 6, name: label, format: string, access: [read, write, notify]}\n"
    "      - {piid: 7, name: power-level, format: float, value-range: [0, 10, 0.5],\n"
    "         access: [read, write, notify]}\n")


@dataclass(frozen=True)
class Job:
    name: str               # the matrix row
    variants: tuple[str, ...]  # TRANSPORT:NAME
    profile: str            # "kettle", "sensor", "outlet" or "kettle+" (the widened kettle)
    rules: tuple[str, ...]
    emulate: tuple[str, ...] = ("--emulate",)
    over_tcp: bool = False  # the BLE emulator in its own process


def _serial(name: str, profile: str = "kettle", rules: tuple[str, ...] = SER_RULES) -> Job:
    return Job(f"serial:{name} ({profile})", (f"serial:{name}",), profile, rules)


def _ble(name: str, profile: str = "kettle", rules: tuple[str, ...] = BLE_RULES,
         also: tuple[str, ...] = ()) -> Job:
    emulate = ("--emulate",) if "INT-*" in rules else ("--emulate", "ble")
    shown = "+".join((name, *also))
    return Job(f"ble:{shown} ({profile})", (f"ble:{name}", *(f"ble:{a}" for a in also)),
               profile, rules, emulate)


JOBS = (
    # the slow ones first, so the workers finish together
    _serial("replies-near-limit", rules=SLOW_SER_RULES),
    _serial("slowest-polls", rules=SLOW_SER_RULES),
    # the outlet has no reply-ms override: its gets are answered 850 ms after they leave
    Job("serial:replies-near-limit (outlet, INT-001 INT-003)", ("serial:replies-near-limit",),
        "outlet", ("INT-001", "INT-003")),
    _serial("batched-reports"),
    _serial("report-before-result"),
    _serial("accepted-then-applied", "kettle+"),
    _serial("net-queries"),
    _serial("slow-boot"),
    _serial("boot-sync"),
    # no SER-001 (which waits for the boot) first: the first request meets the booting MCU
    Job("serial:slow-boot (kettle, SER-004 alone)", ("serial:slow-boot",), "kettle",
        ("SER-004",)),
    _serial("fixed-decimals", "kettle+"),
    # one writable property: SER-007 follows SER-005 at once, and with slow polls takes
    # longer than the 300 ms an accepted set needs to apply
    Job("serial:accepted-then-applied+slowest-polls (outlet, SER-005 SER-007)",
        ("serial:accepted-then-applied", "serial:slowest-polls"), "outlet",
        ("SER-005", "SER-007")),
    _ble("steady-values", "sensor"),
    _ble("steady-values"),
    _ble("fast-drift", "sensor"),
    _ble("fast-drift"),
    _ble("notify-before-response", rules=(*BLE_RULES, "INT-*")),
    _ble("late-notifications"),
    _ble("slow-readvertising"),
    _ble("idle-disconnect", rules=(*BLE_RULES, "INT-*")),
    _ble("mtu-23"),
    _ble("long-strings", "kettle+", (*BLE_RULES, "INT-*"), also=("mtu-23",)),
    _ble("no-mtu-exchange"),
    Job("ble:no-mtu-exchange (kettle, emulator process over HCI/TCP)",  # OVER_TCP
        ("ble:no-mtu-exchange",), "kettle", BLE_RULES, (), over_tcp=True),
    _ble("shortened-name"),
    _ble("bthome-packet-id", "sensor"),
    _ble("bthome-extra-objects", "sensor"),
    _ble("extra-gatt"),
    _ble("no-serial-number"),
)


def _run(job: Job, profile: Path, out: Path) -> RunResult:
    args = [*job.emulate, *(a for r in job.rules for a in ("--rules", r))]
    if job.over_tcp:
        names = [v.split(":", 1)[1] for v in job.variants]
        run, _, _ = run_over_tcp(profile, out, tuple(a for n in names
                                                     for a in ("--variant", n)), *args)
        return run
    return run_cli(profile, out, *args, *(a for v in job.variants for a in ("--variant", v)))


@pytest.fixture(scope="module")
def profiles(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("profiles")
    text = KETTLE.read_text("utf-8").replace("model: acme.kettle.k1", "model: acme.kettle.k1x")
    anchor = "      - {piid: 5, name: keep-warm, format: bool, access: [read, write, notify]}\n"
    assert anchor in text
    widened = folder / "acme.kettle.k1x.yaml"
    widened.write_text(text.replace(anchor, anchor + EXTRA_PROPERTIES), "utf-8")
    return {"kettle": KETTLE, "sensor": SENSOR, "kettle+": widened,
            "outlet": PROFILES / "acme.outlet.o1.yaml"}


@pytest.fixture(scope="module")
def matrix(profiles, tmp_path_factory) -> dict[str, RunResult]:
    out = tmp_path_factory.mktemp("runs")
    with ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        futures = {job.name: pool.submit(_run, job, profiles[job.profile],
                                         out / re.sub(r"[^a-z0-9.+-]+", "_", job.name))
                   for job in JOBS}
        runs = {name: future.result() for name, future in futures.items()}
    table = {name: run.verdict["verdict"] for name, run in runs.items()}
    target = os.environ.get("CERTKIT_VARIANT_MATRIX_SERIAL_BLE")
    path = Path(target) if target else out / "serial-ble-variant-matrix.json"
    path.write_text(json.dumps({"runs": table,
                                "seconds": {n: round(r.seconds, 1) for n, r in runs.items()}},
                               indent=2), "utf-8")
    print("\nserial and BLE variant matrix:")
    for name, verdict in table.items():
        print(f"  {name:<62} {verdict}  ({runs[name].seconds:.1f} s)")
    return runs


def _job(name: str) -> Job:
    return next(job for job in JOBS if job.name == name)


# ------------------------------------------------------------------ the matrix


def test_every_variant_is_in_the_matrix():
    named = {v for job in JOBS for v in job.variants}
    assert named == ({f"serial:{n}" for n in SERIAL_VARIANTS}
                     | {f"ble:{n}" for n in BLE_VARIANTS})


@pytest.mark.parametrize("name", [job.name for job in JOBS])
def test_the_variant_is_certified(name, matrix):
    run = matrix[name]
    problems = {r["rule"] + (f"[{r['instance']}]" if r["instance"] else ""): r["message"]
                for r in run.verdict["rules"] if r["outcome"] in ("fail", "error")}
    assert run.verdict["verdict"] == "CERTIFIED", problems or run.stderr[-2000:]
    assert run.code == 0 and run.verdict["complete"]
    job = _job(name)
    family = {"serial": "SER", "ble": "BLE"}[job.variants[0].split(":")[0]]
    checked = [i for i in run.outcomes if i.startswith(family)] or list(run.outcomes)
    passed = [i for i in checked if run.outcomes[i] == "pass"]
    assert passed and len(passed) >= min(5, len(checked)), run.outcomes  # not only n/a
    if not job.over_tcp:  # the record says which variants the bench ran
        transport = job.variants[0].split(":")[0]
        names = sorted(v.split(":", 1)[1] for v in job.variants)
        assert run.verdict["bench"]["variants"] == f"{transport}:{','.join(names)}"


# ------------------------------------------------------------------ each did its thing


def test_replies_came_near_the_limit(matrix):
    run = matrix["serial:replies-near-limit (kettle)"]
    log = run.evidence("SER-004[2.1]")
    (reply,) = re.findall(r"measure reply time ([0-9.]+) ms", log)
    assert 0.8 * 500 <= float(reply) <= 500  # the kettle's reply-ms is 500
    assert "p95 latency 4" in run.evidence("INT-005[serial]")


def test_int_001_sees_a_change_on_serial_when_the_mcu_reports_it(matrix):
    # A get would show the change only with the MCU's 850 ms reply; its own
    # properties_changed shows it at once, and INT-001 times that.
    log = matrix["serial:replies-near-limit (outlet, INT-001 INT-003)"].evidence("INT-001[2.1]")
    (delay,) = re.findall(r"mqtt -> serial propagation ([0-9.]+) ms", log)
    assert float(delay) < 0.85 * 1000 * 0.8


def test_polls_came_at_the_slowest_allowed_rate(matrix):
    log = matrix["serial:slowest-polls (kettle)"].evidence("SER-002")
    median = float(re.search(r"median poll interval ([0-9.]+) ms", log).group(1))
    gap = float(re.search(r"largest gap ([0-9.]+) ms", log).group(1))
    assert 225 <= median <= 250 and 900 <= gap < 1000


def test_reports_came_in_batches(matrix):
    run = matrix["serial:batched-reports (kettle)"]
    lines = re.findall(r"<- (properties_changed [^\n]*)", run.evidence("SER-013"))
    assert any(len(line.split()) >= 7 for line in lines), lines  # two or more properties


def test_the_report_came_before_the_result(matrix):
    log = matrix["serial:report-before-result (kettle)"].evidence("SER-005[2.3]")
    sent = log.index("-> down set_properties 2 3 ")
    assert log.index("<- properties_changed 2 3 ", sent) < log.index("<- result 2 3 0", sent)


def test_sets_were_accepted_then_applied(matrix):
    log = matrix["serial:accepted-then-applied (kettle+)"].evidence("SER-005[2.3]")
    assert "<- result 2 3 1" in log
    delay = float(re.search(r"measure report after set ([0-9.]+) ms", log).group(1))
    assert delay >= 250


def test_the_mcu_booted_near_the_limit(matrix):
    log = matrix["serial:slow-boot (kettle)"].evidence("SER-001")
    boot = float(re.search(r"measure model after reset ([0-9.]+) ms", log).group(1))
    assert 1500 <= boot <= 2000
    first = matrix["serial:slow-boot (kettle, SER-004 alone)"].evidence("SER-004[1.1]")
    assert "waiting for its first poll up to the boot limit" in first


def test_polls_were_interleaved_with_net_queries(matrix):
    log = matrix["serial:net-queries (kettle)"].evidence("SER-002")
    assert log.count("serial <- net") >= 5


def test_floats_were_printed_with_two_decimals(matrix):
    run = matrix["serial:fixed-decimals (kettle+)"]
    assert re.search(r"<- result 2 7 0 [0-9]+\.[0-9]{2}\b", run.evidence("SER-004[2.7]"))
    # the report of a value just set, printed its own way, is still that value (SER-009)
    assert re.search(r"<- properties_changed [^\n]*2 7 [0-9]+\.[0-9]{2}\b",
                     run.evidence("SER-005[2.7]"))
    assert run.outcomes["SER-009"] == "pass"


def test_steady_sensor_values_leave_ble_007_to_the_plan(matrix):
    run = matrix["ble:steady-values (sensor)"]
    for key in ("2.1", "2.2", "3.1"):
        result = run.result(f"BLE-007[{key}]")
        assert result["outcome"] == "not-applicable"
        assert result["message"].startswith("read-only everywhere; certkit cannot cause a "
                                             "change")


def test_notifications_came_before_the_write_response(matrix):
    log = matrix["ble:notify-before-response (kettle)"].evidence("BLE-007[2.3]")
    notified = log.index("<- notify ec5e0203")
    assert notified < log.index(": ok (", log.index("-> write ec5e0203"))


def test_notifications_came_late(matrix):
    log = matrix["ble:late-notifications (kettle)"].evidence("BLE-007[2.3]")
    latency = float(re.search(r"measure notification after the write ([0-9.]+) ms", log)
                    .group(1))
    assert 700 <= latency <= 1000


def test_advertising_came_back_late_but_within_the_limit(matrix):
    log = matrix["ble:slow-readvertising (kettle)"].evidence("BLE-008")
    delays = [float(d) for d in re.findall(r"advertising again after disconnect \d ([0-9.]+) ms",
                                           log)]
    assert len(delays) == 3 and all(1400 <= d <= 2000 for d in delays)


def test_the_dut_let_an_idle_central_go_and_certkit_came_back(matrix):
    run = matrix["ble:idle-disconnect (kettle)"]
    dropped = [path.name for path in (run.out / "evidence").glob("*.log")
               if re.search(r"ble <- the DUT \S+ disconnected\n", path.read_text("utf-8"))]
    assert dropped  # it did disconnect, and every rule after still passed


OVER_TCP = "ble:no-mtu-exchange (kettle, emulator process over HCI/TCP)"


@pytest.mark.parametrize("name", ["ble:mtu-23 (kettle)", "ble:no-mtu-exchange (kettle)",
                                  OVER_TCP])
def test_the_link_kept_the_minimum_mtu(name, matrix):
    assert ", MTU 23" in matrix[name].evidence("BLE-003")


def test_long_strings_were_read_and_written_whole_over_a_23_byte_mtu(matrix):
    run = matrix["ble:long-strings+mtu-23 (kettle+)"]
    log = run.evidence("BLE-006[2.6]")
    assert ", MTU 23" in run.evidence("BLE-003")
    (read,) = re.findall(r'<- read ec5e0206[^:]*: "([^"]*)"', log)[:1]
    assert len(read.encode()) == 40 > 23 - 1  # one Read Request could not carry it
    restored = re.findall(r"-> write ec5e0206[^:]*: ((?:[0-9a-f]{2} )+[0-9a-f]{2}): ok", log)
    assert len(restored[-1].split()) == 40  # put back with Prepare/Execute Write


def test_the_name_was_shortened(matrix):
    log = matrix["ble:shortened-name (kettle)"].evidence("BLE-001")
    assert 'Shortened Local Name: "ACME-"' in log


def test_bthome_led_with_a_packet_id(matrix):
    log = matrix["ble:bthome-packet-id (sensor)"].evidence("BLE-002")
    assert re.search(r"BTHome payload 40 00 [0-9a-f]{2} 01 ", log), log


def test_bthome_carried_an_undeclared_object(matrix):
    log = matrix["ble:bthome-extra-objects (sensor)"].evidence("BLE-002")
    assert re.search(r"BTHome payload 40 [0-9a-f ]* 0c 86 0b;", log), log  # 2.95 V


def test_the_gatt_table_had_more_than_the_ecosystem_asks(matrix):
    log = matrix["ble:extra-gatt (kettle)"].evidence("BLE-003")
    for seen in ("0xFE59", "0x2A27", "0x2A50", "0x2901"):
        assert seen in log, seen


def test_no_serial_number_was_only_noted(matrix):
    run = matrix["ble:no-serial-number (kettle)"]
    assert "0x2A25 Serial Number (recommended) is absent" in run.evidence("BLE-003")
    assert not run.verdict["warnings"]
