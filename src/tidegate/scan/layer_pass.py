"""One streaming pass over one layer: index every entry, spool only claimed files, run their catalogers.

    result = scan_layer(stream, layer=LayerRef(3, diff_id, "RUN …"), dispatcher=d, limits=Limits())

Memory stays bounded: entries are metadata only; a claimed file is spooled once into a
`SpooledTemporaryFile` (RAM up to `SPOOL_RAM`, then our temp dir) and released after its catalogers ran.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from tidegate.catalog.base import Cataloger, CatalogOutput, FileInput
from tidegate.errors import ArchiveError, LayerLimitExceeded
from tidegate.image.blob import Limits
from tidegate.image.layer import TarEntry, walk_layer
from tidegate.model.distro import Distro
from tidegate.model.finding import CheckFinding, Unknown
from tidegate.model.location import Location
from tidegate.model.package import Package
from tidegate.scan.dispatch import Dispatcher

log = logging.getLogger(__name__)

SPOOL_RAM = 8 * 1024 * 1024
"""Claimed files up to this size stay in memory; larger ones go to tidegate's temp dir."""


class Readable(Protocol):
    """A stream with ``read(n)``."""

    def read(self, n: int = -1, /) -> bytes:
        """Read up to `n` bytes."""


class FileScanner(Protocol):
    """An analyzer that reads the content of (almost) every file of every layer: the secret scanner.

    Unlike a cataloger it claims files by content, not path, so the pass asks it about each regular file after
    reading `head_bytes`; a wanted file is streamed to `scan` once (never spooled just for it).
    """

    name: str
    """Stable id (``secret``); part of the cache key."""
    version: int
    """Bump when findings for the same bytes change."""
    head_bytes: int
    """Leading bytes `wants` needs (binary detection)."""

    def cache_ident(self) -> str:
        """Everything else that determines the findings (rule hash, size limit), for the cache key."""

    def wants(self, path: str, size: int, head: bytes) -> bool:
        """Whether to read this file."""

    def scan(self, location: Location, data: BinaryIO, size: int) -> list[CheckFinding]:
        """Findings in the file's bytes (`data` starts at offset 0, is read forward only)."""


class _HeadThen:
    """A forward-only stream: the already-read `head`, then the rest of `rest`."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0:
                out, self._head = self._head + self._rest.read(), b""
                return out
            out, self._head = self._head[:n], self._head[n:]
            return out
        return self._rest.read(n)


@dataclass(frozen=True, slots=True)
class LayerRef:
    """Identity of the layer being read."""

    index: int
    """0-based layer index."""
    diff_id: str
    """Uncompressed digest (verified)."""
    created_by: str | None
    """History step."""


@dataclass(frozen=True, slots=True)
class LayerResult:
    """Everything one layer contributes; cacheable by diff_id + cataloger versions + options."""

    index: int
    """0-based layer index."""
    diff_id: str
    """Uncompressed digest of the layer."""
    entries: tuple[TarEntry, ...]
    """Files, dirs, links and devices in archive order (a later duplicate wins)."""
    whiteouts: tuple[str, ...]
    """Paths this layer deletes from lower layers."""
    opaque_dirs: tuple[str, ...]
    """Directories whose lower-layer contents this layer hides."""
    packages: tuple[Package, ...]
    """Packages found in this layer's files."""
    distros: tuple[Distro, ...]
    """os-release files parsed in this layer (with `Distro.path`)."""
    unknowns: tuple[Unknown, ...]
    """What could not be cataloged here."""
    findings: tuple[CheckFinding, ...] = ()
    """Findings of the file scanners (secrets) in this layer's files, visible later or not."""


def _relocate(out: CatalogOutput, loc: Location) -> CatalogOutput:
    """The same output found at another path (a hard link to an already cataloged file)."""
    pkgs = tuple(dataclasses.replace(p, locations=(loc,) + p.locations[1:]) for p in out.packages)
    distro = dataclasses.replace(out.distro, path=loc.path) if out.distro else None
    return CatalogOutput(packages=pkgs, unknowns=out.unknowns, distro=distro)


def _run(c: Cataloger, fi: FileInput) -> CatalogOutput:
    try:
        return c.parse(fi)
    except Exception as e:
        log.debug("cataloger %s failed on %s", c.name, fi.location.path, exc_info=True)
        return CatalogOutput(unknowns=(Unknown(fi.location, f"{c.name} failed: {type(e).__name__}: {e}", c.name),))


def _scan_file(s: FileScanner, loc: Location, data: BinaryIO, size: int, unknowns: list[Unknown],
               what: str) -> list[CheckFinding]:
    try:
        return s.scan(loc, data, size)
    except (tarfile.TarError, EOFError) as e:
        raise ArchiveError(f"{what}: {loc.path}: truncated or corrupt file data ({e})") from e
    except Exception as e:
        log.debug("scanner %s failed on %s", s.name, loc.path, exc_info=True)
        unknowns.append(Unknown(loc, f"{s.name} failed: {type(e).__name__}: {e}", s.name))
        return []


def scan_layer(stream: Readable, *, layer: LayerRef, dispatcher: Dispatcher, limits: Limits,
               what: str, tmpdir: str | None = None, file_scanners: Sequence[FileScanner] = ()) -> LayerResult:
    """Read the layer's tar stream once and return its `LayerResult` (the caller verifies digests at EOF)."""
    findings: list[CheckFinding] = []
    entries: list[TarEntry] = []
    whiteouts: list[str] = []
    opaque: list[str] = []
    packages: list[Package] = []
    distros: list[Distro] = []
    unknowns: list[Unknown] = []
    outputs: dict[str, list[tuple[Cataloger, CatalogOutput]]] = {}
    kept: dict[str, tuple[Cataloger, list[FileInput]]] = {}
    kept_at: dict[int, tuple[str, int]] = {}
    # A tar may hold the same path twice; the later entry wins (as on extraction), so what an earlier copy
    # yielded is dropped at the end: `last` is each path's final entry number, `made_at` what was current.
    last: dict[str, int] = {}
    made_at: dict[int, int] = {}

    def loc(path: str) -> Location:
        return Location(path, layer.index, layer.diff_id, layer.created_by)

    def collect(c: Cataloger, out: CatalogOutput) -> None:
        for item in (*out.packages, *out.unknowns):
            made_at[id(item)] = last.get(_item_path(item) or "", -1)
        packages.extend(out.packages)
        unknowns.extend(out.unknowns)
        if out.distro is not None:
            d = out.distro if out.distro.path else dataclasses.replace(out.distro, path=path)
            made_at[id(d)] = last.get(d.path, -1)
            distros.append(d)

    for ordinal, (entry, tf, member) in enumerate(walk_layer(stream, what=what)):
        path = entry.path
        if entry.kind not in ("whiteout", "opaque"):
            last[path] = ordinal
            outputs.pop(path, None)
        if entry.kind == "whiteout":
            whiteouts.append(path)
            continue
        if entry.kind == "opaque":
            opaque.append(path)
            continue
        entries.append(entry)
        if len(entries) > limits.max_layer_entries:
            raise LayerLimitExceeded(f"{what}: more than {limits.max_layer_entries:,} entries in one layer")
        if entry.kind == "hardlink":
            _hardlink(entry, dispatcher, outputs, kept, loc(path), collect, unknowns)
            continue
        if entry.kind != "file":
            continue
        claimants = dispatcher.claimants(path)
        if not claimants and not file_scanners:
            continue
        f = tf.extractfile(member)
        if f is None:
            continue
        head_n = max([c.head_bytes for c in claimants] + [s.head_bytes for s in file_scanners], default=0)
        head = f.read(head_n) if head_n else b""
        claimants = [c for c in claimants if c.wants(path, entry.mode, entry.size, head)]
        wanting = [s for s in file_scanners if s.wants(path, entry.size, head)]
        if not claimants and not wanting:
            continue
        fits = [c for c in claimants if entry.size <= min(c.max_bytes, limits.max_file_spool_bytes)]
        for c in claimants:
            if c not in fits:
                unknowns.append(Unknown(loc(path), f"file is {entry.size:,} bytes, over {c.name}'s "
                                        f"{min(c.max_bytes, limits.max_file_spool_bytes):,}-byte limit", c.name))
        if not fits and len(wanting) == 1:
            # The common case for content scanners: stream the file through once, no spool.
            findings.extend(_scan_file(wanting[0], loc(path), _HeadThen(head, f), entry.size,  # type: ignore[arg-type]
                                       unknowns, what))
            continue
        if not fits and not wanting:
            continue
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_RAM, dir=tmpdir) as spool:
            spool.write(head)
            try:
                shutil.copyfileobj(f, spool, 1024 * 1024)
            except (tarfile.TarError, EOFError) as e:
                raise ArchiveError(f"{what}: {path}: truncated or corrupt file data ({e})") from e
            if spool.tell() != entry.size:
                unknowns.append(Unknown(loc(path), f"short read: {spool.tell():,} of {entry.size:,} bytes", "layer"))
                continue
            for sc in wanting:
                spool.seek(0)
                findings.extend(_scan_file(sc, loc(path), spool, entry.size, unknowns, what))  # type: ignore[arg-type]
            for c in fits:
                spool.seek(0)
                if c.needs_all_claimed:
                    data = io.BytesIO(spool.read())
                    fi = FileInput(loc(path), data, entry.size, entry.mode)
                    kept_at[id(fi)] = (path, ordinal)
                    kept.setdefault(c.name, (c, []))[1].append(fi)
                    continue
                out = _run(c, FileInput(loc(path), spool, entry.size, entry.mode))  # type: ignore[arg-type]
                collect(c, out)
                if out.packages or out.distro:
                    outputs.setdefault(path, []).append((c, out))
    superseded_files = {k for k, (p, n) in kept_at.items() if last.get(p) != n}
    for c, files in kept.values():
        files = [f for f in files if id(f) not in superseded_files]
        try:
            out = c.parse_all(files)
        except Exception as e:
            log.debug("cataloger %s failed on layer %d", c.name, layer.index, exc_info=True)
            out = CatalogOutput(unknowns=tuple(Unknown(f.location, f"{c.name} failed: {type(e).__name__}: {e}",
                                                       c.name) for f in files))
        collect(c, out)
    def current(item: object) -> bool:
        where = _item_path(item)
        # Items recorded straight into `unknowns` (a file over a size limit, a short read, a failed scanner)
        # have no `made_at`: they are about the entry being read, so they are current (the QA pass found
        # them dropped here, against the "reported, never dropped" rule).
        return where is None or made_at.get(id(item), last.get(where, -1)) == last.get(where, -1)

    return LayerResult(layer.index, layer.diff_id, tuple(entries), tuple(whiteouts), tuple(opaque),
                       tuple(p for p in packages if current(p)), tuple(d for d in distros if current(d)),
                       tuple(u for u in unknowns if current(u)),
                       tuple(sorted(findings, key=lambda x: x.sort_key)))


def _item_path(item: object) -> str | None:
    """The path an output item was read from (None for image-level items)."""
    if isinstance(item, Package):
        return item.locations[0].path if item.locations else None
    if isinstance(item, Unknown):
        return item.location.path if item.location else None
    if isinstance(item, Distro):
        return item.path or None
    return None


def _hardlink(entry: TarEntry, dispatcher: Dispatcher, outputs: dict[str, list[tuple[Cataloger, CatalogOutput]]],
              kept: dict[str, tuple[Cataloger, list[FileInput]]], where: Location, collect: object,
              unknowns: list[Unknown]) -> None:
    """A hard link shares its target's bytes: re-use what the target's catalogers found, at the link's path."""
    done = {c.name: out for c, out in outputs.get(entry.linkname, [])}
    for c in dispatcher.claimants(entry.path):
        target = next((f for f in kept.get(c.name, (c, []))[1] if f.location.path == entry.linkname), None)
        if target is not None:  # a multi-file cataloger: hand it the same bytes under the link's path
            kept[c.name][1].append(dataclasses.replace(target, location=where,
                                                       data=io.BytesIO(target.read_all())))
        elif c.name in done:
            collect(c, _relocate(done[c.name], where))  # type: ignore[operator]
        elif c.head_bytes == 0 and dispatcher.claimants(entry.linkname).count(c) == 0:
            unknowns.append(Unknown(where, f"hard link to {entry.linkname}, whose content {c.name} did not see", c.name))
