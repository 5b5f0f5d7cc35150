"""OCI / Docker v2 manifests, indexes and configs: wire models, validation and platform selection.

    resolved = resolve_image(source, platform=Platform.parse("linux/arm64"))
    resolved.manifest_digest, resolved.layers, resolved.config.diff_ids

Every byte is checked before use: (1) the root manifest/index against the descriptor that names it (or, for a
registry tag, its digest becomes the pin and must equal a digest the user gave); (2) the selected platform
manifest against the index entry; (3) the config against the manifest's config descriptor; (4) layers later,
while streaming, against their descriptors and the config's ``rootfs.diff_ids`` (see ``tidegate.image.blob``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tidegate.errors import ManifestError, PlatformNotFound, UnsupportedMediaType, UsageError
from tidegate.image.sources.base import Descriptor, ImageSource, RootManifest
from tidegate.model.digest import Digest, parse_digest, sha256_of

log = logging.getLogger(__name__)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v1+prettyjws")
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
CONFIG_TYPES = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")
LAYER_TYPES = (
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
)
"""Layer media types tidegate reads (compression is also sniffed from the bytes)."""
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""Manifests and indexes larger than this are refused (distribution-spec suggests 4 MiB)."""
MAX_CONFIG_BYTES = 64 * 1024 * 1024
"""Image configs larger than this are refused."""


class _Wire(BaseModel):
    """Base for foreign wire formats: unknown fields ignored (as the specs require), known ones strict."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True, strict=True)


class _Platform(_Wire):
    architecture: str
    os: str
    variant: str | None = None
    os_version: str | None = Field(default=None, alias="os.version")


class _Descriptor(_Wire):
    mediaType: str
    digest: str
    size: int = Field(ge=0)
    platform: _Platform | None = None
    annotations: dict[str, str] | None = None
    urls: list[str] | None = None


class _Index(_Wire):
    schemaVersion: int
    mediaType: str | None = None
    manifests: list[_Descriptor]


class _Manifest(_Wire):
    schemaVersion: int
    mediaType: str | None = None
    config: _Descriptor
    layers: list[_Descriptor]
    annotations: dict[str, str] | None = None


class _RootFS(_Wire):
    type: str
    diff_ids: list[str]


class _History(_Wire):
    created: str | None = None
    created_by: str | None = None
    comment: str | None = None
    empty_layer: bool = False


class _ContainerConfig(_Wire):
    User: str | None = None
    Labels: dict[str, str] | None = None
    Env: list[str] | None = None


class _Config(_Wire):
    architecture: str = ""
    os: str = ""
    variant: str | None = None
    rootfs: _RootFS
    history: list[_History] | None = None
    config: _ContainerConfig | None = None


@dataclass(frozen=True, slots=True)
class Platform:
    """``os/arch[/variant]`` as users type it for ``--platform``."""

    os: str
    """Operating system (``linux``)."""
    architecture: str
    """Architecture in GOARCH spelling (``amd64``, ``arm64``)."""
    variant: str | None = None
    """Variant (``v8``, ``v7``) or None for any."""

    _ARCH_ALIASES: ClassVar[dict[str, str]] = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "i386": "386"}

    @classmethod
    def parse(cls, value: str) -> Platform:
        """Parse ``os/arch[/variant]``; raise `UsageError` on anything else."""
        parts = value.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise UsageError(f"--platform {value!r}: expected OS/ARCH[/VARIANT], e.g. linux/arm64")
        arch = cls._ARCH_ALIASES.get(parts[1].lower(), parts[1].lower())
        return cls(parts[0].lower(), arch, parts[2].lower() if len(parts) == 3 else None)

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def matches(self, os: str, architecture: str, variant: str | None) -> bool:
        """True when an image of (os, architecture, variant) satisfies this request."""
        if os != self.os or self._ARCH_ALIASES.get(architecture, architecture) != self.architecture:
            return False
        if self.variant is None:
            return True
        have = variant or ("v8" if architecture == "arm64" else None)
        return have == self.variant


DEFAULT_PLATFORM = Platform("linux", "amd64")
"""The platform picked from an index when the user names none."""


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The parts of an image config tidegate uses, from verified bytes."""

    digest: Digest
    """Config digest (the image ID)."""
    os: str
    """``os``."""
    architecture: str
    """``architecture``."""
    variant: str | None
    """``variant``."""
    diff_ids: tuple[Digest, ...]
    """``rootfs.diff_ids``: the uncompressed digest of each layer."""
    created_by: tuple[str | None, ...]
    """History ``created_by`` of each non-empty layer, aligned with diff_ids (None where unknown)."""
    user: str
    """``config.User``."""
    labels: tuple[tuple[str, str], ...]
    """``config.Labels``, sorted."""
    raw: dict[str, Any]
    """The whole config document (for checks that need more later)."""


@dataclass(frozen=True, slots=True)
class ResolvedImage:
    """A platform manifest pinned by digest, with its verified config and layer descriptors."""

    manifest_digest: Digest | None
    """Digest of the platform manifest (None for synthesized docker-archive manifests)."""
    index_digest: Digest | None
    """Digest of the index it was selected from."""
    manifest_media_type: str
    """Manifest media type."""
    layers: tuple[Descriptor, ...]
    """Layer descriptors, bottom first."""
    config: ImageConfig
    """The verified config."""
    root: RootManifest
    """What the source served at the top (tag, repo tags, name)."""


def _load_json(data: bytes, where: str) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ManifestError(f"{where}: not valid JSON ({e.__class__.__name__}: {str(e)[:80]})") from e
    if not isinstance(doc, dict):
        raise ManifestError(f"{where}: expected a JSON object, got {type(doc).__name__}")
    return doc


def _descriptor(d: _Descriptor, where: str) -> Descriptor:
    return Descriptor(
        media_type=d.mediaType, digest=parse_digest(d.digest, where=f"{where} digest"), size=d.size,
        platform=d.platform.model_dump(by_alias=True, exclude_none=True) if d.platform else None,
        annotations=dict(d.annotations or {}), urls=tuple(d.urls or ()),
    )


def _validate(model: type[BaseModel], doc: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(doc)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ManifestError(f"{where}: invalid {model.__name__.strip('_').lower()}: {loc}: {err['msg']}") from e


def check_bytes(data: bytes, expected: Descriptor, what: str) -> None:
    """Raise `DigestMismatch`/`SizeMismatch` unless `data` is exactly what `expected` names."""
    from tidegate.errors import DigestMismatch, SizeMismatch

    if len(data) != expected.size:
        raise SizeMismatch(f"{what} ({expected.digest.short}): {len(data):,} bytes, descriptor says "
                           f"{expected.size:,}")
    h = expected.digest.hasher()
    h.update(data)
    if h.hexdigest() != expected.digest.hex:
        raise DigestMismatch(f"{what}: content hashes to {expected.digest.algorithm}:{h.hexdigest()[:12]}…, "
                             f"descriptor says {expected.digest}")


def _kind(doc: dict[str, Any], declared: str | None, where: str) -> str:
    mt = doc.get("mediaType") or declared or ""
    if doc.get("schemaVersion") == 1 or mt in DOCKER_SCHEMA1:
        raise UnsupportedMediaType(f"{where}: Docker schema 1 manifests are not supported (deprecated since 2017)",
                                   hint="re-push the image with a current client to convert it to schema 2")
    if mt in INDEX_TYPES or (not mt and "manifests" in doc):
        return "index"
    if mt in MANIFEST_TYPES or (not mt and "layers" in doc):
        return "manifest"
    raise UnsupportedMediaType(f"{where}: unsupported manifest media type {mt or '(none)'!r}")


def _select(index: _Index, platform: Platform, where: str) -> _Descriptor:
    candidates = []
    seen = []
    for d in index.manifests:
        p = d.platform
        if p is None or p.os == "unknown":
            continue  # e.g. BuildKit attestation manifests
        seen.append(str(Platform(p.os, p.architecture, p.variant)))
        if platform.matches(p.os, p.architecture, p.variant):
            candidates.append(d)
    if not candidates:
        raise PlatformNotFound(f"{where}: no manifest for platform {platform} (index has: "
                               f"{', '.join(seen) or 'no platform entries'})",
                               hint="choose one with --platform OS/ARCH[/VARIANT]")
    # Prefer an exact variant match (arm64 with v8 or without a variant), then index order.
    return candidates[0]


def parse_config(data: bytes, digest: Digest, n_layers: int, where: str) -> ImageConfig:
    """Validate a config document and align its history with the layers."""
    cfg = _validate(_Config, _load_json(data, where), where)
    if cfg.rootfs.type != "layers":
        raise ManifestError(f"{where}: rootfs.type is {cfg.rootfs.type!r}, expected 'layers'")
    diff_ids = tuple(parse_digest(d, where=f"{where} rootfs.diff_ids[{i}]") for i, d in enumerate(cfg.rootfs.diff_ids))
    if len(diff_ids) != n_layers:
        raise ManifestError(f"{where}: config lists {len(diff_ids)} diff_ids but the manifest has {n_layers} layers")
    steps = [h.created_by for h in (cfg.history or []) if not h.empty_layer]
    created_by: tuple[str | None, ...] = tuple(steps) if len(steps) == n_layers else (None,) * n_layers
    cc = cfg.config or _ContainerConfig()
    return ImageConfig(
        digest=digest, os=cfg.os, architecture=cfg.architecture, variant=cfg.variant, diff_ids=diff_ids,
        created_by=created_by, user=cc.User or "", labels=tuple(sorted((cc.Labels or {}).items())),
        raw=_load_json(data, where),
    )


def resolve_image(source: ImageSource, platform: Platform | None, *, pinned: Digest | None = None) -> ResolvedImage:
    """Follow the root to one platform manifest and its config, verifying each by digest and size.

    `platform` None means "the default (linux/amd64) from an index, anything from a single manifest";
    `pinned` is a digest the user gave (``@sha256:…``) that the root must hash to.
    """
    where = source.describe()
    root = source.fetch_root()
    if len(root.data) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{where}: manifest is {len(root.data):,} bytes, over the {MAX_MANIFEST_BYTES:,} limit")
    # (1) The root: verified against the descriptor that names it, else pinned by its own digest.
    if root.expected is not None:
        check_bytes(root.data, root.expected, f"{where}: manifest")
    root_digest = root.expected.digest if root.expected is not None else sha256_of(root.data)
    if pinned is not None and pinned.algorithm == "sha256" and str(root_digest) != str(pinned):
        from tidegate.errors import DigestMismatch

        raise DigestMismatch(f"{where}: manifest hashes to {root_digest}, reference pins {pinned}")
    doc = _load_json(root.data, f"{where}: manifest")
    declared = root.expected.media_type if root.expected else root.media_type
    index_digest: Digest | None = None
    manifest_digest: Digest | None = root_digest
    depth = 0
    while _kind(doc, declared, f"{where}: manifest {manifest_digest}") == "index":
        depth += 1
        if depth > 4:
            raise ManifestError(f"{where}: image indexes nested more than 4 deep")
        index = _validate(_Index, doc, f"{where}: index {manifest_digest}")
        index_digest = manifest_digest if index_digest is None else index_digest
        chosen = _select(index, platform or DEFAULT_PLATFORM, f"{where}: index {manifest_digest}")
        desc = _descriptor(chosen, f"{where}: index entry")
        if desc.size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{where}: manifest {desc.digest.short} declares {desc.size:,} bytes, over the limit")
        data = source.fetch_manifest(desc)
        # (2) The platform manifest, against the index entry.
        check_bytes(data, desc, f"{where}: manifest")
        doc, declared, manifest_digest = _load_json(data, f"{where}: manifest {desc.digest.short}"), desc.media_type, desc.digest
    mwhere = f"{where}: manifest {manifest_digest.short if manifest_digest else ''}".rstrip()
    manifest = _validate(_Manifest, doc, mwhere)
    if manifest.schemaVersion != 2:
        raise UnsupportedMediaType(f"{mwhere}: schemaVersion {manifest.schemaVersion} is not supported")
    config_desc = _descriptor(manifest.config, f"{mwhere} config")
    if config_desc.media_type not in CONFIG_TYPES:
        raise UnsupportedMediaType(f"{mwhere}: config media type {config_desc.media_type!r} is not a container "
                                   "image (is this a signature or artifact?)")
    layers = tuple(_descriptor(d, f"{mwhere} layers[{i}]") for i, d in enumerate(manifest.layers))
    for i, layer in enumerate(layers):
        if layer.media_type not in LAYER_TYPES:
            raise UnsupportedMediaType(f"{mwhere}: layer {i} has unsupported media type {layer.media_type!r}")
    if config_desc.size > MAX_CONFIG_BYTES:
        raise ManifestError(f"{mwhere}: config declares {config_desc.size:,} bytes, over the limit")
    # (3) The config, against the manifest's config descriptor.
    with source.open_blob(config_desc) as f:
        cdata = f.read(config_desc.size + 1)
    check_bytes(cdata, config_desc, f"{where}: config")
    config = parse_config(cdata, config_desc.digest, len(layers), f"{where}: config {config_desc.digest.short}")
    if platform is not None and index_digest is None and config.os and not \
            platform.matches(config.os, config.architecture, config.variant):
        raise PlatformNotFound(f"{where}: image is {config.os}/{config.architecture}, not {platform}")
    return ResolvedImage(
        manifest_digest=None if root.synthetic else manifest_digest,
        index_digest=index_digest, manifest_media_type=manifest.mediaType or declared or OCI_MANIFEST,
        layers=layers, config=config, root=root,
    )
