"""The feed-independent advisory: what every importer produces and what the matchers read.

It follows the OSV schema (https://ossf.github.io/osv-schema/) field for field, because OSV is the richest of
the feeds we read and the others (Alpine secdb, the Debian security tracker) map onto it without loss::

    adv = Advisory.from_osv(json.loads(text), source="osv:PyPI")
    adv.id, adv.aliases, adv.affected[0].ranges[0].events
    adv.to_osv()   # back to an OSV dict (this is what the store keeps)

`Advisory.from_osv` is the one boundary where wire data is checked: it raises `InvalidAdvisory` with a
one-line reason naming the field, and never guesses at a shape it does not know.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tidegate.errors import TidegateError

EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")
"""The OSV range event kinds, each exactly as the spec names it."""

RANGE_TYPES = ("ECOSYSTEM", "SEMVER", "GIT")
"""OSV range types."""

MAX_TEXT = 4096
"""Summaries and details are cut to this many characters when stored (a report needs a line, not a novel)."""


class InvalidAdvisory(TidegateError):
    """A feed record that does not have the shape its format requires."""


@dataclass(frozen=True, slots=True)
class Event:
    """One OSV range event: ``introduced``, ``fixed``, ``last_affected`` or ``limit`` at a version."""

    kind: str
    """One of `EVENT_KINDS`."""
    value: str
    """The version (or commit for GIT ranges); ``"0"`` for introduced means "from the beginning"."""


@dataclass(frozen=True, slots=True)
class Range:
    """An OSV ``ranges[]`` entry."""

    type: str
    """``ECOSYSTEM``, ``SEMVER`` or ``GIT``."""
    events: tuple[Event, ...]
    """Events in feed order."""
    repo: str = ""
    """Repository URL for GIT ranges."""


@dataclass(frozen=True, slots=True)
class SeverityScore:
    """An OSV ``severity[]`` entry: a CVSS vector (or another scheme's score string)."""

    type: str
    """``CVSS_V2``, ``CVSS_V3``, ``CVSS_V4``, ``Ubuntu``, …"""
    score: str
    """The vector string (``CVSS:3.1/AV:N/…``) or the scheme's value."""


@dataclass(frozen=True, slots=True)
class Affected:
    """An OSV ``affected[]`` entry: one package in one ecosystem and the versions of it that are affected."""

    ecosystem: str
    """Full OSV ecosystem string as the feed keys it: ``PyPI``, ``Go``, ``Debian:12``, ``Alpine:v3.18``."""
    name: str
    """Package name as the feed writes it (Debian/Alpine: the source package)."""
    purl: str = ""
    """``package.purl`` when given."""
    ranges: tuple[Range, ...] = ()
    """Affected ranges."""
    versions: tuple[str, ...] = ()
    """Explicitly enumerated affected versions."""
    severity: tuple[SeverityScore, ...] = ()
    """Per-package severity (OSV 1.6 ``affected[].severity``)."""
    feed_severity: str = ""
    """The feed's own severity word for this package (``ecosystem_specific``/``database_specific``
    ``severity``, Debian ``urgency``), used when no CVSS vector is given."""
    not_affected: bool = False
    """True when the feed says this package is NOT affected (Debian tracker ``not-affected``, Alpine secdb
    fix version ``0``): a matcher turns it into an explicit suppression rather than a finding."""
    imports: tuple[str, ...] = ()
    """Go: the affected package import paths (``ecosystem_specific.imports[].path``), kept for reports."""

    @property
    def ecosystem_base(self) -> str:
        """The ecosystem without its release suffix (``Debian:12`` → ``Debian``)."""
        return self.ecosystem.split(":", 1)[0]


@dataclass(frozen=True, slots=True)
class Advisory:
    """One vulnerability record of one feed."""

    id: str
    """The record id (``PYSEC-2021-19``, ``GO-2024-2687``, ``DEBIAN-CVE-2024-1234``, ``CVE-2020-1234``)."""
    source: str
    """The feed it came from (``osv:PyPI``, ``alpine-secdb:v3.11/main``, ``debian-tracker``)."""
    modified: str
    """RFC 3339 ``modified`` time as the feed gives it."""
    aliases: tuple[str, ...] = ()
    """Other ids for the same vulnerability (CVE, GHSA, …); merged at match time."""
    related: tuple[str, ...] = ()
    """``related`` ids (not merged: related is not the same vulnerability)."""
    published: str = ""
    """RFC 3339 ``published`` time, when given."""
    withdrawn: str = ""
    """RFC 3339 ``withdrawn`` time; a withdrawn record never matches."""
    summary: str = ""
    """One-line summary (or the first line of details)."""
    details: str = ""
    """Longer description, cut to `MAX_TEXT`."""
    severity: tuple[SeverityScore, ...] = ()
    """Record-level severity scores."""
    feed_severity: str = ""
    """The feed's own severity word (GHSA ``database_specific.severity``), used when no vector is given."""
    references: tuple[str, ...] = ()
    """Reference URLs (advisory first when the feed marks one)."""
    affected: tuple[Affected, ...] = ()
    """Affected packages."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """``database_specific`` of the record, kept verbatim for reports (evidence of derived records)."""

    @property
    def all_ids(self) -> tuple[str, ...]:
        """The id followed by its aliases."""
        return (self.id, *self.aliases)

    # -- OSV wire format ------------------------------------------------------------------------------
    @classmethod
    def from_osv(cls, data: object, *, source: str) -> Advisory:
        """Parse an OSV record (a dict as ``json.loads`` gives it); raises `InvalidAdvisory`."""
        if not isinstance(data, Mapping):
            raise InvalidAdvisory("record is not a JSON object")
        rid = _req_str(data, "id")
        modified = _req_str(data, "modified")
        affected = tuple(
            _affected(a, f"affected[{i}]") for i, a in enumerate(_list(data, "affected"))
        )
        db_specific = data.get("database_specific")
        return cls(
            id=rid,
            source=source,
            modified=modified,
            aliases=tuple(a for a in _str_list(data, "aliases") if a != rid),
            related=_str_list(data, "related"),
            published=_opt_str(data, "published"),
            withdrawn=_opt_str(data, "withdrawn"),
            summary=_opt_str(data, "summary")[:MAX_TEXT],
            details=_opt_str(data, "details")[:MAX_TEXT],
            severity=_severity_list(data, "severity"),
            feed_severity=_severity_word(db_specific),
            references=tuple(
                str(r["url"]) for r in _list(data, "references") if isinstance(r, Mapping) and r.get("url")
            ),
            affected=affected,
            extra=dict(db_specific) if isinstance(db_specific, Mapping) else {},
        )

    def to_osv(self) -> dict[str, Any]:
        """The record as an OSV dict (what the store keeps); `from_osv` of it gives back an equal advisory."""
        out: dict[str, Any] = {"id": self.id, "modified": self.modified}
        for key, value in (("published", self.published), ("withdrawn", self.withdrawn),
                           ("summary", self.summary), ("details", self.details)):
            if value:
                out[key] = value
        if self.aliases:
            out["aliases"] = list(self.aliases)
        if self.related:
            out["related"] = list(self.related)
        if self.severity:
            out["severity"] = [{"type": s.type, "score": s.score} for s in self.severity]
        if self.references:
            out["references"] = [{"type": "WEB", "url": u} for u in self.references]
        extra = dict(self.extra)
        if self.feed_severity and not _severity_word(extra):
            extra["severity"] = self.feed_severity
        if extra:
            out["database_specific"] = extra
        out["affected"] = [_affected_to_osv(a) for a in self.affected]
        return out


def _affected_to_osv(a: Affected) -> dict[str, Any]:
    pkg: dict[str, Any] = {"ecosystem": a.ecosystem, "name": a.name}
    if a.purl:
        pkg["purl"] = a.purl
    out: dict[str, Any] = {"package": pkg}
    if a.ranges:
        out["ranges"] = [
            {"type": r.type, **({"repo": r.repo} if r.repo else {}),
             "events": [{e.kind: e.value} for e in r.events]}
            for r in a.ranges
        ]
    if a.versions:
        out["versions"] = list(a.versions)
    if a.severity:
        out["severity"] = [{"type": s.type, "score": s.score} for s in a.severity]
    specific: dict[str, Any] = {}
    if a.feed_severity:
        specific["severity"] = a.feed_severity
    if a.not_affected:
        specific["not_affected"] = True
    if a.imports:
        specific["imports"] = [{"path": p} for p in a.imports]
    if specific:
        out["ecosystem_specific"] = specific
    return out


# -- field helpers: each names the field it rejects ---------------------------------------------------
def _req_str(data: Mapping[str, Any], key: str, where: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidAdvisory(f"{where}{key}: missing or not a non-empty string")
    return value.strip()


def _opt_str(data: Mapping[str, Any], key: str, where: str = "") -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidAdvisory(f"{where}{key}: not a string")
    return value


def _list(data: Mapping[str, Any], key: str, where: str = "") -> Sequence[Any]:
    value = data.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise InvalidAdvisory(f"{where}{key}: not a list")
    return value


def _str_list(data: Mapping[str, Any], key: str, where: str = "") -> tuple[str, ...]:
    items = _list(data, key, where)
    if not all(isinstance(x, str) for x in items):
        raise InvalidAdvisory(f"{where}{key}: not a list of strings")
    return tuple(items)


def _severity_list(data: Mapping[str, Any], key: str, where: str = "") -> tuple[SeverityScore, ...]:
    out = []
    for i, s in enumerate(_list(data, key, where)):
        if not isinstance(s, Mapping):
            raise InvalidAdvisory(f"{where}{key}[{i}]: not an object")
        out.append(SeverityScore(type=_req_str(s, "type", f"{where}{key}[{i}]."),
                                 score=_req_str(s, "score", f"{where}{key}[{i}].")))
    return tuple(out)


def _severity_word(specific: object) -> str:
    if isinstance(specific, Mapping):
        word = specific.get("severity")
        if isinstance(word, str):
            return word.strip()
    return ""


def _affected(a: object, where: str) -> Affected:
    if not isinstance(a, Mapping):
        raise InvalidAdvisory(f"{where}: not an object")
    pkg = a.get("package")
    if not isinstance(pkg, Mapping):
        raise InvalidAdvisory(f"{where}.package: missing or not an object")
    ranges = []
    for i, r in enumerate(_list(a, "ranges", f"{where}.")):
        rw = f"{where}.ranges[{i}]"
        if not isinstance(r, Mapping):
            raise InvalidAdvisory(f"{rw}: not an object")
        rtype = _req_str(r, "type", f"{rw}.")
        if rtype not in RANGE_TYPES:
            raise InvalidAdvisory(f"{rw}.type: unknown range type {rtype[:40]!r}")
        events = []
        for j, e in enumerate(_list(r, "events", f"{rw}.")):
            if not isinstance(e, Mapping) or len(e) != 1:
                raise InvalidAdvisory(f"{rw}.events[{j}]: not an object with exactly one event")
            ((kind, value),) = e.items()
            if kind not in EVENT_KINDS or not isinstance(value, str) or not value:
                raise InvalidAdvisory(f"{rw}.events[{j}]: bad event {str(kind)[:40]!r}")
            events.append(Event(kind=kind, value=value))
        if not events:
            raise InvalidAdvisory(f"{rw}.events: empty")
        ranges.append(Range(type=rtype, events=tuple(events), repo=_opt_str(r, "repo", f"{rw}.")))
    specific = a.get("ecosystem_specific")
    db_specific = a.get("database_specific")
    imports: tuple[str, ...] = ()
    if isinstance(specific, Mapping) and isinstance(specific.get("imports"), list):
        imports = tuple(str(i["path"]) for i in specific["imports"] if isinstance(i, Mapping) and i.get("path"))
    return Affected(
        ecosystem=_req_str(pkg, "ecosystem", f"{where}.package."),
        name=_req_str(pkg, "name", f"{where}.package."),
        purl=_opt_str(pkg, "purl", f"{where}.package."),
        ranges=tuple(ranges),
        versions=_str_list(a, "versions", f"{where}."),
        severity=_severity_list(a, "severity", f"{where}."),
        feed_severity=_severity_word(specific) or _severity_word(db_specific),
        not_affected=bool(isinstance(specific, Mapping) and specific.get("not_affected") is True),
        imports=imports,
    )


_PEP503 = re.compile(r"[-_.]+")


def normalize_name(ecosystem: str, name: str) -> str:
    """The key a package name is stored and looked up by in `ecosystem`.

    PyPI names are normalised as PEP 503 says (``Foo_Bar.baz`` → ``foo-bar-baz``); npm and the OS ecosystems
    compare lower-case; Go module paths, Maven ``group:artifact`` and others are kept exactly (Go paths are
    case-sensitive).
    """
    base = ecosystem.split(":", 1)[0]
    if base == "PyPI":
        return _PEP503.sub("-", name).lower()
    if base in ("npm", "Debian", "Ubuntu", "Alpine", "crates.io", "NuGet", "RubyGems"):
        return name.lower()
    return name
