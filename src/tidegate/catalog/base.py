"""The cataloger contract: declare the paths you need, parse one claimed file at a time.

A cataloger never does I/O of its own: the layer pass (``tidegate.scan.layer_pass``) reads each layer once,
asks every cataloger whether it claims a path, and hands claimed files to `Cataloger.parse`::

    class ApkDbCataloger(Cataloger):
        name = "apk-db"
        version = 1
        patterns = ("/lib/apk/db/installed",)

        def parse(self, file: FileInput) -> CatalogOutput:
            ...
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO, ClassVar

from tidegate.model.distro import Distro
from tidegate.model.finding import Unknown
from tidegate.model.location import Location
from tidegate.model.package import Package

MiB = 1024 * 1024
MAX_PACKAGES_PER_FILE = 100_000
"""A package database listing more entries than this is hostile (Debian's whole archive has ~65k source
packages): catalogers report it as an `Unknown` before building any package, so it costs bounded time."""


def too_many(location: Location, count: int, source: str) -> CatalogOutput:
    """The `Unknown` a cataloger returns for a database over `MAX_PACKAGES_PER_FILE` entries."""
    return CatalogOutput(unknowns=(Unknown(location, f"lists {count:,} entries, over the "
                                           f"{MAX_PACKAGES_PER_FILE:,}-package limit (not cataloged)", source),))


@dataclass(frozen=True, slots=True)
class FileInput:
    """A claimed regular file, spooled once from the layer stream; `data` is seekable and starts at 0."""

    location: Location
    """Where the file is (path, layer, diff_id, created_by)."""
    data: BinaryIO
    """The file's bytes: a seekable binary stream (memory for small files, our temp dir for large ones)."""
    size: int
    """Size in bytes."""
    mode: int
    """Permission bits from the tar header (``0o755``)."""

    def read_all(self) -> bytes:
        """The whole content (only call within the cataloger's `max_bytes`, which the layer pass enforces)."""
        self.data.seek(0)
        return self.data.read()

    def read_text(self) -> str:
        """The content decoded as UTF-8, with undecodable bytes replaced."""
        return self.read_all().decode("utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class CatalogOutput:
    """What one file yielded."""

    packages: tuple[Package, ...] = ()
    """Packages found in the file."""
    unknowns: tuple[Unknown, ...] = ()
    """Located problems: entries we could not parse, formats not supported yet."""
    distro: Distro | None = None
    """The OS release, for os-release catalogers."""


class Cataloger(ABC):
    """One ecosystem's reader. Register the class in ``tidegate.catalog.registry.CATALOGERS``."""

    name: ClassVar[str]
    """Stable kebab-case ID (``dpkg-status``); appears in output and cache keys."""
    version: ClassVar[int]
    """Bump whenever output for the same bytes changes: it invalidates per-layer caches."""
    patterns: ClassVar[tuple[str, ...]]
    """Globs over absolute image paths. ``*`` stays within a path segment, ``**/`` spans any number of
    directories (including none), ``**`` at the end matches anything."""
    max_bytes: ClassVar[int] = 32 * MiB
    """Larger claimed files are reported as an `Unknown` instead of being read."""
    head_bytes: ClassVar[int] = 0
    """How many leading bytes `wants` needs to decide (0 = decide on path and mode alone)."""

    needs_all_claimed: ClassVar[bool] = False
    """When True the layer pass keeps every claimed file of a layer (each within `max_bytes`) and calls
    `parse_all` once after the pass, for formats that span several files (a dist-info's METADATA + INSTALLER)."""

    def wants(self, path: str, mode: int, size: int, head: bytes) -> bool:
        """Refine a path claim by mode, size or leading bytes (e.g. an ELF magic). Default: claim."""
        return True

    @abstractmethod
    def parse(self, file: FileInput) -> CatalogOutput:
        """Parse one claimed file. Raise nothing for bad content: return `Unknown` entries instead."""

    def parse_all(self, files: Sequence[FileInput]) -> CatalogOutput:
        """Parse every claimed file of one layer together (only called when `needs_all_claimed`)."""
        outs = [self.parse(f) for f in files]
        return CatalogOutput(packages=tuple(p for o in outs for p in o.packages),
                             unknowns=tuple(u for o in outs for u in o.unknowns),
                             distro=next((o.distro for o in outs if o.distro), None))


_GLOB_TOKEN = re.compile(r"\*\*/|\*\*|\*|\?|\[[^\]]*\]|[^*?\[]+")


def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Compile one cataloger glob (see `Cataloger.patterns`) to an anchored regex over absolute paths."""
    if not pattern.startswith(("/", "**")):
        raise ValueError(f"cataloger pattern must be absolute or start with '**': {pattern!r}")
    out = []
    for tok in _GLOB_TOKEN.findall(pattern):
        if tok == "**/":
            out.append(r"(?:.*/)?")
        elif tok == "**":
            out.append(r".*")
        elif tok == "*":
            out.append(r"[^/]*")
        elif tok == "?":
            out.append(r"[^/]")
        elif tok.startswith("["):
            body = tok[1:-1]
            if body.startswith("!"):
                body = "^" + body[1:]
            out.append(f"[{body}]")
        else:
            out.append(re.escape(tok))
    return re.compile("".join(out) + r"\Z", re.DOTALL)
