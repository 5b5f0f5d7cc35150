"""``tidegate check -f sarif``: SARIF 2.1.0 with one result per blocking rule, plus the findings that caused it.

    doc = json.loads(VerdictSarifFormat().render(report))
    [r["ruleId"] for r in doc["runs"][0]["results"]]    # ["policy/vulnerabilities", "CVE-2024-…", "TG-SEC-003", …]

Policy results (``policy/<rule>``, level ``error``) are anchored at the policy file, where a code-scanning user can
act on them, with a logical location naming the image digest. The scan findings a blocking rule's evidence names
(vulnerability ids, secret and misconfiguration rule ids) follow, rendered exactly as ``tidegate scan -f sarif``
renders them, each listing the policy rules it made fail in ``properties.policyRules``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import PurePath
from typing import Any

from tidegate.policy.verdict import RuleResult
from tidegate.report.base import TOOL_NAME
from tidegate.report.sarif import INFORMATION_URI, SARIF_SCHEMA_URI, SARIF_VERSION, artifact_uri, build_log
from tidegate.report.verdict import VerdictFormat, VerdictReport, evidence_ids, tool_version

POLICY_RULE_PREFIX = "policy/"
"""Prefix of SARIF rule ids for policy rules (scan findings keep their own ids)."""


def _anchor(report: VerdictReport) -> str:
    path = report.policy_path
    if not path:
        return artifact_uri(report.verdict.reference)
    if PurePath(path).is_absolute():
        return PurePath(path).as_uri()
    return artifact_uri(path)


def _policy_rule(r: RuleResult) -> dict[str, Any]:
    return {
        "id": POLICY_RULE_PREFIX + r.rule,
        "name": "PolicyRule",
        "shortDescription": {"text": f"tidegate policy rule {r.rule}"},
        "defaultConfiguration": {"level": "error"},
        "helpUri": INFORMATION_URI,
        "properties": {"tags": ["policy", "security"], "security-severity": "9.0"},
    }


def _policy_result(r: RuleResult, index: int, report: VerdictReport) -> dict[str, Any]:
    v = report.verdict
    status = "failed" if r.status == "fail" else "could not be evaluated (onNotEvaluated: deny)"
    return {
        "ruleId": POLICY_RULE_PREFIX + r.rule,
        "ruleIndex": index,
        "level": "error",
        "message": {"text": f"{v.reference}: policy rule {r.rule} {status}: {r.message}"},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": _anchor(report)},
                "region": {"startLine": 1, "startColumn": 1},
            },
            "logicalLocations": [{"name": v.manifest_digest, "fullyQualifiedName": f"{v.reference}@{v.manifest_digest}"
                                  if "@" not in v.reference else v.reference, "kind": "image"}],
        }],
        "partialFingerprints": {"tidegatePolicyRule/v1": f"{v.manifest_digest}:{r.rule}"},
        "properties": {"status": r.status, "evidence": list(r.evidence), "policyHash": v.policy_hash},
    }


def build_verdict_log(report: VerdictReport) -> dict[str, Any]:
    """The SARIF log of `report` as a JSON-ready dict."""
    v = report.verdict
    blocking = v.failed
    rules = [_policy_rule(r) for r in blocking]
    results = [_policy_result(r, i, report) for i, r in enumerate(blocking)]
    vulns, checks = report.findings_named(blocking)
    scan = report.evidence.report if report.evidence is not None else None
    if scan is not None and (vulns or checks):
        scan_run = build_log(dataclasses.replace(scan, findings=vulns, checks=checks))["runs"][0]
        offset = len(rules)
        rules += scan_run["tool"]["driver"]["rules"]
        for res in scan_run["results"]:
            res["ruleIndex"] += offset
            ids = {res["ruleId"], *res.get("properties", {}).get("aliases", [])}
            res.setdefault("properties", {})["policyRules"] = [r.rule for r in blocking if ids & evidence_ids((r,))]
            results.append(res)
    run: dict[str, Any] = {
        "tool": {"driver": {"name": TOOL_NAME, "version": tool_version(), "informationUri": INFORMATION_URI,
                            "rules": rules}},
        "results": results,
        "invocations": [{
            "executionSuccessful": True,
            "toolExecutionNotifications": [{"level": "warning", "message": {"text": f"{what}: {message}"}}
                                           for what, message in (report.evidence.errors if report.evidence
                                                                 else ())],
        }],
        "properties": {
            "image": {"reference": v.reference, "manifestDigest": v.manifest_digest},
            "policy": {"path": report.policy_path or None, "hash": v.policy_hash, "scope": v.scope},
            "decision": report.decision,
            "allowed": v.allowed,
        },
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


class VerdictSarifFormat(VerdictFormat):
    """SARIF 2.1.0 for code-scanning dashboards: blocking rules and the findings behind them."""

    id = "sarif"
    aliases = ("sarif-json",)
    media_type = "application/sarif+json"
    description = "SARIF 2.1.0 (GitHub code scanning)"

    def render(self, report: VerdictReport, *, color: bool = False) -> bytes:
        """Render as indented SARIF 2.1.0 JSON; `color` is ignored."""
        return (json.dumps(build_verdict_log(report), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


__all__ = ["POLICY_RULE_PREFIX", "VerdictSarifFormat", "build_verdict_log"]
