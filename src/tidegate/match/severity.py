"""Severity of a merged vulnerability: CVSS first (newest version wins), then the feed's own word, else UNKNOWN.

    rating = rate([(advisory, affected), …])
    rating.severity, rating.source     # Severity.MEDIUM, 'CVSS:3.1 (PYSEC-2023-74)'
    rating.scores                      # every CvssScore, base scores computed with the ``cvss`` library

Base scores are computed from the vectors, never copied from a feed. Of the vectors found (record-level
``severity[]`` and the matched ``affected[].severity``), the newest CVSS version present decides (v4.0 >
v3.1 > v3.0 > v2.0: a newer version is the better-defined measure), and among vectors of that version the
highest rating. A vector that does not parse is left out and reported in `Rating.warnings`, never fatal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cvss  # type: ignore[import-untyped]
from cvss.exceptions import CVSSError  # type: ignore[import-untyped]

from tidegate.model.finding import CvssScore, Severity
from tidegate.vulndb.schema import Advisory, Affected, SeverityScore

_VERSION_ORDER = ("2.0", "3.0", "3.1", "4.0")


@dataclass(frozen=True, slots=True)
class Rating:
    """The outcome of rating one vulnerability."""

    severity: Severity
    """The severity to show."""
    source: str
    """Where it came from: ``CVSS:3.1 (PYSEC-2023-74)``, ``feed (debian-tracker)`` or ``none``."""
    scores: tuple[CvssScore, ...] = ()
    """Every CVSS score found, sorted by version (newest first), then score (highest first)."""
    warnings: tuple[str, ...] = ()
    """One line per vector that was ignored because it does not parse."""


def cvss_score(entry: SeverityScore, source: str) -> CvssScore | None:
    """The `CvssScore` of one OSV ``severity[]`` entry; None when it is not a CVSS type.

    Raises `ValueError` for a CVSS entry whose vector does not parse.
    """
    vector = entry.score.strip()
    try:
        if entry.type == "CVSS_V2":
            v2 = cvss.CVSS2(vector.removeprefix("CVSS:2.0/"))
            return CvssScore(version="2.0", vector=vector, base_score=float(v2.base_score),
                             severity=Severity.parse(v2.severities()[0]), source=source)
        if entry.type == "CVSS_V3":
            v3 = cvss.CVSS3(vector)
            version = "3.1" if vector.startswith("CVSS:3.1/") else "3.0"
            return CvssScore(version=version, vector=vector, base_score=float(v3.base_score),
                             severity=Severity.parse(v3.severities()[0]), source=source)
        if entry.type == "CVSS_V4":
            v4 = cvss.CVSS4(vector)
            return CvssScore(version="4.0", vector=vector, base_score=float(v4.base_score),
                             severity=Severity.parse(v4.severity), source=source)
    except (CVSSError, ValueError, KeyError, IndexError) as e:
        raise ValueError(f"{source}: {entry.type} vector {vector[:80]!r} ignored ({e})") from e
    return None


def rate(matched: Iterable[tuple[Advisory, Affected]]) -> Rating:
    """The severity of one vulnerability from the advisories (and their matched entries) merged into it."""
    scores: dict[tuple[str, str], CvssScore] = {}
    warnings: list[str] = []
    words: list[tuple[Severity, str]] = []
    for adv, aff in matched:
        for entry in (*adv.severity, *aff.severity):
            try:
                score = cvss_score(entry, adv.id)
            except ValueError as e:
                warnings.append(str(e))
                continue
            if score is not None:
                scores.setdefault((score.vector, score.source), score)
            else:
                # A non-CVSS scheme (OSV's ``Ubuntu`` type) carries a word such as ``medium``.
                words.append((Severity.parse(entry.score), adv.source))
        for word in (aff.feed_severity, adv.feed_severity):
            if word:
                words.append((Severity.parse(word), adv.source))
    ordered = sorted(scores.values(), key=lambda s: (-_VERSION_ORDER.index(s.version), -s.severity.rank,
                                                     -s.base_score, s.source, s.vector))
    if ordered:
        best = ordered[0]
        return Rating(best.severity, f"CVSS:{best.version} ({best.source})", tuple(ordered), tuple(warnings))
    known = [(s, src) for s, src in words if s is not Severity.UNKNOWN]
    if known:
        severity, src = min(known, key=lambda w: (-w[0].rank, w[1]))
        return Rating(severity, f"feed ({src})", (), tuple(warnings))
    return Rating(Severity.UNKNOWN, "none", (), tuple(warnings))
