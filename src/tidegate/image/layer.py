"""One layer's tar, walked once as a stream: normalised entries, whiteouts, opaque dirs, links, path safety.

    for entry in walk_layer(stream, what="layer 2"):
        if entry.kind == "file": ...

Whiteouts are *recorded* (image-spec layer.md "Whiteouts"), never applied here: ``.wh.NAME`` deletes NAME from
lower layers, ``.wh..wh..opq`` hides every lower entry of its directory. Applying them is
``tidegate.scan.apply``'s job. Paths are normalised to absolute form; a member whose name has a ``..`` component,
a hard link that does, or a symlink whose target climbs above the image root is refused (`UnsafePath`).
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from tidegate.errors import ArchiveError, LayerLimitExceeded, UnsafePath

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"

_KINDS = {
    tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file", tarfile.GNUTYPE_SPARSE: "file",
    tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink",
    tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo",
}


@dataclass(frozen=True, slots=True)
class TarEntry:
    """One tar member, normalised."""

    path: str
    """Absolute normalised path (``/usr/bin/perl``); for whiteouts, the path being deleted."""
    kind: str
    """``file``, ``dir``, ``symlink``, ``hardlink``, ``char``, ``block``, ``fifo``, ``whiteout``, ``opaque``."""
    mode: int
    """Permission bits including setuid/setgid/sticky (``0o4755``)."""
    uid: int
    """Owner uid."""
    gid: int
    """Owner gid."""
    size: int
    """Content size for regular files, else 0."""
    linkname: str = ""
    """Symlink target as stored, or the absolute normalised hard-link target."""


def normalize_member_path(name: str, what: str) -> str:
    """``./usr//bin/`` → ``/usr/bin``; a ``..`` component anywhere raises `UnsafePath`."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafePath(f"{what}: tar member {name[:200]!r} has a '..' component (path traversal)")
    if any("\0" in p for p in parts):
        raise UnsafePath(f"{what}: tar member {name[:200]!r} has a NUL byte")
    return "/" + "/".join(parts)


MAX_SYMLINK_HOPS = 40
"""Like Linux's MAXSYMLINKS: more hops than this is a loop."""


def resolve_in_root(path: str, link_of: Callable[[str], str | None], exists: Callable[[str], bool], *,
                    follow_last: bool = True) -> str | None:
    """`path` with symlinks in every component followed inside the image root, or None when it does not exist,
    loops or goes too deep.

    `link_of(p)` is the link target stored for `p` when `p` is a symlink (else None); `exists(p)` tells whether
    the final path is an entry. A missing intermediate component is taken as a directory (layer tars need not
    list parents); ``..`` never climbs above ``/``; relative targets resolve against the link's directory.
    """
    parts = [p for p in path.split("/") if p]
    done: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == ".":
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        cur = "/" + "/".join([*done, part])
        target = link_of(cur) if (parts or follow_last) else None
        if target is not None:
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                return None
            parts = [p for p in target.split("/") if p] + parts
            if target.startswith("/"):
                done = []
            continue
        done.append(part)
    out = "/" + "/".join(done)
    return out if exists(out) else None


def resolve_symlink_target(link_path: str, target: str) -> str | None:
    """Where `target` points when read from `link_path` inside the image root; None if it climbs above '/'."""
    base = [] if target.startswith("/") else [p for p in posixpath.dirname(link_path).split("/") if p]
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not base:
                return None
            base.pop()
        else:
            base.append(part)
    return "/" + "/".join(base)


class ForwardReader:
    """Makes a stream look seekable to `tarfile` as long as it only seeks forward (skips by reading).

    tarfile's stream mode (``r|``) re-slices its whole buffer on every header read; its random-access mode over
    this wrapper reads each byte once, in 1 MiB chunks, and serves headers from the chunk by offset.
    """

    CHUNK = 1024 * 1024
    MAX_READ = 16 * 1024 * 1024
    """tarfile reads a PAX / GNU long-name header whole; one larger than this is refused, not buffered."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._buf = b""
        self._off = 0
        self._pos = 0
        self.last_block = b""
        """The most recent 512-byte read: after tarfile stops, it tells a clean end from a corrupt header."""

    def _fill(self) -> bool:
        self._buf = self._raw.read(self.CHUNK)
        self._off = 0
        return bool(self._buf)

    def read(self, n: int = -1) -> bytes:
        """Read `n` bytes (fewer only at EOF), as tarfile expects of a file."""
        if n is None or n < 0 or n > self.MAX_READ:
            raise _HeaderTooLarge(n)
        if n == tarfile.BLOCKSIZE:
            self.last_block = self._read(n)
            return self.last_block
        return self._read(n)

    def _read(self, n: int) -> bytes:
        avail = len(self._buf) - self._off
        if n <= avail:
            out = self._buf[self._off:self._off + n]
            self._off += n
            self._pos += n
            return out
        parts = [self._buf[self._off:]]
        got = avail
        self._buf, self._off = b"", 0
        while got < n:
            chunk = self._raw.read(max(self.CHUNK, min(n - got, 16 * self.CHUNK)))
            if not chunk:
                break
            take = min(len(chunk), n - got)
            parts.append(chunk[:take] if take < len(chunk) else chunk)
            got += take
            if take < len(chunk):
                self._buf, self._off = chunk, take
        self._pos += got
        return b"".join(parts)

    def tell(self) -> int:
        """Current offset."""
        return self._pos

    def seek(self, pos: int, whence: int = 0) -> int:
        """Skip forward to `pos`; going backwards is a bug in the caller."""
        if whence == 1:
            pos += self._pos
        elif whence != 0:
            raise OSError("ForwardReader cannot seek from the end")
        if pos < self._pos:
            raise OSError(f"ForwardReader cannot seek backwards ({pos} < {self._pos})")
        skip = pos - self._pos
        while skip > 0:
            avail = len(self._buf) - self._off
            if avail == 0 and not self._fill():
                break
            step = min(skip, len(self._buf) - self._off)
            self._off += step
            self._pos += step
            skip -= step
        return self._pos


class _HeaderTooLarge(Exception):
    """A read larger than `ForwardReader.MAX_READ` (only tarfile's extended-header reads are that large)."""


def walk_layer(stream: Any, *, what: str) -> Iterator[tuple[TarEntry, tarfile.TarFile, tarfile.TarInfo]]:
    """Yield each member once, in archive order, with the tarfile (for `extractfile`) and the raw member.

    tarfile ends iteration quietly at a header it cannot parse; here that is an error (Go's archive/tar, which
    containerd uses, fails on it too), so nothing can hide behind a corrupt header.
    """
    reader = ForwardReader(stream)
    try:
        tf = tarfile.open(fileobj=reader, mode="r:")  # type: ignore[call-overload]  # noqa: SIM115
    except tarfile.ReadError as e:
        if reader.tell() == 0:
            return  # a zero-byte stream is an empty layer (Go's archive/tar reads it as no entries)
        raise ArchiveError(f"{what}: not a tar stream ({e})") from e
    except _HeaderTooLarge as e:
        raise LayerLimitExceeded(f"{what}: tar extended header over {ForwardReader.MAX_READ:,} bytes") from e
    try:
        while True:
            try:
                m = tf.next()
            except _HeaderTooLarge as e:
                raise LayerLimitExceeded(f"{what}: tar extended header (PAX or GNU long name) at offset "
                                         f"{tf.offset:,} is over {ForwardReader.MAX_READ:,} bytes") from e
            if m is None:
                last = reader.last_block
                if len(last) < tarfile.BLOCKSIZE:
                    raise ArchiveError(f"{what}: tar stream ends inside a header at offset {tf.offset:,}")
                if last.count(0) != tarfile.BLOCKSIZE:
                    raise ArchiveError(f"{what}: corrupt tar header at offset {tf.offset:,}")
                return
            tf.members.clear()  # tarfile keeps every TarInfo; we keep only our compact entries
            path = normalize_member_path(m.name, what)
            base = posixpath.basename(path)
            if base.startswith(WHITEOUT_PREFIX):
                parent = posixpath.dirname(path)
                if base == OPAQUE_MARKER:
                    yield TarEntry(parent, "opaque", 0, 0, 0, 0), tf, m
                elif base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
                    continue  # other AUFS metadata (.wh..wh.plnk, …): not part of the filesystem
                else:
                    name = base[len(WHITEOUT_PREFIX):]
                    if name in ("", ".", ".."):
                        raise UnsafePath(f"{what}: invalid whiteout {m.name[:200]!r} (names no file)")
                    yield TarEntry(posixpath.join(parent, name), "whiteout", 0, 0, 0, 0), tf, m
                continue
            kind = _KINDS.get(m.type, "other")
            linkname = ""
            if kind == "hardlink":
                linkname = normalize_member_path(m.linkname, what + " (hard link target)")
            elif kind == "symlink":
                linkname = m.linkname
                if resolve_symlink_target(path, linkname) is None:
                    raise UnsafePath(f"{what}: symlink {path} -> {linkname[:200]} points outside the image root")
            if path == "/" and kind != "dir":
                raise UnsafePath(f"{what}: tar member replaces the image root with a {kind}")
            yield TarEntry(path, kind, m.mode, m.uid, m.gid, m.size if kind == "file" else 0, linkname), tf, m
    except tarfile.TarError as e:
        raise ArchiveError(f"{what}: corrupt tar stream ({e})") from e
    except EOFError as e:
        raise ArchiveError(f"{what}: truncated tar stream") from e
