"""Is a package version affected by an OSV ``affected[]`` entry? The OSV evaluation, with its explanation::

    ev = evaluate(affected, "2.30.0")
    ev.affected, ev.fixed, ev.constraint      # True, ("2.31.0",), ">=0, <2.31.0"

This follows the "Evaluation" section of the OSV schema (https://ossf.github.io/osv-schema/#evaluation,
``IsVulnerable`` / ``IncludedInVersions`` / ``IncludedInRanges`` / ``BeforeLimits``):

1. A version is affected if it is listed in ``versions`` or lies in any range. An entry with neither
   ``ranges`` nor ``versions`` therefore affects nothing (the pseudo-code returns false for it; confirmed by
   the maintainers in https://github.com/ossf/osv-schema/issues/27: what is not listed is not affected).
2. Per range: if there are ``limit`` events, the version must be below one of them (``*`` is infinity).
3. Walk ``sorted(range.events)``: ``introduced`` (``"0"`` = before everything) sets vulnerable when
   v >= it; ``fixed`` clears it when v >= it; ``last_affected`` clears it when v > it.

``ECOSYSTEM`` ranges use the ecosystem's scheme, ``SEMVER`` ranges SemVer 2.0 precedence (Go versions are
mapped first: ``v1.2.3`` → ``1.2.3``, ``go1.22.1`` → ``1.22.1``), and ``GIT`` ranges cannot be evaluated
against a package version at all: each is reported in `RangeEvaluation.unevaluated`, as is any range whose
event version does not parse (that range then does not match). An installed version the ecosystem's scheme
cannot parse raises `InvalidVersion`: the matcher turns that into an unknown, never into "not affected".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tidegate.vulndb.schema import Affected, Event
from tidegate.vulndb.versions import InvalidVersion, scheme_for_ecosystem
from tidegate.vulndb.versions.go import GoVersionScheme
from tidegate.vulndb.versions.semver import SemverVersionScheme, semver_key

__all__ = ["RangeEvaluation", "evaluate"]

# Tie order for events at equal versions: an interval [X, X) is empty, [X, X] holds X.
_KIND_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}


@dataclass(frozen=True, slots=True)
class RangeEvaluation:
    """The outcome of evaluating one version against one `Affected` entry."""

    affected: bool
    """The version is affected by this entry."""
    fixed: tuple[str, ...]
    """Fix versions of the interval(s) that contain the version (empty: no fix known, or not affected)."""
    constraint: str
    """Human text of the matching interval(s), e.g. ``">=0, <2.31.0"`` or ``"in versions list"``."""
    unevaluated: tuple[str, ...]
    """One-line reasons for ranges that could not be evaluated (GIT range, unparsable event version, …)."""


@dataclass(frozen=True, slots=True)
class _Interval:
    introduced: str
    end_kind: str  # "fixed", "last_affected" or "" (open)
    end: str

    def text(self) -> str:
        if self.end_kind == "fixed":
            return f">={self.introduced}, <{self.end}"
        if self.end_kind == "last_affected":
            return f">={self.introduced}, <={self.end}"
        return f">={self.introduced}"


class _Unparsable(Exception):
    """An event version the range's ordering cannot parse."""


def evaluate(affected: Affected, version: str) -> RangeEvaluation:
    """Evaluate `version` against `affected` as the OSV spec says; `InvalidVersion` if `version` is bad."""
    scheme = scheme_for_ecosystem(affected.ecosystem)
    installed: list[Any] = []  # the installed key, parsed once and only when needed

    def installed_key() -> Any:
        if not installed:
            if scheme is None:
                raise InvalidVersion(f"no version scheme for ecosystem {affected.ecosystem!r}")
            installed.append(scheme.key(version))
        return installed[0]

    matches: list[str] = []
    fixed: list[str] = []
    unevaluated: list[str] = []

    # (1) IncludedInVersions: exact string equality, or equal keys under the ecosystem's scheme.
    if affected.versions and _in_versions(affected, version, scheme is not None, installed_key):
        matches.append("in versions list")

    # (1) IncludedInRanges.
    for i, rng in enumerate(affected.ranges):
        where = f"range {i} ({rng.type})"
        if rng.type == "GIT":
            unevaluated.append(f"{where}: GIT commit ranges cannot be evaluated against a package version")
            continue
        if rng.type == "ECOSYSTEM":
            if scheme is None:
                unevaluated.append(f"{where}: no version scheme for ecosystem {affected.ecosystem!r}")
                continue
            key_of: Callable[[str], Any] = scheme.key
            v = installed_key()
        elif rng.type == "SEMVER":
            key_of, v, reason = _semver_ordering(affected, version, scheme, installed_key)
            if reason:
                unevaluated.append(f"{where}: {reason}")
                continue
        else:  # schema.py admits only the three OSV types; never guess at a fourth
            unevaluated.append(f"{where}: unknown range type")
            continue
        try:
            hit = _in_range(rng.events, v, key_of)
        except _Unparsable as e:
            unevaluated.append(f"{where}: {e}")
            continue
        if hit is not None:
            matches.append(hit.text())
            if hit.end_kind == "fixed" and hit.end not in fixed:
                fixed.append(hit.end)

    return RangeEvaluation(affected=bool(matches), fixed=tuple(fixed), constraint=" || ".join(matches),
                           unevaluated=tuple(unevaluated))


def _in_versions(affected: Affected, version: str, has_scheme: bool, installed_key: Callable[[], Any]) -> bool:
    if version in affected.versions:
        return True
    if not has_scheme:
        return False
    scheme = scheme_for_ecosystem(affected.ecosystem)
    assert scheme is not None
    v = installed_key()
    for listed in affected.versions:
        try:
            if scheme.key(listed) == v:
                return True
        except InvalidVersion:
            continue  # a listed string that is not a version of this ecosystem cannot equal ours
    return False


def _semver_ordering(affected: Affected, version: str, scheme: Any,
                     installed_key: Callable[[], Any]) -> tuple[Callable[[str], Any], Any, str]:
    """(event key function, installed key, reason if it cannot be evaluated) for a SEMVER range."""
    if isinstance(scheme, (GoVersionScheme, SemverVersionScheme)):
        # Same key space as semver_key; the scheme maps "v1.2.3" / "go1.22.1" for the installed version.
        return semver_key, installed_key(), ""
    if scheme is not None:
        installed_key()  # an installed version invalid for its own ecosystem is an error, not a skip
    try:
        return semver_key, semver_key(version), ""
    except InvalidVersion:
        return semver_key, None, f"installed version {version[:80]!r} is not SemVer 2.0"


def _in_range(events: tuple[Event, ...], v: Any, key_of: Callable[[str], Any]) -> _Interval | None:
    """The interval of `events` that holds `v`, or None; `_Unparsable` names a bad event version."""
    keyed: list[tuple[tuple[Any, ...], Event]] = []
    limits: list[Any] = []
    for e in events:
        if e.kind == "introduced" and e.value == "0":
            keyed.append(((0,), e))
            continue
        if e.kind == "limit" and "*" in e.value:
            limits.append(None)  # "*" is infinity
            continue
        try:
            k = key_of(e.value)
        except InvalidVersion as err:
            raise _Unparsable(f"{e.kind} {e.value[:80]!r} does not parse") from err
        if e.kind == "limit":
            limits.append(k)
        else:
            keyed.append(((1, k, _KIND_ORDER[e.kind]), e))

    # (2) BeforeLimits: no limit events means an implicit "*".
    if limits and not any(lim is None or v < lim for lim in limits):
        return None

    # (3) The spec's walk over sorted events. NOTE: sort keys are (0,) for introduced "0" (below every
    # version) and (1, key, kind) otherwise, so keys of different types are never compared.
    keyed.sort(key=lambda pair: pair[0])
    vulnerable = False
    for sort_key, e in keyed:
        below_zero = sort_key == (0,)
        if e.kind == "introduced" and (below_zero or v >= sort_key[1]):
            vulnerable = True
        elif e.kind == "fixed" and v >= sort_key[1]:  # noqa: SIM114 - kept in the spec's shape
            vulnerable = False
        elif e.kind == "last_affected" and v > sort_key[1]:
            vulnerable = False
    if not vulnerable:
        return None
    return _interval_of(keyed, v)


def _interval_of(keyed: list[tuple[tuple[Any, ...], Event]], v: Any) -> _Interval:
    """The [introduced, end) interval that holds `v`, rebuilt from the sorted events (for explanations)."""
    best = _Interval("0", "", "")
    start: str | None = None
    for sort_key, e in keyed:
        if e.kind == "introduced":
            if start is None and (sort_key == (0,) or v >= sort_key[1]):
                start = e.value
            continue
        if start is None:
            continue
        if (e.kind == "fixed" and v < sort_key[1]) or (e.kind == "last_affected" and v <= sort_key[1]):
            return _Interval(start, e.kind, e.value)
        start = None  # this interval closed below v; a later introduced may open the one holding it
    if start is not None:
        best = _Interval(start, "", "")
    return best

