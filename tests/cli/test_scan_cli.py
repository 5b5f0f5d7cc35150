"""``tidegate scan`` end to end on bookworm-app with a database imported from ../shared/vulndata.

Exit codes (0 pass, 1 --fail-on tripped, 2 input/usage error), SBOM input giving the same findings as the
image, suppression by ignore file and OpenVEX, and the one-line errors.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import IMAGES, SHARED

VULNDATA = SHARED / "vulndata"
APP = f"oci-archive:{IMAGES / 'bookworm-app.oci.tar'}"

pytestmark = pytest.mark.skipif(not VULNDATA.is_dir(), reason="../shared/vulndata is not present")


def tidegate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI in a subprocess, as a user's script would."""
    return subprocess.run([sys.executable, "-m", "tidegate.cli.main", *args], capture_output=True, text=True,
                          check=False, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def db_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("db")
    feeds = [str(p) for p in sorted((VULNDATA / "osv").glob("*/all.zip"))]
    feeds += [str(p) for p in sorted((VULNDATA / "alpine").glob("*/*.json"))]
    proc = tidegate("db", "import", *feeds, "--db", str(d))
    assert proc.returncode == 0, proc.stderr
    return d


@pytest.fixture(scope="module")
def app_json(db_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("out") / "scan.json"
    proc = tidegate("scan", APP, "--db", str(db_dir), "-f", "json", "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def finding_keys(report: dict[str, Any], *, suppressed: bool = False) -> set[tuple[str, str, str]]:
    """(id, package name, installed version) of every finding in tidegate's scan JSON."""
    rows = report["suppressed"] if suppressed else report["results"]
    return {(r["id"], r["package"]["name"], r["package"]["version"]) for r in rows}


def test_fail_on_high_exits_1_and_names_the_threshold(db_dir: Path, app_json: dict[str, Any]) -> None:
    high = [r for r in app_json["results"] if r["severity"] in ("HIGH", "CRITICAL")]
    assert high, "bookworm-app has HIGH/CRITICAL PyPI findings (CVSS vectors in the PYSEC records)"
    proc = tidegate("scan", APP, "--db", str(db_dir), "--fail-on", "high", "-q")
    assert proc.returncode == 1, proc.stderr
    # Without --fail-on the same scan passes; with a threshold nothing reaches, it passes too.
    assert tidegate("scan", APP, "--db", str(db_dir), "-q", "-f", "json", "--severity", "LOW",
                    "--fail-on", "high").returncode == 0


def test_json_counts_match_results(app_json: dict[str, Any]) -> None:
    counts: dict[str, int] = {}
    for r in app_json["results"]:
        counts[r["severity"]] = counts.get(r["severity"], 0) + 1
    assert {k: v for k, v in app_json["summary"]["bySeverity"].items() if v} == counts
    assert app_json["summary"]["total"] == len(app_json["results"])


def test_sbom_input_gives_the_same_findings_as_the_image(db_dir: Path, app_json: dict[str, Any],
                                                         tmp_path: Path) -> None:
    for fmt in ("cyclonedx-json", "spdx-json"):
        sbom = tmp_path / f"app.{fmt}"
        assert tidegate("sbom", APP, "-f", fmt, "-o", str(sbom), "-q").returncode == 0
        out = tmp_path / f"scan-{fmt}.json"
        proc = tidegate("scan", f"sbom:{sbom}", "--db", str(db_dir), "-f", "json", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        assert finding_keys(json.loads(out.read_text())) == finding_keys(app_json), fmt


def test_ignore_file_and_vex_suppress_with_reasons(db_dir: Path, app_json: dict[str, Any],
                                                   tmp_path: Path) -> None:
    pypi = sorted((r for r in app_json["results"] if r["package"]["type"] == "pypi"),
                  key=lambda r: (r["package"]["name"], r["id"]))
    ignored, vexed = pypi[0], next(r for r in pypi if r["package"]["name"] != pypi[0]["package"]["name"])
    (tmp_path / ".tidegateignore").write_text(f"# accepted risk\n{ignored['id']}  # not reachable here\n"
                                              "CVE-1999-0001 exp:2000-01-01\n")
    vex = {
        "@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1", "author": "test",
        "timestamp": "2026-01-01T00:00:00Z", "version": 1,
        "statements": [{"vulnerability": {"name": vexed["id"]},
                        "products": [{"@id": vexed["package"]["purl"]}],
                        "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}],
    }
    (tmp_path / "app.vex.json").write_text(json.dumps(vex))
    out = tmp_path / "s.json"
    proc = tidegate("scan", APP, "--db", str(db_dir), "-f", "json", "-o", str(out), "--vex", "app.vex.json",
                    "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    key_i = (ignored["id"], ignored["package"]["name"], ignored["package"]["version"])
    key_v = (vexed["id"], vexed["package"]["name"], vexed["package"]["version"])
    assert finding_keys(report) == finding_keys(app_json) - {key_i, key_v}
    assert finding_keys(report, suppressed=True) == {key_i, key_v}
    reasons = {r["id"]: r["suppression"] for r in report["suppressed"]}
    assert reasons[ignored["id"]]["kind"] == "ignore-file"
    assert reasons[vexed["id"]]["kind"] == "vex"
    assert "vulnerable_code_not_in_execute_path" in reasons[vexed["id"]]["reason"]


def test_suppressed_findings_do_not_fail_the_gate(db_dir: Path, app_json: dict[str, Any], tmp_path: Path) -> None:
    high = {r["id"] for r in app_json["results"] if r["severity"] in ("HIGH", "CRITICAL")}
    (tmp_path / "ignore").write_text("".join(f"{i}\n" for i in sorted(high)))
    # Only the vulnerability scanner: the image's planted secrets and root user would fail the gate on their own.
    proc = tidegate("scan", APP, "--db", str(db_dir), "--fail-on", "high", "--ignorefile",
                    str(tmp_path / "ignore"), "-q", "-f", "json", "--scanners", "vuln")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("args, phrase", [
    (["--fail-on", "severe"], "--fail-on"),
    (["--severity", "HIGH,bad"], "--severity"),
    (["--max-db-age", "soon"], "--max-db-age"),
    (["-f", "pdf"], "format"),
    (["--ignorefile", "/nonexistent/ignore"], "/nonexistent/ignore"),
    (["--vex", "/nonexistent/vex.json"], "/nonexistent/vex.json"),
])
def test_bad_flags_are_one_line_exit_2(db_dir: Path, args: list[str], phrase: str) -> None:
    proc = tidegate("scan", APP, "--db", str(db_dir), "-q", *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) <= 2 and lines[0].startswith("tidegate: error:") and phrase in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_no_database_is_a_clear_error(tmp_path: Path) -> None:
    proc = tidegate("scan", APP, "--db", str(tmp_path / "empty"), "-q")
    assert proc.returncode == 2
    assert proc.stderr.startswith("tidegate: error:") and "database" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_old_database_warns(db_dir: Path) -> None:
    proc = tidegate("scan", APP, "--db", str(db_dir), "-q", "-f", "json", "--max-db-age", "0s")
    assert proc.returncode == 0
    assert "--max-db-age" in proc.stderr and "old" in proc.stderr
    fresh = tidegate("scan", APP, "--db", str(db_dir), "-q", "-f", "json")
    assert "old" not in fresh.stderr


def test_bad_sbom_file_is_exit_2(db_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = tidegate("scan", f"sbom:{bad}", "--db", str(db_dir))
    assert proc.returncode == 2 and str(bad) in proc.stderr and "Traceback" not in proc.stderr


def test_database_without_the_image_feeds_warns(tmp_path: Path) -> None:
    """A database of another distribution must not give a silent "no vulnerabilities"."""
    db = tmp_path / "alpine-only"
    feed = min((VULNDATA / "alpine").glob("*/main.json"))
    assert tidegate("db", "import", str(feed), "--db", str(db), "-q").returncode == 0
    proc = tidegate("scan", APP, "--db", str(db), "-q", "-f", "json", "--scanners", "vuln")
    assert proc.returncode == 0
    report = json.loads(proc.stdout)
    missing = {w.split("advisories for ")[1].split(" (")[0] for w in report["warnings"] if "no advisories" in w}
    assert missing == {"Debian:12", "PyPI", "Go"}
    assert "no advisories for Debian:12" in proc.stderr
