"""A persistent per-layer result cache in tidegate's own cache folder, safe to read back.

    cache = DirectoryCache.default()          # $XDG_CACHE_HOME/tidegate/layers
    scan_image(ref, cache=cache)

Entries are zstd-compressed JSON written atomically (temp file + rename). Reading never executes anything:
only the known result types are rebuilt, and an unreadable entry counts as a miss (and is replaced).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import zstandard

from tidegate.image.layer import TarEntry
from tidegate.model.distro import Distro
from tidegate.model.finding import CheckFinding, Severity, SourceLocation, Suppression, Unknown
from tidegate.model.location import Location
from tidegate.model.package import ApkEntry, DpkgEntry, GoModule, NpmPackage, Package, PythonDist, RpmEntry
from tidegate.scan.layer_pass import LayerResult

log = logging.getLogger(__name__)

_TYPES: dict[str, type[Any]] = {t.__name__: t for t in (
    LayerResult, TarEntry, Package, Location, Distro, Unknown, CheckFinding, SourceLocation, Suppression,
    DpkgEntry, ApkEntry, RpmEntry, PythonDist, NpmPackage, GoModule,
)}
MAX_ENTRY_BYTES = 1024**3
"""An entry that decompresses past this is treated as corrupt."""


def _encode(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        name = type(obj).__name__
        if name not in _TYPES:
            raise TypeError(f"cannot cache {name}")
        return {"@": name, **{f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, tuple | list):
        return [_encode(x) for x in obj]
    if obj is None or isinstance(obj, str | int | float | bool):
        return obj
    raise TypeError(f"cannot cache a {type(obj).__name__}")


def _decode(obj: Any) -> Any:
    if isinstance(obj, dict):
        cls = _TYPES[obj["@"]]  # KeyError for anything unknown: the entry is rejected
        fields = {k: _decode(v) for k, v in obj.items() if k != "@"}
        if cls is CheckFinding:
            fields["severity"] = Severity(fields["severity"])  # ValueError for a bad value: entry rejected
        return cls(**fields)
    if isinstance(obj, list):
        return tuple(_decode(x) for x in obj)
    return obj


def encode_result(result: LayerResult) -> bytes:
    """Serialise a layer result (zstd-compressed JSON)."""
    return zstandard.ZstdCompressor(level=3).compress(json.dumps(_encode(result), separators=(",", ":")).encode())


def decode_result(data: bytes) -> LayerResult:
    """Rebuild a layer result; raises ValueError/KeyError/TypeError on anything unexpected."""
    raw = zstandard.ZstdDecompressor().decompress(data, max_output_size=MAX_ENTRY_BYTES)
    result = _decode(json.loads(raw))
    if not isinstance(result, LayerResult):
        raise TypeError("cache entry is not a layer result")
    return result


class DirectoryCache:
    """`LayerCache` over a directory: one file per key."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        """The cache directory."""

    @classmethod
    def default(cls) -> DirectoryCache:
        """``$TIDEGATE_CACHE_DIR`` or ``$XDG_CACHE_HOME/tidegate/layers`` (``~/.cache/tidegate/layers``)."""
        env = os.environ.get("TIDEGATE_CACHE_DIR")
        if env:
            return cls(Path(env) / "layers")
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return cls(Path(base) / "tidegate" / "layers")

    def _path(self, key: str) -> Path:
        hexpart = key.split(":", 1)[-1]
        if not hexpart.isalnum():
            raise ValueError(f"bad cache key {key!r}")
        return self.root / hexpart[:2] / f"{hexpart}.json.zst"

    def get(self, key: str) -> LayerResult | None:
        """The cached result, or None (also for unreadable entries, which are removed)."""
        path = self._path(key)
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            return decode_result(data)
        except Exception as e:  # noqa: BLE001 - a corrupt entry is a miss, never a crash
            log.warning("ignoring unreadable cache entry %s (%s)", path, e)
            try:
                path.unlink()
            except OSError:
                pass
            return None

    def put(self, key: str, result: LayerResult) -> None:
        """Store atomically; failures to write are logged, never fatal."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(encode_result(result))
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError as e:
            log.warning("cannot write cache entry %s (%s)", path, e)
