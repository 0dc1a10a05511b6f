"""What installed packages add to certkit: the entry points of its groups (transports,
standards), read with importlib.metadata and remembered between runs.

Reading them means importing importlib.metadata (with email, csv, zipfile...) and scanning
every installed distribution: about a fifth of `certkit lint`'s start-up. So the entry
points of certkit's groups are kept in a small cache file, valid for as long as no folder
on sys.path changes (installing, upgrading or removing a package rewrites a `.dist-info`
folder, which changes its parent's modification time). Any doubt (no cache, another
sys.path or working folder, an unreadable or unwritable file) reads them afresh.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import sys
from pathlib import Path

GROUPS = ("certkit.transports", "certkit.standards")
Entry = tuple[str, str]  # (name, "module:attribute")


def registered(group: str) -> list[Entry]:
    """The entry points of one of certkit's GROUPS, in the order importlib.metadata gives."""
    return _groups()[group]


def load(value: str) -> object:
    """What an entry point's "module:attribute" names."""
    module, _, attribute = value.partition(":")
    loaded: object = importlib.import_module(module)
    for part in filter(None, attribute.split(".")):
        loaded = getattr(loaded, part)
    return loaded


@functools.cache
def _groups() -> dict[str, list[Entry]]:
    key = _fingerprint()
    cache = _cache_file()
    try:
        held = json.loads(cache.read_text("utf-8"))
        if held["key"] == key:
            return {g: [(n, v) for n, v in entries] for g, entries in held["groups"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    groups = _scanned()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        spare = cache.with_name(f"{cache.name}.{os.getpid()}")
        spare.write_text(json.dumps({"key": key, "groups": groups}), "utf-8")
        spare.replace(cache)
    except OSError:
        pass  # a read-only home: read afresh every time
    return groups


def _scanned() -> dict[str, list[Entry]]:
    from importlib.metadata import entry_points

    return {group: [(entry.name, entry.value) for entry in entry_points(group=group)]
            for group in GROUPS}


def _fingerprint() -> list[list[object]]:
    """Each sys.path entry with its modification time (none where it does not exist)."""
    marks: list[list[object]] = [[sys.version]]
    for entry in sys.path:
        try:
            marks.append([entry, os.stat(entry or ".").st_mtime_ns])
        except OSError:
            marks.append([entry, None])
    return marks


def _cache_file() -> Path:
    """One file per interpreter (a venv's or pipx's): two installs do not take turns."""
    import hashlib

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    interpreter = hashlib.sha256(sys.executable.encode()).hexdigest()[:16]
    return Path(base) / "certkit" / f"entry-points-{interpreter}.json"
