"""Hand-built reports and the simulated timeline the history and metrics tests share.

Timeline (T0 = 2026-01-01T00:00Z), repository ``registry.test/app`` tag ``1`` and ``registry.test/web`` tag ``2``:

    T0+0m    scan  app@A  CVE-1 CRITICAL openssl, CVE-2 HIGH curl, CVE-4 MEDIUM zlib   fail (--fail-on HIGH)
    T0+30m   check app@A  denied (vulnerabilities), signature verified                 fail
    T0+45m   scan  app@A  CVE-1, CVE-2, CVE-3 HIGH curl (new advisory), CVE-4          fail
    T0+60m   scan  app@B  CVE-4 only (the fixed build; tag 1 moves A → B)              pass
    T0+75m   check app@B  allowed, signature verified                                  pass
    T0+90m   scan  app@B  CVE-4                                                        pass
    T0+120m  scan  web@C  CVE-9 HIGH pcre2                                             pass (--fail-on CRITICAL)
"""

from __future__ import annotations

from tests.store.conftest import FakeClock
from tidegate.model.finding import Severity, VulnFinding
from tidegate.model.report import VulnReport
from tidegate.model.sbom import ImageInfo, Sbom
from tidegate.policy.verdict import RuleResult, Verdict
from tidegate.store.history import HistoryStore, ScanRecord, scan_record

A = "sha256:" + "a" * 64
"""The vulnerable build of app."""
B = "sha256:" + "b" * 64
"""The fixed build of app."""
C = "sha256:" + "c" * 64
"""web."""
APP = "registry.test/app"
"""First repository."""
WEB = "registry.test/web"
"""Second repository."""


def sbom(repo: str, tag: str, digest: str) -> Sbom:
    """An SBOM with no packages (the findings are hand-built)."""
    image = ImageInfo(reference=f"{repo}:{tag}", transport="registry", name=repo, tag=tag, manifest_digest=digest,
                      index_digest=None, config_digest="sha256:" + "f" * 64,
                      manifest_media_type="application/vnd.oci.image.manifest.v1+json", os="linux",
                      architecture="amd64", variant=None, layers=())
    return Sbom(image=image, distro=None, packages=())


def finding(vid: str, pkg: str, severity: Severity) -> VulnFinding:
    """One active finding."""
    return VulnFinding(id=vid, aliases=(), package_id=pkg, package_name=pkg, package_version="1.0",
                       package_type="deb", package_purl=f"pkg:deb/debian/{pkg}@1.0", severity=severity,
                       severity_source="test")


CVE1 = finding("CVE-1", "openssl", Severity.CRITICAL)
CVE2 = finding("CVE-2", "curl", Severity.HIGH)
CVE3 = finding("CVE-3", "curl", Severity.HIGH)
CVE4 = finding("CVE-4", "zlib", Severity.MEDIUM)
CVE9 = finding("CVE-9", "pcre2", Severity.HIGH)


def report(repo: str, tag: str, digest: str, *found: VulnFinding, fail_on: Severity = Severity.HIGH) -> VulnReport:
    """A vulnerability report."""
    return VulnReport(sbom=sbom(repo, tag, digest), findings=found, db=None, fail_on=fail_on)


def check(repo: str, tag: str, digest: str, *, allowed: bool, signed: bool) -> ScanRecord:
    """A check record without a scan: a verdict and a signature result."""
    results = (RuleResult("signatures", "pass" if signed else "fail", "signature"),
               RuleResult("vulnerabilities", "pass" if allowed else "fail", "vulns"))
    verdict = Verdict(reference=f"{repo}:{tag}", manifest_digest=digest, policy_hash="sha256:" + "0" * 64,
                      results=results)
    return ScanRecord(reference=f"{repo}:{tag}", digest=digest, repository=repo, source="check",
                      passed=verdict.allowed, duration=3.0, tag=tag, verdict=verdict, signed=signed)


def play(store: HistoryStore, clock: FakeClock) -> None:
    """Record the timeline of the module docstring."""
    steps: list[tuple[int, ScanRecord]] = [
        (0, scan_record(report(APP, "1", A, CVE1, CVE2, CVE4), reference=f"{APP}:1", source="scan", duration=0.4)),
        (30, check(APP, "1", A, allowed=False, signed=True)),
        (45, scan_record(report(APP, "1", A, CVE1, CVE2, CVE3, CVE4), reference=f"{APP}:1", source="scan",
                         duration=1.5)),
        (60, scan_record(report(APP, "1", B, CVE4), reference=f"{APP}:1", source="scan", duration=2.0)),
        (75, check(APP, "1", B, allowed=True, signed=True)),
        (90, scan_record(report(APP, "1", B, CVE4), reference=f"{APP}:1", source="scan", duration=0.8)),
        (120, scan_record(report(WEB, "2", C, CVE9, fail_on=Severity.CRITICAL), reference=f"{WEB}:2",
                          source="scan", duration=45.0)),
    ]
    for minutes, rec in steps:
        clock.set(minutes=minutes)
        store.record(rec)
