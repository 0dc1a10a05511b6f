"""Reading the files a user hands certkit: profiles, waivers, records.

Only a regular file is read, and at most `MAX_INPUT_BYTES` of it: a FIFO
would block the command forever, a device (/dev/zero) would never end, and
a folder or a huge file is a mistake worth naming. The file is opened
without blocking and checked on its descriptor, so what is read is what was
checked.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

MAX_INPUT_BYTES = 1 << 20  # 1 MiB: a profile or a record is a few kB


class InputFileError(ValueError):
    """A file that certkit will not read, with the reason (path first)."""


def read_input(path: Path, limit: int = MAX_INPUT_BYTES) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputFileError(f"{path}: is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            kind = ("a FIFO" if stat.S_ISFIFO(info.st_mode) else
                    "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode) else
                    "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
            raise InputFileError(f"{path}: is {kind}, not a regular file; certkit reads "
                                 "only regular files")
        if info.st_size > limit:
            raise InputFileError(f"{path}: is {info.st_size} bytes; certkit reads files of at "
                                 f"most {limit} bytes")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {exc.strerror}") from None
    finally:
        os.close(fd)
    if len(raw) > limit:  # it grew since fstat
        raise InputFileError(f"{path}: is over {limit} bytes; certkit reads files of at "
                             f"most {limit} bytes")
    return raw


def read_json_object(path: Path, what: str = "certkit record") -> dict[str, Any]:
    """A JSON object from a file, or InputFileError saying why it is not one."""
    raw = read_input(path)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not a {what}: not UTF-8 text (byte {exc.start})") from None
    except RecursionError:
        raise InputFileError(f"{path}: not a {what}: JSON nested too deeply") from None
    except ValueError as exc:
        raise InputFileError(f"{path}: not a {what}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{path}: not a {what}: a JSON {type(data).__name__}, "
                             "not an object")
    return data
