"""OCI image layouts (image-spec image-layout.md): a directory (``oci:``) or a tar of one (``oci-archive:``).

    src = OciLayoutSource.from_archive(parse_image_ref("oci-archive:app.oci.tar:1"))

The root is picked from ``index.json`` by ``org.opencontainers.image.ref.name`` (the ``:REF`` part) or by
digest; a layout holding exactly one entry needs neither.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from typing import IO

from tidegate.errors import ArchiveError, BlobNotFound, InvalidReference, ManifestError
from tidegate.image.reference import ImageRef
from tidegate.image.sources.archive import TarArchive
from tidegate.image.sources.base import Descriptor, ImageSource, RootManifest
from tidegate.model.digest import parse_digest

REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
MAX_INDEX_BYTES = 4 * 1024 * 1024


_COSIGN_TAG = re.compile(r"^sha256-[0-9a-f]{64}\.(?:sig|att|sbom)$")


def _is_cosign_artifact(d: Descriptor) -> bool:
    """A signature/attestation/SBOM manifest stored beside an image (cosign's tag and layout conventions)."""
    kind = d.annotations.get("kind", "")
    return bool(_COSIGN_TAG.match(d.annotations.get(REF_NAME, ""))) or kind in (
        "dev.cosignproject.cosign/sigs", "dev.cosignproject.cosign/atts", "dev.cosignproject.cosign/sboms")


def pick_from_index(index_data: bytes, ref: ImageRef, what: str, *, read_manifest: Callable[[Descriptor], bytes]
                    | None = None, config_digest: str | None = None) -> Descriptor:
    """Choose the root descriptor from a layout's ``index.json``."""
    try:
        doc = json.loads(index_data)
        entries = doc["manifests"]
        if not isinstance(entries, list):
            raise TypeError("manifests is not a list")
    except (ValueError, KeyError, TypeError) as e:
        raise ManifestError(f"{what}: index.json is not a valid image index ({e})") from e
    descs = []
    for i, ent in enumerate(entries):
        if not isinstance(ent, dict) or not isinstance(ent.get("mediaType"), str) or not isinstance(
                ent.get("size"), int) or isinstance(ent.get("size"), bool) or ent["size"] < 0:
            raise ManifestError(f"{what}: index.json manifests[{i}] is not a valid descriptor")
        annotations = ent.get("annotations") or {}
        if not isinstance(annotations, dict):
            raise ManifestError(f"{what}: index.json manifests[{i}].annotations is not an object")
        descs.append(Descriptor(media_type=ent["mediaType"], digest=parse_digest(ent.get("digest"),
                                where=f"{what}: index.json manifests[{i}]"), size=ent["size"],
                                platform=ent.get("platform") if isinstance(ent.get("platform"), dict) else None,
                                annotations={str(k): str(v) for k, v in annotations.items()}))
    if not descs:
        raise ManifestError(f"{what}: index.json lists no images")
    if config_digest is not None and read_manifest is not None:
        for d in descs:
            try:
                if json.loads(read_manifest(d)).get("config", {}).get("digest") == config_digest:
                    return d
            except (ValueError, AttributeError):
                continue
    if ref.digest is not None:
        for d in descs:
            if str(d.digest) == str(ref.digest):
                return d
        raise InvalidReference(f"{what}: no image with digest {ref.digest} in index.json")
    if ref.tag:
        for d in descs:
            name = d.annotations.get(REF_NAME, "")
            if name == ref.tag or d.annotations.get(CONTAINERD_NAME, "").endswith(":" + ref.tag):
                return d
        names = sorted({d.annotations.get(REF_NAME, "") for d in descs} - {""})
        raise InvalidReference(f"{what}: no image named {ref.tag!r} in index.json (has: {', '.join(names) or 'none'})")
    images = [d for d in descs if not _is_cosign_artifact(d)]
    if len(images) == 1:
        return images[0]  # a signed layout: the image plus its .sig/.att manifests
    if len(descs) > 1:
        names = sorted({d.annotations.get(REF_NAME, "") for d in descs} - {""})
        raise InvalidReference(f"{what}: layout holds {len(descs)} images; name one with :REF "
                               f"(has: {', '.join(names) or 'unnamed entries'})")
    return descs[0]


class OciLayoutSource(ImageSource):
    """Serves blobs from ``blobs/<alg>/<hex>`` of a layout directory or archive."""

    def __init__(self, ref: ImageRef, *, transport: str, open_member: Callable[[str], IO[bytes]],
                 read_member: Callable[[str, int], bytes], has_member: Callable[[str], bool],
                 closer: Callable[[], None] | None = None) -> None:
        self.ref = ref
        """The reference being read."""
        self.transport = transport
        self._open = open_member
        self._read = read_member
        self._has = has_member
        self._closer = closer

    @classmethod
    def from_archive(cls, ref: ImageRef) -> OciLayoutSource:
        """An ``oci-archive:`` source."""
        what = f"oci-archive:{ref.path}"
        tar = TarArchive(ref.path or "", what=what)
        return cls(ref, transport="oci-archive", open_member=tar.open,
                   read_member=lambda n, lim: tar.read_small(n, limit=lim), has_member=tar.has, closer=tar.close)

    @classmethod
    def from_dir(cls, ref: ImageRef) -> OciLayoutSource:
        """An ``oci:`` directory source."""
        root = ref.path or ""
        what = f"oci:{root}"
        if not os.path.isdir(root):
            raise ArchiveError(f"{what}: not a directory")

        def safe(name: str) -> str:
            full = os.path.realpath(os.path.join(root, name))
            if not full.startswith(os.path.realpath(root) + os.sep):
                raise ArchiveError(f"{what}: {name} resolves outside the layout")
            return full

        def open_member(name: str) -> IO[bytes]:
            full = safe(name)
            try:
                if not stat.S_ISREG(os.stat(full).st_mode):
                    raise ArchiveError(f"{what}: {name} is not a regular file")
                return open(full, "rb")
            except FileNotFoundError as e:
                raise BlobNotFound(f"{what}: missing {name}") from e
            except OSError as e:
                raise ArchiveError(f"{what}: cannot read {name} ({e.strerror})") from e

        def read_member(name: str, limit: int) -> bytes:
            with open_member(name) as f:
                data = f.read(limit + 1)
            if len(data) > limit:
                raise ManifestError(f"{what}: {name} is over the {limit:,}-byte limit")
            return data

        return cls(ref, transport="oci", open_member=open_member, read_member=read_member,
                   has_member=lambda n: os.path.isfile(safe(n)))

    def describe(self) -> str:
        """``oci-archive:PATH``."""
        return f"{self.transport}:{self.ref.path}"

    def fetch_root(self) -> RootManifest:
        """The index.json entry the reference names, with its bytes."""
        what = self.describe()
        if not self._has("index.json"):
            raise ArchiveError(f"{what}: no index.json (not an OCI image layout)")
        desc = pick_from_index(self._read("index.json", MAX_INDEX_BYTES), self.ref, what)
        return RootManifest(data=self.fetch_manifest(desc), media_type=desc.media_type, expected=desc,
                            tag=desc.annotations.get(REF_NAME) or self.ref.tag)

    def fetch_manifest(self, desc: Descriptor) -> bytes:
        """Manifest bytes by digest (verified by the resolver)."""
        return self._read(self._blob_path(desc), MAX_INDEX_BYTES)

    def open_blob(self, desc: Descriptor) -> IO[bytes]:
        """A stream over the stored blob."""
        return self._open(self._blob_path(desc))

    @staticmethod
    def _blob_path(desc: Descriptor) -> str:
        return f"blobs/{desc.digest.algorithm}/{desc.digest.hex}"

    def close(self) -> None:
        """Close the archive."""
        if self._closer:
            self._closer()
