"""The public fixtures: `profile`, `bench`, `evidence`, `rule_instance` (by parametrization),
`link`, `limit_ms`, `lint_result`, `dut_identity`, `operator`. A rule of one's own is an ordinary test
that uses them (docs/custom-rules.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from certkit.bench import Bench
from certkit.checks import LabError, NotApplicable
from certkit.design import LintResult
from certkit.evidence import EvidenceLog
from certkit.links import Link, open_link
from certkit.operator import Operator
from certkit.plugin.run import LINK_CLOSE_TIMEOUT_S, LINK_OPEN_TIMEOUT_S, RUN, CertkitRun
from certkit.profile.model import Profile


def _required_run(request: pytest.FixtureRequest) -> CertkitRun:
    run = request.config.stash.get(RUN, None)
    if run is None:
        raise pytest.UsageError("certkit fixtures need --certkit-profile PROFILE")
    return run


@pytest.fixture(scope="session")
def lint_result(request: pytest.FixtureRequest) -> LintResult:
    """The design checks of the profile (findings with file, line, column)."""
    return _required_run(request).lint


@pytest.fixture(scope="session")
def profile(request: pytest.FixtureRequest) -> Profile:
    """The DUT's profile, typed (only when it passed its design checks)."""
    run = _required_run(request)
    if run.profile is None:
        raise LabError("the profile failed its design checks")
    return run.profile


@pytest.fixture(scope="session")
def bench(request: pytest.FixtureRequest) -> Bench:
    """Where the DUT is: ports, endpoints, adapters, emulators, reset method."""
    return _required_run(request).bench


@pytest.fixture(scope="session")
def evidence(request: pytest.FixtureRequest) -> EvidenceLog:
    """The run's evidence log; what is recorded during a test lands on its rule instance."""
    return _required_run(request).evidence


@pytest.fixture(scope="session")
def operator(request: pytest.FixtureRequest) -> Operator:
    """The person at the bench, or `NoOperator` in an unattended run (docs/operators.md)."""
    return _required_run(request).operator


@pytest.fixture(scope="session")
def dut_identity(request: pytest.FixtureRequest) -> Callable[[str, str, str], None]:
    """Report what the DUT said about itself: dut_identity('firmware', '1.4.2', 'serial').

    The certification record names the identity as observed on the transports.
    """
    return _required_run(request).record.observe


@pytest.fixture
def limit_ms(profile: Profile) -> Callable[[str], int]:
    """A section 10 limit in ms, tightened by the profile's `timing`: limit_ms('reply-ms')."""
    return profile.limit_ms


@pytest.fixture(scope="session")
def link(request: pytest.FixtureRequest, profile: Profile, bench: Bench,
         evidence: EvidenceLog) -> Iterator[Callable[[str], Link]]:
    """Opens (once per run) and returns the link for a transport: link('serial')."""
    run = _required_run(request)
    opened = run.links  # the plugin asks the links an instance used about bench faults
    failed: dict[str, LabError] = {}  # a link that could not open is not retried per rule

    def get(transport: str) -> Link:
        if transport not in profile.transports.declared:
            raise NotApplicable(f"the profile declares no {transport} transport")
        run.links_used.add(transport)
        if transport in failed:
            raise LabError(f"the {transport} link could not be opened earlier in this run: "
                           f"{failed[transport]}")
        if transport not in opened:
            try:
                opened[transport] = open_link(transport, profile, bench, evidence,
                                              LINK_OPEN_TIMEOUT_S)
                # What the link chose itself (which embedded broker served, say) is bench too.
                served = getattr(opened[transport], "bench_facts", None)
                if served:
                    run.record.bench.update(served)
                _check_identity(request.session, run, transport, opened, profile)
            except LabError as exc:
                failed[transport] = exc
                raise
        return opened[transport]

    yield get
    for each in opened.values():
        each.close(LINK_CLOSE_TIMEOUT_S)


def _check_identity(session: pytest.Session, run: CertkitRun, transport: str,
                    opened: dict[str, Link], profile: Profile) -> None:
    """Before any rule uses a newly opened link: when the bench names the unit, is it the one
    on this transport? Another unit stops the run (a bench error naming expected and observed
    identity, so no rule is judged against it); an identity that cannot be read fails the link."""
    from certkit.identity import expected_identity, mismatches, observe

    expected = expected_identity(run.bench.identity, profile)
    if not expected:
        return
    try:
        observed = observe(transport, opened[transport], profile)
    except LabError as exc:
        raise LabError(f"the DUT's identity could not be read over {transport}: {exc}") from exc
    except Exception as exc:  # a bench or harness problem, never the DUT's fail
        raise LabError(f"the DUT's identity could not be read over {transport}: "
                       f"{type(exc).__name__}: {exc}") from exc
    run.identity_read_over.add(transport)
    for key, value in observed.items():
        run.record.observe(key, value, transport)
    run.evidence.note(f"identity over {transport}: " + ", ".join(
        f"{k} {v!r}" for k, v in sorted(observed.items())))
    wrong = mismatches(expected, observed)
    if wrong:
        problem = (f"bench error: the unit on {transport} is not the one the bench names: "
                   + "; ".join(wrong))
        opened.pop(transport).close(LINK_CLOSE_TIMEOUT_S)
        run.wrong_unit = run.wrong_unit or problem
        session.shouldstop = problem
        raise LabError(problem)
