"""SARIF 2.1.0 output for code-scanning dashboards (GitHub code scanning reads ``security-severity``).

One run; ``tool.driver.rules`` has one rule per vulnerability id, each result one (vulnerability, package)
pair located at the package's evidence file inside the image (relative URI, no leading slash) plus a logical
location naming the image digest. Suppressed findings are kept, with a SARIF ``suppressions`` entry::

    doc = json.loads(SarifFormat().render(report))
    doc["runs"][0]["results"][0]["level"]      # "error" for HIGH/CRITICAL
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from tidegate.model.finding import Severity, VulnFinding
from tidegate.model.report import VulnReport
from tidegate.report.base import TOOL_NAME, tool_version
from tidegate.report.checks_common import sarif_run_parts
from tidegate.report.scan_base import ScanFormat, best_cvss_score, sorted_findings

SARIF_VERSION = "2.1.0"
"""The SARIF version written."""

SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
"""``$schema`` of every log: the OASIS 2.1.0 (errata 01) schema."""

INFORMATION_URI = "https://tidegate.dev"
"""``tool.driver.informationUri``."""

LEVELS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.UNKNOWN: "note",
}
"""SARIF ``level`` of each severity."""

FALLBACK_SECURITY_SEVERITY: dict[Severity, float] = {
    Severity.CRITICAL: 9.5,
    Severity.HIGH: 8.0,
    Severity.MEDIUM: 5.5,
    Severity.LOW: 2.0,
    Severity.UNKNOWN: 0.0,
}
"""``security-severity`` when a finding has no CVSS score: a value inside GitHub's band for the severity."""


def security_severity(f: VulnFinding) -> str:
    """GitHub's ``security-severity``: the best CVSS base score as a string, else the severity's band value."""
    score = best_cvss_score(f)
    return f"{score if score is not None else FALLBACK_SECURITY_SEVERITY[f.severity]:.1f}"


def artifact_uri(path: str) -> str:
    """The image path as a relative URI reference: no leading slash, reserved characters percent-encoded."""
    return quote(path.lstrip("/"), safe="/@:+~,=")


def _help_uri(f: VulnFinding) -> str:
    return f.urls[0] if f.urls else f"https://osv.dev/vulnerability/{quote(f.id, safe='')}"


def _rule(f: VulnFinding) -> dict[str, Any]:
    title = f.title or f.id
    full = f.description or title
    fixed = ", ".join(f.fixed_versions) or "no fixed version yet"
    markdown = "\n".join(
        [
            f"**{f.id}** ({f.severity.value})",
            "",
            full,
            "",
            "| Package | Installed | Fixed |",
            "| --- | --- | --- |",
            f"| {f.package_name} | {f.package_version} | {fixed} |",
            "",
            f"[{_help_uri(f)}]({_help_uri(f)})",
        ]
    )
    return {
        "id": f.id,
        "name": "OsPackageVulnerability" if f.package_type in ("deb", "apk", "rpm") else "LanguagePackageVulnerability",
        "shortDescription": {"text": title},
        "fullDescription": {"text": full},
        "defaultConfiguration": {"level": LEVELS[f.severity]},
        "helpUri": _help_uri(f),
        "help": {"text": f"{f.id}: {title}\nPackage: {f.package_name}\nFixed version: {fixed}", "markdown": markdown},
        "properties": {
            "security-severity": security_severity(f),
            "precision": "very-high",
            "tags": ["vulnerability", "security", f.severity.value],
        },
    }


def _message(f: VulnFinding) -> str:
    fix = f"fixed in {', '.join(f.fixed_versions)}" if f.fixed_versions else "no fix available yet"
    return f"{f.package_name} {f.package_version} is affected by {f.id} ({f.severity.value}); {fix}"


def _fingerprint(f: VulnFinding, path: str) -> str:
    ident = json.dumps([f.id, f.package_purl or f.package_name, f.package_version, path])
    return hashlib.sha256(ident.encode()).hexdigest()


def _result(f: VulnFinding, rule_index: int, report: VulnReport) -> dict[str, Any]:
    img = report.sbom.image
    primary = f.locations[0] if f.locations else None
    path = primary.path if primary is not None else ""
    uri = artifact_uri(path) if path else artifact_uri(img.reference)
    result: dict[str, Any] = {
        "ruleId": f.id,
        "ruleIndex": rule_index,
        "level": LEVELS[f.severity],
        "message": {"text": _message(f)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": {"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1},
                },
                "logicalLocations": [
                    {
                        "name": img.digest,
                        "fullyQualifiedName": f"{img.name or img.reference}@{img.digest}",
                        "kind": "image",
                    }
                ],
            }
        ],
        "partialFingerprints": {"tidegateFinding/v1": _fingerprint(f, path)},
        "properties": {
            "severity": f.severity.value,
            "package": {
                "name": f.package_name,
                "version": f.package_version,
                "type": f.package_type,
                "purl": f.package_purl,
            },
            "fixedVersions": list(f.fixed_versions),
            "aliases": sorted(f.aliases),
        },
    }
    if primary is not None:
        layer: dict[str, Any] = {"index": primary.layer_index, "diffID": primary.diff_id}
        if primary.created_by:
            layer["createdBy"] = primary.created_by
        result["properties"]["layer"] = layer
    if f.suppression is not None:
        s = f.suppression
        justification = f"{s.kind}: {s.reason}" + (f" ({s.source})" if s.source else "")
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": justification}]
    return result


def build_log(report: VulnReport) -> dict[str, Any]:
    """The SARIF log of `report` as a JSON-ready dict (findings most severe first, rules in first-use order)."""
    findings = sorted_findings(report.findings)
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    for f in findings:
        if f.id not in rule_index:
            rule_index[f.id] = len(rules)
            rules.append(_rule(f))
    img = report.sbom.image
    check_rules, check_results = sarif_run_parts(report.checks, image=f"{img.name or img.reference}@{img.digest}",
                                                 first_index=len(rules))
    rules += check_rules
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": TOOL_NAME,
                "version": tool_version(report.sbom),
                "informationUri": INFORMATION_URI,
                "rules": rules,
            }
        },
        "results": [_result(f, rule_index[f.id], report) for f in findings] + check_results,
        "properties": {
            "image": {
                "reference": img.reference,
                "manifestDigest": img.manifest_digest,
                "configDigest": img.config_digest,
                "platform": img.platform,
            },
            "failed": report.failed,
        },
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


class SarifFormat(ScanFormat):
    """SARIF 2.1.0, for GitHub code scanning and other SARIF dashboards."""

    id = "sarif"
    aliases = ("sarif-json",)
    media_type = "application/sarif+json"
    description = "SARIF 2.1.0 (GitHub code scanning)"

    def render(self, report: VulnReport, *, color: bool = False) -> bytes:
        """Render `report` as indented SARIF 2.1.0 JSON; `color` is ignored."""
        return (json.dumps(build_log(report), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
