"""A standard certkit certifies against: one object, registered under the entry-point group
`certkit.standards` (certkit's own ECS-1.0 is listed in pyproject like any third party's).

It carries everything that is the standard's rather than certkit's: its name, its rule
catalogue and run order (`rules.yaml`), its device categories, its facts (formats, limits,
codes), the design checks it runs on a profile, and the pytest package of its suite. Its
parts are named as `package` / `module:ATTRIBUTE` strings and loaded on first use, so that
listing the standards imports none of their checks.
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.util
from collections.abc import Iterable, Mapping
from functools import cached_property
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from certkit.profile.yaml12 import load_yaml
from certkit.standard.catalogue import Catalogue, extended, load_catalogue
from certkit.standard.categories import CategoryRegistry, load_categories

if TYPE_CHECKING:
    from certkit.design.findings import DesignCheck

QUALIFIER = ":"  # ECS-1.0:SER-004, as custom:LAB-001


def _resolve(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    loaded = importlib.import_module(module)
    return getattr(loaded, attribute) if attribute else loaded


class Standard:
    """One standard: ECS-1.0, or a third party's.

    - `name`: how profiles (`standard:`), records and qualified rule IDs name it ("ECS-1.0");
      its catalogue's `standard:` must say the same;
    - `data`: the package holding `rules.yaml` (and `categories.yaml` when it has one);
    - `suite`: the package of its pytest suite, one test per rule (`certkit_rule("ID")`);
    - `design`: `module:ATTRIBUTE` of its design checks, {rule ID: check(data, report)},
      run on a profile of the right shape, in that order;
    - `document_rules`: its rules on the profile document itself, recorded with its design
      rules (ECS-1.0's PRF-001..003, which lint reports whatever standard a profile names:
      the profile format is certkit's);
    - `facts`: the module of its facts that are not rules (formats, units, codes), if any;
    - `profile_formats`: the profile formats (`certkit:`) it reads;
    - `url`: where its text is, for the reports' links to a rule's section (`URL#section-5`).
    """

    def __init__(self, name: str, *, title: str, data: str, suite: str, design: str | None = None,
                 document_rules: tuple[str, ...] = (), facts: str | None = None,
                 profile_formats: frozenset[int] = frozenset({1}),
                 categories_file: str | None = "categories.yaml", url: str | None = None) -> None:
        self.name = name
        self.title = title
        self.data = data
        self.suite = suite
        self.design = design
        self.document_rules = document_rules
        self.facts_module = facts
        self.profile_formats = profile_formats
        self.categories_file = categories_file
        self.url = url

    def __repr__(self) -> str:
        return f"Standard({self.name!r})"

    @cached_property
    def catalogue(self) -> Catalogue:
        found = load_catalogue(resources.files(self.data).joinpath("rules.yaml"))
        if found.standard != self.name:
            raise ValueError(f"{self.data}/rules.yaml is the catalogue of {found.standard}, "
                             f"not of {self.name}")
        return found

    @cached_property
    def categories(self) -> CategoryRegistry | None:
        if self.categories_file is None:
            return None
        return load_categories(resources.files(self.data).joinpath(self.categories_file))

    @cached_property
    def design_checks(self) -> Mapping[str, DesignCheck]:
        return dict(_resolve(self.design)) if self.design else {}

    @property
    def design_rules(self) -> tuple[str, ...]:
        """Every rule checked on the profile alone: the document's, then the design checks'."""
        return (*self.document_rules, *self.design_checks)

    @cached_property
    def facts(self) -> ModuleType | None:
        return _resolve(self.facts_module) if self.facts_module else None

    @property
    def timing_limits_ms(self) -> Mapping[str, int]:
        """The limits a profile's `timing` keys tighten (ECS-1.0 section 10), from its facts'
        TIMING_LIMITS_MS; ECS-1.0's where it has none (the profile format's keys)."""
        own = getattr(self.facts, "TIMING_LIMITS_MS", None)
        if own is None:
            from certkit.standard.ecs1 import TIMING_LIMITS_MS

            own = TIMING_LIMITS_MS
        return dict(own)

    def suite_folder(self) -> Path:
        return Path(str(resources.files(self.suite)))

    def suite_files(self) -> list[tuple[str, Path]]:
        """The files whose sha256 make the suite's: the suite package and the catalogue, as
        (path relative to the folder holding the top-level package, file), sorted by path."""
        suite = self.suite_folder()
        top = Path(str(resources.files(self.suite.split(".")[0]))).parent
        files = [p for p in suite.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        files.append(Path(str(resources.files(self.data).joinpath("rules.yaml"))))
        named = [(p.relative_to(top).as_posix(), p) for p in files]
        named += [*self.added_files, *self.added_modules]
        return sorted(named, key=lambda pair: pair[0].encode("utf-8"))

    # Set on the copy `with_transports` makes: the transports' catalogue files and suite
    # modules, as (path relative to the folder holding its top-level package, file).
    added_files: tuple[tuple[str, Path], ...] = ()
    added_modules: tuple[tuple[str, Path], ...] = ()

    def with_transports(self, names: Iterable[str]) -> Standard:
        """This standard as a profile declaring the transports `names` is certified
        against: with the rules those transports add to it (`Transport.rules`) and the test
        modules that check them (`Transport.suite_modules`); itself when they add none."""
        return _with_transports(self, tuple(names))

    def suite_paths(self) -> list[Path]:
        """What a run collects: the suite package's folder and any added test modules."""
        return [self.suite_folder(), *(path for _, path in self.added_modules)]

    def qualified(self, rule_id: str) -> str:
        """A rule's ID as it leaves the process: ECS-1.0:SER-004 (custom:LAB-001 as it is)."""
        if rule_id.startswith("custom:") or QUALIFIER in rule_id:
            return rule_id
        return f"{self.name}{QUALIFIER}{rule_id}"


@functools.cache
def _with_transports(base: Standard, names: tuple[str, ...]) -> Standard:
    from certkit.transports import transports

    catalogue = base.catalogue
    files: list[tuple[str, Path]] = []
    modules: list[tuple[str, Path]] = []
    for name in names:
        carrier = transports().get(name)
        adds = [source for source in (carrier.rules() if carrier else ())
                if load_yaml(source.read_text("utf-8")).value.get("standard") == base.name]
        if carrier is None or not adds:
            continue
        top = Path(str(resources.files(type(carrier).__module__.split(".")[0]))).parent
        for source in adds:
            catalogue = extended(catalogue, source, f"the {name} transport")
            files.append(_named(Path(str(source)), top))
        for module in carrier.suite_modules():
            spec = importlib.util.find_spec(module)
            if spec is None or spec.origin is None:
                raise ValueError(f"the {name} transport's suite module {module} is not "
                                 "installed")
            modules.append(_named(Path(spec.origin), top))
    if catalogue is base.catalogue:
        return base
    derived = copy.copy(base)
    derived.__dict__["catalogue"] = catalogue
    derived.added_files, derived.added_modules = tuple(files), tuple(modules)
    return derived


def _named(path: Path, top: Path) -> tuple[str, Path]:
    return (path.relative_to(top).as_posix() if path.is_relative_to(top) else path.name, path)
