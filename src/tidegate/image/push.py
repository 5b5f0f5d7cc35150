"""Writing to a registry (distribution-spec "Pushing blobs" / "Pushing manifests"), over the same client.

    with PushClient("127.0.0.1:5000", "tidegate/app", SourceOptions()) as client:
        client.push_blob(b"{}")                                  # HEAD first: an existing blob is not re-sent
        client.put_manifest("sha256-ab….sig", manifest_bytes, OCI_MANIFEST)
        client.find_manifest("sha256-ab….sig")                   # None when the tag does not exist

`PushClient` is a `RegistryClient`: the same auth challenge flow (asking for ``repository:<name>:pull,push``),
plain HTTP only for loopback and ``--insecure-registry`` hosts, and the same retries. What it checks:

1. every blob is pushed with ``?digest=`` computed over the bytes sent, and the registry's
   ``Docker-Content-Digest`` answer must equal it;
2. a manifest's ``Docker-Content-Digest`` answer must equal the digest of the bytes sent;
3. `find_manifest` resolves a tag with ``HEAD`` and then fetches the manifest *by digest*, so the bytes returned
   are the ones that digest names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

import httpx

from tidegate.errors import RegistryError
from tidegate.image.auth import Credentials
from tidegate.image.registry import MANIFEST_ACCEPT, FetchedManifest, RegistryClient
from tidegate.image.sources.base import SourceOptions
from tidegate.model.digest import Digest, parse_digest, sha256_of

log = logging.getLogger(__name__)


class PushClient(RegistryClient):
    """A `RegistryClient` that can also write blobs and manifests to its repository."""

    def __init__(self, registry: str, repository: str, options: SourceOptions, *,
                 credentials: Callable[[], Credentials | None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        """As `RegistryClient`, asking token servers for pull and push access."""
        super().__init__(registry, repository, options, credentials=credentials, transport=transport)
        self._scope = f"repository:{repository}:pull,push"
        self._active_scope = self._scope

    def find_manifest(self, tag: str) -> FetchedManifest | None:
        """The manifest at `tag`, fetched by the digest the tag resolves to; None when the tag does not exist."""
        where = f"{self.registry}/{self.repository}:{tag}"
        url = f"{self.base_url}/v2/{self.repository}/manifests/{quote(tag, safe='')}"
        response = self._request("HEAD", url, headers={"Accept": MANIFEST_ACCEPT}, where=where)
        try:
            if response.status_code == 404:
                return None
            self._raise_for_status(response, where)
            header = response.headers.get("Docker-Content-Digest")
        finally:
            response.close()
        if header:
            digest = parse_digest(header.strip(), where=f"{where}: Docker-Content-Digest")
            return self.fetch_manifest(digest)
        return self.fetch_manifest(tag)

    def has_blob(self, digest: Digest) -> bool:
        """``HEAD /v2/<name>/blobs/<digest>``: True when the repository already has the blob."""
        where = f"blob {digest} in {self.registry}/{self.repository}"
        response = self._request("HEAD", f"{self.base_url}/v2/{self.repository}/blobs/{digest}", headers={},
                                 where=where)
        try:
            if response.status_code == 404:
                return False
            self._raise_for_status(response, where)
            return True
        finally:
            response.close()

    def push_blob(self, data: bytes) -> Digest:
        """Upload `data` monolithically (POST then PUT ``?digest=``) unless the blob exists; returns its digest."""
        digest = sha256_of(data)
        if self.has_blob(digest):
            log.debug("%s/%s: blob %s already present", self.registry, self.repository, digest.short)
            return digest
        where = f"upload of blob {digest} to {self.registry}/{self.repository}"
        response = self._request("POST", f"{self.base_url}/v2/{self.repository}/blobs/uploads/",
                                 headers={"Content-Length": "0"}, where=where, content=b"")
        try:
            self._raise_for_status(response, where)
            location = response.headers.get("Location")
        finally:
            response.close()
        if not location:
            raise RegistryError(f"registry {self.registry}: {where}: no Location in the upload answer")
        url = httpx.URL(self.base_url).join(location).copy_merge_params({"digest": str(digest)})
        response = self._request("PUT", str(url), headers={"Content-Type": "application/octet-stream",
                                                           "Content-Length": str(len(data))},
                                 where=where, content=data)
        try:
            self._raise_for_status(response, where)
            answered = response.headers.get("Docker-Content-Digest")
        finally:
            response.close()
        self._check_answer(answered, digest, where)
        log.debug("%s/%s: pushed blob %s (%d bytes)", self.registry, self.repository, digest.short, len(data))
        return digest

    def put_manifest(self, tag: str, data: bytes, media_type: str) -> Digest:
        """``PUT /v2/<name>/manifests/<tag>`` with ``Content-Type: media_type``; returns the manifest's digest."""
        digest = sha256_of(data)
        where = f"manifest {self.registry}/{self.repository}:{tag}"
        url = f"{self.base_url}/v2/{self.repository}/manifests/{quote(tag, safe='')}"
        response = self._request("PUT", url, headers={"Content-Type": media_type}, where=where, content=data)
        try:
            self._raise_for_status(response, where)
            answered = response.headers.get("Docker-Content-Digest")
        finally:
            response.close()
        self._check_answer(answered, digest, where)
        log.debug("%s: pushed %s", where, digest)
        return digest

    def _check_answer(self, answered: str | None, digest: Digest, where: str) -> None:
        """Raise `RegistryError` when the registry says it stored other bytes than we sent."""
        if answered and answered.strip() != str(digest):
            raise RegistryError(f"registry {self.registry}: {where}: registry stored {answered.strip()}, "
                                f"we sent {digest}")


__all__ = ["PushClient"]
