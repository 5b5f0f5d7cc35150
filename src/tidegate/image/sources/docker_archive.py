"""``docker save`` archives: the classic layout and Docker 25+'s (manifest.json beside an OCI layout).

    src = DockerArchiveSource(parse_image_ref("docker-archive:app.tar"))

Classic archives have no registry manifest: the source builds one from ``manifest.json`` and the config, with
each layer named by its diff_id (the layer files are uncompressed tars, so the stored bytes hash to the diff_id).
The image is then identified by its config digest (the image ID), which is checked like any other digest.
Docker 25+ archives also carry ``index.json`` and real manifests: those are used, so the manifest digest is
the one a registry would have.
"""

from __future__ import annotations

import json
import re
from typing import IO, Any

from tidegate.errors import ArchiveError, InvalidReference, ManifestError
from tidegate.image.reference import ImageRef
from tidegate.image.sources.archive import TarArchive
from tidegate.image.sources.base import Descriptor, ImageSource, RootManifest
from tidegate.image.sources.oci_layout import MAX_INDEX_BYTES, pick_from_index
from tidegate.model.digest import Digest, parse_digest, sha256_of

_DIGEST_NAME = re.compile(r"(?:^|/)(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json|\.tar)?$")
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
UNCOMPRESSED_LAYER = "application/vnd.docker.image.rootfs.diff.tar"
GZIP_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
ZSTD_LAYER = "application/vnd.docker.image.rootfs.diff.tar.zstd"


class DockerArchiveSource(ImageSource):
    """Reads a ``docker save`` tar."""

    transport = "docker-archive"

    def __init__(self, ref: ImageRef) -> None:
        self.ref = ref
        """The reference being read."""
        self._what = f"docker-archive:{ref.path}"
        self._tar = TarArchive(ref.path or "", what=self._what)
        if not self._tar.has("manifest.json"):
            raise ArchiveError(f"{self._what}: no manifest.json (not a docker save archive)")
        self._entry = self._pick(self._load_manifest_json())
        self._layer_files: dict[str, str] = {}
        self._config_path = str(self._entry["Config"])

    def _load_manifest_json(self) -> list[dict[str, Any]]:
        try:
            doc = json.loads(self._tar.read_small("manifest.json", limit=MAX_INDEX_BYTES))
        except ValueError as e:
            raise ManifestError(f"{self._what}: manifest.json is not valid JSON ({e})") from e
        if not isinstance(doc, list) or not doc:
            raise ManifestError(f"{self._what}: manifest.json must be a non-empty list")
        for i, entry in enumerate(doc):
            if not (isinstance(entry, dict) and isinstance(entry.get("Config"), str)
                    and isinstance(entry.get("Layers"), list) and all(isinstance(x, str) for x in entry["Layers"])):
                raise ManifestError(f"{self._what}: manifest.json[{i}] needs Config and Layers")
        return doc

    def _pick(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        if self.ref.source_index is not None:
            if self.ref.source_index >= len(entries):
                raise InvalidReference(f"{self._what}: has {len(entries)} images, no @{self.ref.source_index}")
            return entries[self.ref.source_index]
        if self.ref.tag:
            want = self.ref.tag
            for e in entries:
                tags = e.get("RepoTags") or []
                if want in tags or any(t.endswith("/" + want) or t == f"docker.io/library/{want}" for t in tags):
                    return e
            raise InvalidReference(f"{self._what}: no image tagged {want!r}")
        if len(entries) > 1:
            raise InvalidReference(f"{self._what}: archive holds {len(entries)} images; name one with :REPO:TAG or @N")
        return entries[0]

    def describe(self) -> str:
        """``docker-archive:PATH``."""
        return self._what

    def _oci_root(self) -> RootManifest | None:
        """Docker 25+: a real manifest in the OCI layout beside manifest.json."""
        if not (self._tar.has("index.json") and self._tar.has("oci-layout")):
            return None
        m = _DIGEST_NAME.search(self._config_path)
        config_digest = f"sha256:{m.group(1)}" if m else None
        desc = pick_from_index(self._tar.read_small("index.json", limit=MAX_INDEX_BYTES),
                               ImageRef("oci", self.ref.raw), self._what, read_manifest=self.fetch_manifest,
                               config_digest=config_digest)
        return RootManifest(data=self.fetch_manifest(desc), media_type=desc.media_type, expected=desc,
                            repo_tags=tuple(self._entry.get("RepoTags") or ()))

    def fetch_root(self) -> RootManifest:
        """Docker 25+: the real manifest; classic: a manifest built from manifest.json and the config."""
        root = self._oci_root()
        if root is not None:
            return root
        config_data = self._tar.read_small(self._config_path, limit=64 * 1024 * 1024)
        m = _DIGEST_NAME.search(self._config_path)
        # The config's file name is its digest (the image ID); a mismatch is caught when the resolver re-reads it.
        config_digest = parse_digest(f"sha256:{m.group(1)}", where=self._what) if m else sha256_of(config_data)
        try:
            diff_ids = json.loads(config_data)["rootfs"]["diff_ids"]
            if not isinstance(diff_ids, list):
                raise TypeError("diff_ids is not a list")
        except (ValueError, KeyError, TypeError) as e:
            raise ManifestError(f"{self._what}: config {self._config_path} has no rootfs.diff_ids ({e})") from e
        files = self._entry["Layers"]
        if len(files) != len(diff_ids):
            raise ManifestError(f"{self._what}: manifest.json lists {len(files)} layers, config {len(diff_ids)}")
        layers = []
        for i, (name, diff_id) in enumerate(zip(files, diff_ids)):
            digest = parse_digest(diff_id, where=f"{self._what}: config rootfs.diff_ids[{i}]")
            with self._tar.open(name) as f:
                head = f.read(4)
            media_type = GZIP_LAYER if head.startswith(b"\x1f\x8b") else \
                ZSTD_LAYER if head.startswith(b"\x28\xb5\x2f\xfd") else UNCOMPRESSED_LAYER
            self._layer_files[f"{i}:{digest}"] = name
            layers.append({"mediaType": media_type, "digest": str(digest), "size": self._tar.size(name),
                           "annotations": {"dev.tidegate.docker-archive.layer-index": str(i),
                                           "dev.tidegate.docker-archive.file": name}})
        manifest = {"schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
                    "config": {"mediaType": DOCKER_CONFIG, "digest": str(config_digest), "size": len(config_data)},
                    "layers": layers}
        return RootManifest(data=json.dumps(manifest).encode(), media_type=DOCKER_MANIFEST, expected=None,
                            repo_tags=tuple(self._entry.get("RepoTags") or ()), synthetic=True)

    def fetch_manifest(self, desc: Descriptor) -> bytes:
        """Manifest bytes from the OCI part of a Docker 25+ archive."""
        return self._tar.read_small(f"blobs/{desc.digest.algorithm}/{desc.digest.hex}", limit=MAX_INDEX_BYTES)

    def open_blob(self, desc: Descriptor) -> IO[bytes]:
        """Config or layer stream."""
        idx = desc.annotations.get("dev.tidegate.docker-archive.file")
        if idx:
            return self._tar.open(idx)
        blob = f"blobs/{desc.digest.algorithm}/{desc.digest.hex}"
        if self._tar.has(blob):
            return self._tar.open(blob)
        if desc.media_type == DOCKER_CONFIG and _matches(self._config_path, desc.digest):
            return self._tar.open(self._config_path)
        return self._tar.open(f"{desc.digest.hex}.json")

    def close(self) -> None:
        """Close the archive."""
        self._tar.close()


def _matches(path: str, digest: Digest) -> bool:
    m = _DIGEST_NAME.search(path)
    return m is None or m.group(1) == digest.hex
