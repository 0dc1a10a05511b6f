"""Nothing written is lost: a run writes only into a folder of its own (issue 11).

`--out` must be new or empty; `--force` empties a previous run's folder first
(never merges); default folders are unique even for runs started together;
certificate.json is there only when this run signed it; outputs have the
permissions of ordinary files.
"""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from certkit.report.outdir import default_folder
from tests.support.cli import certkit, start_certkit
from tests.support.paths import KETTLE
from tests.support.results import outcomes, read_verdict

DESIGN = ["--rules", "DSN-00[1-3]"]


def test_out_must_be_new_or_empty(tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    result = certkit("run", KETTLE, *DESIGN, "--out", taken)
    assert result.code == 2
    assert "holds files already" in result.stderr and "--force" in result.stderr
    assert sorted(p.name for p in taken.iterdir()) == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert certkit("run", KETTLE, *DESIGN, "--out", empty).code == 0
    assert read_verdict(empty)["complete"] is True


def test_force_replaces_a_previous_run_whole(tmp_path):
    keys = tmp_path / "keys"
    made = certkit("keygen", "--private", keys / "private.pem", "--public", keys / "public.pem")
    assert made.code == 0, made.stderr
    out = tmp_path / "out"
    first = certkit("run", KETTLE, *DESIGN, "--key", keys / "private.pem", "--out", out)
    assert first.code == 0 and (out / "certificate.json").is_file()
    again = certkit("run", KETTLE, "--rules", "PRF-001", "--out", out)
    assert again.code == 2 and (out / "certificate.json").is_file()  # refused, nothing touched
    forced = certkit("run", KETTLE, "--rules", "PRF-001", "--out", out, "--force")
    assert forced.code == 0, forced.stderr
    assert not (out / "certificate.json").exists()  # this run signed nothing
    assert outcomes(read_verdict(out)) == {"PRF-001": "pass"}
    assert sorted(p.name for p in (out / "evidence").iterdir()) == ["PRF-001.log"]


def test_force_never_empties_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "thesis.tex").write_text("years of work")
    result = certkit("run", KETTLE, *DESIGN, "--out", tmp_path, "--force")
    assert result.code == 2 and "no verdict.json" in result.stderr
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


def test_default_folders_are_created_unique():
    base = Path(os.environ.get("TMPDIR", "/tmp")) / f"certkit-outdir-{os.getpid()}"
    folders = [default_folder("acme.kettle.k1", base) for _ in range(20)]
    assert len(set(folders)) == 20 and all(f.is_dir() for f in folders)
    for folder in folders:
        folder.rmdir()
    base.rmdir()


def test_two_runs_started_together_get_a_folder_each(tmp_path):
    runs = [start_certkit("run", KETTLE, *DESIGN, cwd=tmp_path, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        codes = [run.wait(timeout=120) for run in runs]
    finally:
        for run in runs:
            run.kill()
    assert codes == [0, 0], [run.stderr.read() for run in runs]
    folders = sorted((tmp_path / "reports").iterdir())
    assert len(folders) == 2
    for folder in folders:
        assert read_verdict(folder)["verdict"] == "CERTIFIED"
        assert len(list((folder / "evidence").iterdir())) == 3


def test_outputs_have_the_permissions_of_ordinary_files(tmp_path):
    keys = tmp_path / "keys"
    assert certkit("keygen", "--private", keys / "k.pem", "--public", keys / "p.pem").code == 0
    out = tmp_path / "out"
    done = certkit("run", KETTLE, *DESIGN, "--key", keys / "k.pem", "--out", out,
                   preexec_fn=lambda: os.umask(0o027))
    assert done.code == 0, done.stderr

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(out / "verdict.json") == 0o640
    assert mode(out / "certificate.json") == 0o640
    assert mode(out / "junit.xml") == 0o640
    assert mode(out / "evidence" / "DSN-001.log") == 0o640
    allure = next((out / "allure-results").glob("*-result.json"))
    assert mode(allure) == mode(out / "verdict.json")  # as Allure writes its own
