"""``tidegate check -f json``: the verdict, every rule, and a summary of the evidence (docs/check-json-format.md).

    doc = json.loads(VerdictJsonFormat().render(report))
    doc["allowed"], [r["rule"] for r in doc["results"] if r["blocking"]]
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from tidegate.model.finding import Severity
from tidegate.policy.evidence import Evidence
from tidegate.report.base import TOOL_NAME
from tidegate.report.verdict import VerdictFormat, VerdictReport, tool_version
from tidegate.trust.model import VerificationResult

CHECK_SCHEMA_VERSION = "1"
"""``schemaVersion`` of the check JSON; bumped only on incompatible changes."""


def _verification(name_key: str, name: str, result: VerificationResult) -> dict[str, Any]:
    return {
        name_key: name,
        "verified": [{"index": s.index, "keyId": s.key_id} for s in result.verified],
        "rejected": [{"index": s.index, "reason": s.reason} for s in result.rejected],
    }


def evidence_doc(evidence: Evidence) -> dict[str, Any]:
    """The JSON summary of `evidence` (counts and verifications; findings themselves are in ``tidegate scan``)."""
    scan: dict[str, Any] | None = None
    report = evidence.report
    if report is not None:
        img = report.sbom.image
        vulns = report.counts()
        checks = Counter(c.category for c in report.active_checks)
        scan = {
            "scanners": list(report.scanners),
            "platformManifestDigest": img.manifest_digest,
            "configDigest": img.config_digest,
            "platform": img.platform,
            "packages": len(report.sbom.packages),
            "vulnerabilities": {s.value: vulns[s] for s in sorted(Severity, reverse=True)},
            "suppressedVulnerabilities": len(report.suppressed),
            "secrets": checks.get("secret", 0),
            "misconfigurations": checks.get("misconfig", 0),
            "database": ({"updatedAt": report.db.updated_at, "advisories": report.db.advisories}
                         if report.db is not None else None),
        }
    return {
        "registry": evidence.registry,
        "repository": evidence.repository,
        "tag": evidence.tag,
        "pinnedByDigest": evidence.pinned_by_digest,
        "user": evidence.user,
        "scannedAt": evidence.scanned_at.isoformat() if evidence.scanned_at is not None else None,
        "scan": scan,
        "signatures": [_verification("key", k, r) for k, r in evidence.signatures],
        "attestations": [_verification("predicateType", t, r) for t, r in evidence.attestations],
        "errors": [{"what": what, "message": message} for what, message in evidence.errors],
    }


def verdict_doc(report: VerdictReport) -> dict[str, Any]:
    """The check JSON document as a JSON-ready dict."""
    v = report.verdict
    counts = report.counts()
    return {
        "schemaVersion": CHECK_SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": tool_version()},
        "reference": v.reference,
        "manifestDigest": v.manifest_digest,
        "policy": {"path": report.policy_path or None, "hash": v.policy_hash, "scope": v.scope,
                   "onNotEvaluated": "deny" if v.deny_not_evaluated else "allow"},
        "decision": report.decision,
        "allowed": v.allowed,
        "summary": {"rules": len(v.results), "pass": counts["pass"], "fail": counts["fail"],
                    "notEvaluated": counts["not-evaluated"], "blocking": len(v.failed)},
        "reasons": list(v.reasons),
        "results": [{"rule": r.rule, "status": r.status, "blocking": report.blocks(r), "message": r.message,
                     "evidence": list(r.evidence)} for r in v.results],
        "evidence": evidence_doc(report.evidence) if report.evidence is not None else None,
    }


class VerdictJsonFormat(VerdictFormat):
    """tidegate's check JSON (schemaVersion 1), documented in docs/check-json-format.md."""

    id = "json"
    media_type = "application/vnd.tidegate.check+json"
    description = "tidegate's own JSON (schemaVersion 1)"

    def render(self, report: VerdictReport, *, color: bool = False) -> bytes:
        """Render as indented, deterministic JSON; `color` is ignored."""
        return (json.dumps(verdict_doc(report), indent=2, ensure_ascii=False) + "\n").encode("utf-8")


__all__ = ["CHECK_SCHEMA_VERSION", "VerdictJsonFormat", "evidence_doc", "verdict_doc"]
