"""The `ImageSource` interface every transport implements.

A source only *serves bytes*; it never decides whether to trust them. ``tidegate.image.resolve`` checks every
manifest, config and layer against its descriptor's digest and size.

    class OciLayoutSource(ImageSource):
        def fetch_root(self) -> RootManifest: ...
        def fetch_manifest(self, desc: Descriptor) -> bytes: ...
        def open_blob(self, desc: Descriptor) -> IO[bytes]: ...
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import IO, Self

from tidegate.model.digest import Digest


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """Options that affect how sources reach images (registries mostly)."""

    insecure_registries: tuple[str, ...] = ()
    """Registries (host[:port]) to reach over plain HTTP (loopback registries always may be)."""
    docker_config: str | None = None
    """Path of a docker ``config.json`` for credentials (default ``$DOCKER_CONFIG/config.json`` or ~/.docker)."""
    username: str | None = None
    """Explicit registry username (overrides config.json)."""
    password: str | None = None
    """Explicit registry password or token."""
    timeout: float = 60.0
    """Network timeout in seconds per request."""
    retries: int = 4
    """Retries with back-off for 429 and 5xx answers and connection errors."""
    ca_file: str | None = None
    """CA bundle for TLS registries with a private CA."""


@dataclass(frozen=True, slots=True)
class Descriptor:
    """An OCI content descriptor (image-spec descriptor.md), validated."""

    media_type: str
    """``mediaType``."""
    digest: Digest
    """``digest`` (verified against the bytes whenever they are read)."""
    size: int
    """``size`` in bytes (verified too)."""
    platform: dict[str, object] | None = None
    """``platform`` for entries of an image index."""
    annotations: dict[str, str] = field(default_factory=dict)
    """``annotations``."""
    urls: tuple[str, ...] = ()
    """``urls`` (foreign layers)."""
    verify: bool = True
    """False only where the layout has no compressed digest to check (e.g. classic docker-archive layers,
    which are verified against the config's diff_id instead)."""


@dataclass(frozen=True, slots=True)
class RootManifest:
    """What a reference points at before platform selection: a manifest or an index, as raw bytes."""

    data: bytes
    """The raw manifest/index bytes (digest computed over exactly these)."""
    media_type: str | None
    """Media type declared by the source (registry Content-Type or the layout's descriptor)."""
    expected: Descriptor | None
    """Descriptor that names these bytes (oci layouts), checked by the resolver; None for registry tags."""
    tag: str | None = None
    """The tag that was resolved, when one was."""
    name: str | None = None
    """Repository name when the source knows it."""
    repo_tags: tuple[str, ...] = ()
    """Tags recorded in an archive (docker-archive ``RepoTags``)."""
    synthetic: bool = False
    """True when the source built this manifest itself (classic docker-archive): it has no registry digest."""


class ImageSource(ABC):
    """A place images come from. Use as a context manager; `close` releases files and connections."""

    transport: str = ""
    """Transport name (``oci-archive``)."""

    @abstractmethod
    def describe(self) -> str:
        """Human name for messages (``oci-archive:/path/x.tar``)."""

    @abstractmethod
    def fetch_root(self) -> RootManifest:
        """The manifest or index the reference names."""

    @abstractmethod
    def fetch_manifest(self, desc: Descriptor) -> bytes:
        """Raw bytes of a manifest/index named by digest (bounded in size by the implementation)."""

    @abstractmethod
    def open_blob(self, desc: Descriptor) -> IO[bytes]:
        """A raw, unverified stream of the blob's stored bytes; raise `BlobNotFound` when absent."""

    def close(self) -> None:
        """Release resources."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
