"""``tidegate scan --scanners secret,misconfig`` end to end on the real images, against their truth files.

bookworm-app plants an AWS key pair in a file that a later layer deletes, a GitHub token in a file that stays,
and a password in ENV; it runs as root, exposes 22/tcp, has no HEALTHCHECK and ADDs a URL. distroless-py
plants nothing and runs as 65532. Every expectation below is read from ``*.truth.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import IMAGES, load_truth


def scan_json(image: str, tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any], str]:
    out = tmp_path / f"{image}.json"
    proc = subprocess.run([sys.executable, "-m", "tidegate.cli.main", "scan", f"oci-archive:{IMAGES / image}.oci.tar",
                           "--scanners", "secret,misconfig", "-f", "json", "-o", str(out), "-q", *extra],
                          capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, json.loads(out.read_text()) if out.exists() else {}, proc.stderr


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    rc, doc, err = scan_json("bookworm-app", tmp_path_factory.mktemp("app"))
    assert rc == 0, err
    return doc


def test_planted_secrets_found_with_layer_and_step(app: dict[str, Any]) -> None:
    truth = load_truth("bookworm-app")["images"][0]
    planted = truth["secrets"]["planted"]
    layers = truth["layers"]
    history = [h for h in truth["history"] if not h.get("empty_layer")]
    kinds = {"aws-access-key-id": "TG-SEC-001", "aws-secret-access-key": "TG-SEC-002", "github-pat": "TG-SEC-003"}
    files = {(s["location"]["path"], s["ruleID"]): s for s in app["secrets"] if s["location"]}
    for p in planted:
        if p["path"] is None:  # the config ENV password
            env = [s for s in app["secrets"] if s["target"] == "image config Env"]
            name = p["match"].split("=")[0]
            assert len(env) == 1 and name in env[0]["message"]
            continue
        s = files[(p["path"], kinds[p["kind"]])]
        loc = s["location"]
        assert loc["layerIndex"] == p["layer_index"]
        assert loc["diffID"] == layers[p["layer_index"]]["diff_id"]
        assert loc["createdBy"] == history[p["layer_index"]]["created_by"]
        assert loc["visible"] is (not p["deleted_later"])
    # Exactly the planted ones: the truth's "incidental" regex hits (PEM headers inside libgnutls) are not keys.
    assert len(app["secrets"]) == len(planted)


def test_no_raw_secret_anywhere_in_the_output(app: dict[str, Any]) -> None:
    text = json.dumps(app)
    for p in load_truth("bookworm-app")["images"][0]["secrets"]["planted"]:
        raw = p["match"].split("=", 1)[-1]
        assert raw not in text


def test_image_misconfigurations(app: dict[str, Any]) -> None:
    truth = load_truth("bookworm-app")["images"][0]
    ids = {m["ruleID"] for m in app["misconfigurations"]}
    assert truth["config"]["User"] == "" and "TG-IMG-001" in ids           # root
    assert "22/tcp" in truth["config"]["ExposedPorts"] and "TG-IMG-009" in ids
    assert not truth["config"]["healthcheck_present"] and "TG-IMG-002" in ids
    add_url = [m for m in app["misconfigurations"] if m["ruleID"] == "TG-IMG-005"]
    assert len(add_url) == 1 and "https://" in add_url[0]["message"]
    setuid = {m["location"]["path"] for m in app["misconfigurations"] if m["ruleID"] == "TG-IMG-012"}
    assert setuid == {f["path"] for f in truth["setuid_setgid_files"]}
    assert truth["has_shell"] and truth["has_package_manager"] and "TG-IMG-016" in ids


def test_distroless_has_no_secret_and_no_root(tmp_path: Path) -> None:
    truth = load_truth("distroless-py")["images"][0]
    assert truth["secrets"]["planted"] == [] and truth["config"]["User"] not in ("", "root", "0")
    rc, doc, err = scan_json("distroless-py", tmp_path)
    assert rc == 0, err
    assert doc["secrets"] == []
    assert "TG-IMG-001" not in {m["ruleID"] for m in doc["misconfigurations"]}


def test_fail_on_counts_secrets_and_skip_rules(tmp_path: Path) -> None:
    rc, doc, _ = scan_json("bookworm-app", tmp_path, "--fail-on", "critical")
    assert rc == 1 and doc["verdict"]["failed"]  # the CRITICAL AWS key
    skip = "TG-SEC-001,TG-SEC-002,TG-SEC-003"
    rc, doc, _ = scan_json("bookworm-app", tmp_path, "--fail-on", "critical", "--skip-rules", skip)
    assert rc == 0 and {s["ruleID"] for s in doc["secrets"]} == {"TG-SEC-024"}


def test_unknown_rule_and_scanner_are_usage_errors(tmp_path: Path) -> None:
    for args in (["--skip-rules", "TG-NOPE-1"], ["--scanners", "vuln,magic"]):
        rc, _, err = scan_json("distroless-py", tmp_path, *args)
        assert rc == 2 and err.startswith("tidegate: error:") and "Traceback" not in err


def test_cached_rescan_gives_the_same_findings(tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    _, first, _ = scan_json("bookworm-app", tmp_path, "--cache-dir", cache)
    _, second, _ = scan_json("bookworm-app", tmp_path, "--cache-dir", cache)
    assert first["secrets"] == second["secrets"] and first["misconfigurations"] == second["misconfigurations"]
