"""`evaluate`: table-driven on hand-built Evidence (real VulnReport, CheckFinding, VerificationResult objects);
every expected status and message is worked out by hand from the row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.match import pypi, sbom
from tidegate.model.finding import CheckFinding, Severity, Suppression, VulnFinding
from tidegate.model.location import Location
from tidegate.model.report import DbInfo, VulnReport
from tidegate.policy.evaluate import evaluate
from tidegate.policy.evidence import Evidence
from tidegate.policy.load import load_policy
from tidegate.trust.model import RejectedSignature, VerificationResult, VerifiedSignature

DIGEST = "sha256:" + "ab" * 32
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
HEAD = "apiVersion: tidegate.dev/v1\nkind: Policy\nmetadata:\n  name: t\n"
KEY_ID = "sha256:" + "12" * 32


def vuln(vid: str, severity: str, *, fixed: bool = True, aliases: tuple[str, ...] = (),
         suppressed: bool = False) -> VulnFinding:
    """A finding in requests 2.0."""
    return VulnFinding(id=vid, aliases=aliases, package_id="p1", package_name="requests", package_version="2.0",
                       package_type="pypi", package_purl="pkg:pypi/requests@2.0", severity=Severity(severity),
                       severity_source="feed", fixed_versions=("2.1",) if fixed else (),
                       suppression=Suppression("vex", "not_affected") if suppressed else None)


def check(rule_id: str, category: str = "misconfig", *, path: str = "", suppressed: bool = False) -> CheckFinding:
    """A check finding, in layer 1 when `path` is given."""
    loc = Location(path=path, layer_index=1, diff_id="sha256:" + "cd" * 32) if path else None
    return CheckFinding(rule_id=rule_id, category=category, severity=Severity.HIGH, title=rule_id, message="m",
                        location=loc, target="" if path else "image config",
                        suppression=Suppression("ignore-file", "ok") if suppressed else None)


def report(vulns: tuple[VulnFinding, ...] = (), checks: tuple[CheckFinding, ...] = (),
           scanners: tuple[str, ...] = ("vuln", "secret", "misconfig"), db_updated: str = "2025-05-31T12:00:00Z"
           ) -> VulnReport:
    """A report over an SBOM with requests 2.0."""
    return VulnReport(sbom=sbom([pypi("requests", "2.0")]), findings=vulns,
                      db=DbInfo("db.sqlite", db_updated, ("osv:PyPI",), 1), checks=checks, scanners=scanners)


def signed(ok: bool, reason: str = "signature does not verify") -> VerificationResult:
    """One verified signature by KEY_ID, or one rejected with `reason`."""
    if ok:
        return VerificationResult(DIGEST, (VerifiedSignature(0, KEY_ID, {"critical": {}}),), ())
    return VerificationResult(DIGEST, (), (RejectedSignature(0, reason),))


def evidence(**kw: Any) -> Evidence:
    """Evidence for registry.example.com/team/app:1, overridden by `kw`."""
    base: dict[str, Any] = {"reference": "registry.example.com/team/app:1", "manifest_digest": DIGEST,
                            "registry": "registry.example.com", "repository": "team/app", "tag": "1",
                            "scanned_at": NOW - dt.timedelta(hours=1), "user": "1000"}
    base.update(kw)
    return Evidence(**base)


def results(write_policy: Callable[[str], Path], rules: str, ev: Evidence) -> list[tuple[str, str, str]]:
    """(rule, status, message) of `rules` (YAML under defaults) on `ev`."""
    policy = load_policy(write_policy(HEAD + "defaults:\n" + rules))
    verdict = evaluate(policy, ev, now=NOW)
    assert verdict.policy_hash == policy.hash and verdict.manifest_digest == DIGEST
    return [(r.rule, r.status, r.message) for r in verdict.results]


def key_path(tmp_path: Path) -> str:
    """The resolved key name the gatherer reports results under."""
    return str(tmp_path / "release.pub")


CASES: list[tuple[str, str, dict[str, Any], list[tuple[str, str, str]]]] = [
    ("digest-pinned", "  requireDigest: true\n", {"pinned_by_digest": True},
     [("requireDigest", "pass", "the reference names the digest")]),
    ("tag-only", "  requireDigest: true\n", {},
     [("requireDigest", "fail", f"the reference uses tag '1', not a digest: pin it as …@{DIGEST}")]),
    ("registry-allowed", "  allowedRegistries: ['*.example.com']\n", {},
     [("allowedRegistries", "pass", "registry registry.example.com is allowed by '*.example.com'")]),
    ("registry-denied", "  allowedRegistries: [ghcr.io]\n", {},
     [("allowedRegistries", "fail", "registry registry.example.com is not allowed (allowed: ghcr.io)")]),
    ("registry-archive", "  allowedRegistries: [ghcr.io]\n",
     {"reference": "oci-archive:a.tar", "registry": "", "repository": ""},
     [("allowedRegistries", "not-evaluated", "the image was not read from a registry (a layout or archive)")]),
    ("nonroot-uid", "  nonRoot: true\n", {"user": "1000:1000"},
     [("nonRoot", "pass", "config.User is '1000:1000'")]),
    ("nonroot-name", "  nonRoot: true\n", {"user": "app"},
     [("nonRoot", "pass", "config.User is 'app' (a name: the runtime must resolve it to a non-zero uid)")]),
    ("root-unset", "  nonRoot: true\n", {"user": ""},
     [("nonRoot", "fail", "config.User is unset (defaults to root)")]),
    ("root-zero", "  nonRoot: true\n", {"user": "0:0"}, [("nonRoot", "fail", "config.User is '0:0'")]),
    ("base-allowed", "  baseImages: {allowed: ['docker.io/library/*']}\n",
     {"labels": (("org.opencontainers.image.base.name", "debian:bookworm"),)},
     [("baseImages", "pass", "base image docker.io/library/debian is allowed by 'docker.io/library/*'")]),
    ("base-denied", "  baseImages: {allowed: ['gcr.io/distroless/*']}\n",
     {"labels": (("org.opencontainers.image.base.name", "docker.io/bitnami/python:3"),)},
     [("baseImages", "fail", "base image docker.io/bitnami/python is not allowed (allowed: gcr.io/distroless/*)")]),
    ("base-unlabelled", "  baseImages: {allowed: ['gcr.io/distroless/*']}\n", {},
     [("baseImages", "not-evaluated", "the image has no org.opencontainers.image.base.name label")]),
    # max HIGH: the CRITICAL fails; the suppressed CRITICAL and the ignored alias do not count
    ("vuln-above", "  vulnerabilities: {maxSeverity: HIGH, ignore: [GHSA-x]}\n",
     {"report": report((vuln("CVE-1", "CRITICAL"), vuln("CVE-2", "CRITICAL", suppressed=True),
                        vuln("CVE-3", "CRITICAL", aliases=("GHSA-x",)), vuln("CVE-4", "HIGH")))},
     [("vulnerabilities", "fail", "1 finding(s) above HIGH: CVE-1 (CRITICAL, requests) (1 ignored by the policy)")]),
    ("vuln-unfixed", "  vulnerabilities: {maxSeverity: MEDIUM, ignoreUnfixed: true}\n",
     {"report": report((vuln("CVE-1", "CRITICAL", fixed=False), vuln("CVE-5", "LOW")))},
     [("vulnerabilities", "pass", "within limits: 1 LOW (1 ignored by the policy)")]),
    ("vuln-count", "  vulnerabilities:\n    maxCount: {CRITICAL: 0, HIGH: 1}\n",
     {"report": report((vuln("CVE-1", "HIGH"), vuln("CVE-2", "HIGH"), vuln("CVE-3", "MEDIUM")))},
     [("vulnerabilities", "fail", "2 HIGH (max 1): CVE-1, CVE-2")]),
    ("vuln-count-ok", "  vulnerabilities:\n    maxCount: {CRITICAL: 0, HIGH: 2}\n",
     {"report": report((vuln("CVE-1", "HIGH"), vuln("CVE-2", "HIGH"), vuln("CVE-3", "MEDIUM")))},
     [("vulnerabilities", "pass", "within limits: 2 HIGH, 1 MEDIUM")]),
    ("vuln-no-scan", "  vulnerabilities: {maxSeverity: HIGH}\n", {"errors": (("scan", "layer 2: digest mismatch"),)},
     [("vulnerabilities", "not-evaluated", "the scan failed: layer 2: digest mismatch")]),
    ("vuln-report-none", "  vulnerabilities: {maxSeverity: HIGH}\n", {},
     [("vulnerabilities", "not-evaluated", "no scan result")]),
    ("vuln-scanner-missing", "  vulnerabilities: {maxSeverity: HIGH}\n", {"report": report(scanners=("secret",))},
     [("vulnerabilities", "not-evaluated", "the scan did not run the vuln scanner")]),
    ("scan-age", "  vulnerabilities: {maxScanAge: 30m, maxDbAge: 2d}\n", {"report": report()},
     [("vulnerabilities.maxScanAge", "fail", "the scan is 1h old (max 30m)"),
      ("vulnerabilities.maxDbAge", "pass", "the vulnerability database is 23h old (max 2d)")]),
    ("db-age", "  vulnerabilities: {maxScanAge: 2h, maxDbAge: 12h}\n", {"report": report()},
     [("vulnerabilities.maxScanAge", "pass", "the scan is 1h old (max 2h)"),
      ("vulnerabilities.maxDbAge", "fail", "the vulnerability database is 23h old (max 12h)")]),
    ("scan-age-unknown", "  vulnerabilities: {maxScanAge: 2h}\n", {"scanned_at": None, "report": report()},
     [("vulnerabilities.maxScanAge", "not-evaluated", "the time of the scan is unknown")]),
    ("secrets", "  secrets: {allowed: false}\n",
     {"report": report(checks=(check("TG-SEC-001", "secret", path="app/.env"),
                               check("TG-SEC-017", "secret", path="b/.env", suppressed=True),
                               check("TG-IMG-001")))},
     [("secrets", "fail", "1 secret(s) in the image: TG-SEC-001 in app/.env (layer 1)")]),
    ("secrets-clean", "  secrets: {allowed: false}\n", {"report": report(checks=(check("TG-IMG-001"),))},
     [("secrets", "pass", "no secrets found")]),
    ("secrets-allowed", "  secrets: {allowed: true}\n", {}, []),
    ("secrets-not-scanned", "  secrets: {allowed: false}\n", {"report": report(scanners=("vuln",))},
     [("secrets", "not-evaluated", "the scan did not run the secret scanner")]),
    ("misconfig", "  misconfigurations: {mustPass: [TG-IMG-001, TG-IMG-005]}\n",
     {"report": report(checks=(check("TG-IMG-001"), check("TG-IMG-002")))},
     [("misconfigurations", "fail", "1 finding(s) of required rules: TG-IMG-001 TG-IMG-001 (image config)")]),
    ("misconfig-pass", "  misconfigurations: {mustPass: [TG-IMG-001, TG-IMG-005]}\n",
     {"report": report(checks=(check("TG-IMG-001", suppressed=True), check("TG-IMG-002")))},
     [("misconfigurations", "pass", "2 required rule(s) pass: TG-IMG-001, TG-IMG-005")]),
    ("attest-ok", "  signatures: {keys: [release.pub]}\n  attestations: {types: [cyclonedx, vuln]}\n",
     {"attestations": (("cyclonedx", signed(True)), ("vuln", signed(False, "predicateType mismatch")))},
     [("signatures", "not-evaluated", "signatures could not be verified: no verification result for release.pub"),
      ("attestations:cyclonedx", "pass", "1 verified cyclonedx attestation(s)"),
      ("attestations:vuln", "fail", "no valid vuln attestation; rejected: predicateType mismatch")]),
    ("attest-missing", "  signatures: {keys: [release.pub]}\n  attestations: {types: [cyclonedx]}\n",
     {"errors": (("attestations", "registry unreachable"),)},
     [("signatures", "not-evaluated", "signatures could not be verified: no verification result for release.pub"),
      ("attestations:cyclonedx", "not-evaluated",
       "cyclonedx attestations could not be verified: registry unreachable")]),
    ("attest-none", "  signatures: {keys: [release.pub]}\n  attestations: {types: [cyclonedx]}\n",
     {"attestations": (("cyclonedx", VerificationResult(DIGEST, (), ())),)},
     [("signatures", "not-evaluated", "signatures could not be verified: no verification result for release.pub"),
      ("attestations:cyclonedx", "fail", "no cyclonedx attestation")]),
]


@pytest.mark.parametrize(("name", "rules", "kw", "expected"), CASES, ids=[c[0] for c in CASES])
def test_rule(write_policy: Callable[[str], Path], name: str, rules: str, kw: dict[str, Any],
              expected: list[tuple[str, str, str]]) -> None:
    assert results(write_policy, rules, evidence(**kw)) == expected


@pytest.mark.parametrize(("sigs", "min_count", "status", "message"), [
    ({"a": True}, 1, "pass", "valid signatures by 1 of 2 key(s) (need 1): a.pub"),
    ({"a": True, "b": False}, 2, "fail",
     "valid signatures by 1 of 2 key(s), 2 required; rejected: b.pub: signature does not verify"),
    ({"a": False, "b": False}, 1, "fail", ("valid signatures by 0 of 2 key(s), 1 required; rejected: "
                                           "a.pub: signature does not verify, b.pub: signature does not verify")),
    ({"a": True, "b": True}, 2, "pass", "valid signatures by 2 of 2 key(s) (need 2): a.pub, b.pub"),
    ({"a": False}, 1, "not-evaluated", "signatures could not be verified: no verification result for b.pub"),
])
def test_signatures_min_count(write_policy: Callable[[str], Path], tmp_path: Path, sigs: dict[str, bool],
                              min_count: int, status: str, message: str) -> None:
    from tests.policy.conftest import PUB

    (tmp_path / "a.pub").write_text(PUB)
    (tmp_path / "b.pub").write_text(PUB)
    ev = evidence(signatures=tuple((str(tmp_path / f"{k}.pub"), signed(v)) for k, v in sigs.items()))
    got = results(write_policy, f"  signatures: {{keys: [a.pub, b.pub], minCount: {min_count}}}\n", ev)
    assert got == [("signatures", status, message)]


def test_signature_evidence_names_key_ids(write_policy: Callable[[str], Path], tmp_path: Path) -> None:
    policy = load_policy(write_policy(HEAD + "defaults:\n  signatures: {keys: [release.pub]}\n"))
    verdict = evaluate(policy, evidence(signatures=((key_path(tmp_path), signed(True)),)), now=NOW)
    assert verdict.allowed and verdict.results[0].evidence == (KEY_ID,)


def test_signature_gathering_error_is_not_evaluated(write_policy: Callable[[str], Path]) -> None:
    got = results(write_policy, "  signatures: {keys: [release.pub]}\n",
                  evidence(errors=(("signatures", "registry 503"),)))
    assert got == [("signatures", "not-evaluated", "signatures could not be verified: registry 503")]


@pytest.mark.parametrize(("on", "allowed"), [("deny", False), ("allow", True)])
def test_on_not_evaluated(write_policy: Callable[[str], Path], on: str, allowed: bool) -> None:
    policy = load_policy(write_policy(HEAD + f"onNotEvaluated: {on}\ndefaults:\n  secrets: {{allowed: false}}\n"))
    verdict = evaluate(policy, evidence(), now=NOW)
    assert verdict.allowed is allowed
    assert [r.status for r in verdict.results] == ["not-evaluated"]


def test_scope_and_order_in_verdict(write_policy: Callable[[str], Path]) -> None:
    policy = load_policy(write_policy(HEAD + """\
defaults:
  nonRoot: true
  requireDigest: true
scopes:
  - name: team
    match: [registry.example.com/team/*]
    rules: {allowedRegistries: [registry.example.com]}
"""))
    verdict = evaluate(policy, evidence(user="root"), now=NOW)
    assert verdict.scope == "team"
    assert [(r.rule, r.status) for r in verdict.results] == [
        ("requireDigest", "fail"), ("allowedRegistries", "pass"), ("nonRoot", "fail")]
    assert verdict.reasons == (f"requireDigest: the reference uses tag '1', not a digest: pin it as …@{DIGEST}",
                               "nonRoot: config.User is 'root'")
