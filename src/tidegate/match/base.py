"""The matcher contract: a package plus an advisory lookup in, raw matches out.

    class PythonMatcher(Matcher):
        name = "language"
        package_types = ("pypi",)
        def match(self, pkg, ctx): ...

Matchers are listed once in ``match/registry.py`` (`MATCHERS`); ``match/engine.py`` runs them over an SBOM,
merges raw matches of the same vulnerability (by alias) into one `VulnFinding` per package, rates severity
and applies suppressions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar, Protocol

from tidegate.model.distro import Distro
from tidegate.model.finding import MatchDetails, Unknown
from tidegate.model.package import Package
from tidegate.vulndb.schema import Advisory, Affected


class AdvisoryLookup(Protocol):
    """What matchers need of a vulnerability database (``vulndb.store.VulnDb`` implements it)."""

    def advisories_for(self, ecosystem: str, name: str) -> Sequence[Advisory]:
        """Every non-withdrawn advisory with an ``affected`` entry for (`ecosystem`, `name`).

        `ecosystem` is the full OSV string as feeds key it (``Debian:12``, ``Alpine:v3.18``, ``PyPI``, ``Go``);
        `name` is normalised with ``vulndb.schema.normalize_name`` by the store, so callers may pass it raw.
        """


@dataclass(frozen=True, slots=True)
class MatchContext:
    """Everything a matcher may consult besides the package."""

    db: AdvisoryLookup
    """The advisory lookup."""
    distro: Distro | None
    """The image's OS release (None when unknown)."""


@dataclass(frozen=True, slots=True)
class RawMatch:
    """One advisory's affected entry that covers one package (before alias merging)."""

    advisory: Advisory
    """The matching record."""
    affected: Affected
    """The ``affected[]`` entry that matched."""
    fixed_versions: tuple[str, ...]
    """Fix versions from the range that contains the installed version (empty: no fix)."""
    details: MatchDetails
    """How the match was made."""
    not_affected: bool = False
    """True when the feed says the package is NOT affected: becomes a ``distro`` suppression, not a finding."""


@dataclass(frozen=True, slots=True)
class MatchOutput:
    """A matcher's answer for one package."""

    matches: tuple[RawMatch, ...] = ()
    """Matches found."""
    unknowns: tuple[Unknown, ...] = ()
    """Why (part of) the package could not be evaluated (unparsable version, GIT-only ranges, …)."""


class Matcher(ABC):
    """Finds advisories affecting packages of some types."""

    name: ClassVar[str]
    """Stable id (``distro``, ``language``, ``go-stdlib``), shown in `MatchDetails.matcher`."""
    package_types: ClassVar[tuple[str, ...]]
    """purl types it handles (``deb``, ``apk``; ``pypi``, ``npm``, ``golang``)."""

    @abstractmethod
    def match(self, pkg: Package, ctx: MatchContext) -> MatchOutput:
        """Matches for `pkg`; never raises for bad feed data or versions (those become unknowns)."""

    def match_all(self, pkgs: Iterable[Package], ctx: MatchContext) -> list[tuple[Package, MatchOutput]]:
        """Batch form; the default loops over `match` (a bulk backend may override it)."""
        return [(p, self.match(p, ctx)) for p in pkgs]
