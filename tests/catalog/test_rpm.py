"""rpmdb.sqlite: a real database written by rpm itself (the peer tool is the ground truth), header blobs,
corrupt databases and the not-yet-supported BerkeleyDB/NDB back ends."""

from __future__ import annotations

import shutil
import sqlite3
import struct
import subprocess
from pathlib import Path

import pytest

from tidegate.catalog.rpm import HeaderError, RpmDbCataloger, parse_header
from tidegate.model.package import RpmEntry

from .conftest import claims, file_input, fixture_input, run

C = RpmDbCataloger()
SPEC = """\
Name: {name}
Version: {version}
Release: {release}
{epoch}Summary: tidegate test package
License: {license}
BuildArch: noarch

%description
A tiny package for the rpm-db cataloger tests.

%files
"""
PACKAGES = [
    {"name": "tidegate-hello", "version": "1.2.3", "release": "4.tg1", "epoch": "", "license": "MIT"},
    {
        "name": "tidegate-epoch",
        "version": "0.9",
        "release": "1",
        "epoch": "Epoch: 2\n",
        "license": "GPL-2.0-or-later",
    },
]


@pytest.fixture(scope="module")
def real_rpmdb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build noarch rpms with rpmbuild and register them (--justdb) in a fresh sqlite rpmdb."""
    if not (shutil.which("rpm") and shutil.which("rpmbuild")):  # pragma: no cover - CI installs rpm
        pytest.fail("rpm and rpmbuild are required (apt-get install -y rpm)")
    top = tmp_path_factory.mktemp("rpmbuild")
    dbpath = top / "db"
    dbpath.mkdir()
    rpms = []
    for pkg in PACKAGES:
        spec = top / f"{pkg['name']}.spec"
        spec.write_text(SPEC.format(**pkg))
        subprocess.run(
            ["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", "_build_id_links none", str(spec)],
            check=True,
            capture_output=True,
        )
        rpms.extend((top / "RPMS" / "noarch").glob(f"{pkg['name']}-*.rpm"))
    subprocess.run(
        [
            "rpm",
            "--dbpath",
            str(dbpath),
            "--define",
            "_db_backend sqlite",
            "--nodeps",
            "--justdb",
            "-i",
            *map(str, rpms),
        ],
        check=True,
        capture_output=True,
    )
    return dbpath


def _rpm_qa(dbpath: Path) -> list[tuple[str, str, str, str, str, str, str]]:
    fmt = "%{NAME}\\t%{VERSION}\\t%{RELEASE}\\t%{EPOCH}\\t%{ARCH}\\t%{LICENSE}\\t%{SOURCERPM}\\n"
    res = subprocess.run(
        ["rpm", "--dbpath", str(dbpath), "--define", "_db_backend sqlite", "-qa", "--qf", fmt],
        check=True,
        capture_output=True,
        text=True,
    )
    return sorted(tuple(line.split("\t")) for line in res.stdout.splitlines())  # type: ignore[misc]


def test_real_rpmdb_matches_rpm_qa(real_rpmdb: Path) -> None:
    expected = _rpm_qa(real_rpmdb)
    assert len(expected) == len(PACKAGES)
    data = (real_rpmdb / "rpmdb.sqlite").read_bytes()
    out = run(C, file_input("/var/lib/rpm/rpmdb.sqlite", data))
    assert out.unknowns == ()
    got = []
    for p in out.packages:
        m = p.metadata
        assert isinstance(m, RpmEntry)
        epoch = "(none)" if m.epoch is None else str(m.epoch)
        got.append((m.name, m.version, m.release, epoch, m.architecture, m.license, m.source_rpm))
    assert sorted(got) == expected
    by_name = {p.name: p for p in out.packages}
    assert by_name["tidegate-hello"].version == "1.2.3-4.tg1"
    assert by_name["tidegate-hello"].purl == "pkg:rpm/redhat/tidegate-hello@1.2.3-4.tg1?arch=noarch"
    assert by_name["tidegate-epoch"].version == "2:0.9-1"
    assert by_name["tidegate-epoch"].purl == "pkg:rpm/redhat/tidegate-epoch@0.9-1?arch=noarch&epoch=2"
    assert by_name["tidegate-epoch"].licenses == ("GPL-2.0-or-later",)


def test_bad_header_rows_become_unknowns(real_rpmdb: Path, tmp_path: Path) -> None:
    db = tmp_path / "rpmdb.sqlite"
    shutil.copy(real_rpmdb / "rpmdb.sqlite", db)
    with sqlite3.connect(db) as conn:
        (blob,) = conn.execute("SELECT blob FROM Packages ORDER BY hnum LIMIT 1").fetchone()
        conn.execute("INSERT INTO Packages (hnum, blob) VALUES (1000, ?)", (bytes(blob)[: len(blob) // 2],))
        conn.execute("INSERT INTO Packages (hnum, blob) VALUES (1001, ?)", (b"\x00\x00",))
    conn.close()
    out = run(C, file_input("/usr/lib/sysimage/rpm/rpmdb.sqlite", db.read_bytes()))
    assert len(out.packages) == len(PACKAGES)
    assert sorted(u.reason.split(":")[0] for u in out.unknowns) == ["rpm header 1000", "rpm header 1001"]


def _header(entries: list[tuple[int, int, int, int]], store: bytes) -> bytes:
    out = struct.pack(">II", len(entries), len(store))
    for e in entries:
        out += struct.pack(">IIiI", *e)
    return out + store


@pytest.mark.parametrize(
    ("blob", "phrase"),
    [
        (b"", "shorter than 8"),
        (struct.pack(">II", 0, 0), "implausible"),
        (struct.pack(">II", 0x7FFFFFFF, 1), "implausible"),
        (_header([(1000, 6, 0, 1)], b"abc\x00")[:-2], "truncated"),
        (_header([(1000, 6, 50, 1)], b"abc\x00"), "outside the data store"),
        (_header([(1000, 6, 0, 1)], b"abcd"), "unterminated"),
        (_header([(1000, 6, 0, 1)], b"abc\x00"), "no NAME or VERSION"),
        (_header([(1000, 6, 0, 1), (1001, 6, 4, 1), (1003, 4, 6, 1)], b"abc\x001\x00\x00"), "int32 past"),
    ],
)
def test_parse_header_rejects(blob: bytes, phrase: str) -> None:
    with pytest.raises(HeaderError, match=phrase):
        parse_header(blob)


def test_parse_header_minimal() -> None:
    store = b"bash\x005.1\x00" + b"\x00" * 3 + struct.pack(">I", 1)  # NAME, VERSION, pad, EPOCH=1 at 12
    h = parse_header(_header([(1000, 6, 0, 1), (1001, 6, 5, 1), (1003, 4, 12, 1)], store))
    assert (h.name, h.version, h.release, h.epoch) == ("bash", "5.1", "", 1)


def test_not_sqlite_is_unknown() -> None:
    out = run(C, fixture_input("rpm/corrupt", "/var/lib/rpm/rpmdb.sqlite"))
    assert out.packages == () and "could not be read" in out.unknowns[0].reason


def test_sqlite_without_packages_table_is_unknown(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE Other (x)")
    conn.close()
    out = run(C, file_input("/var/lib/rpm/rpmdb.sqlite", db.read_bytes()))
    assert out.packages == () and "no Packages table" in out.unknowns[0].reason


@pytest.mark.parametrize("ddl", [
    # A view that never ends (and would sort into SQLite's own temp files if ordered).
    ("CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
    "SELECT x AS hnum, zeroblob(1000000) AS blob FROM c"),
    # A view that never returns a row but spins.
    ("CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
    "SELECT x AS hnum, x'00' AS blob FROM c WHERE x < 0"),
])
def test_hostile_schema_is_refused_quickly(tmp_path: Path, ddl: str) -> None:
    import time

    db = tmp_path / "x.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute(ddl)
    conn.close()
    t0 = time.monotonic()
    out = run(C, file_input("/var/lib/rpm/rpmdb.sqlite", db.read_bytes()))
    assert time.monotonic() - t0 < 10
    assert out.packages == () and "not a table" in out.unknowns[0].reason


def test_malformed_rows_are_counted(real_rpmdb: Path, tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    shutil.copy(real_rpmdb / "rpmdb.sqlite", db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO Packages (hnum, blob) VALUES (2000, 'a text value, not a header blob')")
    conn.close()
    out = run(C, file_input("/var/lib/rpm/rpmdb.sqlite", db.read_bytes()))
    assert len(out.packages) == len(PACKAGES)
    assert any("1 Packages row(s)" in u.reason for u in out.unknowns)


@pytest.mark.parametrize(
    ("path", "phrase"),
    [
        ("/var/lib/rpm/Packages", "BerkeleyDB"),
        ("/usr/lib/sysimage/rpm/Packages", "BerkeleyDB"),
        ("/var/lib/rpm/Packages.db", "NDB"),
        ("/usr/lib/sysimage/rpm/Packages.db", "NDB"),
    ],
)
def test_unsupported_backends_are_reported(path: str, phrase: str) -> None:
    data = (Path(__file__).parent / "testdata/rpm/bdb/var/lib/rpm/Packages").read_bytes()
    out = run(C, file_input(path, data))
    assert out.packages == ()
    (unknown,) = out.unknowns
    assert f"rpmdb in {phrase} format is present but not supported yet" == unknown.reason


@pytest.mark.parametrize(
    ("path", "claimed"),
    [
        ("/var/lib/rpm/rpmdb.sqlite", True),
        ("/usr/lib/sysimage/rpm/rpmdb.sqlite", True),
        ("/var/lib/rpm/Packages", True),
        ("/var/lib/rpm/rpmdb.sqlite-shm", False),
        ("/var/lib/rpm/Name", False),
    ],
)
def test_claims(path: str, claimed: bool) -> None:
    assert claims(C, path) is claimed
