"""The result of cataloging one image: what it is, where its layers came from, and what is installed.

    sbom = build_sbom("oci-archive:app.oci.tar")
    sbom.image.manifest_digest, sbom.distro.pretty_name, len(sbom.packages)
"""

from __future__ import annotations

from dataclasses import dataclass

from tidegate.model.distro import Distro
from tidegate.model.finding import Unknown
from tidegate.model.package import Package


@dataclass(frozen=True, slots=True)
class LayerInfo:
    """One layer of the image, as the verified manifest and config describe it."""

    index: int
    """0-based position (bottom layer is 0)."""
    diff_id: str
    """Digest of the uncompressed tar (from the config's ``rootfs.diff_ids``), verified while reading."""
    layer_digest: str | None
    """Digest of the blob as stored (compressed); None where the source stores layers uncompressed by diff_id."""
    media_type: str
    """Layer media type as declared (or inferred for docker archives)."""
    size: int
    """Stored size in bytes."""
    created_by: str | None = None
    """The history step that created the layer."""


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """Identity of the scanned image: the pin and what it resolved from."""

    reference: str
    """What the user asked for (``oci-archive:x.tar:1``, ``registry/repo:tag``)."""
    transport: str
    """``registry``, ``oci``, ``oci-archive``, ``docker-archive``."""
    name: str | None
    """Repository name when known (``docker.io/library/python``)."""
    tag: str | None
    """Tag when known."""
    manifest_digest: str | None
    """Digest of the platform manifest: the pin. None for a docker archive, which has no registry manifest."""
    index_digest: str | None
    """Digest of the image index the manifest was selected from, when there was one."""
    config_digest: str
    """Digest of the image config (the image ID)."""
    manifest_media_type: str
    """Media type of the manifest."""
    os: str
    """Platform OS from the config."""
    architecture: str
    """Platform architecture from the config."""
    variant: str | None
    """Platform variant (``v8``) when set."""
    layers: tuple[LayerInfo, ...]
    """The layers, bottom first."""
    repo_tags: tuple[str, ...] = ()
    """Tags recorded in a docker archive, or the tag resolved from a registry."""
    user: str = ""
    """``config.User``."""
    labels: tuple[tuple[str, str], ...] = ()
    """``config.Labels`` as sorted pairs."""

    @property
    def digest(self) -> str:
        """The identity to show: the manifest digest, else the config digest (image ID)."""
        return self.manifest_digest or self.config_digest

    @property
    def platform(self) -> str:
        """``os/arch[/variant]``."""
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


@dataclass(frozen=True, slots=True)
class Sbom:
    """Everything cataloged from one image."""

    image: ImageInfo
    """The image and its layers."""
    distro: Distro | None
    """The OS release (None for images without os-release, e.g. scratch)."""
    packages: tuple[Package, ...]
    """Installed packages in the squashed view, sorted by (type, name, version, path)."""
    unknowns: tuple[Unknown, ...] = ()
    """What could not be cataloged, with locations."""
    tool_version: str = ""
    """tidegate version that produced it."""
    created: str = ""
    """RFC 3339 UTC timestamp of the scan."""
