"""The pytest plugin that turns a pytest session into a certification run.

Registered through the `pytest11` entry point (`-p certkit.plugin.entry`), it stays inert until
`--certkit-profile` is given. Then its run (`run.CertkitRun`, registered as a
plugin of its own) does the work:

- lints the profile and plans the rule instances (`certkit.plan`);
- parametrizes every test marked `@pytest.mark.certkit_rule("ID")` with the
  instances of its rule (the `rule_instance` argument), and skips those that
  do not apply with the plan's reason (`collect.py`);
- deselects every non-design rule when the profile fails lint, so no device
  is touched;
- turns each test's end into an ECS-1 outcome (`outcome.py`: a `RuleFailure`
  or a plain assertion is `fail`, anything else `error`), keeps its evidence,
  labels it for Allure, and rewrites `verdict.json`;
- prints the summary table and the verdict.

Its fixtures (`fixtures.py`: `profile`, `bench`, `evidence`, `rule_instance`,
`link`, `limit_ms`) are public: a rule of one's own is an ordinary test that
uses them (see docs/custom-rules.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from certkit.bench import BenchError
from certkit.certificate import KeyFileError, load_private_key
from certkit.design import ProfileReadError, lint_file
from certkit.plugin.fixtures import (  # noqa: F401
    bench,
    dut_identity,
    evidence,
    limit_ms,
    link,
    lint_result,  # found here by pytest
    operator,
    profile,
)
from certkit.plugin.options import add_options, bench_from
from certkit.plugin.run import RUN, CertkitRun
from certkit.plugin.view import RunView
from certkit.report.outdir import OutputFolderError
from certkit.report.progress import Progress
from certkit.waivers import WaiverError, load_waivers


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


@pytest.hookimpl(tryfirst=True)  # before Allure's, which creates (and may empty) allure-results
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "certkit_rule(*rule_ids, level=None, title=None, deadline_s=None): the test checks "
        "these rules of the profile's standard (or a rule of your own, given level and title)",
    )
    path = config.getoption("--certkit-profile", None)
    if not path:
        return
    try:
        bench_setup = bench_from(config)
        lint = lint_file(Path(path))
        waivers_file = config.getoption("--certkit-waivers")
        waivers = load_waivers(Path(waivers_file), lint.standard) if waivers_file else []
        key_file = config.getoption("--certkit-key")
        signing_key = load_private_key(Path(key_file)) if key_file else None
        run = CertkitRun(config, lint, bench_setup, waivers, signing_key)
    except (BenchError, ProfileReadError, WaiverError, KeyFileError) as exc:
        raise pytest.UsageError(str(exc)) from None
    except OutputFolderError as exc:
        raise pytest.UsageError(f"--certkit-out: {exc}") from None
    config.stash[RUN] = run
    config.pluginmanager.register(run, "certkit-run")
    mode = config.getoption("--certkit-progress")
    progress = None if mode == "pytest" else Progress.for_terminal(mode)
    config.pluginmanager.register(RunView(run, progress), "certkit-run-view")
