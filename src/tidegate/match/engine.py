"""SBOM × advisory lookup → one explainable `VulnFinding` per (package, vulnerability), rated and suppressed.

    report = scan_vulnerabilities(sbom, db, MatchOptions(fail_on=Severity.HIGH, ignore=rules))
    report.failed, [f.id for f in report.active]

The steps, in order:

1. Each matcher of `MATCHERS` runs over the packages of its types (a type no matcher handles gives nothing).
2. Per package, raw matches whose id sets (`Advisory.all_ids`) intersect are one vulnerability (union-find:
   PYSEC + GHSA + CVE, GO + CVE, DEBIAN-CVE-x + CVE-x); each group becomes exactly one finding.
3. Severity per group (`severity.rate`).
4. Suppression: the ignore file, then VEX, then the feed's own "not affected" (``distro``). Suppressed
   findings stay in the report with the reason attached.
5. Filters: ``--severity`` and ``--ignore-unfixed`` drop findings from the report entirely.
6. Sort: severity (highest first), then id, then package.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tidegate.match.base import AdvisoryLookup, MatchContext, RawMatch
from tidegate.match.registry import MATCHERS
from tidegate.match.severity import rate
from tidegate.match.suppress import IgnoreRules, VexDocument, vex_suppression
from tidegate.model.finding import Severity, Suppression, Unknown, VulnFinding
from tidegate.model.package import Package
from tidegate.model.report import DbInfo, VulnReport
from tidegate.model.sbom import Sbom
from tidegate.vulndb.versions import scheme_for_ecosystem
from tidegate.vulndb.versions.base import InvalidVersion

GO_PLACEHOLDER_TIME = "0001-01-01T00:00:00Z"
"""The time golang/vulndb writes in ``published``/``modified`` of its repository records: not a real date."""


@dataclass(frozen=True, slots=True)
class MatchOptions:
    """What to keep, what to suppress and when the scan fails."""

    severities: frozenset[Severity] | None = None
    """Keep only findings of these severities (``--severity``); None keeps all."""
    ignore_unfixed: bool = False
    """Drop findings with no fix version (``--ignore-unfixed``)."""
    fail_on: Severity | None = None
    """The report fails when an active finding is at or above this severity (``--fail-on``)."""
    ignore: IgnoreRules | None = None
    """Entries of an ignore file."""
    vex: tuple[VexDocument, ...] = field(default=())
    """OpenVEX documents, in the order given (a later document wins a timestamp tie)."""
    today: dt.date | None = None
    """The date ignore-file expiry is judged against (default: today)."""


def _union_find(groups: Sequence[frozenset[str]]) -> list[list[int]]:
    """Indices of `groups` partitioned so that sets sharing any id end up together."""
    parent = list(range(len(groups)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i, ids in enumerate(groups):
        for vid in ids:
            if vid in owner:
                a, b = find(owner[vid]), find(i)
                if a != b:
                    parent[max(a, b)] = min(a, b)
            else:
                owner[vid] = i
    parts: dict[int, list[int]] = defaultdict(list)
    for i in range(len(groups)):
        parts[find(i)].append(i)
    return [parts[k] for k in sorted(parts)]


@functools.lru_cache(maxsize=65536)
def _version_key(ecosystem: str, version: str) -> tuple[int, Any]:
    scheme = scheme_for_ecosystem(ecosystem)
    if scheme is None:
        return (1, version)
    try:
        return (0, scheme.key(version))
    except InvalidVersion:
        return (1, version)


def _sort_versions(ecosystem: str, versions: Iterable[str]) -> tuple[str, ...]:
    """Sorted by the ecosystem's scheme; versions it cannot parse go last, in string order."""
    unique = set(versions)
    try:
        return tuple(sorted(unique, key=lambda v: (_version_key(ecosystem, v), v)))
    except TypeError:  # keys of two schemes never meet here, but a scheme's key may not order with a str
        return tuple(sorted(unique))


def _real_time(value: str) -> str:
    return "" if not value or value == GO_PLACEHOLDER_TIME else value


def merge(pkg: Package, matches: Sequence[RawMatch]) -> tuple[list[VulnFinding], list[str]]:
    """One finding per vulnerability of `pkg` (matches merged by alias), plus rating warnings."""
    findings: list[VulnFinding] = []
    warnings: list[str] = []
    id_sets = [frozenset(m.advisory.all_ids) for m in matches]
    for part in _union_find(id_sets):
        group = sorted((matches[i] for i in part), key=lambda m: (m.advisory.id, m.affected.name))
        ids = set().union(*(id_sets[i] for i in part))
        cves = sorted(i for i in ids if i.startswith("CVE-"))
        shown = cves[0] if cves else min(ids)
        affected = [m for m in group if not m.not_affected]
        rating = rate((m.advisory, m.affected) for m in group)
        warnings.extend(rating.warnings)
        first = (affected or group)[0]
        urls: dict[str, None] = {}
        for m in group:
            urls.update(dict.fromkeys(m.advisory.references))
        published = sorted(p for m in group if (p := _real_time(m.advisory.published)))
        modified = sorted(t for m in group if (t := _real_time(m.advisory.modified)))
        suppression = None
        if not affected:
            feeds = ", ".join(sorted({m.advisory.source for m in group}))
            suppression = Suppression(kind="distro", reason=f"not affected according to {feeds}", source=feeds)
        findings.append(VulnFinding(
            id=shown,
            aliases=tuple(sorted(ids - {shown})),
            package_id=pkg.id,
            package_name=pkg.name,
            package_version=pkg.version,
            package_type=pkg.type,
            package_purl=pkg.purl,
            severity=rating.severity,
            severity_source=rating.source,
            cvss=rating.scores,
            title=next((m.advisory.summary.strip() for m in group if m.advisory.summary.strip()), ""),
            description=next((m.advisory.details for m in group if m.advisory.details.strip()), ""),
            fixed_versions=_sort_versions(first.details.ecosystem, (v for m in affected for v in m.fixed_versions)),
            advisories=tuple(sorted({m.advisory.id for m in group})),
            data_sources=tuple(sorted({m.advisory.source for m in group})),
            urls=tuple(urls),
            published=published[0] if published else "",
            modified=modified[-1] if modified else "",
            match=first.details,
            locations=pkg.locations,
            suppression=suppression,
        ))
    return findings, warnings


def _image_digests(sbom: Sbom) -> frozenset[str]:
    img = sbom.image
    return frozenset(d for d in (img.manifest_digest, img.index_digest) if d)


def scan_vulnerabilities(sbom: Sbom, db: AdvisoryLookup, options: MatchOptions | None = None, *,
                         db_info: DbInfo | None = None) -> VulnReport:
    """Match every package of `sbom` against `db` and apply `options` (see the module docstring)."""
    opts = options or MatchOptions()
    today = opts.today or dt.date.today()
    ctx = MatchContext(db=db, distro=sbom.distro)
    by_type: dict[str, list[Package]] = defaultdict(list)
    for p in sbom.packages:
        by_type[p.type].append(p)

    # (1) run the matchers; (2) merge per package.
    findings: list[VulnFinding] = []
    unknowns: list[Unknown] = []
    warnings: list[str] = []
    for matcher in MATCHERS:
        pkgs = [p for t in matcher.package_types for p in by_type.get(t, ())]
        if not pkgs:
            continue
        for pkg, out in matcher.match_all(pkgs, ctx):
            unknowns.extend(out.unknowns)
            if out.matches:
                merged, warns = merge(pkg, out.matches)
                findings.extend(merged)
                warnings.extend(warns)

    # (4) suppressions: the ignore file, then VEX, then the feed's not-affected (already set by `merge`).
    if opts.ignore is not None:
        for e in opts.ignore.expired(today):
            warnings.append(f"{e.file}:{e.line}: ignore entry {e.id} expired on {e.expires}; not applied")
    digests = _image_digests(sbom)
    suppressed: list[VulnFinding] = []
    for f in findings:
        sup = opts.ignore.suppression_for(f, today) if opts.ignore is not None else None
        if sup is None and opts.vex:
            sup = vex_suppression(opts.vex, f, digests)
        suppressed.append(f if sup is None else _with_suppression(f, sup))

    # (5) filters remove findings from the report (they are not "suppressed").
    kept = [f for f in suppressed
            if (opts.severities is None or f.severity in opts.severities)
            and not (opts.ignore_unfixed and not f.fixed_versions)]

    # (6) deterministic order.
    kept.sort(key=lambda f: (-f.severity.rank, f.id, f.package_name, f.package_version, f.package_id))
    return VulnReport(
        sbom=sbom,
        findings=tuple(kept),
        db=db_info,
        unknowns=tuple(dict.fromkeys(unknowns)),
        warnings=tuple(dict.fromkeys(warnings)),
        fail_on=opts.fail_on,
    )


def _with_suppression(f: VulnFinding, sup: Suppression) -> VulnFinding:
    return replace(f, suppression=sup)


def coverage_warnings(sbom: Sbom, present: frozenset[str]) -> list[str]:
    """One warning per ecosystem the SBOM's packages need but the database has no advisory for.

    A database without the image's feeds (never imported, or another distribution's) would otherwise report
    "no vulnerabilities" for those packages: a silent pass is the one answer a gate must never give wrongly.
    """
    from tidegate.match.distro import feed_ecosystems
    from tidegate.match.language import ECOSYSTEMS
    needed: dict[str, int] = defaultdict(int)
    for p in sbom.packages:
        if p.type in ("deb", "apk", "rpm"):
            for eco in (feed_ecosystems(sbom.distro) if sbom.distro else ()):
                needed[eco] += 1
        elif p.type in ECOSYSTEMS:
            needed[ECOSYSTEMS[p.type]] += 1
    return [f"the vulnerability database has no advisories for {eco} ({n} package{'s' if n != 1 else ''} in "
            f"this image): their vulnerabilities cannot be found; import that feed (`tidegate db import`/`update`)"
            for eco, n in sorted(needed.items()) if eco not in present]
