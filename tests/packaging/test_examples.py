"""`certkit examples` and `certkit init`: the example profiles, from wherever certkit is run."""

from __future__ import annotations

from pathlib import Path

import pytest

from certkit.design import lint_file
from certkit.profile.template import profile_template
from certkit.standard.categories import categories
from tests.support.cli import certkit
from tests.support.paths import KETTLE, PROFILES

EXAMPLE_NAMES = sorted(path.stem for path in PROFILES.glob("*.yaml")
                       if not path.name.endswith(".bench.yaml"))  # a bench, not a device


def test_examples_lists_every_profile_of_the_repository(tmp_path: Path) -> None:
    listing = certkit("examples", cwd=tmp_path, timeout=60)
    assert listing.code == 0, listing.stderr
    listed = [line.split()[0] for line in listing.stdout.splitlines()
              if line.startswith("acme.")]
    assert listed == EXAMPLE_NAMES
    assert "mains kettle with serial module, MQTT and BLE" in listing.stdout
    assert "certkit init" in listing.stdout


def test_example_paths_are_the_profiles_themselves(tmp_path: Path) -> None:
    listing = certkit("examples", "--paths", cwd=tmp_path, timeout=60)
    assert listing.code == 0, listing.stderr
    paths = [Path(line) for line in listing.stdout.splitlines()]
    assert [p.stem for p in paths] == EXAMPLE_NAMES
    for path in paths:
        assert path.read_bytes() == (PROFILES / path.name).read_bytes()


def test_init_copies_the_kettle_by_one_word_of_its_name(tmp_path: Path) -> None:
    made = certkit("init", "kettle", cwd=tmp_path, timeout=60)
    assert made.code == 0, made.stderr
    copy = tmp_path / "acme.kettle.k1.yaml"
    original = KETTLE.read_text("utf-8").splitlines()
    copied = copy.read_text("utf-8").splitlines()
    assert copied[1:] == original[1:]
    schema = Path(copied[0].removeprefix("# yaml-language-server: $schema="))
    assert schema.name == "profile.schema.json" and schema.is_file()  # the installed schema
    assert f"certkit lint {copy.name}" in made.stdout
    lint = certkit("lint", copy, cwd=tmp_path, timeout=60)
    assert lint.code == 0, lint.stdout + lint.stderr


def test_init_without_arguments_starts_from_the_kettle(tmp_path: Path) -> None:
    assert certkit("init", cwd=tmp_path, timeout=60).code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["acme.kettle.k1.yaml"]


def test_init_writes_into_a_folder_or_to_a_named_file(tmp_path: Path) -> None:
    folder = tmp_path / "devices"
    folder.mkdir()
    assert certkit("init", "acme.light.l2", folder, cwd=tmp_path, timeout=60).code == 0
    assert (folder / "acme.light.l2.yaml").is_file()
    named = tmp_path / "my-sensor.yaml"
    assert certkit("init", "sensor", named, cwd=tmp_path, timeout=60).code == 0
    assert "acme.sensor.th1" in named.read_text("utf-8")


def test_init_never_overwrites_without_force(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("my own work\n", encoding="utf-8")
    refused = certkit("init", "kettle", mine, cwd=tmp_path, timeout=60)
    assert refused.code == 2
    assert "exists (--force to overwrite it)" in refused.stderr
    assert mine.read_text("utf-8") == "my own work\n"
    forced = certkit("init", "kettle", mine, "--force", cwd=tmp_path, timeout=60)
    assert forced.code == 0, forced.stderr
    assert "acme.kettle.k1" in mine.read_text("utf-8")


def test_init_names_the_examples_when_the_choice_is_unknown_or_ambiguous(tmp_path: Path) -> None:
    unknown = certkit("init", "toaster", cwd=tmp_path, timeout=60)
    assert unknown.code == 2
    assert "no example 'toaster'" in unknown.stderr
    assert all(name in unknown.stderr for name in EXAMPLE_NAMES)
    ambiguous = certkit("init", "acme", cwd=tmp_path, timeout=60)
    assert ambiguous.code == 2
    assert "'acme' names several examples" in ambiguous.stderr
    assert list(tmp_path.iterdir()) == []


TRANSPORT_SETS = (["serial"], ["mqtt"], ["ble"], ["serial", "mqtt", "ble"])


@pytest.mark.parametrize("category", sorted(categories().categories))
@pytest.mark.parametrize("transports", TRANSPORT_SETS, ids=",".join)
def test_a_profile_from_the_category_template_is_lint_clean(category, transports, tmp_path):
    path = tmp_path / "new.yaml"
    path.write_text(profile_template(category, transports), "utf-8")
    result = lint_file(path)
    assert result.ok and not result.findings, [str(f) for f in result.findings]
    assert result.profile.device.category == category
    assert sorted(result.profile.transports.declared) == sorted(transports)


def test_init_writes_a_category_profile_with_todos(tmp_path):
    result = certkit("init", "--category", "kettle", "--transports", "serial,mqtt",
                     "--model", "acme.kettle.k2", cwd=tmp_path)
    assert result.code == 0, result.stderr
    text = (tmp_path / "acme.kettle.k2.yaml").read_text("utf-8")
    assert "TODO" in text and "# optional: keep-warm" in text
    assert certkit("lint", tmp_path / "acme.kettle.k2.yaml").code == 0
    again = certkit("init", "--category", "kettle", "--transports", "serial,mqtt",
                    "--model", "acme.kettle.k2", cwd=tmp_path)
    assert again.code == 2 and "exists (--force to overwrite it)" in again.stderr
    bad = certkit("init", "--category", "toaster", cwd=tmp_path)
    assert bad.code == 2 and "unknown category 'toaster'" in bad.stderr
    both = certkit("init", "light", "--category", "light", cwd=tmp_path)
    assert both.code == 2 and "not both" in both.stderr
