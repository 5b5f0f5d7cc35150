"""The registry transport: an `ImageSource` over the OCI distribution API.

    with RegistrySource(parse_image_ref("127.0.0.1:5000/app:1"), SourceOptions()) as src:
        root = src.fetch_root()   # RootManifest(data, media_type=Content-Type, expected=None, tag="1", …)

The root is fetched by digest when the reference pins one, else by tag; the resolver turns its digest into the
pin. Children (platform manifests) are fetched by digest; blobs are streamed, never buffered whole.
"""

from __future__ import annotations

import logging
from typing import IO, cast

from tidegate.errors import InvalidReference
from tidegate.image.reference import ImageRef
from tidegate.image.registry import RegistryClient
from tidegate.image.sources.base import Descriptor, ImageSource, RootManifest, SourceOptions

log = logging.getLogger(__name__)


class RegistrySource(ImageSource):
    """Images in a registry (``docker://`` or a bare ``[REGISTRY/]REPO[:TAG][@DIGEST]``)."""

    transport = "registry"

    def __init__(self, ref: ImageRef, options: SourceOptions) -> None:
        """Prepare a client for `ref`'s registry and repository; nothing is fetched yet."""
        if not ref.registry or not ref.repository:
            raise InvalidReference(f"{ref.raw!r}: not a registry reference")
        self.ref = ref
        """The reference this source serves."""
        self.client = RegistryClient(ref.registry, ref.repository, options)
        """The distribution API client (one repository of one registry)."""

    def describe(self) -> str:
        """``docker://registry/repo:tag[@digest]``."""
        text = f"docker://{self.ref.name}"
        if self.ref.tag:
            text += f":{self.ref.tag}"
        if self.ref.digest:
            text += f"@{self.ref.digest}"
        return text

    def fetch_root(self) -> RootManifest:
        """The manifest or index the reference names (by digest when pinned, else by tag)."""
        reference = self.ref.digest if self.ref.digest is not None else (self.ref.tag or "latest")
        fetched = self.client.fetch_manifest(reference)
        log.debug("%s: root %s (%d bytes)", self.describe(), fetched.media_type, len(fetched.data))
        return RootManifest(fetched.data, fetched.media_type, None, tag=self.ref.tag, name=self.ref.name)

    def fetch_manifest(self, desc: Descriptor) -> bytes:
        """A child manifest by digest (size-bounded; `BlobNotFound` when the registry lacks it)."""
        return self.client.fetch_manifest(desc.digest).data

    def open_blob(self, desc: Descriptor) -> IO[bytes]:
        """A streaming, unverified view of the blob's stored bytes; `BlobNotFound` when absent."""
        return cast(IO[bytes], self.client.open_blob(desc.digest))

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()
