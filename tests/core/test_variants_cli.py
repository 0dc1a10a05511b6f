"""`--variant` on the command line and `certkit emulate --list-variants`."""

from __future__ import annotations

import pytest
from certkit_emulators import UnknownFault, emulator_class

from certkit.cli.emulate_cmd import variants_markdown
from certkit.design import lint_file
from certkit.transports import names
from tests.support.cli import certkit
from tests.support.paths import KETTLE, ROOT
from tests.transports.registry import own_transports


def test_docs_variants_page_is_generated_from_the_data():
    page = (ROOT / "docs" / "variants.md").read_text("utf-8")
    with own_transports():  # the page is certkit's; a third party's transport is not in it
        generated = variants_markdown(list(names()))
    assert page == generated, (
        "docs/variants.md is stale: regenerate it with "
        "`certkit emulate --list-variants --format markdown > docs/variants.md`")


@pytest.mark.parametrize("args, message", [
    (["--variant", "mqtt"], "--variant: 'mqtt' is not TRANSPORT:VARIANT"),
    (["--variant", "interop:x"], "--variant: 'interop:x' is not TRANSPORT:VARIANT"),
    (["--variant", "mqtt:no-such-variant"], "needs --emulate mqtt"),
    (["--emulate", "--variant", "mqtt:no-such-variant"],
     "the mqtt emulator has no variant no-such-variant"),
])
def test_bad_variants_are_usage_errors(tmp_path, args, message):
    result = certkit("run", KETTLE, "--out", tmp_path, *args)
    assert result.code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "verdict.json").exists()


@pytest.mark.parametrize("transport", ["serial", "mqtt", "ble"])
def test_an_emulator_refuses_an_unknown_variant(transport):
    profile = lint_file(KETTLE).profile
    with pytest.raises(UnknownFault, match=f"{transport} emulator: unknown variant bogus"):
        emulator_class(transport)(profile, frozenset(), frozenset({"bogus"}))
