"""The signature store (`tidegate.trust.store`) over a real ``docker-registry`` and over OCI layout directories.

Expected digests come from ``../shared/images/*.truth.json`` (skopeo/umoci); the storage format from cosign's
``pkg/oci/remote`` (tag ``sha256-<hex>.sig``, one layer per signature) and ``pkg/oci/layout`` (``kind``
annotations). No crypto here: layers are opaque bytes to the store.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.images import IMAGES, load_truth
from tests.support.registry import TokenRegistry, free_port, push_archive
from tidegate.errors import DigestMismatch, InvalidReference, ManifestError, RegistryError, UsageError
from tidegate.image.sources.base import SourceOptions
from tidegate.trust.model import (
    DSSE_MEDIA_TYPE,
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
    SignatureLayer,
)
from tidegate.trust.store import (
    CONFIG_MEDIA_TYPE,
    MAX_SIGNATURE_LAYERS,
    open_store,
    parse_signature_manifest,
    signature_tag,
)

DISTROLESS = IMAGES / "distroless-py.oci.tar"
needs_images = pytest.mark.skipif(not DISTROLESS.exists(), reason="../shared/images not present")
REF_NAME = "org.opencontainers.image.ref.name"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def truth_digest() -> str:
    """The manifest digest of distroless-py, from its truth file."""
    return str(load_truth("distroless-py")["images"][0]["manifest_digest"])


def sha256(data: bytes) -> str:
    """``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sig_layer(payload: bytes, signature: str = "c2lnbmF0dXJl", media_type: str = SIMPLESIGNING_MEDIA_TYPE,
              **extra: str) -> SignatureLayer:
    """A signature layer as the store sees it (opaque payload + annotations)."""
    return SignatureLayer(media_type, payload, tuple(sorted({SIGNATURE_ANNOTATION: signature, **extra}.items())))


def extract_layout(archive: Path, dest: Path) -> Path:
    """An ``oci:`` directory from an OCI archive."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tf:
        tf.extractall(dest, filter="data")
    return dest


def write_blob(layout: Path, data: bytes) -> str:
    """Store `data` under blobs/sha256; returns its digest."""
    digest = sha256(data)
    path = layout / "blobs" / "sha256" / digest.split(":")[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return digest


def write_layout(layout: Path, entries: list[tuple[bytes, str, dict[str, str]]]) -> Path:
    """An OCI layout holding only the given manifests (bytes, media type, index annotations): no other blobs."""
    layout.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    manifests = []
    for data, media_type, notes in entries:
        manifests.append({"mediaType": media_type, "digest": write_blob(layout, data), "size": len(data),
                          **({"annotations": notes} if notes else {})})
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    return layout


def signature_manifest(layout: Path, layers: list[tuple[bytes, str, dict[str, str]]]) -> bytes:
    """A cosign-style signature manifest over `layers` (payload, media type, annotations), blobs written."""
    config = b"{}"
    return json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": write_blob(layout, config),
                                  "size": len(config)},
                       "layers": [{"mediaType": mt, "digest": write_blob(layout, p), "size": len(p),
                                   "annotations": a} for p, mt, a in layers]}).encode()


def index_entries(layout: Path) -> list[dict[str, Any]]:
    """``index.json`` manifests."""
    return list(json.loads((layout / "index.json").read_text())["manifests"])


# -- registry ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pushed(registry: str) -> str:
    """distroless-py at ``trust/store:1`` and ``trust/store:2``; returns ``host/repo``."""
    if not DISTROLESS.exists():
        pytest.skip("../shared/images not present")
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{registry}/trust/store:1")
    return f"{registry}/trust/store"


@pytest.mark.registry
@needs_images
def test_registry_tag_is_resolved_once_to_the_truth_digest(pushed: str) -> None:
    with open_store(f"{pushed}:1") as store:
        target = store.target
    assert str(target.digest) == truth_digest()
    assert target.resolved_tag == "1"
    assert target.repository == pushed
    assert target.identity == f"{pushed}:1"
    with open_store(f"{pushed}@{truth_digest()}") as store:
        assert store.target.resolved_tag is None
        assert store.target.identity == f"{pushed}@{truth_digest()}"


@pytest.mark.registry
@needs_images
def test_registry_append_keeps_every_signature_and_skips_duplicates(registry: str) -> None:
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{registry}/trust/append:1")
    a, b = sig_layer(b'{"a":1}', "QQ=="), sig_layer(b'{"b":2}', "Qg==")
    with open_store(f"{registry}/trust/append:1") as store:
        assert store.read("sig") == []
        first = store.append("sig", a)
        second = store.append("sig", b)
        again = store.append("sig", a)
        assert (first.added, second.added, again.added) == (True, True, False)
        assert (first.count, second.count, again.count) == (1, 2, 2)
        assert again.manifest_digest == second.manifest_digest
        assert first.tag == signature_tag(store.target.digest, "sig") == f"sha256-{truth_digest()[7:]}.sig"
        assert store.read("sig") == [a, b]
        assert store.read("att") == []
    # What another client sees: cosign's storage format, fetched over plain HTTP by tag.
    base = f"http://{registry}/v2/trust/append"
    r = httpx.get(f"{base}/manifests/{first.tag}", headers={"Accept": OCI_MANIFEST})
    assert r.status_code == 200 and r.headers["Docker-Content-Digest"] == str(second.manifest_digest)
    manifest = r.json()
    assert manifest["mediaType"] == OCI_MANIFEST
    assert manifest["config"]["mediaType"] == CONFIG_MEDIA_TYPE
    assert [x["mediaType"] for x in manifest["layers"]] == [SIMPLESIGNING_MEDIA_TYPE] * 2
    assert [x["annotations"] for x in manifest["layers"]] == [{SIGNATURE_ANNOTATION: "QQ=="},
                                                             {SIGNATURE_ANNOTATION: "Qg=="}]
    config = httpx.get(f"{base}/blobs/{manifest['config']['digest']}").json()
    assert config["rootfs"]["diff_ids"] == [sha256(b'{"a":1}'), sha256(b'{"b":2}')]
    # The same image by digest reads the same signatures.
    with open_store(f"{registry}/trust/append@{truth_digest()}") as store:
        assert store.read("sig") == [a, b]


@pytest.mark.registry
@needs_images
def test_registry_attestations_are_a_separate_tag(registry: str) -> None:
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{registry}/trust/att:1")
    att = sig_layer(b'{"payloadType":"x"}', "", media_type=DSSE_MEDIA_TYPE, predicateType="https://x/y")
    with open_store(f"{registry}/trust/att:1") as store:
        result = store.append("att", att)
        assert result.tag.endswith(".att")
        assert store.read("att") == [att]
        assert store.read("sig") == []


@pytest.mark.registry
@needs_images
def test_token_registry_push_asks_for_push_scope(token_registry: TokenRegistry) -> None:
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{token_registry.host}/trust/private:1", creds=token_registry.creds)
    options = SourceOptions(username=token_registry.username, password=token_registry.password)
    layer = sig_layer(b'{"private":true}')
    with open_store(f"{token_registry.host}/trust/private:1", options) as store:
        store.append("sig", layer)
        assert store.read("sig") == [layer]
    scopes = [s for req in token_registry.state.requests for s in req["scopes"]]
    assert "repository:trust/private:pull,push" in scopes


@pytest.mark.registry
@needs_images
def test_token_registry_without_credentials_is_an_auth_error(token_registry: TokenRegistry) -> None:
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{token_registry.host}/trust/denied:1",
                 creds=token_registry.creds)
    with pytest.raises(RegistryError) as info:
        open_store(f"{token_registry.host}/trust/denied:1", SourceOptions(docker_config="/dev/null"))
    assert "\n" not in str(info.value)


@pytest.mark.registry
@needs_images
def test_registry_signature_blob_that_lies_about_its_size_is_named(registry: str) -> None:
    """A ``.sig`` manifest whose layer descriptor does not match the stored blob: refused, naming the blob."""
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{registry}/trust/liar:1")
    payload = b'{"critical":{}}'
    with open_store(f"{registry}/trust/liar:1") as store:
        store.append("sig", sig_layer(payload))
        tag = signature_tag(store.target.digest, "sig")
    base = f"http://{registry}/v2/trust/liar"
    manifest = httpx.get(f"{base}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}).json()
    manifest["layers"][0]["size"] = len(payload) - 3
    r = httpx.put(f"{base}/manifests/{tag}", content=json.dumps(manifest).encode(),
                  headers={"Content-Type": OCI_MANIFEST})
    if r.status_code != 201:
        pytest.skip(f"this registry refuses a wrong layer size itself (HTTP {r.status_code})")
    with open_store(f"{registry}/trust/liar:1") as store, pytest.raises(DigestMismatch) as info:
        store.read("sig")
    assert sha256(payload) in str(info.value)


def test_unreachable_registry_is_one_line() -> None:
    port = free_port()
    with pytest.raises(RegistryError) as info:
        open_store(f"127.0.0.1:{port}/nothing/here:1", SourceOptions(retries=0, timeout=5))
    assert "unreachable" in str(info.value) and "\n" not in str(info.value)


# -- OCI layouts ------------------------------------------------------------------------------------------------


@needs_images
def test_layout_append_writes_cosign_entries_and_keeps_the_image_resolvable(tmp_path: Path) -> None:
    layout = extract_layout(DISTROLESS, tmp_path / "app")
    a, b = sig_layer(b'{"a":1}', "QQ=="), sig_layer(b'{"b":2}', "Qg==")
    att = sig_layer(b'{"payloadType":"x"}', "", media_type=DSSE_MEDIA_TYPE, predicateType="https://x/y")
    with open_store(f"oci:{layout}:1") as store:
        assert str(store.target.digest) == truth_digest()
        assert store.target.identity is None  # the layout names no registry image
        assert store.read("sig") == []
        assert store.append("sig", a).added
        assert store.append("sig", b).count == 2
        assert not store.append("sig", a).added
        store.append("att", att)
    entries = index_entries(layout)
    by_name = {e.get("annotations", {}).get(REF_NAME): e for e in entries}
    tag = f"sha256-{truth_digest()[7:]}"
    assert by_name[f"{tag}.sig"]["annotations"]["kind"] == "dev.cosignproject.cosign/sigs"
    assert by_name[f"{tag}.att"]["annotations"]["kind"] == "dev.cosignproject.cosign/atts"
    assert by_name["1"]["annotations"]["kind"] == "dev.cosignproject.cosign/image"
    assert by_name["1"]["digest"] == truth_digest()
    assert len(entries) == 3
    # Reopened without :REF: the attachments are not images, so the one image is picked.
    with open_store(f"oci:{layout}") as store:
        assert str(store.target.digest) == truth_digest()
        assert store.read("sig") == [a, b]
        assert store.read("att") == [att]
    assert not list(layout.rglob(".tidegate-*"))  # no temp files left


def test_layout_with_only_a_manifest_resolves_without_config_or_layers(tmp_path: Path) -> None:
    manifest = (Path(__file__).resolve().parents[3] / "shared/interop/cosign/valid/manifest.json")
    if not manifest.exists():
        pytest.skip("../shared/interop not present")
    data = manifest.read_bytes()
    layout = write_layout(tmp_path / "m", [(data, "application/vnd.docker.distribution.manifest.v2+json", {})])
    with open_store(f"oci:{layout}", docker_reference="192.168.64.2:5000/cosign-signed-single-sample") as store:
        assert str(store.target.digest) == sha256(data)
        assert store.target.repository == "192.168.64.2:5000/cosign-signed-single-sample"
        assert store.target.identity == "192.168.64.2:5000/cosign-signed-single-sample"
        store.append("sig", sig_layer(b"{}"))
        assert store.read("sig") == [sig_layer(b"{}")]


def test_layout_containerd_name_gives_the_identity(tmp_path: Path) -> None:
    image = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}'
    layout = write_layout(tmp_path / "n", [(image, OCI_MANIFEST, {
        REF_NAME: "1", "io.containerd.image.name": "registry.example/team/app:1"})])
    with open_store(f"oci:{layout}:1") as store:
        assert (store.target.repository, store.target.identity) == ("registry.example/team/app",
                                                                    "registry.example/team/app:1")


def test_layout_reads_a_cosign_save_layout(tmp_path: Path) -> None:
    """``cosign save`` marks entries with ``kind`` only; its sigs belong to the entry marked as the image."""
    image = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}'
    layout = tmp_path / "saved"
    layout.mkdir()
    sig = signature_manifest(layout, [(b'{"x":1}', SIMPLESIGNING_MEDIA_TYPE, {SIGNATURE_ANNOTATION: "eA=="})])
    write_layout(layout, [(image, OCI_MANIFEST, {"kind": "dev.cosignproject.cosign/image"}),
                          (sig, OCI_MANIFEST, {"kind": "dev.cosignproject.cosign/sigs"})])
    with open_store(f"oci:{layout}") as store:
        assert str(store.target.digest) == sha256(image)
        assert store.read("sig") == [sig_layer(b'{"x":1}', "eA==")]
        # Appending replaces cosign's unnamed entry by a named one holding both layers.
        store.append("sig", sig_layer(b'{"y":2}', "eQ=="))
        assert [x.payload for x in store.read("sig")] == [b'{"x":1}', b'{"y":2}']
    assert len(index_entries(layout)) == 2


def test_layout_signature_blob_that_does_not_match_its_digest_is_named(tmp_path: Path) -> None:
    image = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}'
    layout = write_layout(tmp_path / "t", [(image, OCI_MANIFEST, {REF_NAME: "1"})])
    with open_store(f"oci:{layout}:1") as store:
        store.append("sig", sig_layer(b'{"critical":{"image":{}}}'))
    blob = layout / "blobs/sha256" / hashlib.sha256(b'{"critical":{"image":{}}}').hexdigest()
    blob.write_bytes(b'{"critical":{"image":{"x"}}}'[:len(blob.read_bytes())])
    with open_store(f"oci:{layout}:1") as store, pytest.raises(DigestMismatch) as info:
        store.read("sig")
    assert sha256(b'{"critical":{"image":{}}}') in str(info.value)
    assert info.value.exit_code == 2


def test_layout_with_only_attachments_has_no_image(tmp_path: Path) -> None:
    layout = tmp_path / "o"
    layout.mkdir()
    sig = signature_manifest(layout, [(b"{}", SIMPLESIGNING_MEDIA_TYPE, {SIGNATURE_ANNOTATION: "eA=="})])
    write_layout(layout, [(sig, OCI_MANIFEST, {REF_NAME: "sha256-" + "a" * 64 + ".sig"})])
    with pytest.raises(InvalidReference, match="lists no image"):
        open_store(f"oci:{layout}")


def test_tampered_image_manifest_in_layout_is_refused(tmp_path: Path) -> None:
    image = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}'
    layout = write_layout(tmp_path / "x", [(image, OCI_MANIFEST, {REF_NAME: "1"})])
    (layout / "blobs/sha256" / hashlib.sha256(image).hexdigest()).write_bytes(image.replace(b"[]", b"[ ]"))
    with pytest.raises(DigestMismatch):
        open_store(f"oci:{layout}:1")


@pytest.mark.parametrize("reference", ["oci-archive:/nonexistent.tar", "docker-archive:/nonexistent.tar"])
def test_archives_cannot_hold_signatures(reference: str) -> None:
    with pytest.raises(UsageError, match="not in"):
        open_store(reference)


@pytest.mark.parametrize(("doc", "phrase"), [
    (b"not json", "not valid JSON"),
    (b"[]", "JSON object"),
    (b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}',
     "not an image manifest"),
    (b'{"schemaVersion":2,"layers":[{"mediaType":"x","digest":"sha256:00","size":1}]}', "malformed"),
    (b'{"schemaVersion":2,"layers":[{"mediaType":"x","digest":"sha256:' + b"0" * 64 + b'","size":-1}]}', "size"),
    (b'{"schemaVersion":2,"layers":[{"mediaType":"x","digest":"sha256:' + b"0" * 64
     + b'","size":1,"annotations":{"a":1}}]}', "annotations"),
    (json.dumps({"schemaVersion": 2, "layers": [{"mediaType": "x", "digest": "sha256:" + "0" * 64, "size": 1}]
                 * (MAX_SIGNATURE_LAYERS + 1)}).encode(), "more than"),
])
def test_hostile_signature_manifests_are_refused(doc: bytes, phrase: str) -> None:
    with pytest.raises(ManifestError, match=phrase):
        parse_signature_manifest(doc, "x")
