"""The gate with the real policy and assessment (`load_policy`, `assess`), built from ``tidegate serve gate`` flags.

The images are ../shared/images, pushed with skopeo to a real ``docker-registry``; pulls go through the gate with
``skopeo copy``. Expectations come from the images' truth: distroless-py runs as a non-root user and is unsigned;
bookworm-app has HIGH findings under ../shared/vulndata (4 HIGH, no CRITICAL: the worst finding this data
gives it), so the vulnerability limit that denies it is ``maxSeverity: MEDIUM``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import httpx
import pytest

from tests.serve.test_gate import errors_of, pulled_digest, running_gate, skopeo_pull
from tests.support.images import IMAGES, load_truth
from tests.support.registry import push_archive
from tidegate.serve.gate import Gate

DISTROLESS = IMAGES / "distroless-py.oci.tar"
APP = IMAGES / "bookworm-app.oci.tar"

pytestmark = [pytest.mark.registry,
              pytest.mark.skipif(not APP.exists(), reason="../shared/images not present")]


def write_public_key(path: Path) -> Path:
    """An ECDSA P-256 public key in PEM (what ``tidegate key generate`` writes)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def policy_file(directory: Path, defaults: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    write_public_key(directory / "release.pub")
    path = directory / "policy.yaml"
    path.write_text("apiVersion: tidegate.dev/v1\nkind: Policy\nmetadata:\n  name: gate-test\ndefaults:\n"
                    + defaults, encoding="utf-8")
    return path


def gate_from_flags(argv: list[str]) -> Gate:
    """Parse ``serve gate ARGV`` with the registration the CLI uses, then build the gate as ``run`` would."""
    from tidegate.cli import serve_gate

    parser = argparse.ArgumentParser(prog="tidegate")
    serve = parser.add_subparsers(dest="command").add_parser("serve").add_subparsers(dest="door")
    serve_gate.register(serve)
    args = parser.parse_args(["serve", "gate", *argv])
    assert args.run is serve_gate.run
    return serve_gate.build_gate(args)


def test_real_policy_allows_a_non_root_image_and_denies_an_unsigned_one(registry: str, tmp_path: Path) -> None:
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{registry}/gate-e2e/distroless:1")
    digest = load_truth("distroless-py")["images"][0]["manifest_digest"]
    non_root = policy_file(tmp_path / "non-root", "  nonRoot: true\n")
    signed = policy_file(tmp_path / "signed", "  signatures:\n    keys: [release.pub]\n")
    for policy, allowed in ((non_root, True), (signed, False)):
        gate = gate_from_flags(["--upstream", f"http://{registry}", "--policy", str(policy), "--no-cache"])
        with running_gate(f"http://{registry}", gate.config.assess) as running:
            done = skopeo_pull(f"{running.host}/gate-e2e/distroless:1", tmp_path / f"out-{allowed}")
            if allowed:
                assert done.returncode == 0, done.stderr
                assert pulled_digest(tmp_path / f"out-{allowed}") == digest
                continue
            assert done.returncode != 0 and "denied" in done.stderr.lower(), done.stderr
            with httpx.Client(base_url=running.url) as client:
                response = client.get("/v2/gate-e2e/distroless/manifests/1")
            error = errors_of(response)
            assert response.status_code == 403 and error["code"] == "DENIED"
            assert error["detail"]["digest"] == digest
            # A real failure of the signature rule (the image has no .sig), not a not-evaluated one.
            reasons = [r for r in error["detail"]["reasons"] if r.startswith("signatures:")]
            assert reasons and "no signature by" in reasons[0], error


def test_real_policy_denies_an_image_over_the_vulnerability_limit(registry: str, tmp_path: Path, vulndb: Path) -> None:
    truth = load_truth("bookworm-app")
    push_archive(f"oci-archive:{APP}:1", f"{registry}/gate-e2e/app:1")
    digest = truth["images"][0]["manifest_digest"]
    policy = policy_file(tmp_path, "  vulnerabilities:\n    maxSeverity: MEDIUM\n")
    gate = gate_from_flags(["--upstream", f"http://{registry}", "--policy", str(policy), "--db", str(vulndb),
                            "--no-cache"])
    with running_gate(f"http://{registry}", gate.config.assess) as running:
        done = skopeo_pull(f"{running.host}/gate-e2e/app:1", tmp_path / "out")
        assert done.returncode != 0 and "denied" in done.stderr.lower(), done.stderr
        with httpx.Client(base_url=running.url, timeout=120) as client:
            response = client.get("/v2/gate-e2e/app/manifests/1")
            error = errors_of(response)
            assert error["detail"]["digest"] == digest
            assert any(r.startswith("vulnerabilities:") and "HIGH" in r for r in error["detail"]["reasons"]), error
            layer = truth["images"][0]["layers"][0]["digest"]
            assert client.get(f"/v2/gate-e2e/app/blobs/{layer}").status_code == 403


def test_signed_image_passes_the_gate_and_its_unsigned_twin_does_not(registry: str, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Sign with ``tidegate sign`` (cosign storage in the same registry), then pull through the gate under a
    policy requiring that key: the signed repository passes, the same bytes in an unsigned repository do not."""
    import subprocess
    import sys

    monkeypatch.setenv("TIDEGATE_PASSWORD", "gate-test-password")
    keys = tmp_path / "keys"
    keys.mkdir()

    def tidegate(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tidegate.cli.main", *args], capture_output=True, text=True,
                              timeout=300, check=False, cwd=keys)

    assert tidegate("key", "generate", "--output-prefix", "release").returncode == 0
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{registry}/gate-e2e/signed:1")
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{registry}/gate-e2e/unsigned:1")
    signed = tidegate("sign", f"{registry}/gate-e2e/signed:1", "--key", "release.key")
    assert signed.returncode == 0, signed.stderr
    policy_dir = tmp_path / "policy"
    policy_dir.mkdir()
    (policy_dir / "release.pub").write_bytes((keys / "release.pub").read_bytes())
    policy = policy_dir / "policy.yaml"
    policy.write_text("apiVersion: tidegate.dev/v1\nkind: Policy\nmetadata:\n  name: signed\ndefaults:\n"
                      "  signatures:\n    keys: [release.pub]\n", encoding="utf-8")
    gate = gate_from_flags(["--upstream", f"http://{registry}", "--policy", str(policy), "--no-cache"])
    digest = load_truth("distroless-py")["images"][0]["manifest_digest"]
    with running_gate(f"http://{registry}", gate.config.assess) as running:
        ok = skopeo_pull(f"{running.host}/gate-e2e/signed:1", tmp_path / "signed-out")
        assert ok.returncode == 0, ok.stderr
        assert pulled_digest(tmp_path / "signed-out") == digest
        denied = skopeo_pull(f"{running.host}/gate-e2e/unsigned:1", tmp_path / "unsigned-out")
        assert denied.returncode != 0 and "denied" in denied.stderr.lower(), denied.stderr
    # Both fresh verdicts are in the history store (issue 7), with the signature status the evidence showed.
    from tidegate.store.history import HistoryStore
    from tidegate.store.metrics import compute

    with HistoryStore.open() as store:
        figures = compute(store)
    assert figures.verdicts.get(("gate", "allowed", "ok")) == 1, figures.verdicts
    assert figures.verdicts.get(("gate", "denied", "signatures")) == 1, figures.verdicts
    assert figures.images_seen == 1  # the same bytes in two repositories are one image (one digest)
