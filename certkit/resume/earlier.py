"""The earlier run's folder that `certkit run --resume OUT` continues: its verdict, and the
profile, bench, selection and suite a resumed run must share with it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from certkit.bench import Bench, BenchError, bench_options
from certkit.report.junit import all_rules

RUNS = "runs"  # a merged folder keeps each run's own folder as runs/<n>/


class ResumeError(ValueError):
    """The earlier run cannot be resumed as asked; the message says why."""


def instance_id(result: dict[str, Any]) -> str:
    """`SER-004[2.1]`, as the plugin names the instance (unqualified rule ID)."""
    return f"{result['rule']}[{result['instance']}]" if result["instance"] else result["rule"]


def sha256_bytes(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Earlier:
    folder: Path
    document: dict[str, Any]
    verdict_sha256: str  # of its verdict.json as read

    @property
    def merged(self) -> bool:
        """Whether the folder is itself a merge of runs (its runs under runs/<n>/)."""
        return isinstance(self.document.get("merged"), dict)

    @property
    def run_count(self) -> int:
        return len(self.document["merged"]["runs"]) if self.merged else 1

    def run_folders(self) -> list[str]:
        """Each earlier run's folder, relative to a merged folder."""
        if self.merged:
            return [str(run["folder"]) for run in self.document["merged"]["runs"]]
        return [f"{RUNS}/1"]

    def to_rerun(self) -> list[str]:
        """The instances that ended in `error` or never ran: never a pass, a fail (waived or
        not) or one that does not apply."""
        return [instance_id(r) for r in all_rules(self.document) if r.get("outcome") == "error"]

    def bench_described(self) -> dict[str, str]:
        """The bench as given to the earlier run (Bench.describe), without what its links
        reported (the broker that served, the operator, a labgrid place)."""
        keys = described_keys()
        return {k: v for k, v in (self.document.get("bench") or {}).items() if k in keys}


def load(folder: Path) -> Earlier:
    """Read OUT's verdict.json; raises ResumeError when there is none to resume."""
    path = folder / "verdict.json"
    try:
        raw = path.read_bytes()
        document = json.loads(raw)
    except FileNotFoundError:
        raise ResumeError(f"{folder}: no verdict.json (not the folder of a certkit run)") from None
    except (OSError, ValueError) as exc:
        raise ResumeError(f"{path}: cannot be read as a verdict: {exc}") from None
    needed = ("verdict", "profile", "bench", "rules", "selection", "suite_sha256", "standard")
    if not isinstance(document, dict) or any(key not in document for key in needed):
        raise ResumeError(f"{path}: not a certkit verdict (it lacks "
                          f"{', '.join(k for k in needed if k not in document)})")
    if document.get("resumed"):
        raise ResumeError(f"{folder}: this is the folder of one resumed attempt; resume the "
                          "merged folder that holds it (two levels up)")
    return Earlier(folder, document, hashlib.sha256(raw).hexdigest())


def separate(earlier: Path, out: Path) -> None:
    """The merged results go to a folder of their own: not OUT, nor inside or around it."""
    mine, theirs = out.resolve(), earlier.resolve()
    if mine == theirs or mine.is_relative_to(theirs) or theirs.is_relative_to(mine):
        raise ResumeError(f"--out {out}: the merged results go to a folder of their own, "
                          f"not into or around {earlier} (which stays as it is)")


def described_keys() -> set[str]:
    """The keys of Bench.describe: what was given, as opposed to what links reported."""
    return {"emulate", "faults", "variants", "identity", *(o.shown for o in bench_options())}


def _switches(text: str | None) -> list[str]:
    """'serial:a,b;mqtt:c' (Bench.describe) -> ['serial:a', 'serial:b', 'mqtt:c']."""
    switches = []
    for part in (text or "").split(";"):
        transport, _, names = part.partition(":")
        switches += [f"{transport}:{name}" for name in names.split(",") if name]
    return switches


def bench_arguments(described: dict[str, str]) -> dict[str, Any]:
    """The `certkit run` arguments (argparse dests) that give the bench `described` shows."""
    arguments: dict[str, Any] = {"emulate": described.get("emulate") or None}
    for option in bench_options():
        arguments[option.attr] = described.get(option.shown)
    arguments["fault"] = _switches(described.get("faults"))
    arguments["variant"] = _switches(described.get("variants"))
    arguments["identity"] = [part for part in (described.get("identity") or "").split(";")
                             if part]
    return arguments


def given_bench(arguments: dict[str, Any]) -> dict[str, str] | None:
    """The bench the command line gives (Bench.describe), or None when it gives none."""
    if not any(arguments.values()):
        return None
    try:
        return Bench.from_options(
            emulate=arguments["emulate"], faults=arguments["fault"],
            variants=arguments["variant"], identity=arguments["identity"],
            **{o.attr: arguments[o.attr] for o in bench_options()}).describe()
    except BenchError as exc:
        raise ResumeError(str(exc)) from None


def same_bench(earlier: Earlier, given: dict[str, str] | None) -> None:
    """A bench on the command line must be the earlier run's, option for option."""
    if given is None:
        return
    before = earlier.bench_described()
    differ = sorted(k for k in set(before) | set(given) if before.get(k) != given.get(k))
    if differ:
        shown = "; ".join(f"{k}: {before.get(k) or '(not given)'} in {earlier.folder}, "
                          f"{given.get(k) or '(not given)'} now" for k in differ)
        raise ResumeError(f"the bench given is not the one {earlier.folder} ran on ({shown}); "
                          "a resumed run repeats the earlier bench (give its options as they "
                          "were, or none to take them from it)")


def same_profile(earlier: Earlier, given: Path | None) -> Path:
    """The profile to certify again: the one given, or the earlier run's path; either way
    byte for byte the profile the earlier run certified (its sha256)."""
    profile = earlier.document["profile"]
    path = given if given is not None else Path(profile["path"])
    try:
        digest = sha256_bytes(path)
    except OSError as exc:
        raise ResumeError(f"the profile {path} cannot be read ({exc.strerror}); give the "
                          f"profile {earlier.folder} certified as PROFILE") from None
    if digest != profile["sha256"]:
        raise ResumeError(f"the profile {path} is not the one {earlier.folder} certified: its "
                          f"sha256 is {digest}, the earlier run's {profile['sha256']} (it "
                          "changed since); a changed profile needs a new run, not a resumed one")
    return path


def same_selection(earlier: Earlier, given: list[str]) -> list[str]:
    """--rules as the earlier run had them (taken from it when not given)."""
    before = list(earlier.document["selection"])
    if given and given != before:
        raise ResumeError(f"--rules {' '.join(given)} is not the selection of "
                          f"{earlier.folder} ({' '.join(before) or 'every rule'}); a resumed "
                          "run keeps the earlier selection")
    return before


def same_suite(earlier: Earlier, standard: str, suite_sha256: str, version: str) -> None:
    """One merged verdict, one judge: the standard, certkit and its suite must not change."""
    doc = earlier.document
    if doc["standard"] != standard:
        raise ResumeError(f"{earlier.folder} was certified under {doc['standard']}, the "
                          f"profile now names {standard}")
    if doc["suite_sha256"] != suite_sha256 or doc.get("certkit") != version:
        raise ResumeError(f"certkit's suite changed since {earlier.folder} ran (certkit "
                          f"{doc.get('certkit')}, suite sha256 {doc['suite_sha256']}; now "
                          f"certkit {version}, {suite_sha256}): its results and new ones would "
                          "not be judged alike; start a new run")
