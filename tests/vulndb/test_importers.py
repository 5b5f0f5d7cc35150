"""Importers on real feeds (../shared/vulndata), a Debian tracker file written from the public format
description (docs/debian-tracker-format.md), and hostile feeds built in tmp_path."""

from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import SHARED
from tidegate.vulndb.importers import IMPORTERS, FeedError, SkipKind, Skipped, detect_importer
from tidegate.vulndb.importers import osv as osv_module
from tidegate.vulndb.importers.alpine import AlpineSecdbImporter
from tidegate.vulndb.importers.base import MAX_RECORD_BYTES
from tidegate.vulndb.importers.debian_tracker import DebianTrackerImporter
from tidegate.vulndb.importers.osv import OsvImporter
from tidegate.vulndb.schema import Advisory

VULNDATA = SHARED / "vulndata"
TRACKER = Path(__file__).parent / "testdata" / "debian-tracker" / "tracker.json"
needs_vulndata = pytest.mark.skipif(not VULNDATA.is_dir(), reason="../shared/vulndata is not present")


def split(items: list[Advisory | Skipped]) -> tuple[dict[str, Advisory], list[Skipped]]:
    advs = {i.id: i for i in items if isinstance(i, Advisory)}
    return advs, [i for i in items if isinstance(i, Skipped)]


def osv_record(rid: str, ecosystem: str = "PyPI", name: str = "requests", **extra: Any) -> dict[str, Any]:
    return {"id": rid, "modified": "2024-01-02T03:04:05Z",
            "affected": [{"package": {"ecosystem": ecosystem, "name": name},
                          "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}],
            **extra}


# -- registry ------------------------------------------------------------------------------------------------
def test_registry_is_explicit_and_unique() -> None:
    names = [cls.name for cls in IMPORTERS]
    assert names == ["alpine-secdb", "debian-tracker", "osv"]
    assert len(set(names)) == len(names)
    assert all(cls.schema_version >= 1 and cls.__doc__ for cls in IMPORTERS)


@needs_vulndata
@pytest.mark.parametrize(("path", "expected"), [
    (VULNDATA / "osv" / "PyPI" / "all.zip", "osv"),
    (VULNDATA / "alpine" / "v3.11" / "main.json", "alpine-secdb"),
    (VULNDATA / "alpine" / "v3.3" / "community.json", "alpine-secdb"),  # packages: null
    (TRACKER, "debian-tracker"),
    (VULNDATA / "PROVENANCE.md", None),  # near miss: a file in the feed folder that is no feed
    (VULNDATA / "osv" / "Debian" / "derivation-sources.json", None),  # JSON, but neither shape
])
def test_detection_by_content(path: Path, expected: str | None) -> None:
    imp = detect_importer(path)
    assert (imp.name if imp else None) == expected


def test_detection_ignores_the_file_name(tmp_path: Path) -> None:
    # An Alpine secdb document under a misleading name is still Alpine; an OSV record named .txt is not guessed.
    (tmp_path / "all.zip.json").write_text(json.dumps({"distroversion": "v3.19", "reponame": "main",
                                                       "packages": []}))
    assert type(detect_importer(tmp_path / "all.zip.json")) is AlpineSecdbImporter
    (tmp_path / "record.json").write_text(json.dumps(osv_record("PYSEC-1")))
    assert type(detect_importer(tmp_path / "record.json")) is OsvImporter
    (tmp_path / "tracker").write_bytes(TRACKER.read_bytes())
    assert type(detect_importer(tmp_path / "tracker")) is DebianTrackerImporter


# -- Debian tracker ------------------------------------------------------------------------------------------
def test_debian_tracker_statuses_and_urgencies() -> None:
    advs, skipped = split(list(DebianTrackerImporter().records(TRACKER)))
    assert sorted(advs) == ["DEBIAN-CVE-2023-9999", "DEBIAN-CVE-2024-0727", "DEBIAN-CVE-2024-2398",
                            "TEMP-0000000-1A2B3C"]
    assert all(a.source == "debian-tracker" for a in advs.values())

    a = advs["DEBIAN-CVE-2024-0727"]
    assert a.aliases == ("CVE-2024-0727",)
    assert a.summary == "Processing a maliciously formatted PKCS12 file may lead OpenSSL to crash"
    got = {(x.name, x.ecosystem): (x.ranges[0].events[-1].kind, x.ranges[0].events[-1].value, x.feed_severity)
           for x in a.affected}
    assert got == {  # resolved + version → fixed; urgency words; "medium**" is medium; sid is not a release
        ("openssl", "Debian:11"): ("fixed", "1.1.1w-0+deb11u2", "MEDIUM"),
        ("openssl", "Debian:12"): ("fixed", "3.0.13-1~deb12u1", "LOW"),
        ("openssl", "Debian:13"): ("fixed", "3.1.5-1", ""),  # not yet assigned → no severity
        ("curl", "Debian:12"): ("fixed", "7.88.1-10+deb12u6", "LOW"),  # the same id in a second package
    }

    b = {x.ecosystem: x for x in advs["DEBIAN-CVE-2023-9999"].affected}
    assert b["Debian:12"].not_affected and not b["Debian:12"].ranges  # resolved + "0"
    assert b["Debian:12"].feed_severity == "LOW"  # unimportant → LOW
    assert [(e.kind, e.value) for e in b["Debian:10"].ranges[0].events] == [("introduced", "0")]  # open
    assert b["Debian:10"].feed_severity == ""  # end-of-life → none

    c = {x.ecosystem: x for x in advs["DEBIAN-CVE-2024-2398"].affected}
    assert set(c) == {"Debian:12", "Debian:14"}  # experimental skipped, stretch reported
    assert c["Debian:12"].feed_severity == "HIGH" and len(c["Debian:12"].ranges[0].events) == 1
    assert c["Debian:14"].feed_severity == "" and len(c["Debian:14"].ranges[0].events) == 1  # undetermined

    t = advs["TEMP-0000000-1A2B3C"]
    assert t.aliases == () and t.affected[0].feed_severity == "LOW"

    reasons = {(s.item, s.reason) for s in skipped}
    assert all(s.kind is SkipKind.ENTRY for s in skipped)
    assert reasons == {
        ("curl CVE-2024-2398 stretch", "unknown release codename 'stretch'"),
        ("firefox-esr CVE-2024-2222 bookworm", "resolved without a fixed_version"),
        ("firefox-esr CVE-2024-2222 trixie", "unknown status 'pending'"),
        ("firefox-esr CVE-2024-2222 bullseye", "unknown urgency 'critical'"),
    }


def test_debian_tracker_broken_top_level(tmp_path: Path) -> None:
    bad = tmp_path / "tracker.json"
    bad.write_text('{"openssl": {"CVE-2024-1": {"releases": {')
    with pytest.raises(FeedError, match="not valid JSON"):
        list(DebianTrackerImporter().records(bad))


# -- Alpine --------------------------------------------------------------------------------------------------
def alpine_pairs(path: Path) -> set[str]:
    """Vulnerability ids of one secdb file, computed plainly: the id-shaped words before any '(' comment."""
    doc = json.loads(path.read_text())
    out = set()
    for p in doc["packages"] or []:
        for ids in (p["pkg"].get("secfixes") or {}).values():
            for text in ids or []:
                out.update(w for w in text.split("(")[0].split()
                           if re.fullmatch(r"[A-Za-z]+[A-Za-z0-9]*(-[A-Za-z0-9]+)+", w))
    return out


@needs_vulndata
def test_alpine_v311_main() -> None:
    path = VULNDATA / "alpine" / "v3.11" / "main.json"
    advs, skipped = split(list(AlpineSecdbImporter().records(path)))
    assert set(advs) == {f"ALPINE-v3.11-{i}" for i in alpine_pairs(path)}
    a = advs["ALPINE-v3.11-CVE-2019-1547"]
    assert a.source == "alpine-secdb:v3.11/main" and a.aliases == ("CVE-2019-1547",)
    (aff,) = a.affected
    assert (aff.ecosystem, aff.name) == ("Alpine:v3.11", "openssl")
    assert [(e.kind, e.value) for e in aff.ranges[0].events] == [("introduced", "0"), ("fixed", "1.1.1d-r1")]
    # "CVE-????-????? XSA-295": the placeholder is reported, the XSA id kept.
    assert "ALPINE-v3.11-XSA-295" in advs
    assert [(s.item, s.reason) for s in skipped] == [("xen 4.12.1-r0", "'CVE-????-?????' is not a vulnerability id")]


@needs_vulndata
def test_alpine_version_zero_is_not_affected() -> None:
    advs, _ = split(list(AlpineSecdbImporter().records(VULNDATA / "alpine" / "v3.8" / "main.json")))
    (aff,) = [x for x in advs["ALPINE-v3.8-CVE-2016-0682"].affected if x.name == "db"]
    assert aff.not_affected and not aff.ranges


def test_alpine_edge_cases(tmp_path: Path) -> None:
    doc = {"distroversion": "v3.19", "reponame": "community", "packages": [
        {"pkg": {"name": "xen", "secfixes": {"4.1-r0": ["CVE-2018-3639   XSA-263"], "4.2-r0": ["CVE-2018-3639"],
                                             "4.0-r0": None}}},
        {"pkg": {"name": "tcpdump", "secfixes": {"4.9.3-r0": ["CVE-2017-16808 (AoE)"]}}},
        {"nope": 1},
    ]}
    path = tmp_path / "community.json"
    path.write_text(json.dumps(doc))
    advs, skipped = split(list(AlpineSecdbImporter().records(path)))
    assert sorted(advs) == ["ALPINE-v3.19-CVE-2017-16808", "ALPINE-v3.19-CVE-2018-3639", "ALPINE-v3.19-XSA-263"]
    # Listed under two versions: the highest (apk order) is the fix; ids sharing a line are related.
    cve = advs["ALPINE-v3.19-CVE-2018-3639"]
    assert cve.affected[0].ranges[0].events[-1].value == "4.2-r0" and cve.related == ("XSA-263",)
    assert {(s.item, s.kind) for s in skipped} == {("xen 4.0-r0", SkipKind.ENTRY), ("packages[2]", SkipKind.RECORD)}
    path.write_text(json.dumps({**doc, "distroversion": "3.19"}))
    with pytest.raises(FeedError, match="is not vX.Y"):
        list(AlpineSecdbImporter().records(path))


# -- OSV: hostile zips ---------------------------------------------------------------------------------------
def lie_about_size(zip_path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size of `member` in both its local header and the central directory."""
    data = bytearray(zip_path.read_bytes())
    name = member.encode()
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        pos = 0
        while (pos := data.find(sig, pos)) != -1:
            name_at = pos + (30 if sig == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(name)] == name:
                data[pos + offset:pos + offset + 4] = struct.pack("<I", size)
            pos += 4
    zip_path.write_bytes(bytes(data))


@pytest.fixture
def hostile_zip(tmp_path: Path) -> Path:
    feed = tmp_path / "feed" / "PyPI" / "all.zip"
    feed.parent.mkdir(parents=True)
    padded = json.dumps(osv_record("PYSEC-LIAR")) [:-1] + ', "details": "' + " " * (MAX_RECORD_BYTES + 10) + '"}'
    with zipfile.ZipFile(feed, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("PYSEC-GOOD.json", json.dumps(osv_record("PYSEC-GOOD")))
        zf.writestr("PYSEC-BAD.json", '{"id": "PYSEC-BAD", "modified": ')
        zf.writestr("PYSEC-SHAPE.json", json.dumps(osv_record("PYSEC-SHAPE") | {"aliases": "CVE-1"}))
        zf.writestr("../../evil.json", json.dumps(osv_record("PYSEC-EVIL1")))
        zf.writestr("/abs.json", json.dumps(osv_record("PYSEC-EVIL2")))
        zf.writestr("..\\..\\evil2.json", json.dumps(osv_record("PYSEC-EVIL3")))
        zf.writestr("FOO-1.json", json.dumps(osv_record("FOO-1", ecosystem="Foo")))
        mixed = osv_record("PYSEC-MIXED")
        mixed["affected"].append({"package": {"ecosystem": "Hackage", "name": "aeson"}, "versions": ["1.0"]})
        zf.writestr("PYSEC-MIXED.json", json.dumps(mixed))
        zf.writestr("PYSEC-HUGE.json", json.dumps(osv_record("PYSEC-HUGE")) + " " * (MAX_RECORD_BYTES + 1))
        zf.writestr("PYSEC-LIAR.json", padded)
        zf.writestr("README.json", json.dumps({"hello": "world"}))
        zf.writestr("notes.txt", "not a record")
    lie_about_size(feed, "PYSEC-LIAR.json", 200)
    return feed


def test_hostile_zip_members_are_reported_and_skipped(hostile_zip: Path, tmp_path: Path) -> None:
    advs, skipped = split(list(OsvImporter().records(hostile_zip)))
    assert sorted(advs) == ["PYSEC-GOOD", "PYSEC-MIXED"]
    assert [a.ecosystem for a in advs["PYSEC-MIXED"].affected] == ["PyPI"]
    assert advs["PYSEC-GOOD"].source == "osv:PyPI"
    by_item = {s.item: s for s in skipped}
    assert "malformed JSON" in by_item["PYSEC-BAD.json"].reason
    assert "aliases: not a list" in by_item["PYSEC-SHAPE"].reason
    assert by_item["../../evil.json"].reason == "unsafe member name ('..' component)"
    assert by_item["/abs.json"].reason == "unsafe member name (absolute path)"
    assert "unsafe member name" in by_item["..\\\\..\\\\evil2.json"].reason
    assert by_item["FOO-1"].reason == "no affected entry left"
    assert [s.reason for s in skipped if s.item == "FOO-1" and s.kind is SkipKind.ENTRY] == [
        "affected entry 'requests' dropped: unknown ecosystem 'Foo'"]
    assert by_item["PYSEC-MIXED"].kind is SkipKind.ENTRY and "unknown ecosystem 'Hackage'" in by_item[
        "PYSEC-MIXED"].reason
    assert by_item["PYSEC-HUGE.json"].reason.startswith("huge record")
    assert by_item["PYSEC-LIAR.json"].reason.startswith("corrupt member")  # read stops at 200, CRC fails
    assert by_item["README.json"].kind is SkipKind.IGNORED and by_item["notes.txt"].kind is SkipKind.IGNORED
    # Nothing was ever written outside the feed's own directory.
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["PyPI", "all.zip", "feed"]
    assert not Path("/abs.json").exists()


def test_a_lying_header_that_claims_more_than_the_bound(tmp_path: Path) -> None:
    feed = tmp_path / "all.zip"
    with zipfile.ZipFile(feed, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("PYSEC-1.json", json.dumps(osv_record("PYSEC-1")))
    lie_about_size(feed, "PYSEC-1.json", 0xFFFFFFF0)
    (item,) = OsvImporter().records(feed)
    assert isinstance(item, Skipped) and item.reason.startswith("huge record")


def test_member_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    feed = tmp_path / "all.zip"
    with zipfile.ZipFile(feed, "w") as zf:
        for i in range(4):
            zf.writestr(f"PYSEC-{i}.json", json.dumps(osv_record(f"PYSEC-{i}")))
    monkeypatch.setattr(osv_module, "MAX_MEMBERS", 3)
    with pytest.raises(FeedError, match="4 members, more than the limit of 3"):
        list(OsvImporter().records(feed))


@needs_vulndata
def test_truncated_zip_is_a_file_level_error(tmp_path: Path) -> None:
    broken = tmp_path / "all.zip"
    broken.write_bytes((VULNDATA / "osv" / "Go" / "all.zip").read_bytes()[:100_000])
    assert type(detect_importer(broken)) is OsvImporter  # zip magic: claimed, then refused with a reason
    with pytest.raises(FeedError, match="not a readable zip archive"):
        list(OsvImporter().records(broken))


# -- OSV: directories and git checkouts ----------------------------------------------------------------------
PYSEC_YAML = """\
id: PYSEC-2023-74
details: Requests forwards Proxy-Authorization headers to destination servers
affected:
- package:
    name: requests
    ecosystem: PyPI
    purl: pkg:pypi/requests
  ranges:
  - type: ECOSYSTEM
    events:
    - introduced: 2.3.0
    - fixed: 2.31.0
aliases:
- CVE-2023-32681
modified: 2023-06-05T18:23:00.421000Z
published: 2023-05-26T18:15:00Z
"""


def test_git_checkout_of_yaml_and_json_records(tmp_path: Path) -> None:
    root = tmp_path / "advisory-database"
    (root / "vulns" / "requests").mkdir(parents=True)
    (root / "vulns" / "requests" / "PYSEC-2023-74.yaml").write_text(PYSEC_YAML)
    (root / "vulns" / "requests" / "PYSEC-2099-1.yml").write_text("id: &a PYSEC-2099-1\nmodified: *a\n")
    (root / "data" / "osv").mkdir(parents=True)
    go = osv_record("GO-2024-1", ecosystem="Go", name="golang.org/x/net")
    go["modified"] = "0001-01-01T00:00:00Z"
    (root / "data" / "osv" / "GO-2024-1.json").write_text(json.dumps(go))
    (root / ".git" / "objects").mkdir(parents=True)
    (root / ".git" / "PYSEC-HIDDEN.json").write_text(json.dumps(osv_record("PYSEC-HIDDEN")))
    (root / "package.json").write_text('{"name": "site"}')
    (root / "README.md").write_text("# not json")
    (root / "link.json").symlink_to(root / "data" / "osv" / "GO-2024-1.json")
    assert type(detect_importer(root)) is OsvImporter
    advs, skipped = split(list(OsvImporter().records(root)))
    assert sorted(advs) == ["GO-2024-1", "PYSEC-2023-74"]
    py = advs["PYSEC-2023-74"]
    # Dates stay the strings they are written as (no implicit timestamp resolver).
    assert (py.modified, py.published) == ("2023-06-05T18:23:00.421000Z", "2023-05-26T18:15:00Z")
    assert py.affected[0].ranges[0].events[0].value == "2.3.0" and py.source == "osv:PyPI"
    assert advs["GO-2024-1"].source == "osv:Go"
    by_item = {s.item: s for s in skipped}
    assert "aliases are not allowed" in by_item["vulns/requests/PYSEC-2099-1.yml"].reason
    assert by_item["package.json"].kind is SkipKind.IGNORED
    assert by_item["link.json"].reason == "symlink not followed"
    assert not any("HIDDEN" in s.item for s in skipped)


def test_directory_without_records_is_unknown_layout(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(FeedError, match="no OSV records"):
        list(OsvImporter().records(tmp_path))


@needs_vulndata
def test_real_pypi_zip_reports_only_what_is_unusual() -> None:
    items = list(OsvImporter().records(VULNDATA / "osv" / "PyPI" / "all.zip"))
    advs, skipped = split(items)
    with zipfile.ZipFile(VULNDATA / "osv" / "PyPI" / "all.zip") as zf:
        assert len(advs) == len(zf.namelist()) == 2661
    # PROVENANCE.md: "PYSEC-2022-15 affected[0] has neither ranges nor versions" — kept, noted.
    assert [(s.item, s.kind) for s in skipped] == [("PYSEC-2022-15", SkipKind.NOTE)]
    assert advs["PYSEC-2022-15"].affected
