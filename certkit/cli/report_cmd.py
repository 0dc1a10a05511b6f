"""`certkit report OUT_DIR`: the HTML report and a Markdown summary of a run.

The HTML report is made by the Allure report generator (Allure 3, from the
npm registry: `npm install allure`). certkit looks for it in $CERTKIT_ALLURE,
then `node_modules/.bin/allure` in the current folder and certkit's
checkout, then `allure` on the PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from certkit.inputfiles import InputFileError, read_json_object
from certkit.report.categories import CATEGORIES
from certkit.report.junit import verdict_line
from certkit.report.record import write_atomically
from certkit.report.summary import markdown_summary, shape_problem

GENERATE_TIMEOUT_S = 300
INSTALL_HINT = ("no Allure report generator found: install it with `npm install allure@3` "
                "(in this folder or certkit's checkout), or set CERTKIT_ALLURE to its path")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = commands.add_parser("report", help="make the HTML report and summary.md of a run",
                              description="Turn a run's results into the Allure HTML report "
                                          "(OUT_DIR/allure-report) and OUT_DIR/summary.md.")
    cmd.add_argument("out", metavar="OUT_DIR", type=Path, help="the run's folder (--out)")
    cmd.add_argument("--summary-only", action="store_true", help="only write summary.md")
    cmd.add_argument("--single-file", action="store_true",
                     help="make the HTML report one self-contained file "
                          "(OUT_DIR/allure-report/index.html opens from disk or an artifact)")
    cmd.set_defaults(handler=run)


def find_allure() -> str | None:
    chosen = os.environ.get("CERTKIT_ALLURE")
    if chosen:  # the user's choice, and only it
        return chosen if os.access(chosen, os.X_OK) else None
    candidates = []
    for base in (Path.cwd(), Path(__file__).resolve().parents[2]):
        candidates.append(str(base / "node_modules" / ".bin" / "allure"))
    candidates.append(shutil.which("allure") or "")
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def run(args: argparse.Namespace) -> int:
    path = args.out / "verdict.json"
    if not path.exists():
        print(f"certkit report: {args.out}: no verdict.json (is it a run's --out folder?)",
              file=sys.stderr)
        return 2
    try:
        verdict = read_json_object(path, "certkit verdict record")
    except InputFileError as exc:
        print(f"certkit report: {exc}", file=sys.stderr)
        return 2
    problem = shape_problem(verdict)
    if problem is None:
        try:
            summary = markdown_summary(verdict, args.out)
        except (AttributeError, TypeError, KeyError, ValueError, RecursionError) as exc:
            problem = f"a field has the wrong shape ({type(exc).__name__})"
    if problem is not None:
        print(f"certkit report: {path}: not a certkit verdict record: {problem}",
              file=sys.stderr)
        return 2
    try:
        write_atomically(args.out / "summary.md", summary)
    except OSError as exc:
        print(f"certkit report: cannot write {args.out / 'summary.md'}: {exc.strerror}",
              file=sys.stderr)
        return 2
    print(f"wrote {args.out / 'summary.md'}")
    if args.summary_only:
        return 0
    allure = find_allure()
    if allure is None:
        print(f"certkit report: cannot make the HTML report: {INSTALL_HINT}"
              + (f" (CERTKIT_ALLURE={os.environ['CERTKIT_ALLURE']} is not an executable)"
                 if os.environ.get("CERTKIT_ALLURE") else ""), file=sys.stderr)
        return 2
    name = f"certkit {verdict['profile'].get('model') or ''}: {verdict_line(verdict)}"
    target = args.out / "allure-report"
    shutil.rmtree(target, ignore_errors=True)  # a report of this run's results only
    # Allure 3 takes categories from its configuration, Allure 2 from categories.json.
    config = args.out / "allurerc.json"
    try:
        write_atomically(config, json.dumps({
            "name": name,
            "categories": {"rules": CATEGORIES},
            # The tree a reviewer walks: rule family (in the standard's order: the family
            # names are numbered, see allure_labels.family_label), transport, rule.
            "plugins": {"awesome": {"options": {
                "groupBy": ["epic", "feature", "story"], "defaultSortBy": "name,asc",
                "singleFile": bool(getattr(args, "single_file", False))}}},
        }, indent=2))
    except OSError as exc:
        print(f"certkit report: cannot write {config}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        done = subprocess.run([allure, "generate", str(args.out / "allure-results"),
                               "-o", str(target), "-c", str(config)],
                              check=False, capture_output=True, text=True,
                              timeout=GENERATE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"certkit report: the Allure generator took over {GENERATE_TIMEOUT_S} s; stopped",
              file=sys.stderr)
        return 2
    if done.returncode != 0 or not (target / "index.html").exists():
        print(f"certkit report: the Allure generator failed:\n{done.stdout}{done.stderr}",
              file=sys.stderr)
        return 2
    if getattr(args, "single_file", False):
        print(f"wrote {target / 'index.html'} (one file: open it in a browser)")
    else:
        print(f"wrote {target / 'index.html'} (serve the folder over HTTP to view it, "
              f"e.g. `npx allure open {target}`)")
    return 0
