"""The SQLite store on the real feeds of ../shared/vulndata: counts checked against the files themselves,
lookups against an independent scan of the zips, incremental re-import, withdrawn records, atomicity."""

from __future__ import annotations

import json
import sqlite3
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import SHARED
from tests.vulndb.test_importers import alpine_pairs
from tidegate.vulndb.importers.osv import OsvImporter
from tidegate.vulndb.schema import normalize_name
from tidegate.vulndb.store import (
    DB_FILE,
    SCHEMA_VERSION,
    ImportProgress,
    NoDatabase,
    VulnDb,
    VulnDbError,
    default_db_dir,
    import_paths,
)

VULNDATA = SHARED / "vulndata"
pytestmark = pytest.mark.skipif(not VULNDATA.is_dir(), reason="../shared/vulndata is not present")
ZIPS = {eco: VULNDATA / "osv" / eco / "all.zip" for eco in ("Debian", "Go", "PyPI")}
ALPINE = sorted((VULNDATA / "alpine").glob("*/*.json")) if VULNDATA.is_dir() else []
FEEDS = [*ZIPS.values(), *ALPINE]


def zip_records(eco: str) -> Iterator[dict[str, Any]]:
    with zipfile.ZipFile(ZIPS[eco]) as zf:
        for name in zf.namelist():
            yield json.loads(zf.read(name))


def naming(eco: str, ecosystem: str, name: str) -> set[str]:
    """Ids of the non-withdrawn records of a zip with an affected entry for (ecosystem, name), scanned plainly."""
    want = normalize_name(ecosystem, name)
    return {r["id"] for r in zip_records(eco) if not r.get("withdrawn") and any(
        a["package"]["ecosystem"] == ecosystem and normalize_name(ecosystem, a["package"]["name"]) == want
        for a in r.get("affected", []))}


def dump(db_dir: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db_dir / DB_FILE) as conn:
        return (conn.execute("SELECT source, id, modified, hash, withdrawn, data FROM records ORDER BY source, id")
                .fetchall() + conn.execute("SELECT * FROM affected ORDER BY rid, ecosystem, name_key").fetchall())


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, float]:
    db_dir = tmp_path_factory.mktemp("vulndb")
    t0 = time.perf_counter()
    summary = import_paths(db_dir, FEEDS)
    elapsed = time.perf_counter() - t0
    print(f"\nimport of all of ../shared/vulndata ({len(FEEDS)} files): {elapsed:.2f} s")
    return db_dir, summary, elapsed


def test_full_import_counts_match_the_files(full: tuple[Path, Any, float]) -> None:
    db_dir, summary, elapsed = full
    assert not summary.failed and summary.written
    assert elapsed < 30
    by_path = {Path(p.path): p for p in summary.paths}
    for eco, path in ZIPS.items():
        records = list(zip_records(eco))
        withdrawn = sum(1 for r in records if r.get("withdrawn"))
        p = by_path[path]
        assert (p.importer, p.sources) == ("osv", (f"osv:{eco}",))
        # No member of these zips must be skipped (PROVENANCE: 0 failed the basic OSV checks).
        assert (p.added, p.withdrawn, p.skipped, p.updated, p.stale) == (len(records) - withdrawn, withdrawn, 0, 0, 0)
    assert by_path[ZIPS["PyPI"]].notes == 1  # PYSEC-2022-15, kept
    total_alpine = 0
    for path in ALPINE:
        p = by_path[path]
        ids = alpine_pairs(path)
        assert p.added == len(ids), path
        total_alpine += len(ids)
        doc = json.loads(path.read_text())
        assert p.sources == ((f"alpine-secdb:{doc['distroversion']}/{doc['reponame']}",) if ids else ())
    with VulnDb.open(db_dir) as db:
        status = db.status()
        info = db.info()
    live = sum(p.added for p in summary.paths)
    assert status.records == info.advisories == live
    assert status.withdrawn == 27  # 17 Go + 10 PyPI, counted above from the zips
    assert status.schema_version == info.schema_version == SCHEMA_VERSION
    counts = {e.ecosystem: e.records for e in status.ecosystems}
    assert counts["Debian:12"] == 6707 and counts["Go"] == 4274 and counts["PyPI"] == 2651
    per_release: dict[str, int] = {}
    for path in ALPINE:
        per_release[f"Alpine:{path.parent.name}"] = per_release.get(f"Alpine:{path.parent.name}", 0) + len(
            alpine_pairs(path))
    assert {k: v for k, v in counts.items() if k.startswith("Alpine:")} == {
        k: v for k, v in per_release.items() if v}
    assert sum(per_release.values()) == total_alpine
    assert status.size_bytes == (db_dir / DB_FILE).stat().st_size
    srcs = {s.source: s for s in status.sources}
    assert srcs["osv:PyPI"].records == 2651 and srcs["osv:PyPI"].withdrawn == 10
    assert srcs["osv:Go"].newest_modified == ""  # every Go record has the 0001-01-01 placeholder
    assert srcs["osv:Debian"].newest_modified == "2026-12-03T18:42:56Z"  # PROVENANCE: the build time
    assert srcs["osv:PyPI"].newest_modified == max(r["modified"] for r in zip_records("PyPI"))


@pytest.mark.parametrize(("eco", "ecosystem", "name"), [
    ("PyPI", "PyPI", "Requests"),
    ("Debian", "Debian:12", "openssl"),
    ("Go", "Go", "stdlib"),
])
def test_lookups_equal_an_independent_scan(full: tuple[Path, Any, float], eco: str, ecosystem: str,
                                           name: str) -> None:
    expected = naming(eco, ecosystem, name)
    assert expected
    with VulnDb.open(full[0]) as db:
        got = db.advisories_for(ecosystem, name)
        assert {a.id for a in got} == expected
        assert all(not a.withdrawn for a in got)
        assert db.advisories_for(ecosystem, name.upper() if eco != "Go" else name) == got
    if eco == "PyPI":
        assert "PYSEC-2023-74" in expected


def test_alpine_lookup(full: tuple[Path, Any, float]) -> None:
    path = VULNDATA / "alpine" / "v3.11" / "main.json"
    doc = json.loads(path.read_text())
    (pkg,) = [p["pkg"] for p in doc["packages"] if p["pkg"]["name"] == "openssl"]
    expected = {f"ALPINE-v3.11-{w}" for ids in pkg["secfixes"].values() for s in ids for w in s.split()}
    with VulnDb.open(full[0]) as db:
        got = db.advisories_for("Alpine:v3.11", "OpenSSL")
    assert {a.id for a in got} == expected
    fixed = {a.id: a.affected[0].ranges[0].events[-1].value for a in got}
    assert fixed["ALPINE-v3.11-CVE-2019-1551"] == "1.1.1d-r3"


def test_reimport_is_unchanged_and_identical(full: tuple[Path, Any, float], tmp_path: Path) -> None:
    db_dir = tmp_path / "db"
    import_paths(db_dir, [ZIPS["Go"], *ALPINE[:2]])
    before = dump(db_dir)
    again = import_paths(db_dir, [ZIPS["Go"], *ALPINE[:2]])
    assert all(p.added == p.updated == p.stale == p.withdrawn == 0 for p in again.paths)
    assert sum(p.unchanged for p in again.paths) == sum(1 for _ in zip_records("Go")) + sum(
        len(alpine_pairs(p)) for p in ALPINE[:2])
    assert dump(db_dir) == before


def write_zip(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for r in records:
            zf.writestr(f"{r['id']}.json", json.dumps(r))
    return path


def test_newer_older_and_withdrawn_versions(tmp_path: Path) -> None:
    db_dir = tmp_path / "db"
    original = next(r for r in zip_records("PyPI") if r["id"] == "PYSEC-2023-74")
    import_paths(db_dir, [write_zip(tmp_path / "v1" / "all.zip", [original])])

    newer = {**original, "modified": "2030-01-01T00:00:00Z", "summary": "a newer text"}
    (p,) = import_paths(db_dir, [write_zip(tmp_path / "v2" / "all.zip", [newer])]).paths
    assert (p.updated, p.added) == (1, 0)
    with VulnDb.open(db_dir) as db:
        assert db.advisories_for("PyPI", "requests")[0].summary == "a newer text"

    older = {**original, "modified": "2001-01-01T00:00:00Z", "summary": "an older text"}
    (p,) = import_paths(db_dir, [write_zip(tmp_path / "v3" / "all.zip", [older])]).paths
    assert (p.stale, p.updated) == (1, 0)
    with VulnDb.open(db_dir) as db:
        assert db.advisories_for("PyPI", "requests")[0].summary == "a newer text"

    gone = {**newer, "modified": "2031-01-01T00:00:00Z", "withdrawn": "2031-01-01T00:00:00Z"}
    (p,) = import_paths(db_dir, [write_zip(tmp_path / "v4" / "all.zip", [gone])]).paths
    assert p.withdrawn == 1
    with VulnDb.open(db_dir) as db:
        assert db.advisories_for("PyPI", "requests") == []
        assert db.status().withdrawn == 1 and db.info().advisories == 0


def test_placeholder_modified_falls_back_to_the_content_hash(tmp_path: Path) -> None:
    db_dir = tmp_path / "db"
    rec = next(r for r in zip_records("Go") if r["id"] == "GO-2024-2687")
    assert rec["modified"] == "0001-01-01T00:00:00Z"
    import_paths(db_dir, [write_zip(tmp_path / "a" / "all.zip", [rec])])
    changed = {**rec, "summary": "changed, same placeholder modified"}
    (p,) = import_paths(db_dir, [write_zip(tmp_path / "b" / "all.zip", [changed])]).paths
    assert p.updated == 1
    (p,) = import_paths(db_dir, [write_zip(tmp_path / "c" / "all.zip", [changed])]).paths
    assert p.unchanged == 1


def test_broken_path_next_to_a_good_one(tmp_path: Path) -> None:
    db_dir = tmp_path / "db"
    broken = tmp_path / "broken" / "all.zip"
    broken.parent.mkdir()
    broken.write_bytes(ZIPS["PyPI"].read_bytes()[:len(ZIPS["PyPI"].read_bytes()) // 2])
    summary = import_paths(db_dir, [broken, ALPINE[0], tmp_path / "missing.zip"])
    assert [Path(p.path) for p in summary.failed] == [broken, tmp_path / "missing.zip"]
    assert "not a readable zip archive" in summary.failed[0].error
    assert "no such file" in summary.failed[1].error
    good = summary.paths[1]
    assert not good.failed and good.added == len(alpine_pairs(ALPINE[0]))
    with VulnDb.open(db_dir) as db:
        assert db.info().advisories == good.added


def test_a_crash_mid_import_leaves_the_previous_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db_dir = tmp_path / "db"
    import_paths(db_dir, [ZIPS["PyPI"]])
    before = dump(db_dir)
    real_records = OsvImporter.records

    def crashing(self: OsvImporter, path: Path) -> Iterator[Any]:
        for i, item in enumerate(real_records(self, path)):
            if i == 3000:
                raise KeyboardInterrupt  # Ctrl-C in the middle of the Debian zip
            yield item

    monkeypatch.setattr(OsvImporter, "records", crashing)
    with pytest.raises(KeyboardInterrupt):
        import_paths(db_dir, [ZIPS["Go"], ZIPS["Debian"]])
    assert dump(db_dir) == before
    assert sorted(p.name for p in db_dir.iterdir()) == [".import.lock", DB_FILE]  # no temp file left
    with VulnDb.open(db_dir) as db:
        assert {a.id for a in db.advisories_for("PyPI", "requests")} == naming("PyPI", "PyPI", "requests")
        assert db.advisories_for("Go", "stdlib") == []


def test_a_feed_failing_half_way_leaves_nothing_of_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tidegate.vulndb.importers.base import FeedError

    real_records = OsvImporter.records

    def failing(self: OsvImporter, path: Path) -> Iterator[Any]:
        for i, item in enumerate(real_records(self, path)):
            if path == ZIPS["Go"] and i == 2500:
                raise FeedError(f"{path}: simulated broken feed")
            yield item

    monkeypatch.setattr(OsvImporter, "records", failing)
    db_dir = tmp_path / "db"
    summary = import_paths(db_dir, [ZIPS["Go"], ZIPS["PyPI"]])
    assert [p.error for p in summary.failed] == [f"{ZIPS['Go']}: simulated broken feed"]
    with VulnDb.open(db_dir) as db:
        assert db.advisories_for("Go", "stdlib") == []
        assert {s.source for s in db.status().sources} == {"osv:PyPI"}
        assert db.info().advisories == 2651


def test_every_path_failing_writes_nothing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2")
    summary = import_paths(tmp_path / "db", [junk])
    assert not summary.written and "unknown feed layout" in summary.failed[0].error
    assert not (tmp_path / "db" / DB_FILE).exists()


def test_progress_events(tmp_path: Path) -> None:
    events: list[tuple[str, int, int]] = []

    class Recorder(ImportProgress):
        def path_started(self, index: int, total: int, path: str) -> None:
            events.append(("start", index, total))

        def advance(self, index: int, items: int) -> None:
            events.append(("advance", index, items))

        def path_done(self, index: int, summary: Any) -> None:
            events.append(("done", index, summary.added))

    import_paths(tmp_path / "db", ALPINE[:2], progress=Recorder())
    assert events[0] == ("start", 0, 2) and events[-1][0:2] == ("done", 1)
    assert sum(n for kind, i, n in events if kind == "advance" and i == 0) >= len(alpine_pairs(ALPINE[0]))


# -- opening -------------------------------------------------------------------------------------------------
def test_no_database(tmp_path: Path) -> None:
    with pytest.raises(NoDatabase, match=f"no vulnerability database at {tmp_path}") as e:
        VulnDb.open(tmp_path)
    assert e.value.hint and "tidegate db import" in e.value.hint


def test_foreign_file_and_other_schema_are_refused(tmp_path: Path) -> None:
    (tmp_path / DB_FILE).write_bytes(b"not a database at all" * 100)
    with pytest.raises(VulnDbError, match="not a tidegate vulnerability database"):
        VulnDb.open(tmp_path)
    with pytest.raises(VulnDbError, match="not a tidegate vulnerability database"):
        import_paths(tmp_path, ALPINE[:1])  # never overwrites a file that is not ours
    assert (tmp_path / DB_FILE).read_bytes().startswith(b"not a database")

    other = tmp_path / "other"
    import_paths(other, ALPINE[:1])
    with sqlite3.connect(other / DB_FILE) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(VulnDbError, match="schema version 99"):
        VulnDb.open(other)

    plain = tmp_path / "plain"
    plain.mkdir()
    with sqlite3.connect(plain / DB_FILE) as conn:
        conn.execute("CREATE TABLE t (x)")
    with pytest.raises(VulnDbError, match="not a tidegate vulnerability database"):
        VulnDb.open(plain)


def test_default_db_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIDEGATE_DB_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_db_dir() == tmp_path / "a"
    monkeypatch.delenv("TIDEGATE_DB_DIR")
    assert default_db_dir() == tmp_path / "xdg" / "tidegate" / "db"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db_dir() == tmp_path / "home" / ".cache" / "tidegate" / "db"


def test_readers_keep_working_across_an_import(tmp_path: Path) -> None:
    db_dir = tmp_path / "db"
    import_paths(db_dir, [ZIPS["PyPI"]])
    with VulnDb.open(db_dir) as db:
        import_paths(db_dir, [ZIPS["Go"]])  # replaces the file under the open reader
        assert {a.id for a in db.advisories_for("PyPI", "requests")} == naming("PyPI", "PyPI", "requests")
    with VulnDb.open(db_dir) as db:
        assert db.advisories_for("Go", "stdlib")
