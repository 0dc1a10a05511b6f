"""The entry points of certkit's groups, remembered between runs: a package installed or
removed since is seen at once, and the remembered ones spare the start-up importlib.metadata."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT

PROBE = """
import json, sys
from certkit.entrypoints import registered
print(json.dumps({"transports": registered("certkit.transports"),
                  "metadata_read": "importlib.metadata" in sys.modules}))
"""


def _probe(cache: Path, site: Path) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": f"{site}{os.pathsep}{ROOT}"}
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=site, capture_output=True,
                          text=True, timeout=60, check=True)
    found = json.loads(done.stdout)
    found["names"] = [name for name, _ in found["transports"]]
    return found


def _install(site: Path, name: str) -> Path:
    """A distribution as pip leaves one: a .dist-info folder with its entry points."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[certkit.transports]\n{name} = {name}.transport:TRANSPORT\n")
    return info


def test_remembered_until_a_package_comes_or_goes(tmp_path: Path) -> None:
    cache, site = tmp_path / "cache", tmp_path / "site"
    site.mkdir()
    first = _probe(cache, site)
    assert first["metadata_read"] and "serial" in first["names"]
    assert len(list((cache / "certkit").glob("entry-points-*.json"))) == 1

    again = _probe(cache, site)
    assert not again["metadata_read"] and again["transports"] == first["transports"]

    info = _install(site, "zigbeelink")
    installed = _probe(cache, site)
    assert installed["metadata_read"]
    assert ["zigbeelink", "zigbeelink.transport:TRANSPORT"] in installed["transports"]
    assert not _probe(cache, site)["metadata_read"]

    shutil.rmtree(info)
    assert "zigbeelink" not in _probe(cache, site)["names"]


def test_a_cache_that_cannot_be_kept_or_read_costs_only_time(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert "serial" in _probe(not_a_folder, site)["names"]  # nowhere to write: read afresh

    cache = tmp_path / "cache"
    _probe(cache, site)
    held, = (cache / "certkit").glob("entry-points-*.json")
    held.write_text("{not json")
    assert "serial" in _probe(cache, site)["names"]
    assert json.loads(held.read_text())["groups"]["certkit.transports"]  # and mended
