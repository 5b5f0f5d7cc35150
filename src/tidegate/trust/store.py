"""Where signatures live: cosign's tag-based storage (``sha256-<hex>.sig`` / ``.att``), in a registry or an OCI layout.

    with open_store("127.0.0.1:5000/app:1", SourceOptions()) as store:
        store.target.digest                  # the tag resolved ONCE to the digest of the manifest served for it
        layers = store.read("sig")           # [SignatureLayer], every blob checked against its descriptor
        store.append("sig", new_layer)       # read-modify-write; existing signatures are always kept

The storage format is cosign's (``pkg/oci/remote``, ``pkg/oci/layout``): an OCI image manifest at tag
``<alg>-<hex>.<suffix>`` in the image's repository, one uncompressed layer per signature (the simple-signing
payload or the DSSE envelope), the signature and other metadata as *layer* annotations, and a minimal image
config (``application/vnd.oci.image.config.v1+json``) whose ``rootfs.diff_ids`` list the layers. In an OCI layout
directory the manifest is an ``index.json`` entry named ``org.opencontainers.image.ref.name = sha256-<hex>.sig``,
also carrying cosign's ``kind`` annotation (``dev.cosignproject.cosign/sigs``) so ``cosign verify --local-image``
finds it.

Zero trust: (1) the reference is resolved once and only the digest is used afterwards; (2) a signature manifest
is fetched by digest (registry: ``HEAD`` tag → ``GET`` by digest; layout: the index entry's digest and size);
(3) every layer blob is read bounded and checked against its descriptor's digest and size before it becomes a
`SignatureLayer`; (4) `append` never drops a layer that was there.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Self

from tidegate.errors import ManifestError, UnsupportedMediaType, UsageError
from tidegate.image.manifest import (
    DOCKER_SCHEMA1,
    INDEX_TYPES,
    MANIFEST_TYPES,
    MAX_MANIFEST_BYTES,
    OCI_MANIFEST,
)
from tidegate.image.reference import ImageRef, parse_image_ref
from tidegate.image.sources.base import Descriptor, SourceOptions
from tidegate.model.digest import Digest, parse_digest
from tidegate.trust.model import SignatureLayer

Suffix = Literal["sig", "att"]
"""Which attachment: ``sig`` (simple-signing signatures) or ``att`` (DSSE attestations)."""
SUFFIXES: tuple[Suffix, ...] = ("sig", "att")
"""Every suffix the store reads and writes."""
CONFIG_MEDIA_TYPE = "application/vnd.oci.image.config.v1+json"
"""Media type of the config of a signature manifest (as cosign writes it)."""
MAX_SIGNATURE_LAYERS = 1024
"""Signature manifests with more layers than this are refused (a hostile registry could list millions)."""
MAX_SIGNATURE_LAYER_BYTES = 64 * 1024 * 1024
"""Largest signature or attestation layer read (an SBOM attestation of a big image is a few MiB)."""
KIND_ANNOTATION = "kind"
"""cosign's layout annotation naming what an ``index.json`` entry is."""
KINDS = {"image": "dev.cosignproject.cosign/image", "index": "dev.cosignproject.cosign/imageIndex",
         "sig": "dev.cosignproject.cosign/sigs", "att": "dev.cosignproject.cosign/atts"}
"""Values of cosign's ``kind`` annotation (``pkg/oci/layout/index.go``)."""
_ATTACHMENT_TAG = re.compile(r"^sha(256|512)-[0-9a-f]{64,128}\.(sig|att|sbom)$")


def signature_tag(digest: Digest, suffix: Suffix) -> str:
    """cosign's tag for `digest`'s attachments: ``sha256-<hex>.sig``."""
    if suffix not in SUFFIXES:
        raise UsageError(f"unknown signature kind {suffix!r} (expected one of {', '.join(SUFFIXES)})")
    return f"{digest.algorithm}-{digest.hex}.{suffix}"


def is_attachment_tag(name: str) -> bool:
    """True for tags cosign uses for attachments (``sha256-<hex>.sig|.att|.sbom``), which are never images."""
    return bool(_ATTACHMENT_TAG.match(name))


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """The image whose signatures are read or written: its reference resolved once to a digest."""

    reference: ImageRef
    """What the user named."""
    digest: Digest
    """Digest of the manifest (or index) the reference names; signatures are bound to this."""
    media_type: str | None
    """Media type of that manifest as the source declared it."""
    resolved_tag: str | None
    """The tag (or layout ref name) that was resolved to `digest`, when the reference was not a digest."""
    repository: str | None
    """``registry/repository`` for identity checks (None for a layout that names no registry image)."""
    identity: str | None
    """The full docker reference verified against a payload (``registry/repo:tag`` or ``registry/repo@digest``)."""


@dataclass(frozen=True, slots=True)
class StoredLayer:
    """One layer descriptor of a signature manifest (bytes not read yet)."""

    media_type: str
    """Layer media type."""
    digest: Digest
    """Layer digest."""
    size: int
    """Layer size in bytes."""
    annotations: tuple[tuple[str, str], ...]
    """Layer annotations, sorted."""

    def descriptor(self) -> Descriptor:
        """As a content descriptor (for reading and checking the blob)."""
        return Descriptor(media_type=self.media_type, digest=self.digest, size=self.size,
                          annotations=dict(self.annotations))

    def to_json(self) -> dict[str, Any]:
        """The descriptor as it appears in the manifest."""
        out: dict[str, Any] = {"mediaType": self.media_type, "size": self.size, "digest": str(self.digest)}
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What `SignatureStore.append` did."""

    tag: str
    """The attachment tag written (``sha256-<hex>.sig``)."""
    manifest_digest: Digest
    """Digest of the signature manifest now at `tag`."""
    added: bool
    """False when an identical layer was already stored (nothing was written)."""
    count: int
    """Layers in the signature manifest now."""
    location: str
    """Where it was stored, for messages (``127.0.0.1:5000/app:sha256-….sig``, ``oci:DIR (index.json)``)."""


def layer_of(signature: SignatureLayer) -> tuple[StoredLayer, bytes]:
    """The descriptor of a new layer holding `signature`'s payload, and the bytes."""
    from tidegate.model.digest import sha256_of

    return StoredLayer(signature.media_type, sha256_of(signature.payload), len(signature.payload),
                       tuple(sorted(signature.annotations))), signature.payload


def parse_signature_manifest(data: bytes, where: str) -> list[StoredLayer]:
    """The layers of a signature manifest, validated (JSON object, OCI/Docker image manifest, descriptors)."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{where}: {len(data):,} bytes, over the {MAX_MANIFEST_BYTES:,}-byte limit")
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(f"{where}: not valid JSON ({e.__class__.__name__})") from e
    if not isinstance(doc, dict):
        raise ManifestError(f"{where}: expected a JSON object")
    media_type = doc.get("mediaType")
    if media_type is not None and media_type not in MANIFEST_TYPES:
        raise UnsupportedMediaType(f"{where}: media type {media_type!r} is not an image manifest")
    layers = doc.get("layers")
    if doc.get("schemaVersion") != 2 or not isinstance(layers, list):
        raise ManifestError(f"{where}: not a schema 2 image manifest with a layers list")
    if len(layers) > MAX_SIGNATURE_LAYERS:
        raise ManifestError(f"{where}: {len(layers)} layers, more than the {MAX_SIGNATURE_LAYERS} allowed")
    out = []
    for i, layer in enumerate(layers):
        lwhere = f"{where} layers[{i}]"
        if not isinstance(layer, dict) or not isinstance(layer.get("mediaType"), str):
            raise ManifestError(f"{lwhere}: not a descriptor")
        size = layer.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ManifestError(f"{lwhere}: size is not a non-negative integer")
        annotations = layer.get("annotations") or {}
        if not isinstance(annotations, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in annotations.items()):
            raise ManifestError(f"{lwhere}: annotations must map strings to strings")
        out.append(StoredLayer(layer["mediaType"], parse_digest(layer.get("digest"), where=f"{lwhere} digest"),
                               size, tuple(sorted(annotations.items()))))
    return out


def build_signature_manifest(layers: Sequence[StoredLayer]) -> tuple[bytes, bytes]:
    """(manifest, config) bytes of a cosign signature manifest over `layers` (uncompressed: diff_id = digest)."""
    from tidegate.model.digest import sha256_of

    zero = "0001-01-01T00:00:00Z"  # what cosign (go-containerregistry's empty image) writes
    config = {"architecture": "", "created": zero, "history": [{"created": zero} for _ in layers], "os": "",
              "rootfs": {"type": "layers", "diff_ids": [str(x.digest) for x in layers]}, "config": {}}
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": CONFIG_MEDIA_TYPE, "size": len(config_bytes),
                           "digest": str(sha256_of(config_bytes))},
                "layers": [x.to_json() for x in layers]}
    return json.dumps(manifest, separators=(",", ":")).encode(), config_bytes


def check_target_manifest(data: bytes, declared: str | None, where: str) -> str:
    """Check that what a reference names is an image manifest or index; return its media type."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(f"{where}: manifest is not valid JSON ({e.__class__.__name__})") from e
    if not isinstance(doc, dict):
        raise ManifestError(f"{where}: manifest is not a JSON object")
    mt = doc.get("mediaType") or declared or ""
    if doc.get("schemaVersion") == 1 or mt in DOCKER_SCHEMA1:
        raise UnsupportedMediaType(f"{where}: Docker schema 1 manifests cannot be signed or verified")
    if mt in (*INDEX_TYPES, *MANIFEST_TYPES):
        return str(mt)
    if not mt and ("layers" in doc or "manifests" in doc):
        return INDEX_TYPES[0] if "manifests" in doc else OCI_MANIFEST
    raise UnsupportedMediaType(f"{where}: {mt or 'untyped document'!r} is not an image manifest or index")


def merged_layers(existing: Sequence[StoredLayer], new: StoredLayer) -> list[StoredLayer] | None:
    """`existing` plus `new` at the end, or None when an identical layer (digest, type, annotations) is there."""
    for layer in existing:
        if (layer.digest, layer.media_type, layer.annotations) == (new.digest, new.media_type, new.annotations):
            return None
    return [*existing, new]


class SignatureStore(ABC):
    """Signatures and attestations of one resolved image. Use as a context manager."""

    target: ResolvedTarget
    """The image, resolved once when the store was opened."""

    @abstractmethod
    def describe(self) -> str:
        """Human name of where attachments are stored."""

    @abstractmethod
    def read(self, suffix: Suffix) -> list[SignatureLayer]:
        """Every layer of the ``.sig``/``.att`` manifest, digest-verified; [] when there is none."""

    @abstractmethod
    def append(self, suffix: Suffix, layer: SignatureLayer) -> AppendResult:
        """Add `layer` to the ``.sig``/``.att`` manifest (created if absent), keeping every existing layer."""

    def close(self) -> None:
        """Release connections and files."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(reference: str | ImageRef, options: SourceOptions | None = None, *,
               docker_reference: str | None = None) -> SignatureStore:
    """The store for `reference` (registry or ``oci:DIR[:REF]``), with the reference already resolved.

    `docker_reference` overrides the name used for identity checks (needed for layouts that name no registry).
    """
    ref = reference if isinstance(reference, ImageRef) else parse_image_ref(reference)
    options = options or SourceOptions()
    if ref.transport == "registry":
        from tidegate.trust.store_registry import RegistrySignatureStore

        return RegistrySignatureStore(ref, options, docker_reference=docker_reference)
    if ref.transport == "oci":
        from tidegate.trust.store_layout import LayoutSignatureStore

        return LayoutSignatureStore(ref, docker_reference=docker_reference)
    raise UsageError(f"{ref.raw}: signatures are stored in registries and OCI layout directories, not in "
                     f"{ref.transport} files", hint="copy the image to a registry, or to oci:DIR with skopeo")


def identity_of(docker_reference: str) -> tuple[str, str]:
    """(repository, full reference) of a docker reference: the tag only when one was written (no ``latest``)."""
    from tidegate.image.reference import parse_docker_reference

    text = docker_reference.removeprefix("docker://")
    parsed = parse_docker_reference(text)
    assert parsed.name is not None
    full = parsed.name
    if parsed.tag and ":" in text.split("@", 1)[0].rsplit("/", 1)[-1]:
        full += f":{parsed.tag}"
    if parsed.digest is not None:
        full += f"@{parsed.digest}"
    return parsed.name, full


__all__ = [
    "CONFIG_MEDIA_TYPE",
    "SUFFIXES",
    "AppendResult",
    "ResolvedTarget",
    "SignatureStore",
    "StoredLayer",
    "Suffix",
    "build_signature_manifest",
    "check_target_manifest",
    "identity_of",
    "is_attachment_tag",
    "open_store",
    "parse_signature_manifest",
    "signature_tag",
]
