"""`certkit run --bench BENCH.yaml`: every selected DUT certified at once, each by a
`certkit run` process of its own writing to OUT/<name>/ exactly what a single run writes.

Ctrl-C or SIGTERM is forwarded to every DUT's run (as SIGTERM, which a run handles like
Ctrl-C even when started with SIGINT ignored); each writes its verdict, and one that has
not ended within STOP_GRACE_S is killed with its process group and its verdict closed
INCOMPLETE here. OUT/bench.json names each DUT's verdict, folder and exit code.

A DUT on a labgrid place (`labgrid: {place: NAME}`, docs/lab.md) has its run started once
its place is held (`certkit.lab.runs.PlaceRun`, waiting up to --place-timeout); the place
is released when the run has ended, however it ended.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from certkit.bench import bench_options
from certkit.benchfile.load import BenchFileError, Dut, load_bench_file
from certkit.benchfile.progress import Progress, read_progress, table
from certkit.cli import interrupts
from certkit.operator import unattended
from certkit.operator.lock import question_showing
from certkit.report.outdir import OutputFolderError, default_folder, prepare
from certkit.report.record import now, write_atomically
from certkit.resume.bench import resume_args
from certkit.verdict import Verdict

if TYPE_CHECKING:
    from certkit.lab.lease import Lease, PlaceRef
    from certkit.lab.runs import PlaceRun

POLL_S = 0.5
STOP_GRACE_S = 45.0         # after the stop is forwarded, for each run to write its verdict
MAX_RUN_S = 6 * 3600.0      # beyond each run's own bound (certkit/deadline.py): a last resort
PLAIN_EVERY_S = 15.0        # progress lines when the output is not a terminal
RELEASE_WAIT_S = 15.0       # after a DUT's run, for its labgrid place to be released


@dataclass
class DutRun:
    dut: Dut
    out: Path
    process: subprocess.Popen[bytes] | None  # None until a DUT on a labgrid place holds it
    log: IO[bytes]
    killed: bool = False
    place: PlaceRun | None = None

    @property
    def exit(self) -> int | None:
        if self.process is not None:
            return self.process.poll()
        if self.place is not None and self.place.done:
            return 3  # never started on its place: INCOMPLETE, its outputs say why
        return None


def _usage(message: str) -> int:
    print(f"certkit run: error: {message}", file=sys.stderr)
    return 2


def run_bench(args: argparse.Namespace) -> int:
    refused = _single_run_options(args)
    if refused:
        return _usage(refused)
    try:
        duts = load_bench_file(args.bench).select(args.dut)
    except BenchFileError as exc:
        for line in str(exc).splitlines():
            print(f"certkit run: {line}", file=sys.stderr)
        return 2
    problem = _check_shared_inputs(args)
    if problem:
        return _usage(problem)
    kept: list[Dut] = []
    if getattr(args, "resume", None) is not None:  # each DUT from OUT/<name>/ (docs/records.md)
        from certkit.resume.bench import split
        from certkit.resume.earlier import ResumeError

        try:
            duts, kept = split(args.resume, duts, args.out)
        except ResumeError as exc:
            return _usage(f"--resume: {exc}")
    try:
        out = prepare(args.out, args.force) if args.out else default_folder(
            "bench-" + args.bench.stem.removesuffix(".bench"))
    except OutputFolderError as exc:
        return _usage(f"--out: {exc}")
    bench = _Bench(args, duts, out)
    if kept:
        from certkit.resume.bench import keep

        bench.kept = keep(args.resume, out, kept)
    return bench.run()


def _single_run_options(args: argparse.Namespace) -> str | None:
    if args.profile is not None:
        return "--bench certifies the DUTs of the bench file: give no PROFILE with it"
    given = [o.cli for o in bench_options() if getattr(args, o.attr) is not None]
    given += ["--emulate"] * (args.emulate is not None)
    given += [f"--{name}" for name in ("fault", "variant", "identity") if getattr(args, name)]
    if given:
        return (f"{given[0]}: with --bench, where each DUT is and how it is emulated is in the "
                "bench file (docs/bench-files.md)")
    return None


def _check_shared_inputs(args: argparse.Namespace) -> str | None:
    """--key, --waivers, --rules and --add-rules once here, not once per DUT."""
    for path in args.add_rules:
        if not path.exists():
            return f"--add-rules: {path}: no such file or folder"
    if not args.add_rules:  # rules of one's own are known only once collected
        from certkit.plan import selected
        from certkit.standard import standards
        from certkit.transports import names

        known = standards()  # the DUTs' profiles may name any installed standard
        every = [rule for each in known.values()  # and transport, with the rules it adds
                 for rule in each.with_transports(names()).catalogue.rules]
        for pattern in args.rules:
            if not any(selected(rule.id, [pattern]) for rule in every):
                return (f"--rules: {pattern!r} matches no rule of {', '.join(known)} "
                        "(see certkit rules)")
    if args.waivers:
        from certkit.waivers import WaiverError, load_waivers

        try:
            load_waivers(args.waivers)
        except WaiverError as exc:
            return f"--waivers: {exc}"
    if args.key is not None:
        from certkit.certificate import KeyFileError, load_private_key

        try:
            load_private_key(args.key)
        except KeyFileError as exc:
            return f"--key: {exc}"
    return None


class _Bench:
    def __init__(self, args: argparse.Namespace, duts: list[Dut], out: Path) -> None:
        self.args, self.duts, self.out = args, duts, out
        self.runs: list[DutRun] = []
        self.kept: list[dict[str, Any]] = []  # --resume: DUTs with nothing to re-run, as they were
        self.stop_asked: float | None = None
        self.started = now()
        self.tty = sys.stdout.isatty()
        self.stopping = threading.Event()  # DUTs waiting for their labgrid place stop waiting
        self.drawn = 0
        self.shown: dict[str, tuple[str, float]] = {}
        # One operator for every DUT: at this terminal, one question at a time (the lock).
        self.operator_lock = out / "operator.lock"
        self.no_operator = unattended(getattr(args, "no_operator", False), sys.stdin.isatty())
        self.questions_seen = 0  # when the lock file last changed (a question came or went)

    def common_args(self) -> list[str]:
        args = [f"--rules={p}" for p in self.args.rules]
        args += [f"--add-rules={p}" for p in self.args.add_rules]
        if self.args.key:
            args.append(f"--key={self.args.key}")
        if self.args.waivers:
            args.append(f"--waivers={self.args.waivers}")
        if getattr(self.args, "max_duration", None) is not None:  # each DUT's own bound
            args.append(f"--max-duration={self.args.max_duration:g}")
        if self.no_operator:
            args.append("--no-operator")
        else:  # the DUT runs have no terminal of their own: they ask at this one
            args += [f"--operator-terminal={os.ttyname(sys.stdin.fileno())}",
                     f"--operator-lock={self.operator_lock}"]
        return args + (["--verbose"] if self.args.verbose else [])

    def run(self) -> int:
        first = interrupts.resume(replace={signal.SIGINT: self._on_signal,
                                           signal.SIGTERM: self._on_signal})
        try:
            try:
                self._start()
                if first is not None:
                    self._on_signal(first, None)
                self._watch()
            except BaseException:  # a bug here: no DUT run goes on, no place stays held
                self._on_signal(signal.SIGTERM, None)
                self._watch()
                raise
        finally:
            for run in self.runs:
                run.log.close()
        return self._finish()

    def _start(self) -> None:
        (self.out / "logs").mkdir(exist_ok=True)
        for dut in self.duts:
            out = self.out / dut.name
            log = open(self.out / "logs" / f"{dut.name}.log", "wb")  # noqa: SIM115 - closed by run()
            if dut.labgrid is not None:
                run = DutRun(dut, out, None, log)
                run.place = self._place_run(run, dut.labgrid)
                self.runs.append(run)
                run.place.begin()
                continue
            command = [sys.executable, "-m", "certkit", "run", *dut.run_args(),
                       f"--out={out}", f"--operator-dut={dut.name}", *self.common_args(),
                       *resume_args(self.args, dut)]
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True)
            self.runs.append(DutRun(dut, out, process, log))
            if self.stop_asked is not None:  # stopped while the runs were being started
                process.send_signal(signal.SIGTERM)
        self._write_summary(finished=False)

    def _place_run(self, run: DutRun, place: PlaceRef) -> PlaceRun:
        from certkit.lab.coordinator import coordinator_address
        from certkit.lab.lease import LEASE_ENV
        from certkit.lab.runs import DEFAULT_PLACE_TIMEOUT_S, PlaceRun
        from certkit.lab.unheld import unheld_facts, write_unheld_outputs

        dut = run.dut
        coordinator = coordinator_address(place.coordinator)

        def start(lease: Lease) -> subprocess.Popen[bytes] | None:
            if self.stop_asked is not None:
                return None
            command = [sys.executable, "-m", "certkit", "run", *dut.run_args(),
                       f"--serial={lease.serial_port}", f"--out={run.out}",
                       f"--operator-dut={dut.name}", *self.common_args(),
                       *resume_args(self.args, dut)]
            run.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=run.log, stderr=subprocess.STDOUT,
                start_new_session=True, env={**os.environ, LEASE_ENV: lease.to_json()})
            if self.stop_asked is not None:  # stopped as it started
                run.process.send_signal(signal.SIGTERM)
            return run.process

        def unheld(reason: str, holder: str | None) -> None:
            write_unheld_outputs(run.out, dut.profile, dut.bench, reason,
                                 unheld_facts(place.name, coordinator, holder),
                                 tuple(self.args.rules), self.args.key)

        def say(text: str) -> None:
            run.log.write(f"certkit run --bench: {text}\n".encode())
            run.log.flush()
            if not self.tty:
                print(f"{dut.name}: {text}", flush=True)

        timeout = getattr(self.args, "place_timeout", None)
        return PlaceRun(dut.name, place.name, coordinator,
                        DEFAULT_PLACE_TIMEOUT_S if timeout is None else timeout,
                        self.stopping, start, unheld, say)

    def _on_signal(self, signum: int, frame: object) -> None:
        if self.stop_asked is None:
            self.stop_asked = time.monotonic()
            print(f"\ncertkit run: stopping {len(self.runs)} DUT runs (each writes its "
                  "verdict)", file=sys.stderr, flush=True)
        self.stopping.set()
        for run in self.runs:
            if run.exit is None and run.process is not None:
                try:
                    run.process.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass

    def _watch(self) -> None:
        started = time.monotonic()
        while any(run.exit is None for run in self.runs):
            now_s = time.monotonic()
            if self.stop_asked is None and now_s - started > MAX_RUN_S:
                self._on_signal(signal.SIGTERM, None)
            if self.stop_asked is not None and now_s - self.stop_asked > STOP_GRACE_S:
                self._kill_stragglers()
            self._show()
            time.sleep(POLL_S)
        for run in self.runs:  # their places released (each bounded) before the summary
            if run.place is not None:
                run.place.thread.join(RELEASE_WAIT_S)
                if run.place.lost:  # the run was stopped for it: its verdict says why first
                    _close_verdict(run.out, run.place.lost, first=True)
        self._show()

    def _questions_since_drawn(self) -> bool:
        """Whether a DUT showed a question since the table was last drawn (the lock file
        changed): the table is then drawn below it, not over it."""
        try:
            changed = self.operator_lock.stat().st_mtime_ns
        except OSError:
            return False
        seen, self.questions_seen = self.questions_seen, changed
        return changed != seen

    def _kill_stragglers(self) -> None:
        for run in self.runs:
            if run.exit is None and run.process is not None:
                run.killed = True
                try:
                    os.killpg(run.process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                try:
                    run.process.wait(5.0)
                except subprocess.TimeoutExpired:
                    pass
                _close_verdict(run.out, f"the run did not stop within {STOP_GRACE_S:g} s of "
                                        "the bench's stop and was killed")

    def progress(self) -> list[Progress]:
        rows = []
        for run in self.runs:
            row = read_progress(run.dut.name, run.out)
            row.exit = run.exit
            if self.tty and run.place is not None and run.process is None and row.exit is None:
                row.current = run.place.status  # waiting for the place, and who holds it
            if row.exit is not None:
                row.verdict = _verdict_of(run.out) or str(Verdict.INCOMPLETE)
            rows.append(row)
        return rows

    def _show(self) -> None:
        rows = self.progress()
        if self.tty and question_showing(self.operator_lock):
            return  # the table waits: it would overwrite the question
        if self.tty and self._questions_since_drawn():  # afresh, below questions and answers
            self.drawn = 0
        if self.tty:
            lines = table(rows)
            up = f"\x1b[{self.drawn}F" if self.drawn else ""
            sys.stdout.write(up + "".join(f"\x1b[2K{line}\n" for line in lines))
            sys.stdout.flush()
            self.drawn = len(lines)
            return
        for row in rows:  # plain lines: when the verdict lands, else now and then
            said, at = self.shown.get(row.name, ("", 0.0))
            state = row.verdict or row.current
            if state != said and (row.verdict or time.monotonic() - at >= PLAIN_EVERY_S):
                print(row.line(), flush=True)
                self.shown[row.name] = (state, time.monotonic())

    def _finish(self) -> int:
        interrupts.defer()  # the summary is written whatever comes now
        try:
            document = self._write_summary(finished=True)
        finally:
            interrupts.resume()
        verdicts = {d["verdict"] for d in document["duts"]}
        code = (1 if str(Verdict.NOT_CERTIFIED) in verdicts else
                3 if str(Verdict.INCOMPLETE) in verdicts else 0)
        for entry in document["duts"]:
            if not self.tty:
                continue
            print(f"{entry['name']}: {entry['verdict']} (results in {entry['out']})")
        count = len(document["duts"])
        print(f"BENCH: {count} DUT{'s' if count != 1 else ''}, "
              + ", ".join(f"{sum(d['verdict'] == v for d in document['duts'])} {v}"
                          for v in map(str, Verdict)
                          if any(d["verdict"] == v for d in document["duts"]))
              + f" (summary in {self.out / 'bench.json'})")
        return code

    def _write_summary(self, finished: bool) -> dict[str, Any]:
        document: dict[str, Any] = {
            "bench": str(self.args.bench),
            "duts": [*self.kept, *({"name": run.dut.name,
                      "verdict": (_verdict_of(run.out) or str(Verdict.INCOMPLETE))
                      if finished else None,
                      "out": str(run.out), "exit": run.exit if finished else None,
                      **({"killed": True} if run.killed else {}),
                      **({"resumed": True} if getattr(self.args, "resume", None) else {}),
                      **({"labgrid": _place_summary(run.place)} if run.place else {})}
                     for run in self.runs)],
            "started": self.started,
            "finished": now() if finished else None,
        }
        write_atomically(self.out / "bench.json",
                         json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return document


def _place_summary(place: PlaceRun) -> dict[str, Any]:
    lease = place.lease
    return {"place": place.place, "coordinator": place.holder.address,
            "held": lease is not None, "holder": lease.holder if lease else None,
            "exporters": list(lease.exporters) if lease else [],
            "waited_s": lease.waited_s if lease else None,
            "problem": place.lost or place.failed, "released": place.released}


def _verdict_of(out: Path) -> str | None:
    try:
        return str(Verdict(json.loads((out / "verdict.json").read_text("utf-8"))["verdict"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _close_verdict(out: Path, reason: str, first: bool = False) -> None:
    """A killed run's verdict as of its last instance, ended INCOMPLETE (never CERTIFIED).
    `first`: the reason goes before the one the run gave (why the bench stopped it)."""
    path = out / "verdict.json"
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return
    if not isinstance(document, dict) or "verdict" not in document:
        return
    given = document.get("stop_reason")
    document.update(complete=False, stop_reason=(f"{reason} ({given})" if first and given
                                                 else given or reason))
    if document["verdict"] == str(Verdict.CERTIFIED):
        document["verdict"] = str(Verdict.INCOMPLETE)
    write_atomically(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
