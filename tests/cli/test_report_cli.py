"""``tidegate report`` renders a recorded image from the history store with the same findings as its scan."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

from tests.support.images import IMAGES, load_truth

APP = f"oci-archive:{IMAGES / 'bookworm-app.oci.tar'}"


def tidegate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tidegate.cli.main", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def test_report_of_a_recorded_digest(vulndb: Path, tmp_path: Path) -> None:
    scan = tidegate("scan", APP, "--db", str(vulndb), "-q", "-f", "json", "--scanners", "vuln")
    assert scan.returncode == 0, scan.stderr
    expected = {(r["id"], r["package"]["name"]) for r in json.loads(scan.stdout)["results"]}
    digest = load_truth("bookworm-app")["images"][0]["manifest_digest"]
    out = tmp_path / "r.html"
    proc = tidegate("report", digest[:19], "--db", str(vulndb), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    page = out.read_text()
    assert html.escape(digest) in page
    data = re.search(r'<script type="application/json"[^>]*>(.*?)</script>', page, re.DOTALL)
    assert data is not None
    embedded = json.loads(data.group(1).replace("<\\/", "</"))
    report = embedded.get("report", embedded)
    assert {(r["id"], r["package"]["name"]) for r in report["results"]} == expected
    assert tidegate("report", "sha256:" + "0" * 64, "--db", str(vulndb)).returncode == 2
