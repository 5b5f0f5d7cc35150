"""Wire models the JSON formats share: the image, its distro, a location, a suppression, the tool.

tidegate's SBOM JSON (docs/json-format.md), scan JSON (docs/scan-json-format.md) and lint/check findings all
describe these the same way, so they are defined once here (frozen pydantic, unknown keys rejected, camelCase)::

    ImageWire.of(sbom.image).model_dump(by_alias=True)["manifestDigest"]
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from tidegate.model.distro import Distro
from tidegate.model.finding import Suppression
from tidegate.model.location import Location
from tidegate.model.sbom import ImageInfo, LayerInfo
from tidegate.report.base import camel


class Wire(BaseModel):
    """Base of every tidegate wire model: frozen, unknown keys rejected, camelCase on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=camel, populate_by_name=True)


class ToolWire(Wire):
    """``tool``: the producer."""

    name: str
    version: str


class PlatformWire(Wire):
    """``image.platform``."""

    os: str
    architecture: str
    variant: str | None


class LayerWire(Wire):
    """``image.layers[]``."""

    index: int
    digest: str | None
    diff_id: str
    media_type: str
    size: int
    created_by: str | None

    @classmethod
    def of(cls, layer: LayerInfo) -> LayerWire:
        """The wire form of `layer`."""
        return cls(index=layer.index, digest=layer.layer_digest, diff_id=layer.diff_id,
                   media_type=layer.media_type, size=layer.size, created_by=layer.created_by)


class ImageWire(Wire):
    """``image``: identity (the pin), platform, layers, tags, user and labels (labels already redacted)."""

    reference: str
    transport: str
    name: str | None
    tag: str | None
    manifest_digest: str | None
    index_digest: str | None
    config_digest: str
    media_type: str
    platform: PlatformWire
    layers: list[LayerWire]
    repo_tags: list[str]
    user: str
    labels: dict[str, str]

    @classmethod
    def of(cls, img: ImageInfo) -> ImageWire:
        """The wire form of `img`."""
        return cls(reference=img.reference, transport=img.transport, name=img.name, tag=img.tag,
                   manifest_digest=img.manifest_digest, index_digest=img.index_digest,
                   config_digest=img.config_digest, media_type=img.manifest_media_type,
                   platform=PlatformWire(os=img.os, architecture=img.architecture, variant=img.variant),
                   layers=[LayerWire.of(la) for la in img.layers], repo_tags=list(img.repo_tags), user=img.user,
                   labels=dict(sorted(img.labels)))


class DistroWire(Wire):
    """``distro``: the os-release facts."""

    id: str
    version_id: str
    codename: str
    pretty_name: str
    id_like: list[str]
    path: str

    @classmethod
    def of(cls, d: Distro | None) -> DistroWire | None:
        """The wire form of `d` (None without a distro)."""
        if d is None:
            return None
        return cls(id=d.id, version_id=d.version_id, codename=d.codename, pretty_name=d.pretty_name,
                   id_like=list(d.id_like), path=d.path)


class LocationWire(Wire):
    """A file inside the image: path, layer, step, and whether the squashed view still shows it."""

    path: str
    layer_index: int
    diff_id: str
    created_by: str | None
    visible: bool

    @classmethod
    def of(cls, loc: Location) -> LocationWire:
        """The wire form of `loc`."""
        return cls(path=loc.path, layer_index=loc.layer_index, diff_id=loc.diff_id, created_by=loc.created_by,
                   visible=loc.visible)


class SuppressionWire(Wire):
    """Why a finding does not count."""

    kind: str
    reason: str
    source: str
    expires: str

    @classmethod
    def of(cls, s: Suppression | None) -> SuppressionWire | None:
        """The wire form of `s` (None when not suppressed)."""
        if s is None:
            return None
        return cls(kind=s.kind, reason=s.reason, source=s.source, expires=s.expires)
