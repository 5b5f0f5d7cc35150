"""tidegate's own JSON scan report (``schemaVersion: "1"``, documented in docs/scan-json-format.md).

The wire model is a set of frozen pydantic models (``extra="forbid"``) kept private to this module; the domain
is converted in one place (`_to_wire`) and a document is read back strictly with `parse_scan_json`::

    data = VulnJsonFormat().render(report)
    doc = parse_scan_json(data)            # validates, returns the plain dict
    doc["summary"]["bySeverity"]["CRITICAL"], doc["verdict"]["failed"]
"""

from __future__ import annotations

from typing import Any

from tidegate.model.finding import CvssScore, MatchDetails, Unknown, VulnFinding
from tidegate.model.report import DbInfo, VulnReport
from tidegate.report.base import TOOL_NAME, tool_version, validate_document
from tidegate.report.checks_common import CheckWire
from tidegate.report.scan_base import SEVERITIES_ASCENDING, ScanFormat, sorted_findings
from tidegate.report.wire import DistroWire, ImageWire, LocationWire, SuppressionWire, ToolWire, Wire

SCHEMA_VERSION = "1"
"""Bumped on any incompatible change to the scan JSON schema (adding optional fields is compatible)."""


class _Db(Wire):
    """Wire form of ``db``."""

    path: str
    updated_at: str
    sources: list[str]
    schema_version: int
    advisories: int


class _Summary(Wire):
    """Wire form of ``summary``: active findings per severity, plus the suppressed count."""

    total: int
    by_severity: dict[str, int]
    suppressed: int
    secrets: int
    misconfigurations: int


class _Package(Wire):
    """Wire form of ``results[].package``."""

    id: str
    name: str
    version: str
    type: str
    purl: str


class _Cvss(Wire):
    """Wire form of ``results[].cvss[]``."""

    version: str
    vector: str
    base_score: float
    severity: str
    source: str


class _Match(Wire):
    """Wire form of ``results[].match``."""

    matcher: str
    ecosystem: str
    searched_name: str
    searched_version: str
    indirect: bool
    constraint: str


class _Layer(Wire):
    """Wire form of ``results[].layer``: the layer that brought the package in."""

    index: int
    diff_id: str
    created_by: str | None


class _Finding(Wire):
    """Wire form of ``results[]`` and ``suppressed[]``."""

    id: str
    aliases: list[str]
    severity: str
    severity_source: str
    cvss: list[_Cvss]
    title: str
    description: str
    package: _Package
    fix_state: str
    fixed_versions: list[str]
    advisories: list[str]
    data_sources: list[str]
    urls: list[str]
    published: str
    modified: str
    match: _Match | None
    layer: _Layer | None
    locations: list[LocationWire]
    suppression: SuppressionWire | None


class _Unknown(Wire):
    """Wire form of ``unknowns[]``."""

    source: str
    reason: str
    location: LocationWire | None


class _Verdict(Wire):
    """Wire form of ``verdict``."""

    fail_on: str | None
    failed: bool


class _Document(Wire):
    """Wire form of the whole document."""

    schema_version: str
    tool: ToolWire
    created: str
    image: ImageWire
    distro: DistroWire | None
    db: _Db | None
    summary: _Summary
    scanners: list[str]
    results: list[_Finding]
    suppressed: list[_Finding]
    secrets: list[CheckWire]
    misconfigurations: list[CheckWire]
    unknowns: list[_Unknown]
    warnings: list[str]
    verdict: _Verdict


def _db(db: DbInfo | None) -> _Db | None:
    if db is None:
        return None
    return _Db(
        path=db.path,
        updated_at=db.updated_at,
        sources=sorted(db.sources),
        schema_version=db.schema_version,
        advisories=db.advisories,
    )


def _cvss(c: CvssScore) -> _Cvss:
    return _Cvss(
        version=c.version, vector=c.vector, base_score=c.base_score, severity=c.severity.value, source=c.source
    )


def _match(m: MatchDetails | None) -> _Match | None:
    if m is None:
        return None
    return _Match(
        matcher=m.matcher,
        ecosystem=m.ecosystem,
        searched_name=m.searched_name,
        searched_version=m.searched_version,
        indirect=m.indirect,
        constraint=m.constraint,
    )


def _finding(f: VulnFinding) -> _Finding:
    primary = f.locations[0] if f.locations else None
    return _Finding(
        id=f.id,
        aliases=sorted(f.aliases),
        severity=f.severity.value,
        severity_source=f.severity_source,
        cvss=[_cvss(c) for c in sorted(f.cvss, key=lambda c: (c.version, c.vector, c.source))],
        title=f.title,
        description=f.description,
        package=_Package(
            id=f.package_id, name=f.package_name, version=f.package_version, type=f.package_type,
            purl=f.package_purl,
        ),
        fix_state=f.fix_state,
        fixed_versions=list(f.fixed_versions),
        advisories=sorted(f.advisories),
        data_sources=sorted(f.data_sources),
        urls=list(f.urls),
        published=f.published,
        modified=f.modified,
        match=_match(f.match),
        layer=None
        if primary is None
        else _Layer(index=primary.layer_index, diff_id=primary.diff_id, created_by=primary.created_by),
        locations=[LocationWire.of(loc) for loc in f.locations],
        suppression=SuppressionWire.of(f.suppression),
    )


def _unknown(u: Unknown) -> _Unknown:
    return _Unknown(
        source=u.source, reason=u.reason, location=None if u.location is None else LocationWire.of(u.location)
    )


def _to_wire(report: VulnReport) -> _Document:
    """The one domain → wire conversion."""
    counts = report.counts()
    return _Document(
        schema_version=SCHEMA_VERSION,
        tool=ToolWire(name=TOOL_NAME, version=tool_version(report.sbom)),
        created=report.sbom.created,
        image=ImageWire.of(report.sbom.image),
        distro=DistroWire.of(report.sbom.distro),
        db=_db(report.db),
        summary=_Summary(
            total=sum(counts.values()),
            by_severity={s.value: counts[s] for s in reversed(SEVERITIES_ASCENDING)},
            suppressed=len(report.suppressed),
            secrets=sum(1 for f in report.active_checks if f.category == "secret"),
            misconfigurations=sum(1 for f in report.active_checks if f.category == "misconfig"),
        ),
        scanners=list(report.scanners),
        results=[_finding(f) for f in sorted_findings(report.active)],
        suppressed=[_finding(f) for f in sorted_findings(report.suppressed)],
        secrets=[CheckWire.of(f) for f in report.checks if f.category == "secret"],
        misconfigurations=[CheckWire.of(f) for f in report.checks if f.category == "misconfig"],
        unknowns=[
            _unknown(u)
            for u in sorted(
                report.unknowns, key=lambda u: (u.location.path if u.location else "", u.source, u.reason)
            )
        ],
        warnings=list(report.warnings),
        verdict=_Verdict(fail_on=None if report.fail_on is None else report.fail_on.value, failed=report.failed),
    )


def parse_scan_json(data: bytes | str) -> dict[str, Any]:
    """Validate a tidegate JSON scan report strictly and return it as a plain dict (camelCase keys).

    Raises `InvalidReport` (one line naming the first bad field) when it does not match the schema.
    """
    doc = validate_document(_Document, data, what="tidegate JSON scan report", schema_version=SCHEMA_VERSION)
    return doc.model_dump(mode="json", by_alias=True)


class VulnJsonFormat(ScanFormat):
    """tidegate's own JSON scan report: every finding with its layer of origin, suppressions and verdict."""

    id = "json"
    aliases = ("tidegate-json",)
    media_type = "application/vnd.tidegate.scan+json"
    description = "tidegate's own JSON scan report (schemaVersion 1, documented in docs/scan-json-format.md)"

    def render(self, report: VulnReport, *, color: bool = False) -> bytes:
        """Render `report` as indented, deterministic JSON with a trailing newline; `color` is ignored."""
        return (_to_wire(report).model_dump_json(by_alias=True, indent=2) + "\n").encode("utf-8")
