"""`certkit run --resume OUT [--out OUT2]`: the flow.

OUT is never changed. The merged folder (--out, or reports/<model>-<time>) holds a copy of
each earlier run's folder (runs/1/, and runs/<n>/ of an earlier merge), the resumed run's
own folder (runs/<n+1>/: exactly a run's outputs, of the re-run instances only), and the
merged verdict.json, junit.xml, summary.md and, with --key, certificate.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from certkit import __version__
from certkit.cli import interrupts
from certkit.design import ProfileReadError, lint_file
from certkit.report.junit import junit_xml, verdict_line
from certkit.report.outdir import OutputFolderError, default_folder, prepare
from certkit.report.record import suite_sha256, write_atomically
from certkit.resume.allure import merge_allure
from certkit.resume.earlier import (
    RUNS,
    Earlier,
    ResumeError,
    bench_arguments,
    given_bench,
    load,
    same_bench,
    same_profile,
    same_selection,
    same_suite,
    separate,
    sha256_bytes,
)
from certkit.resume.merge import as_merged, merge
from certkit.verdict import Verdict
from certkit.waivers import WaiverError, load_waivers

RunOne = Callable[[argparse.Namespace], int]  # `certkit run`'s own flow, for the attempt


def _usage(message: str) -> int:
    print(f"certkit run: error: --resume: {message}", file=sys.stderr)
    return 2


def _bench_dests() -> list[str]:
    return list(bench_arguments({}))


def resume(args: argparse.Namespace, run_one: RunOne) -> int:
    if args.bench is not None:  # each DUT resumed from OUT/<name>/ (certkit/resume/bench.py)
        from certkit.benchfile.runner import run_bench

        return run_bench(args)
    if args.key is not None:
        from certkit.certificate import KeyFileError, load_private_key

        try:
            load_private_key(args.key)
        except KeyFileError as exc:
            return _usage(f"--key: {exc}")
    try:
        earlier = load(args.resume)
        attempt = _attempt_arguments(args, earlier)
        out = _merged_folder(args, earlier)
    except ResumeError as exc:
        return _usage(str(exc))
    except OutputFolderError as exc:
        return _usage(f"--out: {exc}")
    return resume_into(args, earlier, attempt, out, run_one)


def _attempt_arguments(args: argparse.Namespace, earlier: Earlier) -> argparse.Namespace:
    """The arguments of the resumed attempt: the earlier run's profile, bench and selection,
    only the instances to re-run; raises ResumeError when they cannot be the earlier's."""
    if args.dut or args.place_timeout is not None:
        raise ResumeError("--dut and --place-timeout are for a bench file's DUTs: give --bench "
                          "BENCH.yaml too")
    for path in args.add_rules:
        if not path.exists():
            raise ResumeError(f"--add-rules: {path}: no such file or folder")
    given = {dest: getattr(args, dest) for dest in _bench_dests()}
    same_bench(earlier, given_bench(given))
    profile = same_profile(earlier, args.profile)
    rules = same_selection(earlier, list(args.rules))
    try:
        lint = lint_file(profile)
    except ProfileReadError as exc:
        raise ResumeError(str(exc)) from None
    same_suite(earlier, lint.standard.name, suite_sha256(lint.standard), __version__)
    if args.waivers:
        try:
            load_waivers(args.waivers, lint.standard)
        except WaiverError as exc:
            raise ResumeError(f"--waivers: {exc}") from None
    _same_own_rules(args, earlier)
    rerun = earlier.to_rerun()
    if not rerun:
        raise ResumeError(f"nothing to re-run: no instance of {earlier.folder} ended in "
                          f"error or was left not run (its verdict: "
                          f"{earlier.document['verdict']})")
    attempt = argparse.Namespace(**vars(args))
    for dest, value in bench_arguments(earlier.bench_described()).items():
        setattr(attempt, dest, value)
    attempt.resume, attempt.bench, attempt.key, attempt.force = None, None, None, False
    attempt.profile, attempt.rules, attempt.resume_instances = profile, rules, rerun
    return attempt


def _same_own_rules(args: argparse.Namespace, earlier: Earlier) -> None:
    """Rules of one's own OUT ran must be given again (--add-rules), unchanged."""
    own = earlier.document.get("custom_rules", {}).get("files") or []
    if own and not args.add_rules:
        raise ResumeError(f"{earlier.folder} ran rules of its own "
                          f"({', '.join(f['path'] for f in own)}): give them again with "
                          "--add-rules")
    for entry in own:  # their paths as the earlier run showed them (from its working folder)
        path = Path(entry["path"])
        if path.is_file() and sha256_bytes(path) != entry["sha256"]:
            raise ResumeError(f"the rules of one's own in {path} changed since "
                              f"{earlier.folder} ran them (sha256 {entry['sha256']}); a "
                              "changed rule needs a new run")


def _merged_folder(args: argparse.Namespace, earlier: Earlier) -> Path:
    """Where the merge goes: never OUT itself, nor a folder inside it or around it."""
    model = earlier.document["profile"].get("model") or "resumed"
    if args.out is None:
        return default_folder(model)
    separate(earlier.folder, args.out)
    return prepare(args.out, args.force)


def _copy_earlier(earlier: Earlier, out: Path) -> None:
    """Each earlier run's folder into the merged folder (evidence kept beside the merge)."""
    if earlier.merged:
        for folder in earlier.run_folders():
            shutil.copytree(earlier.folder / folder, out / folder, symlinks=True)
    else:
        shutil.copytree(earlier.folder, out / RUNS / "1", symlinks=True)


def _digest(out: Path) -> Callable[[str], str | None]:
    def digest(relative: str) -> str | None:
        try:
            return hashlib.sha256((out / relative).read_bytes()).hexdigest()
        except OSError:
            return None
    return digest


def resume_into(args: argparse.Namespace, earlier: Earlier, attempt: argparse.Namespace,
                out: Path, run_one: RunOne) -> int:
    """Copy the earlier runs into `out`, run the attempt in out/runs/<n>/, write the merge."""
    number = earlier.run_count + 1
    folder = f"{RUNS}/{number}"
    try:
        _copy_earlier(earlier, out)
    except OSError as exc:
        return _usage(f"the earlier runs could not be copied into {out}: {exc}")
    attempt.out = out / folder
    print(f"certkit run: resuming {earlier.folder}: re-running {len(attempt.resume_instances)} "
          f"instance(s) left in error or not run, as run {number} in {attempt.out}",
          file=sys.stderr)
    code = run_one(attempt)
    verdict_path = attempt.out / "verdict.json"
    if not verdict_path.is_file():  # refused before anything ran (a usage error)
        shutil.rmtree(out / RUNS, ignore_errors=True)  # the folder is free for another try
        return code if code else 2
    interrupts.defer()  # the merge is written whole, whatever Ctrl-C comes now
    try:
        raw = verdict_path.read_bytes()
        first = as_merged(earlier.document, earlier.verdict_sha256, _digest(out))
        merged = merge(first, json.loads(raw), attempt.resume_instances, number, folder,
                       hashlib.sha256(raw).hexdigest(), _digest(out))
        _write(out, merged, args)
    except OSError as exc:
        print(f"certkit run: the merged results could not be written to {out}: {exc}",
              file=sys.stderr)
        return Verdict.INCOMPLETE.exit_code
    finally:
        interrupts.resume()
    print(f"VERDICT: {verdict_line(merged)} (merged from {number} runs; results in {out})")
    return Verdict(merged["verdict"]).exit_code


def _write(out: Path, document: dict[str, Any], args: argparse.Namespace) -> None:
    from certkit.report.publish import publish

    write_atomically(out / "verdict.json", json.dumps(document, indent=2, ensure_ascii=False)
                     + "\n")
    write_atomically(out / "junit.xml", junit_xml(document))
    try:
        publish(out, document)
        merge_allure(out, document)  # for `certkit report OUT2`
    except OSError as exc:  # the verdict stands: it is written already
        print(f"certkit run: the summary or the merged Allure results could not be written: "
              f"{exc.strerror or exc}", file=sys.stderr)
    if args.key is not None:
        from certkit.certificate import load_private_key
        from certkit.report.signing import write_certificate

        write_certificate(out, document, load_private_key(args.key))
