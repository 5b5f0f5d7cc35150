"""Secrets in history steps and labels never reach a report: every format prints layer steps and labels, so the
pipeline masks them once with the secret scanner's rules (found by the QA pass: build args and labels leaked
through ``createdBy`` and ``image.labels`` while the secret findings themselves were masked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.images import OciImage, TarMember, make_tar

TOKEN = "ghp_" + "Zq7" * 12  # 36 characters after the prefix, like a classic GitHub token
AWS = "AKIA" + "Q2TIDEGATE7TESTX"
PASSWORD = "s3cret-" + "pw-9x7"


@pytest.fixture()
def leaky(tmp_path: Path) -> Path:
    layer = make_tar([TarMember("app/hello.txt", b"hello\n")])
    img = OciImage(layers=[layer], config_extra={
        "history": [{"created_by": f"RUN |2 GITHUB_TOKEN={TOKEN} DB_PASSWORD={PASSWORD} /bin/sh -c "
                                   f"echo {AWS} > /dev/null # buildkit"}],
        "config": {"Labels": {"deploy.key": AWS, "maintainer": "ops@example.com"}},
    })
    return img.build(tmp_path / "leaky.oci.tar")


@pytest.mark.parametrize("cmd", [["sbom", "-f", "json"], ["sbom", "-f", "cyclonedx-json"], ["sbom", "-f", "spdx-json"],
                                 ["sbom"], ["scan", "--scanners", "secret,misconfig", "-f", "json"],
                                 ["scan", "--scanners", "secret,misconfig", "-f", "sarif"],
                                 ["scan", "--scanners", "secret,misconfig"]])
def test_no_format_prints_a_history_or_label_secret(leaky: Path, cmd: list[str]) -> None:
    args = [sys.executable, "-m", "tidegate.cli.main", cmd[0], f"oci-archive:{leaky}", "-q", *cmd[1:]]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    for raw in (TOKEN, TOKEN[4:20], AWS[4:], PASSWORD):
        assert raw not in out, (raw, cmd)
    if cmd == ["sbom", "-f", "json"]:
        assert "GITHUB_TOKEN=****" in out and "DB_PASSWORD=****" in out  # the step is shown, masked
    if cmd[0] == "scan":
        assert "TG-SEC-003" in out and "TG-SEC-001" in out  # still found (from the raw config), reported masked
