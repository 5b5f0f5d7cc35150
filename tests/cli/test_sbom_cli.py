"""``tidegate sbom`` on a real image, in every format, validated by the standards' own tools."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tests.support.images import IMAGES, load_truth
from tidegate.cli.main import main

APP = f"oci-archive:{IMAGES / 'bookworm-app.oci.tar'}"
TRUTH = load_truth("bookworm-app")["images"][0]
DIGEST = TRUTH["manifest_digest"]


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("out")
    result = {}
    for fmt in ("table", "json", "cyclonedx-json", "cyclonedx-xml", "spdx-json"):
        path = d / f"sbom.{fmt}"
        assert main(["sbom", APP, "-q", "--format", fmt, "--output", str(path)]) == 0
        result[fmt] = path.read_bytes()
    return result


def test_cyclonedx_is_schema_valid_and_complete(outputs: dict[str, bytes]) -> None:
    text = outputs["cyclonedx-json"].decode()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    assert doc["specVersion"] == "1.6"
    props = {p["name"]: p["value"] for p in doc["metadata"]["properties"]}
    assert DIGEST in json.dumps(doc["metadata"])
    libs = [c for c in doc["components"] if c["type"] == "library"]
    assert len(libs) == 150
    os_comp = [c for c in doc["components"] if c["type"] == "operating-system"]
    assert os_comp and os_comp[0]["name"] == "debian" and os_comp[0]["version"] == "12"
    diff_ids = [layer["diff_id"] for layer in TRUTH["layers"]]
    for c in libs:
        p = {x["name"]: x["value"] for x in c["properties"]}
        assert p["tidegate:location:0:layerDiffID"] == diff_ids[int(p["tidegate:location:0:layerIndex"])]
    assert doc["metadata"]["component"]["type"] == "container"
    assert props["tidegate:image:manifestDigest"] == DIGEST


def test_cyclonedx_xml_is_schema_valid(outputs: dict[str, bytes]) -> None:
    from cyclonedx.validation.xml import XmlValidator

    assert XmlValidator(SchemaVersion.V1_6).validate_str(outputs["cyclonedx-xml"].decode()) is None


def test_spdx_validates_and_round_trips(outputs: dict[str, bytes], tmp_path: Path) -> None:
    from spdx_tools.spdx.parser.parse_anything import parse_file
    from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

    path = tmp_path / "sbom.spdx.json"
    path.write_bytes(outputs["spdx-json"])
    doc = parse_file(str(path))
    assert validate_full_spdx_document(doc) == []
    purls = [r.locator for p in doc.packages for r in p.external_references if r.reference_type == "purl"]
    assert sum(u.startswith(("pkg:deb/", "pkg:pypi/", "pkg:golang/")) for u in purls) == 150
    raw = outputs["spdx-json"].decode()
    assert DIGEST in raw and "Debian GNU/Linux 12" in raw
    assert all(layer["diff_id"] in raw for layer in TRUTH["layers"][:5])


def test_json_and_table(outputs: dict[str, bytes]) -> None:
    doc = json.loads(outputs["json"])
    assert doc["image"]["manifestDigest"] == DIGEST
    assert doc["distro"]["id"] == "debian"
    by_name = {p["name"]: p for p in doc["packages"]}
    assert by_name["django"]["locations"][0]["layerIndex"] == 2
    assert by_name["mvdan.cc/sh/v3"]["locations"][0]["layerIndex"] == 3
    table = outputs["table"].decode()
    assert DIGEST in table and "Debian GNU/Linux 12 (bookworm)" in table
    assert "\x1b[" not in table  # no colour codes in a file


def test_quiet_when_not_a_tty(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sbom", APP, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert json.loads(out)["image"]["manifestDigest"] == DIGEST


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    """stderr is a pseudo-terminal: rich draws a progress bar there, and stdout still gets the clean JSON."""
    master, slave = pty.openpty()
    out_path = tmp_path / "out.json"
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    proc = subprocess.Popen([sys.executable, "-m", "tidegate", "sbom", APP, "-f", "json", "-o", str(out_path)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=60)
    os.close(master)
    assert proc.returncode == 0
    assert b"layer" in seen and (b"\xe2\x94\x81" in seen or b"MB" in seen or b"kB" in seen), seen[:500]
    assert json.loads(out_path.read_text())["image"]["manifestDigest"] == DIGEST


@pytest.mark.parametrize("sig, code, delay", [(2, 130, 0.05), (2, 130, 0.8), (15, 143, 0.8), (15, 143, 0.05)])
def test_signals_clean_up_and_print_one_line(tmp_path: Path, sig: int, code: int, delay: float) -> None:
    """Ctrl-C or SIGTERM (timeout, Kubernetes) at any moment: no traceback, no temp dir left, no partial output."""
    env = {**os.environ, "TMPDIR": str(tmp_path), "TIDEGATE_CACHE_DIR": str(tmp_path / "cache")}
    out = tmp_path / "out.json"
    proc = subprocess.Popen([sys.executable, "-m", "tidegate", "sbom", APP, "-q", "--no-cache", "-o", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    time.sleep(delay)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # the scan won the race; nothing to check
        return
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("tidegate-")] == []
    if proc.returncode == -sig:  # killed during interpreter start-up, before any handler or temp dir existed
        return
    assert proc.returncode == code, err
    assert b"Traceback" not in err and len(err.splitlines()) == 1, err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("tidegate-")] == []


def test_output_file_mode_follows_umask_or_existing_file(tmp_path: Path) -> None:
    new = tmp_path / "new.json"
    old_umask = os.umask(0o022)
    try:
        assert main(["sbom", APP, "-q", "-f", "json", "-o", str(new)]) == 0
    finally:
        os.umask(old_umask)
    assert new.stat().st_mode & 0o777 == 0o644
    new.chmod(0o640)
    assert main(["sbom", APP, "-q", "-f", "json", "-o", str(new)]) == 0
    assert new.stat().st_mode & 0o777 == 0o640
