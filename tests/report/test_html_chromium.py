"""The HTML report in a real browser: Debian's headless Chromium renders bookworm-app's report, with its secrets
and misconfigurations, and the numbers in the DOM *after the script ran* must equal tidegate's JSON report.

Chromium runs with ``--dump-dom`` (the serialized DOM after load, i.e. after our synchronous script) and
``--enable-logging=stderr``, which prints every console message — errors, uncaught exceptions and CSP
violations — as an ``INFO:CONSOLE`` line; `test_console_detector_sees_errors` proves that detector works on this
build. A screenshot goes to ``test-artifacts/html-report.png`` (gitignored) for people to look at.

Skipped only when chromium is missing and ``CI`` is unset; on CI a missing browser fails.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import IMAGES
from tidegate.model.finding import Severity, Suppression
from tidegate.model.report import VulnReport
from tidegate.report.html import HtmlFormat
from tidegate.report.vuln_json import VulnJsonFormat, parse_scan_json

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (./dev setup installs it) and CI is set")
        pytest.skip("chromium is not installed (./dev setup installs it)")
    return CHROMIUM


def run_chromium(binary: str, tmp: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run with a fresh profile, no network services, console messages on stderr."""
    profile = tmp / f"profile-{len(list(tmp.glob('profile-*')))}"
    profile.mkdir()
    argv = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-extensions", "--disable-default-apps", f"--user-data-dir={profile}",
            "--enable-logging=stderr", "--v=0", *extra, url]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def console_lines(stderr: str) -> list[str]:
    """Chromium's console messages (``…:INFO:CONSOLE:1] "msg", source: …``), errors and CSP reports included."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


class Dom(HTMLParser):
    """What the tests read from the dumped DOM: root attributes, counted numbers, chart bars, table rows."""

    def __init__(self) -> None:
        super().__init__()
        self.root: dict[str, str | None] = {}
        self.counts: dict[str, tuple[int, int]] = {}
        self.bars: dict[str, int] = {}
        self.tables: dict[str, dict[str, str | None]] = {}
        self.rows: dict[str, list[tuple[dict[str, str | None], list[str | None]]]] = {}
        self._table: str | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.root = a
        if "data-count" in a:
            self.counts[str(a["data-count"])] = (int(str(a["data-value"])), int(str(a["data-json-value"])))
        if tag == "g" and "data-severity" in a:
            self.bars[str(a["data-severity"])] = int(str(a["data-value"]))
        if tag == "table" and a.get("id"):
            self._table = str(a["id"])
            self.tables[self._table] = a
            self.rows[self._table] = []
        if tag == "tbody" and self._table:
            self._in_body = True
        if tag == "tr" and self._in_body and self._table:
            self.rows[self._table].append((a, []))
        if tag == "td" and self._in_body and self._table:
            self.rows[self._table][-1][1].append(a.get("data-v"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        if tag == "table":
            self._table = None


@pytest.fixture(scope="module")
def report(vulndb: Path) -> VulnReport:
    """bookworm-app: vulnerabilities (two suppressed by hand), secrets and misconfigurations from the real scan."""
    from tidegate.match.engine import MatchOptions, scan_vulnerabilities
    from tidegate.scan.pipeline import ScanOptions, build_sbom, scan_image
    from tidegate.vulndb.store import VulnDb

    ref = f"oci-archive:{IMAGES / 'bookworm-app.oci.tar'}"
    sbom = build_sbom(ref)
    checks = scan_image(ref, ScanOptions(scanners=frozenset({"secret", "misconfig"}))).findings
    with VulnDb.open(vulndb) as db:
        plain = scan_vulnerabilities(sbom, db, MatchOptions(fail_on=Severity.HIGH), db_info=db.info())
    findings = list(plain.findings)
    findings[0] = dataclasses.replace(findings[0], suppression=Suppression(
        kind="ignore-file", reason="accepted until the next base image", source=".tidegateignore"))
    findings[-1] = dataclasses.replace(findings[-1], suppression=Suppression(
        kind="vex", reason="not_affected: vulnerable_code_not_in_execute_path", source="app.vex.json"))
    return dataclasses.replace(plain, findings=tuple(findings), checks=checks,
                               scanners=("vuln", "secret", "misconfig"))


def expected_numbers(report: VulnReport, doc: dict[str, Any]) -> dict[str, int]:
    """Every number the page must show, computed from the JSON report (packages per layer from the SBOM)."""
    want: dict[str, int] = {"total": doc["summary"]["total"], "suppressed": doc["summary"]["suppressed"],
                            "secrets": doc["summary"]["secrets"],
                            "misconfigurations": doc["summary"]["misconfigurations"],
                            **doc["summary"]["bySeverity"]}
    vulns = Counter(str(r["layer"]["index"]) if r["layer"] else "none" for r in doc["results"])
    secrets = Counter(str(s["location"]["layerIndex"]) if s["location"] else "none"
                      for s in doc["secrets"] if s["suppression"] is None)
    packages = Counter(str(p.layer_index) if p.layer_index is not None else "none" for p in report.sbom.packages)
    layers = [str(la["index"]) for la in doc["image"]["layers"]]
    if "none" in vulns or "none" in secrets or "none" in packages:
        layers.append("none")
    for key in layers:
        want[f"layer:{key}:packages"] = packages[key]
        want[f"layer:{key}:vulns"] = vulns[key]
        want[f"layer:{key}:secrets"] = secrets[key]
    return want


def test_report_renders_in_chromium_with_the_json_numbers(chromium: str, report: VulnReport,
                                                          tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_bytes(HtmlFormat().render(report))
    doc = parse_scan_json(VulnJsonFormat().render(report))
    assert doc["summary"]["secrets"] >= 3 and doc["summary"]["misconfigurations"] >= 1 and doc["suppressed"]

    # (1) Load with a filter and a sort in the fragment, so the DOM shows the script's work.
    proc = run_chromium(chromium, tmp_path, page.as_uri() + "#sev=HIGH,MEDIUM&sort=cvss:desc", "--dump-dom")
    assert console_lines(proc.stderr) == []
    dom = Dom()
    dom.feed(proc.stdout)
    assert dom.root.get("data-ready") == "true"
    assert dom.root.get("data-errors") == "0"
    assert dom.root.get("data-consistent") == "true"

    # (2) Every number on the page (server-rendered, and re-counted by the script from the embedded JSON).
    want = expected_numbers(report, doc)
    assert {k: v[0] for k, v in dom.counts.items()} == want
    assert {k: v[1] for k, v in dom.counts.items()} == want
    assert dom.bars == doc["summary"]["bySeverity"]

    # (3) The filter and the sort ran: only HIGH and MEDIUM rows visible, by CVSS descending.
    table = dom.tables["vuln-table"]
    rows = dom.rows["vuln-table"]
    assert len(rows) == doc["summary"]["total"]
    visible = [(a, cells) for a, cells in rows if "hidden" not in a]
    assert int(str(table["data-shown"])) == len(visible) == want["HIGH"] + want["MEDIUM"] > 0
    assert {a["data-severity"] for a, _ in visible} <= {"HIGH", "MEDIUM"}
    assert table["data-sort"] == "cvss:desc"
    scores = [float(cells[5]) if cells[5] else -1.0 for _, cells in rows]
    assert scores == sorted(scores, reverse=True)
    assert len(dom.rows["suppressed-table"]) == doc["summary"]["suppressed"]
    assert len(dom.rows["secrets-table"]) == len(doc["secrets"])
    assert len(dom.rows["misconfigurations-table"]) == len(doc["misconfigurations"])

    # (4) A screenshot for people (CI keeps test-artifacts/).
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "html-report.png"
    shot.unlink(missing_ok=True)
    proc = run_chromium(chromium, tmp_path, page.as_uri() + "#sev=CRITICAL,HIGH,MEDIUM&sort=cvss:desc",
                        "--hide-scrollbars", "--window-size=1400,1800", f"--screenshot={shot}")
    assert console_lines(proc.stderr) == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_hostile_report_runs_nothing_in_chromium(chromium: str, tmp_path: Path) -> None:
    from tests.report.test_html import EVIL, EVIL_STEP, hostile_report, parse

    page = tmp_path / "evil.html"
    page.write_bytes(HtmlFormat().render(hostile_report()))
    proc = run_chromium(chromium, tmp_path, page.as_uri(), "--dump-dom")
    assert console_lines(proc.stderr) == []
    dom = Dom()
    dom.feed(proc.stdout)
    assert dom.root.get("data-ready") == "true" and dom.root.get("data-consistent") == "true"
    # The DOM holds the hostile strings as text (re-escaped by the serializer), never as elements.
    tags = parse(proc.stdout).tags
    assert [t for t, _ in tags].count("script") == 2
    assert not [t for t, a in tags if t == "img" or any(k.startswith("on") for k in a)]
    assert EVIL.replace("<", "&lt;").replace(">", "&gt;") in proc.stdout
    data = proc.stdout.split('id="tidegate-data">')[1].split("</script>")[0]
    assert json.loads(data)["report"]["image"]["layers"][1]["createdBy"] == EVIL_STEP


def test_console_detector_sees_errors(chromium: str, tmp_path: Path) -> None:
    """Control: the same flags report a console.error and an uncaught exception, so an empty list means none."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html><body><script>console.error("marker-1"); missing();</script></body></html>')
    lines = console_lines(run_chromium(chromium, tmp_path, page.as_uri(), "--dump-dom").stderr)
    assert any("marker-1" in line for line in lines)
    assert any("Uncaught ReferenceError" in line for line in lines)
