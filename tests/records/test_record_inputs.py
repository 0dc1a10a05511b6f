"""verify, gate, report and keygen on input that is not what they expect (issue 11): a clear
reason and exit 2, never a traceback or a RecursionError; keygen never leaves a private key
without its public key."""

from __future__ import annotations

import json
import os
import resource
import signal
from pathlib import Path

import pytest

from certkit.certificate import load_private_key, sign
from tests.support.cli import certkit
from tests.support.paths import KETTLE

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    made = certkit("keygen", "--private", folder / "private.pem", "--public", folder / "public.pem")
    assert made.code == 0, made.stderr
    return folder / "private.pem", folder / "public.pem"


def signed_oddity(private: Path, record: dict) -> dict:
    """A record of the wrong shape with a valid signature: only a key holder makes one."""
    return sign(record, load_private_key(private))


@pytest.mark.parametrize("content, reason", [
    (DEEP, "not a certkit record: JSON nested too deeply"),
    ('{"a": ' * 5000 + "1" + "}" * 5000, "not a certkit record: JSON nested too deeply"),
    ("[1, 2, 3]", "not a certkit record: a JSON list, not an object"),
    ('"CERTIFIED"', "not a certkit record: a JSON str, not an object"),
    ("{not json", "not a certkit record: not JSON"),
    (b"\xff\xfe", "not a certkit record: not UTF-8 text"),
    (" " * (1 << 20) + "{}", "certkit reads files of at most 1048576 bytes"),
])
def test_verify_and_gate_refuse_what_is_not_a_record(tmp_path, keys, content, reason):
    path = tmp_path / "certificate.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    for command in (["verify", path], ["gate", path, "--model", "m", "--firmware", "1"]):
        result = certkit(*command, "--public-key", keys[1])
        assert result.code == 2, result
        assert reason in result.stderr
        assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("record", [
    {"verdict": "CERTIFIED", "dut": ["a", "list"], "waivers": 7},
    {"verdict": ["CERTIFIED"], "selection": {"x": 1}},
    {"verdict": "CERTIFIED", "complete": True, "selection": [], "partial": False,
     "dut": {"model": "m", "firmware": "1"}, "waivers": [{"expires": 20991231}]},
])
def test_a_signed_record_of_the_wrong_shape_is_refused_plainly(tmp_path, keys, record):
    path = tmp_path / "certificate.json"
    path.write_text(json.dumps(signed_oddity(keys[0], record)))
    result = certkit("gate", path, "--public-key", keys[1], "--model", "m", "--firmware", "1")
    assert result.code in (1, 2), result
    assert "ACCEPTED" not in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_verify_refuses_a_fifo_without_waiting_on_it(tmp_path, keys):
    fifo = tmp_path / "certificate.json"
    os.mkfifo(fifo)  # nobody writes it: reading would block for ever
    result = certkit("verify", fifo, "--public-key", keys[1], timeout=30)
    assert result.code == 2 and "is a FIFO, not a regular file" in result.stderr


@pytest.mark.parametrize("verdict, reason", [
    (DEEP, "JSON nested too deeply"),
    ("[]", "a JSON list, not an object"),
    ('{"verdict": "CERTIFIED"}', "not a certkit verdict record: no standard"),
    (('{"verdict": "CERTIFIED", "standard": "ECS-1.0", "certkit": "0.1.0", '
      '"profile": {"path": "p", "sha256": "0"}, "rules": {"DSN-001": "pass"}}'),
     "not a certkit verdict record: no list of rules"),
    (('{"verdict": "CERTIFIED", "standard": "ECS-1.0", "certkit": "0.1.0", '
      '"profile": {"path": "p", "sha256": "0"}, "rules": [["DSN-001", "pass"]]}'),
     "a rule result without rule, level, outcome and message"),
])
def test_report_refuses_what_is_not_a_verdict(tmp_path, verdict, reason):
    (tmp_path / "verdict.json").write_text(verdict)
    result = certkit("report", tmp_path, "--summary-only")
    assert result.code == 2, result
    assert reason in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "summary.md").exists()


def test_keygen_with_one_path_twice_writes_nothing(tmp_path):
    key = tmp_path / "key.pem"
    result = certkit("keygen", "--private", key, "--public", tmp_path / "." / "key.pem")
    assert result.code == 2 and "a key pair needs two files" in result.stderr
    assert not key.exists()


def test_keygen_to_an_unusable_public_path_leaves_no_private_key(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    private = tmp_path / "private.pem"
    result = certkit("keygen", "--private", private, "--public", tmp_path / "a-file" / "pub.pem")
    assert result.code == 2, result
    assert "no key was written" in result.stderr and "Traceback" not in result.stderr
    assert not private.exists()


def test_keygen_to_an_unusable_private_path_is_a_usage_error(tmp_path):
    result = certkit("keygen", "--private", "/proc/certkit-private.pem",
                     "--public", tmp_path / "public.pem")
    assert result.code == 2, result
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "public.pem").exists()


def test_a_key_that_is_a_fifo_is_refused_unread(tmp_path, keys):
    fifo = tmp_path / "key.pem"
    os.mkfifo(fifo)
    certificate = tmp_path / "certificate.json"
    certificate.write_text("{}")
    checked = certkit("verify", certificate, "--public-key", fifo, timeout=30)
    assert checked.code == 2 and "is a FIFO, not a regular file" in checked.stderr
    run = certkit("run", KETTLE, "--rules", "DSN-001", "--key", fifo, "--out", tmp_path / "out",
                  timeout=30)
    assert run.code == 2 and "--key" in run.stderr and "is a FIFO" in run.stderr


def test_keygen_on_a_full_disk_leaves_no_key_at_all(tmp_path):
    """The disk fills while the private key (119 bytes of PEM) is written."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG rather than death
        resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))

    private, public = tmp_path / "private.pem", tmp_path / "public.pem"
    done = certkit("keygen", "--private", private, "--public", public, timeout=60,
                   preexec_fn=limit)
    assert done.code == 2, done.stderr
    assert "no key was written" in done.stderr and "Traceback" not in done.stderr
    assert not private.exists() and not public.exists()
