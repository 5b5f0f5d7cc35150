"""Impossible option values are usage errors (exit 2, one line), found by the QA pass."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.images import IMAGES


@pytest.mark.parametrize("args, phrase", [
    (["--max-layer-size", "-1"], "--max-layer-size"),
    (["--max-layer-entries", "0"], "--max-layer-entries"),
    (["--timeout", "0"], "--timeout"),
    (["--insecure-registry", "http://registry.example"], "--insecure-registry"),
])
def test_impossible_values(args: list[str], phrase: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "tidegate.cli.main", "sbom",
                           f"oci-archive:{IMAGES / 'distroless-py.oci.tar'}", "-q", *args],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith("tidegate: error:") and phrase in proc.stderr and "Traceback" not in proc.stderr


def test_deeply_nested_input_is_refused_as_hostile(tmp_path: object) -> None:
    from pathlib import Path

    deep = Path(str(tmp_path)) / "deep.json"
    deep.write_text("[" * 200_000)
    proc = subprocess.run([sys.executable, "-m", "tidegate.cli.main", "scan", f"sbom:{deep}", "--scanners", "secret"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "nested too deeply" in proc.stderr and "internal error" not in proc.stderr
