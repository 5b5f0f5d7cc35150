"""The registry gate's memory: verdicts by digest + policy hash, and what each repository may serve.

    cache = VerdictCache(ttl=300)
    cache.put(VerdictKey("team/app", "sha256:…", None, policy.hash), verdict)
    grants = Grants(ttl=300)
    grants.allow_blobs("team/app", [("sha256:…", 1234)], passthrough=False)
    grants.blob("team/app", "sha256:…")        # BlobGrant(size=1234, passthrough=False) or None

Both are used from the gate's event loop only (never from the assessment threads), so they hold no lock.
Entries expire after `ttl` seconds, and both are bounded: when full, expired entries go first, then the oldest.
A grant is always per repository: a blob a passing manifest references in ``team/app`` is not thereby servable
from ``team/other`` (the upstream's own access control is per repository too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from tidegate.policy.verdict import Verdict
from tidegate.serve.cache import TTLCache

MAX_ENTRIES = 50_000
"""Upper bound on entries per table (verdicts, manifest grants, blob grants)."""

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class VerdictKey:
    """What a verdict is about: one digest in one repository, one platform under it (for an index), one policy.

    The repository is part of the key: policy scopes are chosen by ``registry/repository`` and signatures are
    checked against the repository name, so the same digest may pass in one repository and fail in another."""

    repository: str
    """The repository (``name`` of the pull) the digest was assessed in."""
    digest: str
    """The manifest or index digest that was assessed."""
    platform: str | None
    """``os/arch[/variant]`` assessed under an index, or None for a manifest assessed on its own."""
    policy_hash: str
    """`Policy.hash` of the policy the verdict was made under."""


class VerdictCache:
    """Verdicts keyed by `VerdictKey`, each kept `ttl` seconds (denials too: an image does not change)."""

    def __init__(self, ttl: float, *, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._table: TTLCache[VerdictKey, Verdict] = TTLCache(ttl, max_entries=max_entries, clock=clock)

    def get(self, key: VerdictKey) -> Verdict | None:
        """The cached verdict for `key`, or None (absent or expired)."""
        return self._table.get(key)

    def put(self, key: VerdictKey, verdict: Verdict) -> None:
        """Remember `verdict` for `key`."""
        self._table.put(key, verdict)

    def __len__(self) -> int:
        return len(self._table)


@dataclass(frozen=True, slots=True)
class BlobGrant:
    """Why a blob may be served from a repository."""

    size: int | None
    """Size the referencing descriptor declared (checked while streaming), None when unknown."""
    passthrough: bool
    """True when only a signature/attestation artifact references it (no verdict behind it)."""


@dataclass(frozen=True, slots=True)
class ManifestGrant:
    """Why a manifest digest may be served from a repository without its own assessment."""

    index_digest: str
    """The allowed index that lists it."""
    passthrough: bool
    """True for an index's attestation child (served only as a non-runnable artifact)."""


class Grants:
    """Per repository: manifests an allowed index lists, and blobs allowed manifests or artifacts reference."""

    def __init__(self, ttl: float, *, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._manifests: TTLCache[tuple[str, str], ManifestGrant] = TTLCache(ttl, max_entries=max_entries,
                                                                              clock=clock)
        self._blobs: TTLCache[tuple[str, str], BlobGrant] = TTLCache(ttl, max_entries=max_entries, clock=clock)

    def allow_manifest(self, repository: str, digest: str, grant: ManifestGrant) -> None:
        """Let `digest` be served from `repository` under `grant`."""
        self._manifests.put((repository, digest), grant)

    def manifest(self, repository: str, digest: str) -> ManifestGrant | None:
        """The grant for manifest `digest` in `repository`, if any."""
        return self._manifests.get((repository, digest))

    def allow_blobs(self, repository: str, blobs: Iterable[tuple[str, int | None]], *, passthrough: bool) -> None:
        """Let each ``(digest, size)`` of `blobs` be served from `repository`.

        A blob already granted under a verdict stays so even when an artifact references it too."""
        for digest, size in blobs:
            held = self._blobs.get((repository, digest))
            keep_verdict = held is not None and not held.passthrough and passthrough
            self._blobs.put((repository, digest), BlobGrant(size, passthrough and not keep_verdict))

    def blob(self, repository: str, digest: str) -> BlobGrant | None:
        """The grant for blob `digest` in `repository`, or None: the gate must refuse it."""
        return self._blobs.get((repository, digest))


__all__ = ["MAX_ENTRIES", "BlobGrant", "Grants", "ManifestGrant", "VerdictCache", "VerdictKey"]
