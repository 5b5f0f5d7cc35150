"""Per-layer result caching: the key, and the storage seam (trivy's ``MissingBlobs``/``PutBlob``).

    key = layer_cache_key(diff_id, catalogers, limits)
    result = cache.get(key) or scan_and(cache.put)

A cache hit is sound only because an entry is written from bytes verified against that diff_id, and the
diff_id comes from a config verified against the pinned manifest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Protocol

from tidegate.catalog.base import Cataloger
from tidegate.image.blob import Limits
from tidegate.scan.layer_pass import FileScanner, LayerResult

CACHE_SCHEMA = 1
"""Bump when `LayerResult`'s shape changes."""


def layer_cache_key(diff_id: str, catalogers: Sequence[Cataloger], limits: Limits,
                    file_scanners: Sequence[FileScanner] = ()) -> str:
    """Hash of everything that determines a layer's result: content, analyzer versions, options, schema."""
    ident: dict[str, object] = {
        "schema": CACHE_SCHEMA,
        "diff_id": diff_id,
        "catalogers": sorted((c.name, c.version, list(c.patterns), c.max_bytes) for c in catalogers),
        "max_file_spool_bytes": limits.max_file_spool_bytes,
    }
    if file_scanners:  # NOTE: only when present, so SBOM-only cache entries keep their keys
        ident["file_scanners"] = sorted((s.name, s.version, s.cache_ident()) for s in file_scanners)
    return "sha256:" + hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()


class LayerCache(Protocol):
    """Storage for per-layer results."""

    def get(self, key: str) -> LayerResult | None:
        """The cached result, or None."""

    def put(self, key: str, result: LayerResult) -> None:
        """Store a result computed from verified bytes."""


class MemoryCache:
    """An in-process cache (the default for long-running servers until a persistent store exists)."""

    def __init__(self) -> None:
        self._d: dict[str, LayerResult] = {}

    def get(self, key: str) -> LayerResult | None:
        """The cached result, or None."""
        return self._d.get(key)

    def put(self, key: str, result: LayerResult) -> None:
        """Store a result."""
        self._d[key] = result
