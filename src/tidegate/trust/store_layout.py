"""Signatures in an OCI image layout directory (``oci:DIR[:REF]``), stored the way cosign's layouts hold them.

    with LayoutSignatureStore(parse_image_ref("oci:./app:1")) as store:
        store.append("sig", layer)   # blobs/sha256/<hex>, then index.json replaced atomically

``index.json`` gets one entry per attachment manifest, named ``org.opencontainers.image.ref.name =
sha256-<hex>.sig`` and marked with cosign's ``kind`` annotation (``dev.cosignproject.cosign/sigs``, ``…/atts``).
Entries that are attachments are never picked as the image. A layout written by ``cosign save`` (``kind``
annotations, no names) is read too: its ``sigs``/``atts`` entry belongs to the entry marked as its image.
Writes hold an exclusive ``flock`` on the layout directory and replace ``index.json`` with a rename, so a reader
never sees half a file and two writers never lose each other's signatures.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import Any

from tidegate.errors import ArchiveError, BlobNotFound, InvalidReference, ManifestError
from tidegate.image.manifest import INDEX_TYPES, OCI_MANIFEST, check_bytes
from tidegate.image.reference import ImageRef
from tidegate.image.sources.base import Descriptor
from tidegate.image.sources.oci_layout import CONTAINERD_NAME, MAX_INDEX_BYTES, REF_NAME, pick_from_index
from tidegate.model.digest import Digest, parse_digest, sha256_of
from tidegate.trust.model import SignatureLayer
from tidegate.trust.store import (
    KIND_ANNOTATION,
    KINDS,
    MAX_SIGNATURE_LAYER_BYTES,
    AppendResult,
    ResolvedTarget,
    SignatureStore,
    StoredLayer,
    Suffix,
    build_signature_manifest,
    check_target_manifest,
    identity_of,
    is_attachment_tag,
    layer_of,
    merged_layers,
    parse_signature_manifest,
    signature_tag,
)

log = logging.getLogger(__name__)


def _is_attachment_entry(entry: dict[str, Any]) -> bool:
    annotations = entry.get("annotations") or {}
    if not isinstance(annotations, dict):
        return False
    return is_attachment_tag(str(annotations.get(REF_NAME, ""))) or annotations.get(KIND_ANNOTATION) in (
        KINDS["sig"], KINDS["att"])


class LayoutSignatureStore(SignatureStore):
    """cosign-compatible attachment storage inside an OCI layout directory."""

    def __init__(self, ref: ImageRef, *, docker_reference: str | None = None) -> None:
        """Resolve `ref` once: the ``index.json`` entry it names (attachments excluded), verified."""
        self.root = ref.path or ""
        """The layout directory."""
        if not os.path.isdir(self.root):
            raise ArchiveError(f"oci:{self.root}: not a directory")
        self._what = f"oci:{self.root}"
        self._entry: dict[str, Any] = {}
        self.target = self._resolve(ref, docker_reference)

    # -- files ----------------------------------------------------------------------------------------

    def _path(self, name: str) -> str:
        full = os.path.realpath(os.path.join(self.root, name))
        if not full.startswith(os.path.realpath(self.root) + os.sep):
            raise ArchiveError(f"{self._what}: {name} resolves outside the layout")
        return full

    def _read(self, name: str, limit: int, *, over_limit_is_error: bool = True) -> bytes:
        full = self._path(name)
        try:
            if not stat.S_ISREG(os.stat(full).st_mode):
                raise ArchiveError(f"{self._what}: {name} is not a regular file")
            with open(full, "rb") as f:
                data = f.read(limit + 1)
        except FileNotFoundError as e:
            raise BlobNotFound(f"{self._what}: missing {name}") from e
        except OSError as e:
            raise ArchiveError(f"{self._what}: cannot read {name} ({e.strerror})") from e
        if len(data) > limit and over_limit_is_error:
            raise ManifestError(f"{self._what}: {name} is over the {limit:,}-byte limit")
        return data

    def _read_blob(self, desc: Descriptor, what: str, limit: int) -> bytes:
        if desc.size > limit:
            raise ManifestError(f"{self._what}: {what} {desc.digest} declares {desc.size:,} bytes, over the "
                                f"{limit:,}-byte limit")
        # One byte past the declared size, so a longer blob fails the size check naming the blob.
        data = self._read(f"blobs/{desc.digest.algorithm}/{desc.digest.hex}", desc.size, over_limit_is_error=False)
        check_bytes(data, desc, f"{self._what}: {what} {desc.digest}")
        return data

    def _index(self) -> dict[str, Any]:
        data = self._read("index.json", MAX_INDEX_BYTES)
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ManifestError(f"{self._what}: index.json is not valid JSON ({e.__class__.__name__})") from e
        if not isinstance(doc, dict) or not isinstance(doc.get("manifests"), list) or not all(
                isinstance(m, dict) for m in doc["manifests"]):
            raise ManifestError(f"{self._what}: index.json is not an image index")
        return doc

    def _write_atomic(self, name: str, data: bytes) -> None:
        full = self._path(name)
        directory = os.path.dirname(full)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tidegate-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, full)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _put_blob(self, data: bytes) -> Digest:
        digest = sha256_of(data)
        name = f"blobs/sha256/{digest.hex}"
        try:
            present = self._read(name, len(data)) == data
        except (BlobNotFound, ManifestError):
            present = False
        if not present:  # absent, or a corrupt copy we replace with the right bytes
            self._write_atomic(name, data)
        return digest

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    # -- resolution -----------------------------------------------------------------------------------

    def _resolve(self, ref: ImageRef, docker_reference: str | None) -> ResolvedTarget:
        doc = self._index()
        images = [m for m in doc["manifests"] if not _is_attachment_entry(m)]
        if not images:
            raise InvalidReference(f"{self._what}: index.json lists no image (only signatures or attestations)")
        if ref.digest is None and not ref.tag and len(images) > 1:
            marked = [m for m in images if (m.get("annotations") or {}).get(KIND_ANNOTATION) in
                      (KINDS["image"], KINDS["index"])]
            images = marked if len(marked) == 1 else images
        desc = pick_from_index(json.dumps({"manifests": images}).encode(), ref, self._what)
        self._entry = next(m for m in images if m.get("digest") == str(desc.digest))
        data = self._read_blob(desc, "manifest", MAX_INDEX_BYTES)
        media_type = check_target_manifest(data, desc.media_type, self._what)
        name = docker_reference or desc.annotations.get(CONTAINERD_NAME)
        ref_name = desc.annotations.get(REF_NAME)
        if name is None and ref_name and "/" in ref_name:
            name = ref_name
        repository = identity = None
        if name is not None:
            try:
                repository, identity = identity_of(name)
            except InvalidReference:
                if docker_reference is not None:
                    raise
        return ResolvedTarget(reference=ref, digest=desc.digest, media_type=media_type,
                              resolved_tag=None if ref.digest is not None else ref_name or ref.tag,
                              repository=repository, identity=identity)

    def describe(self) -> str:
        """``oci:DIR``."""
        return self._what

    def _find(self, doc: dict[str, Any], suffix: Suffix) -> dict[str, Any] | None:
        tag = signature_tag(self.target.digest, suffix)
        for m in doc["manifests"]:
            if (m.get("annotations") or {}).get(REF_NAME) == tag:
                return dict(m)
        # cosign save: one image marked kind=image, its attachments marked kind=sigs/atts, no names.
        kinds = {(m.get("annotations") or {}).get(KIND_ANNOTATION): m for m in doc["manifests"]}
        owner = kinds.get(KINDS["image"]) or kinds.get(KINDS["index"])
        entry = kinds.get(KINDS[suffix])
        if owner is not None and entry is not None and owner.get("digest") == str(self.target.digest) and \
                not (entry.get("annotations") or {}).get(REF_NAME):
            return dict(entry)
        return None

    def _existing(self, doc: dict[str, Any], suffix: Suffix) -> tuple[list[StoredLayer], dict[str, Any] | None]:
        entry = self._find(doc, suffix)
        if entry is None:
            return [], None
        tag = signature_tag(self.target.digest, suffix)
        where = f"{self._what}: {tag}"
        size = entry.get("size")
        if not isinstance(entry.get("mediaType"), str) or not isinstance(size, int) or isinstance(size, bool):
            raise ManifestError(f"{where}: index.json entry is not a valid descriptor")
        desc = Descriptor(entry["mediaType"], parse_digest(entry.get("digest"), where=where), size)
        data = self._read_blob(desc, "manifest", MAX_INDEX_BYTES)
        return parse_signature_manifest(data, where), entry

    def read(self, suffix: Suffix) -> list[SignatureLayer]:
        """The layers of the attachment manifest, each blob verified; [] when the layout holds none."""
        layers, _ = self._existing(self._index(), suffix)
        out = []
        for layer in layers:
            data = self._read_blob(layer.descriptor(), "blob", MAX_SIGNATURE_LAYER_BYTES)
            out.append(SignatureLayer(layer.media_type, data, layer.annotations))
        return out

    def append(self, suffix: Suffix, layer: SignatureLayer) -> AppendResult:
        """Write `layer` and a new attachment manifest; replace the index entry (never dropping a layer)."""
        tag = signature_tag(self.target.digest, suffix)
        where = f"{self._what} ({tag})"
        with self._locked():
            doc = self._index()
            existing, entry = self._existing(doc, suffix)
            new, payload = layer_of(layer)
            layers = merged_layers(existing, new)
            if layers is None:
                assert entry is not None
                return AppendResult(tag, parse_digest(entry.get("digest")), False, len(existing), where)
            manifest, config = build_signature_manifest(layers)
            self._put_blob(payload)
            self._put_blob(config)
            digest = self._put_blob(manifest)
            kept = [m for m in doc["manifests"] if not (
                entry is not None and m.get("digest") == entry.get("digest")
                and m.get("annotations") == entry.get("annotations"))]
            image_kinds = (KINDS["image"], KINDS["index"])
            if not any((m.get("annotations") or {}).get(KIND_ANNOTATION) in image_kinds for m in kept):
                # cosign's reader finds the image by this mark; add it to the entry we resolved.
                for m in kept:
                    if m.get("digest") == str(self.target.digest) and m == self._entry:
                        kind = KINDS["index"] if m.get("mediaType") in INDEX_TYPES else KINDS["image"]
                        m["annotations"] = {**(m.get("annotations") or {}), KIND_ANNOTATION: kind}
                        break
            kept.append({"mediaType": OCI_MANIFEST, "digest": str(digest), "size": len(manifest),
                         "annotations": {REF_NAME: tag, KIND_ANNOTATION: KINDS[suffix]}})
            doc["manifests"] = kept
            self._write_atomic("index.json", json.dumps(doc, indent=2).encode() + b"\n")
        log.debug("%s: %d layer(s), manifest %s", where, len(layers), digest)
        return AppendResult(tag, digest, True, len(layers), where)


__all__ = ["LayoutSignatureStore"]
