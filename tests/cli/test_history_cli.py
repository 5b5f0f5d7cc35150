"""``tidegate scan`` recording, ``diff`` against the truth files, ``history``, ``metrics`` and ``rematch`` end to end
on the real ../shared images (bookworm-app, then its fixed build bookworm-patched)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.images import IMAGES, load_truth
from tidegate.cli import main as cli_main
from tidegate.store.history import HistoryStore, scans

APP = f"oci-archive:{IMAGES / 'bookworm-app.oci.tar'}"
PATCHED = f"oci-archive:{IMAGES / 'bookworm-patched.oci.tar'}"


@pytest.fixture(autouse=True)
def _history_commands(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Register the history commands as cli/main.py will (`history.register(sub)`), until that line lands."""
    from tidegate.cli import history

    original = cli_main.build_parser

    def build() -> Any:
        parser = original()
        sub = next(a for a in parser._actions if a.dest == "command")
        if "diff" not in sub.choices:  # type: ignore[attr-defined]
            history.register(sub)
        return parser

    monkeypatch.setattr(cli_main, "build_parser", build)
    if not (IMAGES / "bookworm-app.oci.tar").is_file():
        pytest.skip("../shared/images is not present")
    yield


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli_main.main(["-q", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_diff_matches_the_truth_files(capsys: pytest.CaptureFixture[str], vulndb: Path) -> None:
    code, out, _ = run(capsys, "diff", APP, PATCHED, "-f", "json", "--db", str(vulndb))
    assert code == 0
    doc = json.loads(out)
    old, new = load_truth("bookworm-app")["images"][0], load_truth("bookworm-patched")["images"][0]
    deb_old = {p["name"]: p["version"] for p in old["dpkg"]["packages"]}
    deb_new = {p["name"]: p["version"] for p in new["dpkg"]["packages"]}
    pk = doc["packages"]
    got = {kind: {c["name"]: (c["before"], c["after"]) for c in pk[kind] if c["type"] == "deb"}
           for kind in ("added", "removed", "changed")}
    assert got["added"] == {n: ([], [deb_new[n]]) for n in deb_new.keys() - deb_old.keys()}
    assert got["removed"] == {n: ([deb_old[n]], []) for n in deb_old.keys() - deb_new.keys()}
    assert got["changed"] == {n: ([deb_old[n]], [deb_new[n]]) for n in deb_old.keys() & deb_new.keys()
                              if deb_old[n] != deb_new[n]}
    assert len(got["removed"]) == 12 and got["changed"]
    py_removed = {c["name"] for c in pk["removed"] if c["type"] == "pypi"}
    assert len(py_removed) == old["counts"]["python"] == 22 and new["counts"]["python"] == 0
    # config: the patched build runs as 1000:1000, exposes nothing, and dropped two env names (never values).
    config = {c["field"]: (c["before"], c["after"]) for c in doc["config"]}
    assert config["user"] == ([old["config"]["User"]], [new["config"]["User"]])
    assert "DATABASE_PASSWORD" in config["envNames"][0] and "tidegate-FAKE-db-pass-0001" not in out
    assert config["exposedPorts"][1] == []
    # the fixed build fixes findings and introduces none that the old one lacked for the same package set.
    assert doc["findings"]["fixed"] and doc["findings"]["introduced"] is not None


def test_scan_records_then_history_metrics_diff_by_digest(capsys: pytest.CaptureFixture[str], vulndb: Path,
                                                          tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/h.db"
    code, _, _ = run(capsys, "scan", APP, "--db", str(vulndb), "--fail-on", "critical", "--store", store,
                     "-o", str(tmp_path / "a.txt"))
    assert code == 1
    code, _, _ = run(capsys, "scan", PATCHED, "--db", str(vulndb), "--fail-on", "critical", "--store", store,
                     "-o", str(tmp_path / "b.txt"))
    assert code == 0
    code, _, _ = run(capsys, "scan", APP, "--db", str(vulndb), "--no-record", "--store", store, "-o", "/dev/null")
    with HistoryStore.open(store) as s, s.engine.connect() as conn:
        rows = conn.execute(sa.select(scans.c.digest, scans.c.passed, scans.c.critical, scans.c.high)).all()
    a = load_truth("bookworm-app")["images"][0]["manifest_digest"]
    b = load_truth("bookworm-patched")["images"][0]["manifest_digest"]
    assert [(r.digest, r.passed) for r in rows] == [(a, False), (b, True)] and rows[0].critical + rows[0].high > 0
    code, out, _ = run(capsys, "metrics", "--store", store, "-f", "json")
    doc = json.loads(out)
    assert code == 0 and doc["scanPassRate"]["rate"] == 0.5 and doc["signed"]["imagesSeen"] == 2
    code, out, _ = run(capsys, "diff", a, b[:19], "--store", store, "--db", str(vulndb), "-f", "json")
    assert code == 0 and json.loads(out)["b"]["digest"] == b
    assert len([c for c in json.loads(out)["packages"]["removed"] if c["type"] == "deb"]) == 12
    code, out, _ = run(capsys, "rematch", "--store", store, "--db", str(vulndb))
    assert code == 0 and out.startswith("rematched 2 stored SBOMs: 0 new findings")
    code, out, _ = run(capsys, "history", APP, "--store", store)
    assert code == 0 and a in out


def test_store_error_keeps_the_scan_result(capsys: pytest.CaptureFixture[str], vulndb: Path,
                                           tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    code, out, err = run(capsys, "scan", APP, "--db", str(vulndb), "--fail-on", "critical", "-f", "json",
                         "--store", f"sqlite:///{tmp_path}/file/h.db")
    assert code == 1  # the scan's own verdict, unchanged
    assert json.loads(out)["image"]
    assert "warning: not recorded in the history store" in err


def test_history_flags_a_moved_tag(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.store import timeline as tl
    from tests.store.conftest import FakeClock

    store = f"sqlite:///{tmp_path}/h.db"
    with HistoryStore.open(store, clock=FakeClock()) as s:
        tl.play(s, FakeClock())
    code, out, err = run(capsys, "history", tl.APP, "--store", store)
    assert code == 1 and "IMMUTABLE-TAG VIOLATION" in out and "1 immutable-tag violation" in err
    code, out, _ = run(capsys, "history", tl.APP, "--store", store, "--mutable", "1", "-f", "json")
    assert code == 0 and [t["movedFrom"] for t in json.loads(out)["tags"]] == [None, tl.A]
    code, out, _ = run(capsys, "metrics", "--store", store, "--window", "0d")
    assert code == 2


def test_reading_commands_refuse_a_missing_store(tmp_path: Path) -> None:
    """QA: ``metrics --store <typo>`` created directories and an empty store and reported success."""
    import subprocess
    import sys

    missing = tmp_path / "no" / "such" / "h.db"
    for cmd in (["metrics"], ["history", "docker.io/x/y"], ["report", "docker.io/x/y"]):
        proc = subprocess.run([sys.executable, "-m", "tidegate.cli.main", *cmd, "--store", str(missing)],
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 2 and "does not exist" in proc.stderr, (cmd, proc.stderr)
    assert not (tmp_path / "no").exists()
