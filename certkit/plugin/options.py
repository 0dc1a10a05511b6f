"""The plugin's `--certkit-*` options, and the bench they describe."""

from __future__ import annotations

import pytest

from certkit.bench import Bench, bench_options
from certkit.operator.options import add_plugin_options as add_operator_options
from certkit.report.progress import MODES


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("certkit", "certkit certification run")
    group.addoption("--certkit-profile", metavar="PROFILE",
                    help="certify the device this profile describes")
    group.addoption("--certkit-out", metavar="DIR",
                    help="where verdict.json and evidence go (default reports/<model>-<time>)")
    group.addoption("--certkit-rules", metavar="GLOB", action="append", default=[],
                    help="only rules whose ID matches (repeatable), e.g. 'SER-*'")
    group.addoption("--certkit-emulate", metavar="TRANSPORTS", nargs="?", const="all",
                    help="stand emulators in for these transports (default all)")
    group.addoption("--certkit-fault", metavar="TRANSPORT:FAULT", action="append", default=[],
                    help="inject a fault into an emulator (repeatable)")
    group.addoption("--certkit-variant", metavar="TRANSPORT:VARIANT", action="append", default=[],
                    help="make an emulator use a conformant variant (repeatable)")
    for option in bench_options():  # each declared once, by its transport
        group.addoption(option.plugin, metavar=option.metavar, help=option.help)
    group.addoption("--certkit-identity", metavar="KEY=VALUE", action="append", default=[],
                    help="what the unit must report before any rule judges it (repeatable)")
    group.addoption("--certkit-waivers", metavar="FILE", help="waivers to apply (YAML)")
    group.addoption("--certkit-key", metavar="FILE",
                    help="Ed25519 private key (PEM): also write a signed certificate.json")
    group.addoption("--certkit-resume-instance", metavar="ID", action="append", default=[],
                    help="run only this rule instance (repeatable; what `certkit run "
                         "--resume` re-runs)")
    group.addoption("--certkit-max-duration", metavar="SECONDS", type=float,
                    help="stop the run (INCOMPLETE) after this long, if sooner than the "
                         "bound its plan gives")
    add_operator_options(group)  # --certkit-no-operator, ... (certkit/operator/options.py)
    group.addoption("--certkit-progress", choices=MODES, default="auto",
                    help="live (a terminal), plain (lines, for CI logs), quiet (the verdict "
                         "only), pytest (pytest's own reporting); default: live on a terminal")


def bench_from(config: pytest.Config) -> Bench:
    """The bench the options name; raises BenchError naming a malformed option."""
    return Bench.from_options(
        emulate=config.getoption("--certkit-emulate"),
        **{option.attr: config.getoption(option.plugin) for option in bench_options()},
        faults=config.getoption("--certkit-fault"),
        variants=config.getoption("--certkit-variant"),
        identity=config.getoption("--certkit-identity"),
    )
