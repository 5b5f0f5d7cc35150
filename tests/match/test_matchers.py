"""Each matcher against real OSV records (../shared/vulndata) and hand-made records for the edge cases."""

from __future__ import annotations

import pytest

from tests.match import FakeDb, apk, deb, gomod, needs_shared, osv, pypi, record
from tidegate.match.base import MatchContext
from tidegate.match.distro import DistroMatcher, feed_ecosystems, search_targets
from tidegate.match.gostdlib import GoStdlibMatcher, go_tag_to_semver
from tidegate.match.language import LanguageMatcher
from tidegate.match.registry import MATCHERS
from tidegate.model.distro import Distro
from tidegate.model.package import Package, RpmEntry

BOOKWORM = Distro(id="debian", version_id="12")


def ctx(*advisories: object, distro: Distro | None = BOOKWORM) -> MatchContext:
    return MatchContext(db=FakeDb(advisories), distro=distro)  # type: ignore[arg-type]


def test_registry_names_are_unique_and_documented() -> None:
    assert len({m.name for m in MATCHERS}) == len(MATCHERS)
    assert all(type(m).__doc__ and m.package_types for m in MATCHERS)


# -- distro ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("os_id", "version_id", "expected"), [
    ("debian", "12", ("Debian:12",)),
    ("ubuntu", "22.04", ("Ubuntu:22.04:LTS",)),   # OSV marks LTS releases
    ("ubuntu", "23.10", ("Ubuntu:23.10",)),
    ("alpine", "3.18.4", ("Alpine:v3.18",)),
    ("almalinux", "9.3", ("AlmaLinux:9",)),
    ("rocky", "9.3", ("Rocky Linux:9",)),
    ("rhel", "9.3", ()),       # Red Hat's OSV ecosystems are per product stream: not guessed
    ("debian", "", ()),        # sid/testing have no VERSION_ID
])
def test_feed_ecosystems(os_id: str, version_id: str, expected: tuple[str, ...]) -> None:
    assert feed_ecosystems(Distro(id=os_id, version_id=version_id)) == expected


@needs_shared
def test_deb_matches_through_its_source_package() -> None:
    # bookworm-app's libssl3 3.0.20-1~deb12u2 is built from openssl; the derived record fixes it in 3.0.22-1~deb12u1.
    adv = osv("Debian", "DEBIAN-CVE-2026-42767")
    assert adv.affected[0].name == "openssl"
    out = DistroMatcher().match(deb("libssl3", "3.0.20-1~deb12u2", "openssl"), ctx(adv))
    (m,) = out.matches
    assert m.advisory.id == "DEBIAN-CVE-2026-42767"
    assert m.fixed_versions == ("3.0.22-1~deb12u1",)
    d = m.details
    assert (d.matcher, d.ecosystem, d.searched_name, d.searched_version, d.indirect) == (
        "distro", "Debian:12", "openssl", "3.0.20-1~deb12u2", True)
    assert not DistroMatcher().match(deb("libssl3", "3.0.22-1~deb12u1", "openssl"), ctx(adv)).matches
    # A package that is its own source is a direct match.
    (direct,) = DistroMatcher().match(deb("openssl", "3.0.20-1~deb12u2"), ctx(adv)).matches
    assert direct.details.indirect is False


def test_deb_compares_the_source_version_not_the_binnmu_version() -> None:
    # libssh2-1 1.10.0-3+b1 is a binNMU (rebuild) of source 1.10.0-3: same code, so a flaw whose last affected
    # source version is 1.10.0-3 is in it, although the binary version sorts above 1.10.0-3.
    adv = record("DEBIAN-CVE-2099-0001", "Debian:12", "libssh2", [{"introduced": "0"}, {"last_affected": "1.10.0-3"}],
                 aliases=["CVE-2099-0001"])
    (m,) = DistroMatcher().match(deb("libssh2-1", "1.10.0-3+b1", "libssh2", "1.10.0-3"), ctx(adv)).matches
    assert m.details.searched_version == "1.10.0-3"
    assert m.fixed_versions == ()


def test_feed_not_affected_is_passed_on_not_dropped() -> None:
    adv = record("DEBIAN-CVE-2099-0002", "Debian:12", "glibc", affected_extra={"ecosystem_specific":
                                                                             {"not_affected": True}})
    (m,) = DistroMatcher().match(deb("libc6", "2.36-9+deb12u14", "glibc"), ctx(adv)).matches
    assert m.not_affected is True


def test_apk_matches_through_origin() -> None:
    adv = record("ALPINE-CVE-2099-0003", "Alpine:v3.18", "openssl", [{"introduced": "0"}, {"fixed": "3.1.4-r1"}])
    (m,) = DistroMatcher().match(apk("libcrypto3", "3.1.4-r0", "openssl"),
                                 ctx(adv, distro=Distro(id="alpine", version_id="3.18.4"))).matches
    assert (m.details.ecosystem, m.details.searched_name, m.details.indirect) == ("Alpine:v3.18", "openssl", True)
    assert m.fixed_versions == ("3.1.4-r1",)


def test_rpm_searches_binary_then_source_rpm_name() -> None:
    meta = RpmEntry(name="openssl-libs", version="3.0.7", release="24.el9", epoch=1, architecture="x86_64",
                    source_rpm="openssl-3.0.7-24.el9.src.rpm")
    pkg = Package(name="openssl-libs", version="1:3.0.7-24.el9", type="rpm", purl="pkg:rpm/almalinux/openssl-libs",
                  cataloger="rpm-db", locations=(), metadata=meta)
    assert search_targets(pkg) == [("openssl-libs", "1:3.0.7-24.el9", False), ("openssl", "1:3.0.7-24.el9", True)]


def test_no_distro_is_one_unknown_per_image() -> None:
    pkgs = [deb("bash", "5.2.15-2+b13", "bash", "5.2.15-2"), deb("libc6", "2.36-9", "glibc")]
    results = DistroMatcher().match_all(pkgs, ctx(distro=None))
    unknowns = [u for _, out in results for u in out.unknowns]
    assert [u.reason for u in unknowns] == ["OS not detected: OS packages not matched"]
    assert unknowns[0].location is None


# -- language ----------------------------------------------------------------------------------------------
@needs_shared
def test_pypi_records_with_git_ranges_and_version_lists() -> None:
    # PYSEC-2023-74: GIT range + ECOSYSTEM introduced 2.3.0 fixed 2.31.0; PYSEC-2018-28: < 2.20.0 with a
    # `versions` list. bookworm-app has requests 2.19.1: both apply; 2.31.0 is fixed for both.
    advs = (osv("PyPI", "PYSEC-2023-74"), osv("PyPI", "PYSEC-2018-28"))
    out = LanguageMatcher().match(pypi("requests", "2.19.1"), ctx(*advs))
    assert {m.advisory.id: m.fixed_versions for m in out.matches} == {
        "PYSEC-2023-74": ("2.31.0",), "PYSEC-2018-28": ("2.20.0",)}
    assert not out.unknowns  # the GIT ranges sit beside ECOSYSTEM ones: nothing was left unevaluated
    assert not LanguageMatcher().match(pypi("requests", "2.31.0"), ctx(*advs)).matches


@needs_shared
def test_pypi_names_are_pep503_normalised() -> None:
    # PYSEC-2021-109 (Django): introduced 3.2, fixed 3.2.5; "3.2" is also in its versions list.
    adv = osv("PyPI", "PYSEC-2021-109")
    (m,) = LanguageMatcher().match(pypi("Django", "3.2"), ctx(adv)).matches
    assert m.fixed_versions == ("3.2.5",)
    assert m.details.ecosystem == "PyPI"


def test_git_only_record_is_an_unknown() -> None:
    adv = record("PYSEC-2099-1", "PyPI", "demo", [{"introduced": "0"}, {"fixed": "a" * 40}], range_type="GIT",
                 affected_extra={"ranges": [{"type": "GIT", "repo": "https://example.com/demo",
                                             "events": [{"introduced": "0"}, {"fixed": "a" * 40}]}]})
    out = LanguageMatcher().match(pypi("demo", "1.0"), ctx(adv))
    assert not out.matches
    (u,) = out.unknowns
    assert "PYSEC-2099-1" in u.reason and "not evaluated" in u.reason


def test_unparsable_version_is_an_unknown_not_a_crash() -> None:
    adv = record("PYSEC-2099-2", "PyPI", "demo", [{"introduced": "0"}, {"fixed": "2.0"}])
    out = LanguageMatcher().match(pypi("demo", "not a version!"), ctx(adv))
    assert not out.matches
    assert "not evaluated" in out.unknowns[0].reason


@needs_shared
def test_go_module_versions_without_v() -> None:
    # GO-2026-5024: golang.org/x/sys fixed in 0.44.0; shfmt in bookworm-app links v0.42.0.
    adv = osv("Go", "GO-2026-5024")
    (m,) = LanguageMatcher().match(gomod("golang.org/x/sys", "v0.42.0"), ctx(adv)).matches
    assert (m.details.ecosystem, m.details.searched_name, m.details.searched_version) == (
        "Go", "golang.org/x/sys", "0.42.0")
    assert m.fixed_versions == ("0.44.0",)
    assert not LanguageMatcher().match(gomod("golang.org/x/sys", "v0.44.0"), ctx(adv)).matches


@needs_shared
def test_go_replaced_module_matches_the_replacement() -> None:
    adv = osv("Go", "GO-2026-5024")
    pkg = gomod("example.com/fork/sys", "v1.0.0", replaced_by="golang.org/x/sys@v0.42.0")
    (m,) = LanguageMatcher().match(pkg, ctx(adv)).matches
    assert m.details.searched_name == "golang.org/x/sys"
    assert "replaced by golang.org/x/sys@v0.42.0" in m.details.constraint


@pytest.mark.parametrize("version", ["(devel)", ""])
def test_go_devel_or_empty_version_is_not_evaluated(version: str) -> None:
    out = LanguageMatcher().match(gomod("example.com/app", version, is_main=True), ctx())
    assert not out.matches
    assert "not evaluated" in out.unknowns[0].reason


@pytest.mark.parametrize(("ptype", "purl", "ecosystem", "name"), [
    ("npm", "pkg:npm/%40babel/core@7.0.0", "npm", "@babel/core"),
    ("maven", "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1", "Maven", "org.apache.logging.log4j:log4j-core"),
    ("gem", "pkg:gem/rack@2.0.0", "RubyGems", "rack"),
])
def test_other_language_ecosystems_are_searched_by_osv_name(ptype: str, purl: str, ecosystem: str,
                                                           name: str) -> None:
    db = FakeDb([])
    pkg = Package(name=name.rsplit(":", 1)[-1], version="1", type=ptype, purl=purl, cataloger="sbom-input",
                  locations=())
    LanguageMatcher().match(pkg, MatchContext(db=db, distro=None))
    assert db.asked == [(ecosystem, name)]


# -- Go standard library -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("tag", "semver"), [
    ("go1.26.1", "1.26.1"), ("go1.21", "1.21.0"), ("go1.22rc1", "1.22.0-rc.1"), ("go1.20beta2", "1.20.0-beta.2"),
    ("go1.22.2 X:boringcrypto", "1.22.2"), ("devel go1.23-abcdef", None),
])
def test_go_tag_to_semver(tag: str, semver: str | None) -> None:
    assert go_tag_to_semver(tag) == semver


@needs_shared
@pytest.mark.parametrize(("go_version", "affected"), [("go1.21.0", True), ("go1.22.2", False)])
def test_stdlib_per_binary(go_version: str, affected: bool) -> None:
    # GO-2024-2687 (HTTP/2 CONTINUATION flood): stdlib introduced 0 fixed 1.21.9, introduced 1.22.0-0 fixed 1.22.2.
    adv = osv("Go", "GO-2024-2687")
    pkgs = [gomod("example.com/app", "(devel)", go_version=go_version, is_main=True),
            gomod("golang.org/x/sys", "v0.42.0", go_version=go_version)]
    ((std, out),) = GoStdlibMatcher().match_all(pkgs, ctx(adv))
    assert (std.name, std.version, std.type, std.purl) == (
        "stdlib", go_version, "golang", f"pkg:golang/stdlib@{go_version.removeprefix('go')}")
    assert std.locations == pkgs[0].locations
    assert std.id == GoStdlibMatcher().match_all(pkgs, ctx(adv))[0][0].id  # stable
    assert [m.advisory.id for m in out.matches] == (["GO-2024-2687"] if affected else [])
    if affected:
        assert out.matches[0].fixed_versions == ("1.21.9",)


def test_stdlib_one_per_binary() -> None:
    pkgs = [gomod("a", "v1.0.0", binary="/bin/a"), gomod("b", "v1.0.0", binary="/bin/a"),
            gomod("c", "v1.0.0", binary="/bin/c", go_version="go1.22.2")]
    results = GoStdlibMatcher().match_all(pkgs, ctx())
    assert [(p.locations[0].path, p.version) for p, _ in results] == [("/bin/a", "go1.26.1"), ("/bin/c", "go1.22.2")]
    assert len({p.id for p, _ in results}) == 2
