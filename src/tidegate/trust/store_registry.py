"""Signatures in a registry: ``<repo>:sha256-<hex>.sig`` / ``.att`` manifests next to the image (cosign's layout).

    with RegistrySignatureStore(parse_image_ref("127.0.0.1:5000/app:1"), SourceOptions()) as store:
        store.read("sig")
"""

from __future__ import annotations

import logging

from tidegate.errors import DigestMismatch, InvalidReference
from tidegate.image.manifest import check_bytes
from tidegate.image.push import PushClient
from tidegate.image.reference import ImageRef
from tidegate.image.sources.base import SourceOptions
from tidegate.model.digest import Digest, sha256_of
from tidegate.trust.model import SignatureLayer
from tidegate.trust.store import (
    MAX_SIGNATURE_LAYER_BYTES,
    AppendResult,
    ResolvedTarget,
    SignatureStore,
    StoredLayer,
    Suffix,
    build_signature_manifest,
    check_target_manifest,
    identity_of,
    layer_of,
    merged_layers,
    parse_signature_manifest,
    signature_tag,
)

log = logging.getLogger(__name__)


def read_layer_bytes(client: PushClient, layer: StoredLayer, where: str) -> bytes:
    """A signature layer's blob, bounded and checked against its descriptor (naming the blob on mismatch)."""
    from tidegate.errors import ManifestError

    if layer.size > MAX_SIGNATURE_LAYER_BYTES:
        raise ManifestError(f"{where}: blob {layer.digest} declares {layer.size:,} bytes, over the "
                            f"{MAX_SIGNATURE_LAYER_BYTES:,}-byte limit")
    with client.open_blob(layer.digest) as blob:
        data = blob.read(layer.size + 1)
    check_bytes(data, layer.descriptor(), f"{where}: blob {layer.digest}")
    return data


class RegistrySignatureStore(SignatureStore):
    """cosign's tag-based storage in the image's own repository."""

    def __init__(self, ref: ImageRef, options: SourceOptions, *, docker_reference: str | None = None) -> None:
        """Resolve `ref` once (tag → digest of the manifest served for it, verified)."""
        if not ref.registry or not ref.repository:
            raise InvalidReference(f"{ref.raw!r}: not a registry reference")
        self.client = PushClient(ref.registry, ref.repository, options)
        """Distribution API client for the image's repository (read and write)."""
        try:
            self.target = self._resolve(ref, docker_reference)
        except BaseException:
            self.client.close()
            raise

    def _resolve(self, ref: ImageRef, docker_reference: str | None) -> ResolvedTarget:
        name = f"{ref.registry}/{ref.repository}"
        if ref.digest is not None:
            # Fetched by digest: the client checks the body against it.
            fetched = self.client.fetch_manifest(ref.digest)
            digest = ref.digest
        else:
            fetched = self.client.fetch_manifest(ref.tag or "latest")
            digest = sha256_of(fetched.data)
            if fetched.header_digest is not None and fetched.header_digest.algorithm == "sha256" and \
                    str(fetched.header_digest) != str(digest):  # pragma: no cover - the client checks it
                raise DigestMismatch(f"{name}:{ref.tag}: served manifest hashes to {digest}, registry says "
                                     f"{fetched.header_digest}")
        media_type = check_target_manifest(fetched.data, fetched.media_type, ref.raw)
        repository, identity = identity_of(docker_reference or ref.raw)
        if docker_reference is None:
            repository = name
        return ResolvedTarget(reference=ref, digest=digest, media_type=media_type,
                              resolved_tag=None if ref.digest is not None else (ref.tag or "latest"),
                              repository=repository, identity=identity)

    def describe(self) -> str:
        """``registry/repository``."""
        return f"{self.client.registry}/{self.client.repository}"

    def _existing(self, tag: str) -> tuple[list[StoredLayer], Digest | None]:
        fetched = self.client.find_manifest(tag)
        if fetched is None:
            return [], None
        where = f"{self.describe()}:{tag}"
        return parse_signature_manifest(fetched.data, where), sha256_of(fetched.data)

    def read(self, suffix: Suffix) -> list[SignatureLayer]:
        """The layers at ``sha256-<hex>.<suffix>``, each blob verified; [] when the tag does not exist."""
        tag = signature_tag(self.target.digest, suffix)
        layers, manifest_digest = self._existing(tag)
        where = f"{self.describe()}:{tag}"
        out = []
        for layer in layers:
            data = read_layer_bytes(self.client, layer, where)
            out.append(SignatureLayer(layer.media_type, data, layer.annotations))
        log.debug("%s: %d layer(s) in %s", where, len(out), manifest_digest)
        return out

    def append(self, suffix: Suffix, layer: SignatureLayer) -> AppendResult:
        """Push `layer`'s blob, the config and a manifest listing every existing layer plus `layer`."""
        tag = signature_tag(self.target.digest, suffix)
        where = f"{self.describe()}:{tag}"
        existing, current = self._existing(tag)
        new, payload = layer_of(layer)
        layers = merged_layers(existing, new)
        if layers is None:
            assert current is not None
            return AppendResult(tag, current, False, len(existing), where)
        manifest, config = build_signature_manifest(layers)
        self.client.push_blob(payload)
        self.client.push_blob(config)
        from tidegate.image.manifest import OCI_MANIFEST

        digest = self.client.put_manifest(tag, manifest, OCI_MANIFEST)
        return AppendResult(tag, digest, True, len(layers), where)

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


__all__ = ["RegistrySignatureStore", "read_layer_bytes"]
