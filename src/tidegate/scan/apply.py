"""Merge per-layer results bottom-up into the squashed view, then keep what that view still shows.

    fs = ImageFilesystem.from_layers(layer_results)
    fs.exists("/app/config/.env")            # False: deleted by a whiteout in a later layer
    fs.history("/app/config/.env")           # [(4, 'file'), (5, 'whiteout')]

Rules (image-spec layer.md "Applying Changesets"): a whiteout deletes a path and everything below it from lower
layers; an opaque marker deletes everything below its directory from lower layers; an entry replaces the same
path from lower layers, and a non-directory also hides a lower directory's subtree. A package is in the SBOM
when the file it was read from is in the squashed view *from the same layer*.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tidegate.catalog.base import Cataloger
from tidegate.image.layer import TarEntry, resolve_in_root
from tidegate.model.distro import Distro
from tidegate.model.finding import Unknown
from tidegate.model.location import Location
from tidegate.model.package import Package
from tidegate.scan.layer_pass import LayerResult


@dataclass(frozen=True, slots=True)
class FileRecord:
    """A path in the squashed view: the entry and the layer that provides it."""

    layer_index: int
    """The layer whose entry is visible."""
    entry: TarEntry
    """The visible tar entry."""


def _has_children(sorted_keys: list[str], path: str) -> bool:
    prefix = path.rstrip("/") + "/"
    i = bisect.bisect_left(sorted_keys, prefix)
    return i < len(sorted_keys) and sorted_keys[i].startswith(prefix)


def _delete_subtree(view: dict[str, FileRecord], roots: Iterable[str], *, keep_root: bool) -> None:
    roots = [r for r in roots]
    if not roots:
        return
    keys = sorted(view)
    for root in roots:
        if not keep_root:
            view.pop(root, None)
        prefix = "/" if root == "/" else root + "/"
        lo = bisect.bisect_left(keys, prefix)
        hi = bisect.bisect_left(keys, prefix[:-1] + chr(ord("/") + 1)) if prefix != "/" else len(keys)
        for k in keys[lo:hi]:
            view.pop(k, None)


class ImageFilesystem:
    """The squashed view plus every layer's own index (syft's squashed and all-layers resolvers)."""

    def __init__(self, layers: Sequence[LayerResult]) -> None:
        self.layers = tuple(layers)
        """Per-layer results, bottom first."""
        view: dict[str, FileRecord] = {}
        for layer in self.layers:
            # Deletions apply to lower layers only, so they run before this layer's own entries are added.
            _delete_subtree(view, layer.opaque_dirs, keep_root=True)
            _delete_subtree(view, layer.whiteouts, keep_root=False)
            # A non-directory hides whatever lower layers had below its path, whether they listed the directory
            # or only implied it by a child's path (tars need not list parents).
            keys = sorted(view)
            replaced_dirs = [e.path for e in layer.entries if e.kind != "dir" and _has_children(keys, e.path)]
            _delete_subtree(view, replaced_dirs, keep_root=False)
            for e in layer.entries:
                view[e.path] = FileRecord(layer.index, e)
        self.squashed = view
        """Path → visible record."""

    def get(self, path: str) -> FileRecord | None:
        """The visible record at `path` (no symlink following)."""
        return self.squashed.get(path)

    def exists(self, path: str) -> bool:
        """True when `path` (following symlinks) is in the squashed view."""
        return self.resolve(path) is not None

    def resolve(self, path: str) -> str | None:
        """Follow symlinks (in every component) inside the image root; None if missing, a loop or too deep."""

        def link_of(p: str) -> str | None:
            rec = self.squashed.get(p)
            return rec.entry.linkname if rec is not None and rec.entry.kind == "symlink" else None

        return resolve_in_root(path, link_of, lambda p: p == "/" or p in self.squashed)

    def layer_paths(self, index: int) -> dict[str, TarEntry]:
        """Path → entry as layer `index` itself recorded it (deleted files included)."""
        return {e.path: e for e in self.layers[index].entries}

    def history(self, path: str) -> list[tuple[int, str]]:
        """Every layer that touched `path`: (layer index, ``file``/``dir``/…/``whiteout``/``opaque-hidden``)."""
        out: list[tuple[int, str]] = []
        for layer in self.layers:
            if path in layer.whiteouts or any(path.startswith(w + "/") for w in layer.whiteouts):
                out.append((layer.index, "whiteout"))
            elif any(path.startswith(o.rstrip("/") + "/") for o in layer.opaque_dirs) and out:
                out.append((layer.index, "opaque-hidden"))
            for e in layer.entries:
                if e.path == path:
                    out.append((layer.index, e.kind))
        return out

    def is_visible(self, path: str, layer_index: int) -> bool:
        """True when the file `path` as written by `layer_index` is what the squashed view shows."""
        rec = self.squashed.get(path)
        return rec is not None and rec.layer_index == layer_index and rec.entry.kind in ("file", "hardlink")

    def hidden_files(self) -> list[tuple[str, int]]:
        """Regular files present in some layer but not visible (deleted or replaced later)."""
        return [(e.path, layer.index) for layer in self.layers for e in layer.entries
                if e.kind == "file" and not self.is_visible(e.path, layer.index)]


def visible_packages(fs: ImageFilesystem) -> list[Package]:
    """Packages whose evidence file is visible from the layer that carried it."""
    return [p for layer in fs.layers for p in layer.packages
            if p.locations and fs.is_visible(p.locations[0].path, p.locations[0].layer_index)]


def visible_unknowns(fs: ImageFilesystem) -> list[Unknown]:
    """Unknowns whose location is still visible (or image-level ones)."""
    return [u for layer in fs.layers for u in layer.unknowns
            if u.location is None or fs.is_visible(u.location.path, u.location.layer_index)]


def find_distro(fs: ImageFilesystem) -> Distro | None:
    """os-release per os-release(5): ``/etc/os-release``, else ``/usr/lib/os-release``, symlinks followed."""
    for candidate in ("/etc/os-release", "/usr/lib/os-release"):
        real = fs.resolve(candidate)
        if real is None:
            continue
        rec = fs.get(real)
        if rec is None or rec.entry.kind not in ("file", "hardlink"):
            continue
        for d in fs.layers[rec.layer_index].distros:
            if d.path == real:
                return d
    return None



def unread_symlinked_claims(fs: ImageFilesystem, catalogers: Sequence[Cataloger]) -> list[Unknown]:
    """Fixed paths a cataloger wants (``/var/lib/dpkg/status``) that resolve through a symlink to a file the
    single pass did not hand it: reported, never silently missing."""
    out: list[Unknown] = []
    for c in catalogers:
        for pattern in c.patterns:
            if any(ch in pattern for ch in "*?["):
                continue
            real = fs.resolve(pattern)
            if real is None or real == pattern:
                continue
            rec = fs.get(real)
            if rec is None or rec.entry.kind not in ("file", "hardlink"):
                continue
            layer = fs.layers[rec.layer_index]
            seen = any(p.cataloger == c.name and p.locations and p.locations[0].path == real for p in layer.packages) \
                or any(d.path == real for d in layer.distros) \
                or any(u.source == c.name and u.location is not None and u.location.path == real for u in layer.unknowns)
            if seen:
                continue
            link = fs.get(pattern) or rec
            where = Location(pattern, link.layer_index, fs.layers[link.layer_index].diff_id)
            out.append(Unknown(where, f"{pattern} resolves through a symlink to {real}, which {c.name} did not read "
                                      "(package databases behind symlinks are not followed yet)", c.name))
    return out
