"""Helpers shared by the image checks: the `ImageCheck` base, symlink-aware path lookup, sizes.

    class MyCheck(ImageCheck):
        def evaluate_image(self, target: ImageTarget) -> Iterable[CheckFinding]: ...

    resolve_path(target.files, "/bin/sh")   # "/usr/bin/dash" in a merged-/usr Debian image
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterable, Mapping
from typing import ClassVar

from tidegate.checks.base import Check, ImageFile, ImageTarget, Target
from tidegate.image.layer import resolve_in_root
from tidegate.model.finding import CheckFinding
from tidegate.model.location import Location
from tidegate.model.package import Package

OS_PACKAGE_TYPES = frozenset({"deb", "apk", "rpm"})
"""purl types of operating-system packages."""

REGULAR_KINDS = frozenset({"file", "hardlink"})
"""`ImageFile.kind` values that are regular files."""



class ImageCheck(Check):
    """A check over an `ImageTarget`; subclasses implement `evaluate_image`."""

    target: ClassVar[Target] = Target.IMAGE
    """Image checks evaluate `ImageTarget`s."""

    def evaluate(self, target: object) -> Iterable[CheckFinding]:
        """Findings for `target`, which must be an `ImageTarget`."""
        if not isinstance(target, ImageTarget):
            raise TypeError(f"{type(self).__name__} evaluates an ImageTarget, got {type(target).__name__}")
        return list(self.evaluate_image(target))

    @abstractmethod
    def evaluate_image(self, target: ImageTarget) -> Iterable[CheckFinding]:
        """Findings for one image."""


def resolve_path(files: Mapping[str, ImageFile], path: str, *, follow_last: bool = True) -> str | None:
    """The path `path` names in the squashed view after following symlinks, None when it does not exist.

    Symlinks in every component are followed (``/bin`` → ``usr/bin`` in merged-/usr images), relative targets
    against the link's directory, absolute ones against the image root; loops and dangling links give None.
    """

    def link_of(p: str) -> str | None:
        entry = files.get(p)
        return entry.linkname if entry is not None and entry.kind == "symlink" else None

    return resolve_in_root(path, link_of, files.__contains__, follow_last=follow_last)


def find_file(target: ImageTarget, *paths: str) -> tuple[str, str] | None:
    """The first of `paths` that exists (symlinks followed) as ``(path asked, path resolved)``."""
    for path in paths:
        real = resolve_path(target.files, path)
        entry = target.files.get(real) if real is not None else None
        if real is not None and entry is not None and entry.kind != "dir":
            return path, real
    return None


def file_location(target: ImageTarget, path: str) -> Location | None:
    """`ImageTarget.location` of `path`, or of the entry it resolves to when `path` itself goes through links."""
    loc = target.location(path)
    if loc is not None:
        return loc
    real = resolve_path(target.files, path)
    return target.location(real) if real is not None else None


def os_packages(target: ImageTarget, names: Iterable[str]) -> list[Package]:
    """The operating-system packages of `target` named one of `names`, sorted by name."""
    wanted = set(names)
    return sorted((p for p in target.packages if p.type in OS_PACKAGE_TYPES and p.name in wanted),
                  key=lambda p: (p.name, p.version))


def human_size(n: int) -> str:
    """``1536`` → ``1.5 KiB``; bytes below 1 KiB stay exact (``512 B``)."""
    if n < 1024:
        return f"{n} B"
    size = n / 1024
    for unit in ("KiB", "MiB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"
