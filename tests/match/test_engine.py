"""scan_vulnerabilities: alias merging, suppressions, filters, verdict, order, speed on the real feeds."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest

from tests.match import (
    DIGEST,
    FakeDb,
    all_osv,
    deb,
    gomod,
    needs_shared,
    osv,
    pypi,
    record,
    sbom,
)
from tidegate.match.engine import MatchOptions, scan_vulnerabilities
from tidegate.match.suppress import load_ignore_file, load_vex
from tidegate.model.finding import Severity

GHSA_43804 = record("GHSA-v845-jxx5-vc9f", "PyPI", "urllib3", [{"introduced": "0"}, {"fixed": "1.26.17"}],
                    source="osv:GHSA", aliases=["CVE-2023-43804"], summary="Cookie header leaks on redirect",
                    published="2023-10-02T18:00:00Z", modified="2024-02-01T00:00:00Z",
                    database_specific={"severity": "MODERATE"})


@needs_shared
def test_pysec_and_ghsa_sharing_a_cve_are_one_finding() -> None:
    pysec = osv("PyPI", "PYSEC-2023-192")  # aliases CVE-2023-43804, GHSA-v845-jxx5-vc9f; fixed 1.26.17 / 2.0.6
    report = scan_vulnerabilities(sbom([pypi("urllib3", "1.23")]), FakeDb([pysec, GHSA_43804]))
    (f,) = report.findings
    assert f.id == "CVE-2023-43804"
    assert f.aliases == ("GHSA-v845-jxx5-vc9f", "PYSEC-2023-192")
    assert f.advisories == ("GHSA-v845-jxx5-vc9f", "PYSEC-2023-192")
    assert f.data_sources == ("osv:GHSA", "osv:PyPI")
    assert f.fixed_versions == ("1.26.17",)
    # The PYSEC record's CVSS 3.1 vector (8.1, see test_severity) beats the GHSA's feed word.
    assert (f.severity, f.severity_source) == (Severity.HIGH, "CVSS:3.1 (PYSEC-2023-192)")
    assert f.title == GHSA_43804.summary  # sorted by record id, GHSA-… comes first and has a summary
    assert f.published == min(pysec.published, GHSA_43804.published)
    assert f.modified == max(pysec.modified, GHSA_43804.modified)
    assert f.locations == pypi("urllib3", "1.23").locations
    assert f.match is not None and f.match.matcher == "language"


@needs_shared
def test_go_record_shows_its_cve_and_ignores_the_placeholder_time() -> None:
    adv = osv("Go", "GO-2024-2687")  # aliases CVE-2023-45288, GHSA-4v7x-pqxf-cx7m; times 0001-01-01T00:00:00Z
    report = scan_vulnerabilities(sbom([gomod("example.com/app", "(devel)", go_version="go1.21.0", is_main=True)]),
                                  FakeDb([adv]))
    (f,) = report.findings
    assert (f.id, f.aliases, f.package_name, f.package_version, f.package_purl) == (
        "CVE-2023-45288", ("GHSA-4v7x-pqxf-cx7m", "GO-2024-2687"), "stdlib", "go1.21.0", "pkg:golang/stdlib@1.21.0")
    assert (f.published, f.modified) == ("", "")
    assert f.severity is Severity.UNKNOWN and f.severity_source == "none"
    # The main module's (devel) version is reported, not guessed.
    assert any("(devel)" in u.reason for u in report.unknowns)


def test_separate_vulnerabilities_stay_separate_and_one_finding_per_package() -> None:
    a = record("PYSEC-2099-1", "PyPI", "demo", [{"introduced": "0"}, {"fixed": "2.0"}], aliases=["CVE-2099-1"])
    b = record("PYSEC-2099-2", "PyPI", "demo", [{"introduced": "0"}, {"fixed": "3.0"}], aliases=["CVE-2099-2"])
    # A chain: c shares CVE-2099-1 with a, and GHSA-x with d → a, c, d are one vulnerability.
    c = record("GHSA-cccc-cccc-cccc", "PyPI", "demo", [{"introduced": "0"}, {"fixed": "2.1"}],
               aliases=["CVE-2099-1", "GHSA-dddd-dddd-dddd"])
    d = record("OSV-2099-4", "PyPI", "demo", [{"introduced": "0"}, {"fixed": "2.0.1"}], aliases=["GHSA-dddd-dddd-dddd"])
    report = scan_vulnerabilities(sbom([pypi("demo", "1.0"), pypi("other", "1.0")]), FakeDb([a, b, c, d]))
    assert [(f.id, f.advisories, f.fixed_versions) for f in report.findings] == [
        ("CVE-2099-1", ("GHSA-cccc-cccc-cccc", "OSV-2099-4", "PYSEC-2099-1"), ("2.0", "2.0.1", "2.1")),
        ("CVE-2099-2", ("PYSEC-2099-2",), ("3.0",)),
    ]


def test_distro_not_affected_is_a_distro_suppression() -> None:
    adv = record("DEBIAN-CVE-2099-3", "Debian:12", "glibc", source="debian-tracker", aliases=["CVE-2099-3"],
                 affected_extra={"ecosystem_specific": {"not_affected": True}})
    report = scan_vulnerabilities(sbom([deb("libc6", "2.36-9+deb12u14", "glibc")]), FakeDb([adv]))
    (f,) = report.findings
    assert f.suppression is not None and f.suppression.kind == "distro"
    assert report.active == () and report.suppressed == (f,)
    assert f.match is not None and f.match.indirect


def test_no_distro_and_unknown_types_do_not_crash() -> None:
    from tidegate.model.package import Package

    cargo = Package(name="serde", version="1.0.0", type="cargo", purl="pkg:cargo/serde@1.0.0", cataloger="x",
                    locations=())
    report = scan_vulnerabilities(sbom([deb("bash", "5.2.15-2"), cargo], distro=None), FakeDb([]))
    assert report.findings == ()
    assert [u.reason for u in report.unknowns] == ["OS not detected: OS packages not matched"]


# -- options -----------------------------------------------------------------------------------------------
def three() -> tuple[FakeDb, list[object]]:
    high = record("GHSA-hhhh-hhhh-hhhh", "PyPI", "demo", [{"introduced": "0"}, {"fixed": "2.0"}],
                  aliases=["CVE-2099-10"], database_specific={"severity": "HIGH"})
    low_unfixed = record("GHSA-llll-llll-llll", "PyPI", "demo", [{"introduced": "0"}], aliases=["CVE-2099-11"],
                         database_specific={"severity": "LOW"})
    crit = record("GHSA-cccc-dddd-eeee", "PyPI", "lib", [{"introduced": "0"}, {"fixed": "9"}],
                  database_specific={"severity": "CRITICAL"})
    return FakeDb([high, low_unfixed, crit]), [pypi("demo", "1.0"), pypi("lib", "1.0")]


def test_order_is_severity_then_id_then_package_and_deterministic() -> None:
    db, pkgs = three()
    report = scan_vulnerabilities(sbom(pkgs), db)
    assert [(f.id, f.severity) for f in report.findings] == [
        ("GHSA-cccc-dddd-eeee", Severity.CRITICAL), ("CVE-2099-10", Severity.HIGH), ("CVE-2099-11", Severity.LOW)]
    again = scan_vulnerabilities(sbom(reversed(pkgs)), db)
    assert again.findings == report.findings


def test_severity_filter_ignore_unfixed_and_fail_on() -> None:
    db, pkgs = three()
    only = scan_vulnerabilities(sbom(pkgs), db, MatchOptions(severities=frozenset({Severity.LOW, Severity.HIGH})))
    assert [f.id for f in only.findings] == ["CVE-2099-10", "CVE-2099-11"]
    fixed = scan_vulnerabilities(sbom(pkgs), db, MatchOptions(ignore_unfixed=True))
    assert [f.id for f in fixed.findings] == ["GHSA-cccc-dddd-eeee", "CVE-2099-10"]
    assert scan_vulnerabilities(sbom(pkgs), db, MatchOptions(fail_on=Severity.CRITICAL)).failed
    assert not scan_vulnerabilities(sbom(pkgs), db, MatchOptions(fail_on=Severity.HIGH,
                                                              severities=frozenset({Severity.LOW}))).failed


def test_ignore_file_suppresses_and_expired_entries_warn(tmp_path: Path) -> None:
    db, pkgs = three()
    f = tmp_path / ".tidegateignore"
    f.write_text("GHSA-cccc-dddd-eeee # not reachable\nGHSA-hhhh-hhhh-hhhh exp:2024-01-01\n")
    opts = MatchOptions(ignore=load_ignore_file(f), fail_on=Severity.HIGH, today=dt.date(2024, 6, 1))
    report = scan_vulnerabilities(sbom(pkgs), db, opts)
    assert [x.id for x in report.suppressed] == ["GHSA-cccc-dddd-eeee"]
    assert report.suppressed[0].suppression is not None
    assert report.suppressed[0].suppression.reason == "not reachable"
    assert report.failed  # CVE-2099-10 (HIGH) is still active: its entry expired
    assert report.warnings == (f"{f}:2: ignore entry GHSA-hhhh-hhhh-hhhh expired on 2024-01-01; not applied",)
    # Before the expiry date the entry applies, and nothing at HIGH or above is active.
    before = scan_vulnerabilities(sbom(pkgs), db, MatchOptions(ignore=opts.ignore, fail_on=Severity.HIGH,
                                                               today=dt.date(2023, 12, 31)))
    assert not before.failed and before.warnings == ()


def test_vex_through_the_engine(tmp_path: Path) -> None:
    db, pkgs = three()
    doc = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "version": 1,
           "timestamp": "2024-01-01T00:00:00Z", "statements": [
               {"vulnerability": {"name": "GHSA-cccc-dddd-eeee"}, "status": "not_affected",
                "justification": "vulnerable_code_not_in_execute_path",
                "products": [{"@id": f"pkg:oci/app@{DIGEST}"}]}]}
    path = tmp_path / "vex.json"
    path.write_text(json.dumps(doc))
    report = scan_vulnerabilities(sbom(pkgs), db, MatchOptions(vex=(load_vex(path),)))
    (sup,) = report.suppressed
    assert sup.suppression is not None
    assert (sup.id, sup.suppression.kind, sup.suppression.reason) == (
        "GHSA-cccc-dddd-eeee", "vex", "not_affected: vulnerable_code_not_in_execute_path")


# -- the real feeds ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_db() -> FakeDb:
    return FakeDb([a for eco in ("PyPI", "Go", "Debian") for a in all_osv(eco) if not a.withdrawn])


@needs_shared
def test_bookworm_app_against_the_full_feeds_is_fast(full_db: FakeDb) -> None:
    from tests.support.images import IMAGES
    from tidegate.scan.pipeline import build_sbom

    real = build_sbom(f"oci-archive:{IMAGES / 'bookworm-app'}.oci.tar")
    scan_vulnerabilities(real, full_db)  # warm the version-key caches once, as a long-running server would
    start = time.perf_counter()
    report = scan_vulnerabilities(real, full_db)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, elapsed
    names = {(f.package_type, f.package_name) for f in report.findings}
    # The real records named in test_matchers: libssl3 via openssl, urllib3, golang.org/x/sys, stdlib.
    assert {("deb", "libssl3"), ("pypi", "urllib3"), ("golang", "golang.org/x/sys")} <= names
    assert any(f.id == "CVE-2023-43804" and f.package_name == "urllib3" for f in report.findings)
