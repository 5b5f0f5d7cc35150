"""Digest- and size-checked streams, and bounded decompression of layer blobs.

    raw = VerifyingReader(source.open_blob(desc), digest=desc.digest, size=desc.size, what="layer 3")
    tar_stream = open_layer(raw, diff_id=config.diff_ids[3], what="layer 3", limits=Limits())

Nothing read from a blob counts until the stream has been read to its end and the digest matched: callers
read to EOF (`drain`) before they use results built from the bytes.
"""

from __future__ import annotations

import logging
import types
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tidegate.errors import ArchiveError, DigestMismatch, LayerLimitExceeded, SizeMismatch
from tidegate.model.digest import Digest

_zlib_impl: types.ModuleType
try:  # isal is a much faster drop-in for zlib on x86-64.
    from isal import isal_zlib as _zlib_impl
except ImportError:  # pragma: no cover - isal is a declared dependency on CPython
    _zlib_impl = zlib

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class Readable(Protocol):
    """Anything with ``read(n)``."""

    def read(self, n: int = -1, /) -> bytes:
        """Read up to `n` bytes."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds that keep a hostile image from exhausting memory or disk."""

    max_layer_bytes: int = 32 * 1024**3
    """Largest uncompressed size of one layer."""
    max_ratio: int = 200
    """Largest uncompressed/compressed ratio once past `ratio_floor` bytes (gzip tops out near 1032:1; real
    layers of binaries and text stay far below 20:1)."""
    ratio_floor: int = 256 * 1024**2
    """Uncompressed size below which the ratio is not checked (small layers compress very well)."""
    max_file_spool_bytes: int = 1024**3
    """Largest single file the layer pass will spool for a cataloger."""
    max_layer_entries: int = 2_000_000
    """Most tar entries in one layer (the per-layer file index costs about 300 bytes an entry)."""


class VerifyingReader:
    """Wraps a stream; hashes and counts every byte; at EOF checks size and digest, raising on mismatch.

    A stream that runs past its declared size fails as soon as it does, so a lying registry cannot make us
    read forever.
    """

    def __init__(self, raw: Readable, *, digest: Digest | None, size: int | None, what: str,
                 on_read: Callable[[int], None] | None = None) -> None:
        self._raw = raw
        self._digest = digest
        self._hash = digest.hasher() if digest is not None else None
        self._size = size
        self._what = what
        self._n = 0
        self._done = False
        self._on_read = on_read

    @property
    def bytes_read(self) -> int:
        """Bytes read so far."""
        return self._n

    def read(self, n: int = -1, /) -> bytes:
        """Read up to `n` bytes (all when negative); verification happens when the source is exhausted."""
        if self._done:
            return b""
        want = CHUNK if n is None or n < 0 else n
        try:
            data = self._raw.read(want)
        except OSError as e:
            raise ArchiveError(f"{self._what}: read failed: {e}") from e
        except EOFError as e:
            raise ArchiveError(f"{self._what}: truncated ({e})") from e
        if data:
            self._n += len(data)
            if self._size is not None and self._n > self._size:
                raise SizeMismatch(f"{self._what}: {self._n - self._size:,} bytes past declared size {self._size:,}")
            if self._hash is not None:
                self._hash.update(data)
            if self._on_read:
                self._on_read(len(data))
            if n is None or n < 0:
                return data + self.read(-1)
            return data
        self._finish()
        return b""

    def _finish(self) -> None:
        self._done = True
        if self._size is not None and self._n != self._size:
            raise SizeMismatch(f"{self._what}: truncated: {self._n:,} of {self._size:,} declared bytes")
        if self._hash is not None and self._digest is not None and self._hash.hexdigest() != self._digest.hex:
            raise DigestMismatch(f"{self._what}: content hashes to {self._digest.algorithm}:"
                                 f"{self._hash.hexdigest()[:12]}…, expected {self._digest}")

    def drain(self) -> None:
        """Read (and verify) whatever is left."""
        while self.read(CHUNK):
            pass

    def close(self) -> None:
        """Close the underlying stream."""
        close = getattr(self._raw, "close", None)
        if close:
            close()


class _Inflater:
    """Streaming gzip (multi-member) / zstd / identity decoder with size and ratio limits."""

    def __init__(self, raw: VerifyingReader, kind: str, what: str, limits: Limits) -> None:
        self._raw = raw
        self._kind = kind
        self._what = what
        self._limits = limits
        self._out = 0
        self._buf = b""
        self._eof = False
        self._pending = b""
        self._gz: Any = None
        self._zs: Any = None
        if kind == "zstd":
            import zstandard

            self._zs = zstandard.ZstdDecompressor(max_window_size=1 << 27).stream_reader(
                raw,  # type: ignore[arg-type]  # any object with read() works
                read_size=CHUNK, read_across_frames=True)

    def _check(self, produced: int) -> None:
        self._out += produced
        lim = self._limits
        if self._out > lim.max_layer_bytes:
            raise LayerLimitExceeded(f"{self._what}: decompresses past the {lim.max_layer_bytes:,}-byte layer limit")
        if self._out > lim.ratio_floor and self._out > lim.max_ratio * max(self._raw.bytes_read, 1):
            raise LayerLimitExceeded(
                f"{self._what}: decompression ratio over {lim.max_ratio}:1 after {self._out:,} bytes "
                f"(decompression bomb?)")

    def _fill_gzip(self, want: int) -> bytes:
        while True:
            if self._gz is None:
                data = self._pending or self._raw.read(CHUNK)
                self._pending = b""
                if not data:
                    return b""
                if data.strip(b"\0") == b"":
                    continue  # zero padding after the last member (some writers add it)
                if not data.startswith(GZIP_MAGIC[:len(data)]):
                    raise ArchiveError(f"{self._what}: data after the end of the gzip stream is not another member")
                self._gz = _zlib_impl.decompressobj(wbits=31)
            else:
                data = self._gz.unconsumed_tail or self._raw.read(CHUNK)
                if not data and not self._gz.eof:
                    raise ArchiveError(f"{self._what}: truncated gzip stream")
            try:
                out = self._gz.decompress(data, want)
            except Exception as e:  # zlib.error / isal_zlib.error
                raise ArchiveError(f"{self._what}: corrupt gzip data ({e})") from e
            if self._gz.eof:
                self._pending = self._gz.unused_data
                self._gz = None
            if out:
                return bytes(out)

    def read(self, n: int = -1, /) -> bytes:
        """Read up to `n` decompressed bytes."""
        want = CHUNK if n is None or n < 0 else max(n, 1)
        if self._kind == "gzip":
            out = self._fill_gzip(want)
        elif self._kind == "zstd":
            try:
                out = self._zs.read(want)
            except Exception as e:  # zstandard.ZstdError
                if isinstance(e, (DigestMismatch, ArchiveError)):
                    raise
                raise ArchiveError(f"{self._what}: corrupt zstd data ({e})") from e
        else:
            out = self._raw.read(want)
        self._check(len(out))
        return out


def sniff_compression(head: bytes) -> str:
    """``gzip``, ``zstd`` or ``none`` from a blob's first bytes."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


class _Prefixed:
    """A reader that returns `head` first, then the rest of `raw`."""

    def __init__(self, head: bytes, raw: Readable) -> None:
        self._head = head
        self._raw = raw

    def read(self, n: int = -1, /) -> bytes:
        if self._head:
            if n is None or n < 0 or n >= len(self._head):
                out, self._head = self._head, b""
                return out
            out, self._head = self._head[:n], self._head[n:]
            return out
        return self._raw.read(n)


class LayerStream:
    """The uncompressed tar stream of one layer, verified against the blob digest and the diff_id."""

    def __init__(self, raw: VerifyingReader, *, diff_id: Digest, what: str, limits: Limits) -> None:
        self.raw = raw
        """The compressed, digest-checked stream."""
        head = raw.read(4)
        self.compression = sniff_compression(head)
        """Detected compression (``gzip``, ``zstd``, ``none``)."""
        inflater = _Inflater(_PrefixedVerifying(raw, head), self.compression, what, limits)
        self.tar = VerifyingReader(inflater, digest=diff_id, size=None, what=f"{what} (diff_id {diff_id.short})")
        """The uncompressed stream, hashed against the diff_id."""

    def read(self, n: int = -1, /) -> bytes:
        """Read uncompressed bytes."""
        return self.tar.read(n)

    def finish(self) -> None:
        """Drain both streams to EOF so that both digests are checked; raises on mismatch."""
        self.tar.drain()
        self.raw.drain()


class _PrefixedVerifying(VerifyingReader):
    """Presents `head` (already read and hashed by `raw`) again, then defers to `raw`; no second hashing."""

    def __init__(self, raw: VerifyingReader, head: bytes) -> None:
        self._inner = raw
        self._prefixed = _Prefixed(head, raw)

    @property
    def bytes_read(self) -> int:
        return self._inner.bytes_read

    def read(self, n: int = -1, /) -> bytes:
        return self._prefixed.read(n)
