"""The bench file's JSON Schema, generated from the transports' bench options.

The shipped `bench.schema.json` is this function's output (a test keeps them equal);
regenerate it with `python -m certkit.benchfile.schema > certkit/benchfile/bench.schema.json`.
"""

from __future__ import annotations

import json
from typing import Any

from certkit.bench import INTEROP, bench_options, identity_keys
from certkit.lab.bench_entry import SCHEMA as LABGRID_SCHEMA
from certkit.transports import names as transport_names

SCHEMA_ID = "https://certkit.example/schemas/bench-1.schema.json"
NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]*$"


def _switch(what: str, transports: tuple[str, ...]) -> dict[str, Any]:
    return {"type": "array", "uniqueItems": True,
            "description": f"TRANSPORT:{what.upper()} ({', '.join(transports)}), emulated "
                           "transports only",
            "items": {"type": "string", "pattern": f"^({'|'.join(transports)}):.+$"}}


def bench_schema() -> dict[str, Any]:
    transports = transport_names()
    dut: dict[str, Any] = {
        "name": {"type": "string", "pattern": NAME_PATTERN,
                 "description": "unique in the file; the DUT's results go to OUT/<name>/"},
        "profile": {"type": "string", "minLength": 1,
                    "description": "the DUT's profile, relative to the bench file's folder"},
        "emulate": {"type": "array", "uniqueItems": True,
                    "description": "transports the reference emulators serve",
                    "items": {"enum": list(transports)}},
        "fault": _switch("fault", (*transports, INTEROP)),
        "variant": _switch("variant", transports),
    }
    for transport in transports:
        options = [o for o in bench_options() if o.transport == transport]
        dut[transport] = {
            "type": "object", "additionalProperties": False,
            "description": f"where the DUT's {transport} is (certkit run "
                           + ", ".join(o.cli for o in options) + ")",
            "properties": {o.key: {"type": "string", "minLength": 1, "description": o.help}
                           for o in options}}
    dut["identity"] = {
        "type": "object", "additionalProperties": False,
        "description": "what the unit must report before any rule judges it "
                       "(certkit run --identity KEY=VALUE)",
        "properties": {key: {"type": "string", "minLength": 1} for key in identity_keys()}}
    dut["labgrid"] = LABGRID_SCHEMA  # a place of a labgrid coordinator (docs/lab.md)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "certkit bench file",
        "type": "object",
        "additionalProperties": False,
        "required": ["certkit-bench", "duts"],
        "properties": {
            "certkit-bench": {"const": 1, "description": "the bench file format: 1"},
            "duts": {"type": "array", "minItems": 1, "items": {
                "type": "object", "additionalProperties": False,
                "required": ["name", "profile"], "properties": dut}},
        },
    }


def schema_text() -> str:
    return json.dumps(bench_schema(), indent=2) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
