"""The same results from a real registry: images pushed with skopeo to docker-registry on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.scan.test_real_images import assert_matches_truth
from tests.support.images import IMAGES, load_truth
from tests.support.registry import TokenRegistry, push_archive
from tidegate.cli.main import main
from tidegate.image.sources.base import SourceOptions
from tidegate.scan.pipeline import ScanOptions, scan_image


@pytest.fixture(scope="module")
def pushed(registry: str) -> str:
    push_archive(f"oci-archive:{IMAGES / 'bookworm-app.oci.tar'}:1", f"{registry}/corpus/bookworm-app:1")
    push_archive(f"oci-archive:{IMAGES / 'bookworm-app-index.oci.tar'}:1", f"{registry}/corpus/multi:1",
                 all_images=True)
    return registry


def test_registry_by_tag_matches_truth(pushed: str) -> None:
    image = load_truth("bookworm-app")["images"][0]
    result = scan_image(f"{pushed}/corpus/bookworm-app:1")
    assert result.sbom.image.transport == "registry"
    assert result.sbom.image.name == f"{pushed}/corpus/bookworm-app"
    assert result.sbom.image.manifest_digest == image["manifest_digest"]
    assert_matches_truth(result, image)
    assert not result.filesystem.exists("/app/config/.env")
    assert "/app/config/.env" in result.filesystem.layer_paths(4)


def test_registry_by_digest_and_docker_prefix(pushed: str) -> None:
    image = load_truth("bookworm-app")["images"][0]
    result = scan_image(f"docker://{pushed}/corpus/bookworm-app@{image['manifest_digest']}")
    assert result.sbom.image.manifest_digest == image["manifest_digest"]
    assert_matches_truth(result, image)


@pytest.mark.parametrize("platform, index", [(None, 0), ("linux/arm64", 1)])
def test_registry_index_platforms(pushed: str, platform: str | None, index: int) -> None:
    truth = load_truth("bookworm-app-index")
    result = scan_image(f"{pushed}/corpus/multi:1", ScanOptions(platform=platform))
    assert result.sbom.image.index_digest == truth["index"]["digest"]
    assert result.sbom.image.manifest_digest == truth["images"][index]["manifest_digest"]
    assert_matches_truth(result, truth["images"][index])


def test_registry_cli_json(pushed: str, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code = main(["sbom", f"{pushed}/corpus/bookworm-app:1", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["image"]["manifestDigest"] == load_truth("bookworm-app")["images"][0]["manifest_digest"]
    assert len(doc["packages"]) == 150


def test_bearer_token_registry(token_registry: TokenRegistry) -> None:
    image = load_truth("distroless-py")["images"][0]
    ref = f"{token_registry.host}/private/distroless:1"
    push_archive(f"oci-archive:{IMAGES / 'distroless-py.oci.tar'}:1", ref, creds=token_registry.creds)
    opts = ScanOptions(source=SourceOptions(username=token_registry.username, password=token_registry.password))
    result = scan_image(ref, opts)
    assert result.sbom.image.manifest_digest == image["manifest_digest"]
    assert_matches_truth(result, image)


def test_bearer_token_registry_cli_errors(token_registry: TokenRegistry, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    ref = f"{token_registry.host}/private/distroless:1"
    push_archive(f"oci-archive:{IMAGES / 'distroless-py.oci.tar'}:1", ref, creds=token_registry.creds)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))  # no credentials from the user's config
    code = main(["sbom", ref, "-q"])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("tidegate: error: ") and "Traceback" not in err
    monkeypatch.setenv("TIDEGATE_PASSWORD", "wrong")
    code = main(["sbom", ref, "-q", "--username", token_registry.username])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith("tidegate: error: ")
    monkeypatch.setenv("TIDEGATE_PASSWORD", token_registry.password)
    code = main(["sbom", ref, "-q", "--username", token_registry.username, "-f", "json"])
    _out, err = capsys.readouterr()
    assert code == 0, err
    # The unambiguous name wins; TIDEGATE_PASSWORD alone (a signing-key password) is not a registry password.
    monkeypatch.setenv("TIDEGATE_PASSWORD", "key-password")
    monkeypatch.setenv("TIDEGATE_REGISTRY_PASSWORD", token_registry.password)
    code = main(["sbom", ref, "-q", "--username", token_registry.username, "-f", "json"])
    _out, err = capsys.readouterr()
    assert code == 0, err
    code = main(["sbom", f"oci-archive:{IMAGES / 'distroless-py.oci.tar'}", "-q", "-f", "json"])
    _out, err = capsys.readouterr()
    assert code == 0 and "--password needs --username" not in err


def test_unreachable_registry(capsys: pytest.CaptureFixture[str]) -> None:
    from tests.support.registry import free_port

    code = main(["sbom", f"127.0.0.1:{free_port()}/nothing/here:1", "-q"])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") <= 2 and "unreachable" in err and "Traceback" not in err


def test_docker_v2s2_manifests_and_manifest_list(registry: str) -> None:
    """skopeo converts to Docker schema 2 (and a Docker manifest list for the index): same packages."""
    import subprocess

    from tidegate.image.manifest import DOCKER_LIST, DOCKER_MANIFEST

    push_archive(f"oci-archive:{IMAGES / 'bookworm-app.oci.tar'}:1", f"{registry}/v2s2/app:1", manifest_format="v2s2")
    result = scan_image(f"{registry}/v2s2/app:1")
    assert result.resolved.manifest_media_type == DOCKER_MANIFEST
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{registry}/v2s2/app:1"],
                         capture_output=True, check=True).stdout
    import hashlib

    assert result.sbom.image.manifest_digest == "sha256:" + hashlib.sha256(raw).hexdigest()  # skopeo agrees
    assert_matches_truth(result, load_truth("bookworm-app")["images"][0])

    truth = load_truth("bookworm-app-index")
    push_archive(f"oci-archive:{IMAGES / 'bookworm-app-index.oci.tar'}:1", f"{registry}/v2s2/multi:1",
                 all_images=True, manifest_format="v2s2")
    top = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{registry}/v2s2/multi:1"],
                         capture_output=True, check=True).stdout
    import json

    assert json.loads(top)["mediaType"] == DOCKER_LIST
    arm = scan_image(f"{registry}/v2s2/multi:1", ScanOptions(platform="linux/arm64"))
    assert arm.sbom.image.architecture == "arm64"
    assert_matches_truth(arm, truth["images"][1])
