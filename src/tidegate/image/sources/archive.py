"""Random access to members of a tar archive (OCI archive, docker archive) without extracting it.

    with TarArchive("image.oci.tar") as tar:
        data = tar.read_small("index.json", limit=4 << 20)
        stream = tar.open("blobs/sha256/ab…")
"""

from __future__ import annotations

import io
import os
import posixpath
import stat
import tarfile
from typing import IO, Any

from tidegate.errors import ArchiveError, BlobNotFound, LayerLimitExceeded


def norm_member(name: str) -> str:
    """Normalise an archive member name (``./blobs//x`` → ``blobs/x``)."""
    return posixpath.normpath(name.lstrip("/")).removeprefix("./")


class TarArchive:
    """An uncompressed tar file whose member table is read once; members are served as streams."""

    def __init__(self, path: str, *, what: str) -> None:
        self.path = path
        """Path of the archive on disk."""
        self.what = what
        """Name used in messages."""
        try:
            st = os.stat(path)
        except OSError as e:
            raise ArchiveError(f"{what}: {e.strerror.lower() if e.strerror else e}") from e
        if stat.S_ISDIR(st.st_mode):
            raise ArchiveError(f"{what}: is a directory, expected a tar archive (use oci:DIR for a layout)")
        if not stat.S_ISREG(st.st_mode):
            raise ArchiveError(f"{what}: not a regular file (a FIFO or device cannot be an archive)")
        try:
            self._tar = tarfile.open(path, mode="r:")  # noqa: SIM115 - closed in close()
            self._members: dict[str, tarfile.TarInfo] = {}
            for m in self._tar:
                self._members[norm_member(m.name)] = m
            end = self._tar.offset
        except (tarfile.TarError, OSError, EOFError) as e:
            raise ArchiveError(f"{what}: not a readable tar archive ({e})") from e
        if not self._members:
            raise ArchiveError(f"{what}: empty or truncated archive")
        # tarfile stops quietly at a header it cannot parse: make that an error instead of a shorter archive.
        with open(path, "rb") as f:
            f.seek(end)
            block = f.read(tarfile.BLOCKSIZE)
        if block and (len(block) < tarfile.BLOCKSIZE or block.count(0) != tarfile.BLOCKSIZE):
            raise ArchiveError(f"{what}: corrupt or truncated tar header at offset {end:,}")

    def has(self, name: str) -> bool:
        """True when the archive has a member `name`."""
        return norm_member(name) in self._members

    def size(self, name: str) -> int:
        """Size of member `name`."""
        return self._member(name).size

    def _member(self, name: str) -> tarfile.TarInfo:
        m = self._members.get(norm_member(name))
        if m is None:
            raise BlobNotFound(f"{self.what}: missing {name}")
        # Follow symlinks and hard links inside the archive (docker save writes <id>/layer.tar links).
        hops = 0
        while m.issym() or m.islnk():
            hops += 1
            target = m.linkname if m.islnk() else posixpath.join(posixpath.dirname(m.name), m.linkname)
            nxt = self._members.get(norm_member(target))
            if nxt is None or hops > 8:
                raise BlobNotFound(f"{self.what}: {name} links to missing {m.linkname}")
            m = nxt
        if not m.isreg():
            raise ArchiveError(f"{self.what}: {name} is not a regular file")
        return m

    def open(self, name: str) -> IO[bytes]:
        """A stream over member `name`, on its own file handle (so layers can be read concurrently)."""
        m = self._member(name)
        if m.issparse():
            raise ArchiveError(f"{self.what}: {name} is a sparse archive member")
        return io.BufferedReader(_MemberReader(self.path, m.offset_data, m.size), buffer_size=1 << 20)

    def read_small(self, name: str, *, limit: int) -> bytes:
        """The whole member, refusing members over `limit` bytes."""
        m = self._member(name)
        if m.size > limit:
            raise LayerLimitExceeded(f"{self.what}: {name} is {m.size:,} bytes, over the {limit:,}-byte limit")
        with self.open(name) as f:
            data = f.read()
        if len(data) != m.size:
            raise ArchiveError(f"{self.what}: {name} is truncated")
        return data

    def names(self) -> list[str]:
        """All member names."""
        return list(self._members)

    def close(self) -> None:
        """Close the archive file."""
        self._tar.close()


class _MemberReader(io.RawIOBase):
    """Reads `size` bytes at `offset` of a file, with a private handle; a short file reads short (→ SizeMismatch)."""

    def __init__(self, path: str, offset: int, size: int) -> None:
        super().__init__()
        self._f = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._f.seek(offset)
        self._left = size

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1, /) -> bytes:
        if n is None or n < 0 or n > self._left:
            n = self._left
        data = self._f.read(n) if n else b""
        self._left -= len(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()
