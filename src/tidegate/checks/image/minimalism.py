"""The informational "minimalism" check: a full OS base (shell + package manager) vs distroless/minimal.

    findings = list(ImageMinimalismCheck().evaluate(image_target))   # TG-IMG-016, at most one

The finding's message carries the score the seed asks for: number of files, packages and total size. Only
binaries present in the squashed view count (a dpkg record without a dpkg binary is not a package manager an
attacker can use).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from tidegate.checks.base import ImageTarget, Rule
from tidegate.checks.image.common import (
    OS_PACKAGE_TYPES,
    REGULAR_KINDS,
    ImageCheck,
    file_location,
    find_file,
    human_size,
)
from tidegate.checks.image.rules import FULL_OS_BASE
from tidegate.model.finding import CheckFinding

SHELLS = ("/bin/sh", "/bin/bash", "/bin/dash", "/bin/ash", "/bin/zsh", "/bin/ksh", "/bin/busybox",
          "/usr/bin/sh", "/usr/bin/bash", "/usr/bin/dash", "/usr/bin/zsh", "/usr/bin/busybox")
"""Shell paths looked for (symlinks followed)."""

PACKAGE_MANAGERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("apt", ("/usr/bin/apt-get", "/usr/bin/apt")),
    ("dpkg", ("/usr/bin/dpkg", "/bin/dpkg")),
    ("apk", ("/sbin/apk", "/usr/sbin/apk", "/usr/bin/apk")),
    ("rpm", ("/usr/bin/rpm", "/bin/rpm")),
    ("yum", ("/usr/bin/yum",)),
    ("dnf", ("/usr/bin/dnf", "/usr/bin/dnf5")),
    ("microdnf", ("/usr/bin/microdnf",)),
    ("zypper", ("/usr/bin/zypper",)),
    ("pacman", ("/usr/bin/pacman",)),
)
"""Package managers and where their binaries live."""


@dataclass(frozen=True, slots=True)
class MinimalismScore:
    """How big and how general-purpose an image is."""

    shells: tuple[str, ...]
    """Shell paths present."""
    package_managers: tuple[str, ...]
    """Package managers present (``apt``, ``dpkg``)."""
    files: int
    """Regular files in the squashed view."""
    size: int
    """Their total size in bytes."""
    packages: int
    """Packages in the SBOM (every ecosystem)."""
    os_packages: int
    """Of which operating-system packages."""

    @property
    def full_os(self) -> bool:
        """A shell and a package manager are both present."""
        return bool(self.shells) and bool(self.package_managers)


def score(target: ImageTarget) -> MinimalismScore:
    """The minimalism score of `target`."""
    shells: list[str] = []
    seen: set[str] = set()
    for path in SHELLS:
        found = find_file(target, path)
        if found is not None and found[1] not in seen:  # /bin/sh and /usr/bin/sh → the same dash: list it once
            seen.add(found[1])
            shells.append(path)
    managers = tuple(name for name, paths in PACKAGE_MANAGERS if find_file(target, *paths) is not None)
    regular = [f for f in target.files.values() if f.kind in REGULAR_KINDS]
    return MinimalismScore(shells=tuple(shells), package_managers=managers, files=len(regular),
                           size=sum(f.size for f in regular), packages=len(target.packages),
                           os_packages=sum(1 for p in target.packages if p.type in OS_PACKAGE_TYPES))


class ImageMinimalismCheck(ImageCheck):
    """Reports a full OS base, with the image's minimalism score."""

    id: ClassVar[str] = "image-minimalism"
    """Stable check id."""
    version: ClassVar[int] = 1
    """Bump when findings for the same image change."""
    rules: ClassVar[tuple[Rule, ...]] = (FULL_OS_BASE,)
    """Rules reported."""

    def evaluate_image(self, target: ImageTarget) -> Iterable[CheckFinding]:
        """At most one finding: the image has a shell and a package manager."""
        s = score(target)
        if not s.full_os:
            return
        said = f"shell {', '.join(s.shells)}; package manager {', '.join(s.package_managers)}"
        yield FULL_OS_BASE.finding(
            f"full OS base ({said}): {s.files:,} files, {s.packages:,} packages ({s.os_packages:,} OS), "
            f"{human_size(s.size)}", location=file_location(target, s.shells[0]), target="image filesystem",
            evidence=said)
