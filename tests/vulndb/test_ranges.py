"""OSV range evaluation, against the OSV schema's "Evaluation" pseudo-code and real feed records."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tidegate.vulndb.ranges import evaluate
from tidegate.vulndb.schema import Advisory, Affected, Event, Range
from tidegate.vulndb.versions import InvalidVersion

SPEC = "OSV schema §Evaluation (https://ossf.github.io/osv-schema/#evaluation)"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "vulndata" / "osv"


def _aff(ecosystem: str, *ranges: tuple[str, list[tuple[str, str]]], versions: tuple[str, ...] = ()) -> Affected:
    return Affected(ecosystem=ecosystem, name="pkg", versions=versions,
                    ranges=tuple(Range(type=t, events=tuple(Event(k, v) for k, v in ev), repo="r")
                                 for t, ev in ranges))


def _record(ecosystem: str, record_id: str) -> Advisory:
    path = SHARED / ecosystem / "all.zip"
    if not path.exists():
        pytest.skip(f"{path} not present")
    with zipfile.ZipFile(path) as zf:
        return Advisory.from_osv(json.loads(zf.read(f"{record_id}.json")), source=f"osv:{ecosystem}")


PYPI_FIXED = _aff("PyPI", ("ECOSYSTEM", [("introduced", "0"), ("fixed", "2.31.0")]))


@pytest.mark.parametrize(("version", "affected"), [("0.1", True), ("2.30.0", True), ("2.31.0", False),
                                                  ("2.31.0rc1", True), ("3.0", False)])
def test_introduced_zero_fixed(version: str, affected: bool) -> None:
    # SPEC: introduced "0" sorts before every version; fixed is exclusive (v >= fixed clears).
    ev = evaluate(PYPI_FIXED, version)
    assert ev.affected is affected
    assert ev.fixed == (("2.31.0",) if affected else ())
    assert ev.constraint == (">=0, <2.31.0" if affected else "")
    assert ev.unevaluated == ()


@pytest.mark.parametrize(("version", "affected"), [("2.1.213", True), ("2.1.214", True), ("2.1.215", False)])
def test_last_affected_is_inclusive(version: str, affected: bool) -> None:
    # SPEC "last_affected vs fixed example": 2.1.214 affected, versions above it are not.
    aff = _aff("Maven", ("ECOSYSTEM", [("introduced", "0"), ("last_affected", "2.1.214")]))
    ev = evaluate(aff, version)
    assert ev.affected is affected
    assert ev.fixed == ()
    if affected:
        assert ev.constraint == ">=0, <=2.1.214"


@pytest.mark.parametrize(("version", "affected"), [("0.9.0", False), ("1.0.0", True), ("1.0.1", True),
                                                  ("1.0.2", False), ("2.0.0", False), ("3.0.0", True),
                                                  ("3.2.4", True), ("3.2.5", False)])
def test_multiple_intervals_and_unsorted_events(version: str, affected: bool) -> None:
    # SPEC "Multiple range example": [1.0.0, 1.0.2) or [3.0.0, 3.2.5); events are sorted before the walk.
    events = [("fixed", "3.2.5"), ("introduced", "1.0.0"), ("introduced", "3.0.0"), ("fixed", "1.0.2")]
    ev = evaluate(_aff("npm", ("SEMVER", events)), version)
    assert ev.affected is affected
    if affected:
        assert ev.fixed == (("1.0.2",) if version.startswith("1.") else ("3.2.5",))


def test_unfixed_range_affects_every_version() -> None:
    ev = evaluate(_aff("crates.io", ("SEMVER", [("introduced", "0")])), "99.0.0")  # SPEC "Unfixed" example
    assert (ev.affected, ev.fixed, ev.constraint) == (True, (), ">=0")


@pytest.mark.parametrize(("limits", "version", "affected"), [
    (["1.5.0"], "1.4.0", True), (["1.5.0"], "1.5.0", False), (["1.5.0"], "1.9.0", False),
    (["*"], "1.9.0", True), (["1.2.0", "1.6.0"], "1.5.0", True),
])
def test_limit(limits: list[str], version: str, affected: bool) -> None:
    # SPEC BeforeLimits: v must be < some limit; "*" is infinity; no limit means an implicit "*".
    events = [("introduced", "1.0.0"), *(("limit", lim) for lim in limits)]
    assert evaluate(_aff("npm", ("SEMVER", events)), version).affected is affected


def test_versions_list_matches_exactly_or_by_key() -> None:
    # SPEC IncludedInVersions: v == version; equal PEP 440 keys count (PEP 440: "1.0" == "1.0.0").
    aff = _aff("PyPI", versions=("1.0", "1.1"))
    assert evaluate(aff, "1.1").constraint == "in versions list"
    assert evaluate(aff, "1.0.0").affected
    assert not evaluate(aff, "1.2").affected


def test_git_only_range_is_unevaluated() -> None:
    aff = _aff("PyPI", ("GIT", [("introduced", "0"), ("fixed", "3f38f73218e5e782fe411ccbb3b44a793c0b343a")]))
    ev = evaluate(aff, "2.9.0")
    assert not ev.affected
    assert len(ev.unevaluated) == 1 and "GIT" in ev.unevaluated[0]


def test_git_range_with_versions_list_still_matches() -> None:
    # SPEC "Python vulnerability" example: a GIT range plus a versions list; the list still applies.
    aff = _aff("PyPI", ("GIT", [("introduced", "0"), ("fixed", "3f38f73218e5e782fe411ccbb3b44a793c0b343a")]),
               versions=("2.8.0", "2.9.2"))
    ev = evaluate(aff, "2.9.2")
    assert ev.affected and ev.constraint == "in versions list" and len(ev.unevaluated) == 1


def test_neither_ranges_nor_versions_affects_nothing() -> None:
    # SPEC: affected iff listed in versions or inside a range; the pseudo-code returns false here, and
    # https://github.com/ossf/osv-schema/issues/27 confirms that what is not listed is not affected.
    ev = evaluate(_aff("PyPI"), "1.0")
    assert (ev.affected, ev.fixed, ev.unevaluated) == (False, (), ())


def test_unparsable_event_is_unevaluated_and_does_not_match() -> None:
    aff = _aff("PyPI", ("ECOSYSTEM", [("introduced", "0"), ("fixed", "not a version")]))
    ev = evaluate(aff, "1.0")
    assert not ev.affected and "does not parse" in ev.unevaluated[0]


def test_unparsable_installed_version_raises() -> None:
    with pytest.raises(InvalidVersion):
        evaluate(PYPI_FIXED, "not a version")


def test_unknown_ecosystem_range_is_unevaluated() -> None:
    ev = evaluate(_aff("Hackage", ("ECOSYSTEM", [("introduced", "0")])), "1.0")
    assert not ev.affected and "no version scheme" in ev.unevaluated[0]


@pytest.mark.parametrize(("version", "affected"), [("v1.2.3", True), ("1.2.3", True), ("v1.3.0", False),
                                                  ("v0.0.0-20200101000000-abcdef123456", True)])
def test_semver_range_with_go_v_prefix(version: str, affected: bool) -> None:
    # Go vulndb OSV: SEMVER events without "v"; module versions carry it (golang.org/x/mod/semver).
    aff = _aff("Go", ("SEMVER", [("introduced", "0"), ("fixed", "1.3.0")]))
    assert evaluate(aff, version).affected is affected


@pytest.mark.parametrize(("version", "affected"), [("2.1.7-3+deb12u12", True), ("2:21.1.7-3+deb12u12", True),
                                                  ("2:21.1.7-3+deb12u13", False), ("3:1.0-1", False)])
def test_debian_epoch_in_fixed_event(version: str, affected: bool) -> None:
    # dpkg: a missing epoch is 0, so anything without epoch is below 2:… (dpkg --compare-versions).
    aff = _aff("Debian:12", ("ECOSYSTEM", [("introduced", "0"), ("fixed", "2:21.1.7-3+deb12u13")]))
    assert evaluate(aff, version).affected is affected


# -- real records --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("version", "affected", "fixed"), [
    ("go1.21.8", True, "1.21.9"), ("go1.21.9", False, ""), ("go1.22rc1", True, "1.22.2"),
    ("go1.22.1", True, "1.22.2"), ("go1.22.2", False, ""), ("1.20.0", True, "1.21.9"),
])
def test_go_2024_2687_stdlib(version: str, affected: bool, fixed: str) -> None:
    # GO-2024-2687 (stdlib): SEMVER introduced 0, fixed 1.21.9, introduced 1.22.0-0, fixed 1.22.2 (read from
    # the record); go1.22rc1 → 1.22.0-rc.1 lies above 1.22.0-0 (SemVer §11: numeric id 0 < "rc").
    stdlib = next(a for a in _record("Go", "GO-2024-2687").affected if a.name == "stdlib")
    ev = evaluate(stdlib, version)
    assert ev.affected is affected
    assert ev.fixed == ((fixed,) if fixed else ())


@pytest.mark.parametrize(("version", "affected"), [("2.2.1", False), ("2.3.0", True), ("2.30.0", True),
                                                  ("2.31.0", False), ("2.32.3", False)])
def test_pysec_2023_74_requests(version: str, affected: bool) -> None:
    # PYSEC-2023-74 (requests): a GIT range, ECOSYSTEM introduced 2.3.0 fixed 2.31.0, and a versions list.
    requests = _record("PyPI", "PYSEC-2023-74").affected[0]
    ev = evaluate(requests, version)
    assert ev.affected is affected
    assert len(ev.unevaluated) == 1 and "GIT" in ev.unevaluated[0]
    if affected:
        assert ev.fixed == ("2.31.0",)
        assert ">=2.3.0, <2.31.0" in ev.constraint


@pytest.mark.parametrize(("version", "affected"), [("2:21.1.7-3+deb12u12", True), ("2:21.1.7-3+deb12u13", False),
                                                  ("2:21.1.7-3", True), ("2:21.1.8-1", False)])
def test_debian_cve_2022_49737_xorg_server(version: str, affected: bool) -> None:
    # DEBIAN-CVE-2022-49737 (xorg-server, Debian:12): introduced 0, fixed 2:21.1.7-3+deb12u13.
    xorg = _record("Debian", "DEBIAN-CVE-2022-49737").affected[0]
    assert xorg.ecosystem == "Debian:12"
    ev = evaluate(xorg, version)
    assert ev.affected is affected
    assert ev.fixed == (("2:21.1.7-3+deb12u13",) if affected else ())
