"""`certkit examples` and `certkit init [EXAMPLE] [PATH]`: the example profiles.

`certkit init --category C --transports serial,mqtt [--model M] [PATH]` writes a
profile for a category instead, from the category table (`certkit.profile.template`).

The examples are the repository's profiles/ folder, installed as the package
data of `certkit.examples`, so an installed certkit (a wheel, pipx) has them
too: `certkit init kettle` copies one to start a device's profile from.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from certkit.transports import names

DEFAULT_EXAMPLE = "acme.kettle.k1"  # the example of ECS-1 section 2
SCHEMA_COMMENT = "# yaml-language-server: $schema="
BENCH_FILE_SUFFIX = ".bench.yaml"


@dataclass(frozen=True)
class Example:
    name: str  # the file name without .yaml, e.g. acme.kettle.k1
    path: Path
    summary: str  # the profile's own opening comment

    def text_for_copy(self) -> str:
        """The profile, its editor schema hint pointing at the installed schema."""
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        if lines and lines[0].startswith(SCHEMA_COMMENT):
            schema = resources.files("certkit.profile") / "profile.schema.json"
            lines[0] = f"{SCHEMA_COMMENT}{schema}\n"
        return "".join(lines)


def examples() -> list[Example]:
    folder = Path(str(resources.files("certkit.examples")))
    found = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name.endswith(BENCH_FILE_SUFFIX):  # a bench of the examples, not a device
            continue
        comments = [line[1:].strip() for line in path.read_text(encoding="utf-8").splitlines()
                    if line.startswith("#") and not line.startswith(SCHEMA_COMMENT)]
        found.append(Example(path.name.removesuffix(".yaml"), path, comments[0] if comments else ""))
    return found


def find_example(wanted: str) -> Example | str:
    """The example named `wanted` (a full name or one word of it: kettle), or why none is."""
    known = examples()
    name = wanted.removesuffix(".yaml")
    exact = [e for e in known if e.name == name]
    matches = exact or [e for e in known if name in e.name.split(".")]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(e.name for e in known)
    if matches:
        return f"{wanted!r} names several examples: {', '.join(e.name for e in matches)}"
    return f"no example {wanted!r} (examples: {names})"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser(
        "examples", help="list the example profiles installed with certkit",
        description="List the example profiles that ship with certkit; "
                    "`certkit init EXAMPLE` copies one to start from.")
    listing.add_argument("--paths", action="store_true",
                         help="print only the installed files' paths, one a line")
    listing.set_defaults(handler=list_examples)

    init = commands.add_parser(
        "init", help="start a profile from an example",
        description="Copy an example profile to PATH to start a device's profile from.")
    init.add_argument("example", nargs="?", default=DEFAULT_EXAMPLE, metavar="EXAMPLE",
                      help=f"an example's name or one word of it, e.g. kettle "
                           f"(default {DEFAULT_EXAMPLE}; see certkit examples)")
    init.add_argument("path", nargs="?", type=Path, metavar="PATH",
                      help="the file to write, or a folder to write EXAMPLE.yaml into "
                           "(default ./EXAMPLE.yaml)")
    init.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    init.add_argument("--category", metavar="CATEGORY",
                      help="write a lint-clean profile for this category instead of copying "
                           "an example (light, outlet, kettle, temperature-humidity-sensor, "
                           "air-purifier)")
    every = ",".join(names())
    init.add_argument("--transports", metavar="T,...", default=every,
                      help=f"with --category: the DUT's transports (default {every})")
    init.add_argument("--model", metavar="MODEL",
                      help="with --category: the model, vendor.category.version")
    init.set_defaults(handler=init_profile)


def list_examples(args: argparse.Namespace) -> int:
    known = examples()
    if args.paths:
        for example in known:
            print(example.path)
        return 0
    width = max(len(e.name) for e in known)
    for example in known:
        print(f"{example.name:<{width}}  {example.summary}")
    print("\nstart a profile from one: certkit init EXAMPLE [PATH]   (e.g. certkit init kettle)")
    return 0


def init_profile(args: argparse.Namespace) -> int:
    if args.category is not None:
        return _init_from_category(args)
    example = find_example(args.example)
    if isinstance(example, str):
        print(f"certkit init: {example}", file=sys.stderr)
        return 2
    target = _write(args.path, example.name, example.text_for_copy(), args.force)
    if target is None:
        return 2
    print(f"wrote {target} (from the example {example.name})\n"
          f"next: edit it for your device, check it with `certkit lint {target}`, "
          f"try it with `certkit run {target} --emulate`")
    return 0


def _init_from_category(args: argparse.Namespace) -> int:
    from certkit.profile.template import TemplateError, profile_template

    if args.example != DEFAULT_EXAMPLE:
        print("certkit init: give an EXAMPLE or --category, not both", file=sys.stderr)
        return 2
    transports = [t.strip() for t in args.transports.split(",") if t.strip()]
    try:
        text = profile_template(args.category, transports, args.model)
    except TemplateError as exc:
        print(f"certkit init: {exc}", file=sys.stderr)
        return 2
    model = text.split("  model: ", 1)[1].split()[0]
    target = _write(args.path, model, text, args.force)
    if target is None:
        return 2
    print(f"wrote {target} (a {args.category} profile; replace its TODOs)\n"
          f"next: certkit lint {target}")
    return 0


def _write(path: Path | None, name: str, text: str, force: bool) -> Path | None:
    """Writes the profile to `path` (a file, a folder, or ./NAME.yaml); None on failure."""
    target = path if path is not None else Path(f"{name}.yaml")
    if target.is_dir():
        target = target / f"{name}.yaml"
    try:
        with open(target, "w" if force else "x", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        print(f"certkit init: {target} exists (--force to overwrite it)", file=sys.stderr)
        return None
    except OSError as exc:
        print(f"certkit init: cannot write {target}: {exc.strerror}", file=sys.stderr)
        return None
    return target
