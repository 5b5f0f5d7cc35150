"""``tidegate db import|update|status`` end to end, in process: exit codes, the summary and status output,
and a real ``db update`` against ../shared/vulndata served by an http.server thread on 127.0.0.1."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.images import SHARED
from tests.vulndb.test_importers import TRACKER, alpine_pairs
from tidegate.cli.main import main
from tidegate.vulndb.store import DB_FILE, VulnDb

VULNDATA = SHARED / "vulndata"
pytestmark = pytest.mark.skipif(not VULNDATA.is_dir(), reason="../shared/vulndata is not present")
ALPINE_311 = VULNDATA / "alpine" / "v3.11" / "main.json"
PYPI = VULNDATA / "osv" / "PyPI" / "all.zip"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture(autouse=True)
def _private_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIDEGATE_DB_DIR", str(tmp_path / "default-db"))
    for var in ("TIDEGATE_OSV_URL", "TIDEGATE_ALPINE_URL", "TIDEGATE_DEBIAN_URL"):
        monkeypatch.delenv(var, raising=False)


def test_import_prints_a_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "db"
    code, out, err = run(capsys, "db", "import", str(PYPI), str(ALPINE_311), "--db", str(db), "-q")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["PATH", "IMPORTER", "SOURCE", "ADDED", "UPDATED", "UNCHANGED", "STALE",
                                "WITHDRAWN", "SKIPPED"]
    assert lines[1].split() == [str(PYPI), "osv", "osv:PyPI", "2,651", "0", "0", "0", "10", "0"]
    assert lines[2].split()[:4] == [str(ALPINE_311), "alpine-secdb", "alpine-secdb:v3.11/main",
                                    f"{len(alpine_pairs(ALPINE_311)):,}"]
    assert "  note PYSEC-2022-15: PyPI/loguru: affected entry has neither ranges nor versions (kept)" in lines
    assert "  entry xen 4.12.1-r0: 'CVE-????-?????' is not a vulnerability id" in lines
    code, out, _ = run(capsys, "db", "import", str(PYPI), "--db", str(db))
    assert code == 0 and out.splitlines()[1].split()[3:6] == ["0", "0", "2,661"]


def test_import_default_dir_from_env(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert run(capsys, "db", "import", str(ALPINE_311))[0] == 0
    assert (tmp_path / "default-db" / DB_FILE).is_file()


def test_broken_path_exits_2_after_the_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "db"
    broken = tmp_path / "all.zip"
    broken.write_bytes(PYPI.read_bytes()[:4096])
    code, out, err = run(capsys, "db", "import", str(broken), str(ALPINE_311), "--db", str(db))
    assert code == 2
    assert out.splitlines()[1].split()[:3] == [str(broken), "osv", "FAILED"]
    assert err.splitlines() == [f"tidegate: error: {broken}: not a readable zip archive (File is not a zip file)"]
    with VulnDb.open(db) as vdb:  # the good path imported
        assert vdb.info().advisories == len(alpine_pairs(ALPINE_311))


def test_status_table_and_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = tmp_path / "db"
    assert run(capsys, "db", "import", str(PYPI), str(ALPINE_311), "--db", str(db), "-q")[0] == 0
    code, out, _ = run(capsys, "db", "status", "--db", str(db), "-f", "json")
    assert code == 0
    data = json.loads(out)
    with VulnDb.open(db) as vdb:
        status = vdb.status()
    assert data["records"] == status.records == 2651 + len(alpine_pairs(ALPINE_311))
    assert data["withdrawn"] == 10 and data["schema_version"] == 1
    assert data["size_bytes"] == (db / DB_FILE).stat().st_size
    assert {s["source"]: s["records"] for s in data["sources"]} == {
        "osv:PyPI": 2651, "alpine-secdb:v3.11/main": len(alpine_pairs(ALPINE_311))}
    assert {e["ecosystem"]: e["records"] for e in data["ecosystems"]} == {
        "PyPI": 2651, "Alpine:v3.11": len(alpine_pairs(ALPINE_311))}
    assert 0 <= data["age_seconds"] < 600
    code, out, _ = run(capsys, "db", "status", "--db", str(db))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith(f"database  {db / DB_FILE} (") and "schema version 1" in lines[0]
    assert "minutes ago" in lines[1]
    assert any(line.split()[:3] == ["osv:PyPI", "2,651", "10"] for line in lines)
    assert any(line.split() == ["PyPI", "2,651"] for line in lines)


@pytest.mark.parametrize("args", [
    ["db", "status"],  # no database in the (empty) default directory
    ["db", "import"],  # PATH is required
    ["db", "status", "-f", "xml"],
    ["db", "update", "--alpine-release", "3.20"],
    ["db", "update", "--timeout", "0"],
    ["db"],
])
def test_usage_and_input_errors_exit_2(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    try:
        code = main(args)
    except SystemExit as e:  # argparse usage errors exit from the parser, still with 2 and one line
        code = int(str(e.code))
    _, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    if args == ["db", "status"]:
        assert err.splitlines()[0].startswith("tidegate: error: no vulnerability database at ")


# -- db update against a loopback server ---------------------------------------------------------------------
class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[object]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(directory: Path) -> str:
        handler = functools.partial(_Quiet, directory=str(directory))
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}"

    yield start
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def test_update_from_a_mirror(capsys: pytest.CaptureFixture[str], tmp_path: Path, serve: object,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    base = serve(VULNDATA)  # type: ignore[operator]
    tracker_base = serve(TRACKER.parent)  # type: ignore[operator]
    monkeypatch.setenv("TIDEGATE_ALPINE_URL", f"{base}/alpine")  # env works as well as the flag
    db = tmp_path / "db"
    code, out, err = run(capsys, "db", "update", "--db", str(db), "--osv-url", f"{base}/osv",
                         "--ecosystem", "PyPI", "--ecosystem", "Go", "--ecosystem", "Debian",
                         "--alpine-release", "v3.10", "--alpine-release", "v3.11",
                         "--debian-url", f"{tracker_base}/tracker.json")
    assert code == 0, err
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:9]}
    assert rows[f"{base}/osv/PyPI/all.zip"][1:4] == ["osv", "osv:PyPI", "2,651"]
    assert rows[f"{base}/osv/Go/all.zip"][1:4] == ["osv", "osv:Go", "4,274"]
    assert rows[f"{base}/osv/Debian/all.zip"][1:4] == ["osv", "osv:Debian", "6,707"]
    for rel in ("v3.10", "v3.11"):
        for repo in ("main", "community"):
            assert rows[f"{base}/alpine/{rel}/{repo}.json"][3] == \
                f"{len(alpine_pairs(VULNDATA / 'alpine' / rel / f'{repo}.json')):,}"
    assert rows[f"{tracker_base}/tracker.json"][1:4] == ["debian-tracker", "debian-tracker", "4"]
    assert sorted(p.name for p in db.iterdir()) == [".import.lock", DB_FILE]  # downloads removed
    with VulnDb.open(db) as vdb:
        assert {a.id for a in vdb.advisories_for("Debian:12", "curl")} >= {"DEBIAN-CVE-2024-2398",
                                                                          "TEMP-0000000-1A2B3C"}
        assert vdb.advisories_for("Go", "stdlib")
    # A second update finds nothing new.
    code, out, _ = run(capsys, "db", "update", "--db", str(db), "--osv-url", f"{base}/osv", "--ecosystem", "PyPI",
                       "--no-alpine", "--no-debian-tracker")
    assert code == 0 and out.splitlines()[1].split()[3:6] == ["0", "0", "2,661"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_or_failing_mirror_leaves_the_database(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                          serve: object) -> None:
    db = tmp_path / "db"
    assert run(capsys, "db", "import", str(ALPINE_311), "--db", str(db), "-q")[0] == 0
    before = (db / DB_FILE).read_bytes()
    url = f"http://127.0.0.1:{closed_port()}"
    code, out, err = run(capsys, "db", "update", "--db", str(db), "--osv-url", url, "--ecosystem", "PyPI",
                         "--no-alpine", "--no-debian-tracker", "--timeout", "5")
    assert code == 2 and out == ""
    assert err.splitlines()[0].startswith(f"tidegate: error: {url}/PyPI/all.zip: cannot connect to 127.0.0.1")
    assert len([line for line in err.splitlines() if line.startswith("tidegate: error")]) == 1
    base = serve(VULNDATA)  # type: ignore[operator]
    code, out, err = run(capsys, "db", "update", "--db", str(db), "--osv-url", f"{base}/osv",
                         "--ecosystem", "PyPI", "--ecosystem", "NoSuchEcosystem", "--no-alpine",
                         "--no-debian-tracker")
    assert code == 2
    assert err.splitlines()[0] == f"tidegate: error: {base}/osv/NoSuchEcosystem/all.zip: HTTP 404 File not found"
    assert (db / DB_FILE).read_bytes() == before
    assert sorted(p.name for p in db.iterdir()) == [".import.lock", DB_FILE]
