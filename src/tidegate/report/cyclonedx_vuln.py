"""CycloneDX 1.6 JSON for ``tidegate scan``: the SBOM's components plus a ``vulnerabilities`` section.

Each vulnerability (one per id) ``affects`` the bom-refs of the components it was found in, as the CycloneDX
1.6 vulnerability model prescribes (https://cyclonedx.org/docs/1.6/json/#vulnerabilities). Ratings carry the
CVSS vectors and scores the severity came from; a finding with no vector gets one rating holding the feed's own
severity word. A suppressed finding keeps its row with an ``analysis`` (VEX ``not_affected`` → state
``not_affected`` with the mapped justification, ``fixed`` → ``resolved``, an ignore-file entry → response
``will_not_fix``) so Dependency-Track and other consumers see the same decision::

    data = json.loads(CycloneDxVulnJsonFormat().render(report))
    data["vulnerabilities"][0]["affects"][0]["ref"]   # the bom-ref of a component in data["components"]
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from tidegate.model.finding import Severity, VulnFinding
from tidegate.model.report import VulnReport
from tidegate.report.scan_base import ScanFormat, sorted_findings

if TYPE_CHECKING:
    from cyclonedx.model.component import Component
    from cyclonedx.model.vulnerability import Vulnerability, VulnerabilityAnalysis, VulnerabilityRating

_NS = "tidegate"

_OPENVEX_TO_CDX_JUSTIFICATION = {
    # OpenVEX justification → CycloneDX impact-analysis justification (CISA "VEX Status Justification"
    # mapping; the closest CycloneDX term where there is no exact one).
    "component_not_present": "code_not_present",
    "vulnerable_code_not_present": "code_not_present",
    "vulnerable_code_not_in_execute_path": "code_not_reachable",
    "vulnerable_code_cannot_be_controlled_by_adversary": "protected_by_mitigating_control",
    "inline_mitigations_already_exist": "protected_by_mitigating_control",
}


def _time(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _ratings(f: VulnFinding) -> list[VulnerabilityRating]:
    from cyclonedx.model.vulnerability import (
        VulnerabilityRating,
        VulnerabilityScoreSource,
        VulnerabilitySeverity,
        VulnerabilitySource,
    )

    methods = {"2.0": VulnerabilityScoreSource.CVSS_V2, "3.0": VulnerabilityScoreSource.CVSS_V3,
               "3.1": VulnerabilityScoreSource.CVSS_V3_1, "4.0": VulnerabilityScoreSource.CVSS_V4}
    out = []
    for c in f.cvss:
        out.append(VulnerabilityRating(
            source=VulnerabilitySource(name=c.source) if c.source else None,
            score=Decimal(str(c.base_score)),
            severity=VulnerabilitySeverity(c.severity.value.lower()),
            method=methods.get(c.version, VulnerabilityScoreSource.OTHER),
            vector=c.vector,
        ))
    if not out:
        word = "unknown" if f.severity is Severity.UNKNOWN else f.severity.value.lower()
        out.append(VulnerabilityRating(
            source=VulnerabilitySource(name=f.severity_source) if f.severity_source else None,
            severity=VulnerabilitySeverity(word),
            method=VulnerabilityScoreSource.OTHER,
        ))
    return out


def _analysis(f: VulnFinding) -> VulnerabilityAnalysis | None:
    from cyclonedx.model.impact_analysis import (
        ImpactAnalysisJustification,
        ImpactAnalysisResponse,
        ImpactAnalysisState,
    )
    from cyclonedx.model.vulnerability import VulnerabilityAnalysis

    s = f.suppression
    if s is None:
        return None
    detail = f"{s.kind}: {s.reason}" + (f" ({s.source})" if s.source else "")
    if s.kind == "ignore-file":
        return VulnerabilityAnalysis(responses=[ImpactAnalysisResponse.WILL_NOT_FIX], detail=detail)
    if s.kind == "vex" and s.reason.startswith("fixed"):
        return VulnerabilityAnalysis(state=ImpactAnalysisState.RESOLVED, detail=detail)
    justification = next((ImpactAnalysisJustification(cdx) for vex, cdx in _OPENVEX_TO_CDX_JUSTIFICATION.items()
                          if vex in s.reason), None)
    return VulnerabilityAnalysis(state=ImpactAnalysisState.NOT_AFFECTED, justification=justification,
                                 detail=detail)


def _vulnerability(vid: str, group: list[VulnFinding], *, suppressed: bool) -> Vulnerability:
    from cyclonedx.model import Property, XsUri
    from cyclonedx.model.impact_analysis import ImpactAnalysisAffectedStatus
    from cyclonedx.model.vulnerability import (
        BomTarget,
        BomTargetVersionRange,
        Vulnerability,
        VulnerabilityReference,
        VulnerabilitySource,
    )

    first = group[0]
    url = next(iter(first.urls), None)
    targets = []
    for f in group:
        versions = [BomTargetVersionRange(version=f.package_version, status=ImpactAnalysisAffectedStatus.AFFECTED)]
        versions += [BomTargetVersionRange(version=v, status=ImpactAnalysisAffectedStatus.UNAFFECTED)
                     for v in f.fixed_versions]
        targets.append(BomTarget(ref=f.package_id, versions=versions))
    fixes = sorted({v for f in group for v in f.fixed_versions})
    props = [Property(name=f"{_NS}:fixedVersions", value=", ".join(fixes))] if fixes else []
    props += [Property(name=f"{_NS}:dataSource", value=s) for s in first.data_sources]
    return Vulnerability(
        bom_ref=f"vuln:{vid}" + (":suppressed" if suppressed else ""),
        id=vid,
        source=VulnerabilitySource(name=first.data_sources[0] if first.data_sources else None,
                                   url=XsUri(url) if url else None),
        references=[VulnerabilityReference(id=a, source=VulnerabilitySource(name=a.split("-", 1)[0]))
                    for a in sorted(set(first.aliases) - {vid})],
        ratings=_ratings(first),
        description=first.title or None,
        detail=first.description or None,
        recommendation=f"Upgrade to {', '.join(fixes)}" if fixes else None,
        published=_time(first.published),
        updated=_time(first.modified),
        analysis=_analysis(first),
        affects=targets,
        properties=props,
    )


def _derived_component(f: VulnFinding) -> Component:
    from cyclonedx.model import Property
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    return Component(type=ComponentType.LIBRARY, name=f.package_name, version=f.package_version,
                     purl=PackageURL.from_string(f.package_purl) if f.package_purl else None,
                     bom_ref=f.package_id,
                     properties=[Property(name=f"{_NS}:package:type", value=f.package_type),
                                 Property(name=f"{_NS}:derived", value="true")])


class CycloneDxVulnJsonFormat(ScanFormat):
    """CycloneDX 1.6 JSON: components plus vulnerabilities that ``affect`` them (a VDR/VEX document)."""

    id = "cyclonedx-json"
    aliases = ("cyclonedx", "cdx-json", "cdx")
    media_type = "application/vnd.cyclonedx+json; version=1.6"
    description = "CycloneDX 1.6 JSON with a vulnerabilities section"

    def render(self, report: VulnReport, *, color: bool = False) -> bytes:
        """Render `report` as indented CycloneDX 1.6 JSON; `color` is ignored."""
        from cyclonedx.output import make_outputter
        from cyclonedx.schema import OutputFormat

        from tidegate.report.cyclonedx_bom import SCHEMA_VERSION, build_bom

        bom = build_bom(report.sbom)
        known = {str(c.bom_ref.value) for c in bom.components}
        for f in sorted_findings(report.findings):
            if f.package_id not in known:
                # A package the matchers derived (a Go binary's standard library) is a component too, so that
                # every ``affects`` names a component of this document.
                known.add(f.package_id)
                bom.components.add(_derived_component(f))
        groups: dict[tuple[str, bool], list[VulnFinding]] = defaultdict(list)
        for f in sorted_findings(report.findings):
            # A suppression is per finding, an analysis per vulnerability: suppressed and active rows of one id
            # become two entries so neither decision is lost.
            groups[(f.id, f.suppression is not None)].append(f)
        for (vid, suppressed), group in groups.items():
            bom.vulnerabilities.add(_vulnerability(vid, group, suppressed=suppressed))
        text = make_outputter(bom, OutputFormat.JSON, SCHEMA_VERSION).output_as_string(indent=2)
        return (text + "\n").encode("utf-8")
