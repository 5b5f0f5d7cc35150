"""Scan formats on a real report: bookworm-app matched against ../shared/vulndata, with one ignore-file and one
VEX suppression so every format shows both kinds of row.

Authorities: the OASIS SARIF 2.1.0 schema (vendored in tests/report/schemas), the CycloneDX 1.6 JSON schema
(cyclonedx-python-lib's strict validator), the CycloneDX rule that ``affects[].ref`` names a component bom-ref,
and tidegate's own JSON schema (``parse_scan_json``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.support.images import IMAGES
from tidegate.errors import UsageError
from tidegate.model.finding import Severity, Suppression
from tidegate.model.report import VulnReport
from tidegate.report.registry import SCAN_FORMATS, get_scan_format, scan_format_choices
from tidegate.report.vuln_json import parse_scan_json

SCHEMAS = Path(__file__).parent / "schemas"


@pytest.fixture(scope="module")
def report(vulndb: Path) -> VulnReport:
    from tidegate.match.engine import MatchOptions, scan_vulnerabilities
    from tidegate.scan.pipeline import build_sbom
    from tidegate.vulndb.store import VulnDb

    sbom = build_sbom(f"oci-archive:{IMAGES / 'bookworm-app.oci.tar'}")
    with VulnDb.open(vulndb) as db:
        plain = scan_vulnerabilities(sbom, db, MatchOptions(fail_on=Severity.HIGH), db_info=db.info())
    # Suppress two findings by hand (the suppression sources have their own tests in tests/match).
    findings = list(plain.findings)
    findings[0] = dataclasses.replace(findings[0], suppression=Suppression(
        kind="ignore-file", reason="accepted until the next base image", source=".tidegateignore"))
    findings[-1] = dataclasses.replace(findings[-1], suppression=Suppression(
        kind="vex", reason="not_affected: vulnerable_code_not_in_execute_path", source="app.vex.json"))
    return dataclasses.replace(plain, findings=tuple(findings))


def test_registry_ids_unique_and_lookup() -> None:
    names = [n for f in SCAN_FORMATS for n in (f.id, *f.aliases)]
    assert len(names) == len(set(names))
    assert scan_format_choices() == ("table", "json", "sarif", "cyclonedx-json", "html")
    assert get_scan_format("SARIF").id == "sarif"
    assert get_scan_format("cdx").id == "cyclonedx-json"
    with pytest.raises(UsageError, match="unknown output format 'pdf' for scan; choose one of: table, json"):
        get_scan_format("pdf")


@pytest.mark.parametrize("cls", SCAN_FORMATS, ids=lambda c: c.id)
def test_every_format_is_deterministic_and_documented(cls: Any, report: VulnReport) -> None:
    assert cls.__doc__ and cls.description and cls.media_type
    out = cls().render(report)
    assert out.endswith(b"\n") and out == cls().render(report)


def test_report_has_both_kinds_of_rows(report: VulnReport) -> None:
    assert len(report.suppressed) == 2 and len(report.active) >= 20
    assert report.failed  # bookworm-app has HIGH/CRITICAL findings and fail_on is HIGH


def test_sarif_is_schema_valid_and_complete(report: VulnReport) -> None:
    doc = json.loads(get_scan_format("sarif").render(report))
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == len(report.findings)
    assert len(rules) == len({f.id for f in report.findings}) == len({r["id"] for r in rules})
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
        assert not r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("/")
        sev = Severity(r["properties"]["severity"])
        assert r["level"] == {"CRITICAL": "error", "HIGH": "error", "MEDIUM": "warning"}.get(sev.value, "note")
    # GitHub reads security-severity as a number in a string, per rule.
    for rule in rules:
        assert 0.0 <= float(rule["properties"]["security-severity"]) <= 10.0
    suppressed = [r for r in results if r.get("suppressions")]
    assert len(suppressed) == 2
    assert {s["suppressions"][0]["justification"].split(":")[0] for s in suppressed} == {"ignore-file", "vex"}


def test_cyclonedx_vulnerabilities_affect_real_components(report: VulnReport) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = get_scan_format("cyclonedx-json").render(report).decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True) is None
    doc = json.loads(text)
    refs = {c["bom-ref"] for c in doc["components"]}
    pairs = set()
    for v in doc["vulnerabilities"]:
        assert v["ratings"], v["id"]
        for a in v["affects"]:
            assert a["ref"] in refs
            pairs.add((v["id"], a["ref"]))
    assert pairs == {(f.id, f.package_id) for f in report.findings}
    analysed = {v["id"]: v["analysis"] for v in doc["vulnerabilities"] if "analysis" in v}
    vexed = report.findings[-1]
    assert analysed[vexed.id]["state"] == "not_affected"
    assert analysed[vexed.id]["justification"] == "code_not_reachable"
    assert analysed[report.findings[0].id]["response"] == ["will_not_fix"]
    # A CVSS-scored finding keeps its vector and score.
    scored = next(f for f in report.findings if f.cvss)
    rating = next(v for v in doc["vulnerabilities"] if v["id"] == scored.id)["ratings"][0]
    # cyclonedx-python-lib writes the vector without its "CVSS:3.1/" prefix, which `method` carries instead.
    assert scored.cvss[0].vector.endswith("/" + rating["vector"]) and rating["score"] == scored.cvss[0].base_score
    assert rating["method"] == {"3.1": "CVSSv31", "3.0": "CVSSv3", "4.0": "CVSSv4"}[scored.cvss[0].version]


def test_json_validates_and_counts(report: VulnReport) -> None:
    doc = parse_scan_json(get_scan_format("json").render(report))
    assert len(doc["results"]) == len(report.active) and len(doc["suppressed"]) == 2
    assert sum(doc["summary"]["bySeverity"].values()) == doc["summary"]["total"] == len(report.active)
    assert list(doc["summary"]["bySeverity"]) == ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]
    assert doc["verdict"] == {"failOn": "HIGH", "failed": True}
    assert {r["suppression"]["kind"] for r in doc["suppressed"]} == {"ignore-file", "vex"}
    # Every finding says where the package came from: its file and layer.
    for r in doc["results"]:
        assert r["locations"] and r["locations"][0]["diffID"].startswith("sha256:")


def test_table_groups_by_package_and_summarises(report: VulnReport) -> None:
    text = get_scan_format("table").render(report).decode()
    assert not re.search(r"\x1b\[", text), "no colour codes unless asked"
    counts = report.counts()
    assert f"Total: {sum(counts.values())} (UNKNOWN: {counts[Severity.UNKNOWN]}" in text
    for f in report.active:
        assert f.id in text and f.package_name in text
    coloured = get_scan_format("table").render(report, color=True).decode()
    assert "\x1b[" in coloured
