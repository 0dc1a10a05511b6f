"""`certkit run --max-duration`: the bound in force is printed at start, recorded in
verdict.json, and a run that reaches it stops INCOMPLETE with its verdict."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import certkit
from tests.support.paths import KETTLE
from tests.support.results import outcomes, read_verdict


def test_a_run_that_reaches_max_duration_stops_incomplete(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = certkit("run", KETTLE, "--emulate", "--out", out, "--max-duration", "2")
    assert result.code == 3, result.stdout[-2000:] + result.stderr[-2000:]
    assert "bounded to 2 s (by --max-duration; the plan allows" in result.stdout + result.stderr
    verdict = read_verdict(out)
    assert verdict["verdict"] == "INCOMPLETE" and verdict["complete"] is False
    assert verdict["stop_reason"] == "the run passed its overall bound of 2 s and was stopped"
    bound = verdict["bound"]
    assert bound["seconds"] == 2 and bound["source"] == "--max-duration"
    assert bound["plan_seconds"] > 2
    assert "error" in outcomes(verdict).values()  # the instances it never reached
    assert (out / "junit.xml").is_file()
    summary = (out / "summary.md").read_text("utf-8")  # written by the run itself
    assert "The run stopped early: the run passed its overall bound of 2 s" in summary


def test_without_max_duration_the_plan_bounds_the_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = certkit("run", KETTLE, "--out", out, "--rules", "DSN-001",
                     "--max-duration", "100000")
    assert result.code == 0, result.stdout[-2000:] + result.stderr[-2000:]
    bound = read_verdict(out)["bound"]
    assert bound["source"] == "plan" and bound["seconds"] == bound["plan_seconds"] < 100000
    assert f"bounded to {bound['seconds']:g} s (by its plan" in result.stdout + result.stderr


def test_max_duration_must_be_positive(tmp_path: Path) -> None:
    for value in ("0", "-5", "soon", "nan"):
        result = certkit("run", KETTLE, "--emulate", "--out", tmp_path / value,
                         "--max-duration", value)
        assert result.code == 2 and "--max-duration" in result.stderr, value
        assert not (tmp_path / value).exists()
