"""Version ordering per scheme, each row checked against a named authority (and live against dpkg/rpm)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tidegate.vulndb.versions import (
    SCHEMES,
    InvalidVersion,
    scheme_by_name,
    scheme_for_ecosystem,
    scheme_for_purl_type,
)
from tidegate.vulndb.versions.go import go_to_semver

DPKG = "dpkg --compare-versions"
RPM = "rpmvercmp (rpm.vercmp)"
PEP440 = "PEP 440 (packaging.version)"
NODE = "node-semver / semver.org §11"
APK = "apk-tools test/version.data"
APKC = "apk-tools src/version.c suffix tables"
GOMOD = "golang.org/x/mod/semver"
GOVULN = "Go vulndb GoTagToSemver"
MAVEN = "Maven version order spec (pom.html#version-order-specification)"
GEM = "RubyGems Gem::Version docs"

# (scheme, a, b, expected sign of compare(a, b), authority)
ORDER: list[tuple[str, str, str, int, str]] = [
    # Debian: epochs, tilde, revisions
    ("deb", "1:1.0", "2.0", 1, DPKG),
    ("deb", "1.0~rc1", "1.0", -1, DPKG),
    ("deb", "1.0~~", "1.0~", -1, DPKG),
    ("deb", "1.0~", "1.0", -1, DPKG),
    ("deb", "1.0-1", "1.0-1.1", -1, DPKG),
    ("deb", "1.0+b1", "1.0", 1, DPKG),
    ("deb", "1.0a", "1.0+", -1, DPKG),
    ("deb", "2.31-13+deb11u5", "2.31-13+deb11u10", -1, DPKG),
    ("deb", "1.2.3-1ubuntu0.1", "1.2.3-1", 1, DPKG),
    ("deb", "7.88.1-10+deb12u5", "7.88.1-10+deb12u12", -1, DPKG),
    ("deb", "1:2.0-1", "1:10.0-1", -1, DPKG),
    ("deb", "1.0.10", "1.0.9", 1, DPKG),
    ("deb", "3.0.11-1~deb12u2", "3.0.11-1", -1, DPKG),
    ("deb", "0:1.0", "1.0", 0, DPKG),
    ("deb", "1.0", "1.0-0", 0, DPKG),
    ("deb", "1.001", "1.1", 0, DPKG),
    # apk
    ("apk", "1.1", "1.1_alpha1", 1, APK),
    ("apk", "0.1.0_alpha2", "0.1.0_alpha", 1, APK),
    ("apk", "1.0.4-r3", "1.0.4-r4", -1, APK),
    ("apk", "3.1_p16", "3.1_p17", -1, APK),
    ("apk", "1.2.2-r1", "1.2.2", 1, APK),
    ("apk", "2.3.0b-r1", "2.3.0b-r2", -1, APK),
    ("apk", "0.10.0", "0.10.1_rc1", -1, APK),
    ("apk", "1.3_pre1-r1", "1.3.2", -1, APK),
    ("apk", "1.0_p10-r0", "1.0_p9-r0", 1, APK),
    ("apk", "0.1.0_alpha_pre2", "0.1.0_alpha", -1, APK),
    ("apk", "2.5.1-r8", "2.5.1a-r1", -1, APK),
    ("apk", "1.6d", "1.2.07.8", 1, APK),
    ("apk", "1.06-r6", "006", -1, APK),
    ("apk", "0.2.0-r1", "0.2.0-r1", 0, APK),
    ("apk", "1.0_rc1", "1.0_beta2", 1, APKC),
    ("apk", "1.2_git20200101", "1.2", 1, APKC),
    ("apk", "1.2_cvs", "1.2_svn", -1, APKC),
    ("apk", "1.2_hg1", "1.2_p1", -1, APKC),
    # rpm
    ("rpm", "1.0~rc1", "1.0", -1, RPM),
    ("rpm", "1.0^git1", "1.0", 1, RPM),
    ("rpm", "1.0^git1", "1.0.1", -1, RPM),
    ("rpm", "1:1.0", "2.0", 1, RPM),
    ("rpm", "1.0-1", "1.0-2", -1, RPM),
    ("rpm", "1.0a", "1.0", 1, RPM),
    ("rpm", "1.0", "1.0.1", -1, RPM),
    ("rpm", "2.0-1.el8", "2.0-1.el8_1", -1, RPM),
    ("rpm", "1.0", "1_0", 0, RPM),
    ("rpm", "1.010", "1.10", 0, RPM),
    ("rpm", "1.0a", "1.0.1", -1, RPM),
    ("rpm", "3.0.7-24.el9", "3.0.7-27.el9", -1, RPM),
    ("rpm", "1:3.0.7-24.el9", "3.0.8-1.el9", 1, RPM),
    # PyPI
    ("pep440", "1.0rc1", "1.0", -1, PEP440),
    ("pep440", "1.0.post1", "1.0", 1, PEP440),
    ("pep440", "1.0.dev1", "1.0a1", -1, PEP440),
    ("pep440", "1!1.0", "2.0", 1, PEP440),
    ("pep440", "1.0", "1.0.0", 0, PEP440),
    ("pep440", "1.0+local.1", "1.0", 1, PEP440),
    ("pep440", "2.31.0", "2.32.0", -1, PEP440),
    ("pep440", "1.0a1", "1.0b1", -1, PEP440),
    # npm (node-semver)
    ("semver", "1.0.0-alpha", "1.0.0", -1, NODE),
    ("semver", "1.0.0+build", "1.0.0", 0, NODE),
    ("semver", "1.0.0-alpha.1", "1.0.0-alpha.beta", -1, NODE),
    ("semver", "1.0.0-rc.1", "1.0.0-rc.11", -1, NODE),
    ("semver", "1.0.0-alpha", "1.0.0-alpha.1", -1, NODE),
    ("semver", "1.0.0-beta.11", "1.0.0-rc.1", -1, NODE),
    ("semver", "v2.0.0", "1.9.9", 1, NODE),
    ("semver", "=1.2.3", "1.2.3", 0, NODE),
    # Go
    ("go", "v1.0.0", "v1.0.1", -1, GOMOD),
    ("go", "v0.0.0-20200101000000-abcdef123456", "v0.1.0", -1, GOMOD),
    ("go", "v2.0.0+incompatible", "v2.0.0", 0, GOMOD),
    ("go", "v1.2.4-0.20200101000000-abcdef123456", "v1.2.3", 1, GOMOD),
    ("go", "v1.2", "v1.2.0", 0, GOMOD),
    ("go", "1.21.0", "v1.21.9", -1, GOMOD),
    ("go", "go1.21", "1.21.0", 0, GOVULN),
    ("go", "go1.22rc1", "1.22.0", -1, GOVULN),
    ("go", "go1.22beta2", "go1.22rc1", -1, GOVULN),
    ("go", "go1.21.3", "go1.21.10", -1, GOVULN),
    # Maven
    ("maven", "1.0-SNAPSHOT", "1.0", -1, MAVEN),
    ("maven", "1.0-alpha", "1.0-beta", -1, MAVEN),
    ("maven", "1.0-beta", "1.0-milestone", -1, MAVEN),
    ("maven", "1.0-milestone1", "1.0-rc1", -1, MAVEN),
    ("maven", "1.0-rc1", "1.0-SNAPSHOT", -1, MAVEN),
    ("maven", "1.0", "1.0-sp", -1, MAVEN),
    ("maven", "1.0", "1.0.0", 0, MAVEN),
    ("maven", "1.0-ga", "1.0", 0, MAVEN),
    ("maven", "1.0-final", "1.0", 0, MAVEN),
    ("maven", "1.0-cr1", "1.0-rc1", 0, MAVEN),
    ("maven", "1.0-a1", "1.0-alpha-1", 0, MAVEN),
    ("maven", "2.17.1", "2.17.0", 1, MAVEN),
    # RubyGems
    ("gem", "1.0.a", "1.0", -1, GEM),
    ("gem", "1.0", "1.0.0", 0, GEM),
    ("gem", "1.0.b1", "1.0.a2", 1, GEM),
    ("gem", "1.0.0.pre", "1.0.0", -1, GEM),
    ("gem", "1.0.a10", "1.0.a9", 1, GEM),
    ("gem", "7.0.8.1", "7.0.8", 1, GEM),
]

INVALID: list[tuple[str, str, str]] = [
    ("deb", "", "dpkg: version string is empty"),
    ("deb", "a:1.0", "dpkg: epoch in version is not number"),
    ("deb", "1.0 beta", "dpkg: invalid character in version number"),
    ("deb", "1.0-", "dpkg: revision number is empty"),
    ("apk", "1.0_foo", APKC + " (unknown suffix)"),
    ("apk", "1.0-x1", "apk-tools apk_version_validate"),
    ("pep440", "not a version", PEP440),
    ("semver", "1.2", "semver.org §2 (X.Y.Z)"),
    ("semver", "01.2.3", "semver.org §2 (no leading zeros)"),
    ("go", "go1.0", GOVULN + " (go1.0 was never a tag)"),
    ("go", "v1.2.3.4", GOMOD),
    ("gem", "abc", GEM + " (must start with a digit)"),
    ("maven", "", "empty string is not a version"),
    ("rpm", "", "empty string is not a version"),
]


def _ids(rows: list[tuple[str, str, str, int, str]]) -> list[str]:
    return [f"{s}:{a}<=>{b}" for s, a, b, _, _ in rows]


def test_table_is_large_enough() -> None:
    assert len([r for r in ORDER if r[3] != 0]) >= 60
    assert {r[0] for r in ORDER} == {cls.name for cls in SCHEMES}


@pytest.mark.parametrize(("scheme_name", "a", "b", "expected", "authority"), ORDER, ids=_ids(ORDER))
def test_order(scheme_name: str, a: str, b: str, expected: int, authority: str) -> None:
    scheme = scheme_by_name(scheme_name)
    assert scheme is not None
    assert scheme.compare(a, b) == expected, authority
    assert scheme.compare(b, a) == -expected, authority
    ka, kb = scheme.key(a), scheme.key(b)
    if expected == 0:
        assert ka == kb and hash(ka) == hash(kb), authority
    else:
        assert ka != kb, authority


@pytest.mark.parametrize(("scheme_name", "version", "authority"), INVALID)
def test_invalid(scheme_name: str, version: str, authority: str) -> None:
    scheme = scheme_by_name(scheme_name)
    assert scheme is not None
    with pytest.raises(InvalidVersion):
        scheme.key(version)


DEB_ROWS = [r for r in ORDER if r[0] == "deb"]
RPM_ROWS = [r for r in ORDER if r[0] == "rpm"]


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg not on PATH")
@pytest.mark.parametrize(("scheme_name", "a", "b", "expected", "authority"), DEB_ROWS, ids=_ids(DEB_ROWS))
def test_deb_rows_against_live_dpkg(scheme_name: str, a: str, b: str, expected: int, authority: str) -> None:
    def holds(op: str) -> bool:
        return subprocess.run(["dpkg", "--compare-versions", a, op, b], check=False).returncode == 0

    assert (holds("lt"), holds("eq"), holds("gt")) == (expected < 0, expected == 0, expected > 0)


@pytest.mark.skipif(shutil.which("rpm") is None, reason="rpm not on PATH")
@pytest.mark.parametrize(("scheme_name", "a", "b", "expected", "authority"), RPM_ROWS, ids=_ids(RPM_ROWS))
def test_rpm_rows_against_live_rpm(scheme_name: str, a: str, b: str, expected: int, authority: str) -> None:
    out = subprocess.run(["rpm", "--eval", f'%{{lua: print(rpm.vercmp("{a}", "{b}"))}}'],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert int(out) == expected


@pytest.mark.parametrize(("tag", "semver"), [
    ("go1", "1.0.0"), ("go1.21", "1.21.0"), ("go1.21.3", "1.21.3"),
    ("go1.22rc1", "1.22.0-rc.1"), ("go1.22beta2", "1.22.0-beta.2"),
])
def test_go_toolchain_mapping(tag: str, semver: str) -> None:
    # Authority: the brief's mapping, as in x/vuln GoTagToSemver (go1.21 → v1.21.0, go1.22rc1 → v1.22.0-rc.1).
    assert go_to_semver(tag) == semver


@pytest.mark.parametrize(("ecosystem", "name"), [
    ("Debian:12", "deb"), ("Ubuntu:22.04:LTS", "deb"), ("Alpine:v3.18", "apk"), ("Wolfi", "apk"),
    ("Chainguard", "apk"), ("Rocky Linux:9", "rpm"), ("Red Hat:rhel_aus:8.4::appstream", "rpm"),
    ("AlmaLinux:8", "rpm"), ("openSUSE:Tumbleweed", "rpm"), ("SUSE:Linux Enterprise Server 15 SP5", "rpm"),
    ("Mageia:9", "rpm"), ("openEuler:22.03-LTS", "rpm"), ("PyPI", "pep440"), ("npm", "semver"),
    ("crates.io", "semver"), ("Go", "go"), ("Maven", "maven"), ("Maven:https://maven.google.com", "maven"),
    ("RubyGems", "gem"),
])
def test_scheme_for_ecosystem(ecosystem: str, name: str) -> None:
    # Authority: the OSV schema's "Defined ecosystems" table (ecosystem names and their ":" suffixes).
    scheme = scheme_for_ecosystem(ecosystem)
    assert scheme is not None and scheme.name == name


@pytest.mark.parametrize("ecosystem", ["Hackage", "NuGet", "Packagist", "GIT", "", "debian:12"])
def test_unknown_ecosystem_has_no_scheme(ecosystem: str) -> None:
    assert scheme_for_ecosystem(ecosystem) is None


def test_lookups_cover_every_scheme() -> None:
    for cls in SCHEMES:
        scheme = scheme_by_name(cls.name)
        assert isinstance(scheme, cls)
        for eco in cls.ecosystems:
            assert scheme_for_ecosystem(eco) is scheme
        for purl in cls.purl_types:
            assert scheme_for_purl_type(purl) is scheme
    assert scheme_by_name("nope") is None and scheme_for_purl_type("nope") is None


def test_keys_sort_like_versions() -> None:
    scheme = scheme_by_name("deb")
    assert scheme is not None
    versions = ["1:0.1", "1.0-1", "1.0~rc1-1", "0.9", "1.0+b1-1"]
    assert sorted(versions, key=scheme.key) == ["0.9", "1.0~rc1-1", "1.0-1", "1.0+b1-1", "1:0.1"]
