"""Checks of the squashed filesystem and the installed packages: SSH server, setuid/setgid, sudo, caches,
world-writable system paths.

    findings = list(ImageFilesCheck().evaluate(image_target))   # TG-IMG-011 … 015

Every finding about a file carries ``location=target.location(path)``: the layer that provides the visible
entry, its diff_id and the step that created it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from tidegate.checks.base import ImageFile, ImageTarget, Rule
from tidegate.checks.image.common import (
    REGULAR_KINDS,
    ImageCheck,
    file_location,
    find_file,
    human_size,
    os_packages,
)
from tidegate.checks.image.rules import (
    PACKAGE_CACHE_LEFT,
    SETUID_SETGID,
    SSH_SERVER_INSTALLED,
    SUDO_INSTALLED,
    WORLD_WRITABLE,
)
from tidegate.model.finding import CheckFinding, Severity
from tidegate.model.location import Location

FILES_TARGET = "image filesystem"
"""`CheckFinding.target` of file findings."""

SSH_SERVER_PACKAGES = ("openssh-server", "openssh-server-pam", "dropbear", "dropbear-bin", "tinyssh")
"""OS package names of SSH daemons (Debian, Alpine, RPM)."""
SSH_SERVER_PATHS = ("/usr/sbin/sshd", "/sbin/sshd", "/usr/sbin/dropbear", "/sbin/dropbear", "/usr/sbin/tinysshd")
"""Paths of SSH daemons (symlinks followed, so merged-/usr images match too)."""

SUDO_PACKAGES = ("sudo", "sudo-ldap", "sudo-rs")
"""OS package names of sudo."""
SUDO_PATHS = ("/usr/bin/sudo", "/bin/sudo", "/usr/local/bin/sudo")
"""Paths of the sudo binary."""

KNOWN_SETID = frozenset({
    # shadow / login / passwd
    "su", "passwd", "chfn", "chsh", "gpasswd", "newgrp", "chage", "expiry", "newuidmap", "newgidmap",
    # util-linux / mount / bsdutils
    "mount", "umount", "wall", "write", "bsd-write",
    # pam, iputils, fuse, openssh, cron, mail locking, dbus, sudo
    "unix_chkpwd", "ping", "ping6", "fusermount", "fusermount3", "ssh-keysign", "ssh-agent", "crontab",
    "dotlockfile", "dbus-daemon-launch-helper", "sudo",
})
"""setuid/setgid programs that distributions ship by design; reported LOW (Dockle CIS-DI-0008: INFO)."""
_SYSTEM_BIN = re.compile(r"^/(?:usr/)?(?:s?bin|lib|lib64|libexec)/")

_SYSTEM_DIRS = re.compile(r"^/(?:etc|usr|bin|sbin|boot|lib(?:32|64|x32)?|var/lib)(?:/|$)")


@dataclass(frozen=True, slots=True)
class CacheSpec:
    """A package-manager cache: which files belong to it."""

    name: str
    """What it is, for the message (``apt package lists``)."""
    directory: str
    """Where it lives, for the message."""
    pattern: re.Pattern[str]
    """Paths (regular files) that belong to it."""


CACHES: tuple[CacheSpec, ...] = (
    CacheSpec("apt package lists", "/var/lib/apt/lists",
              re.compile(r"^/var/lib/apt/lists/(?:.*/)?(?!lock$)[^/]+$")),
    CacheSpec("apt downloaded packages", "/var/cache/apt/archives",
              re.compile(r"^/var/cache/apt/archives/(?:partial/)?[^/]+\.deb$")),
    CacheSpec("apt binary caches", "/var/cache/apt", re.compile(r"^/var/cache/apt/[^/]+\.bin$")),
    CacheSpec("apk cache", "/var/cache/apk", re.compile(r"^/var/cache/apk/.+")),
    CacheSpec("yum/dnf cache", "/var/cache/{yum,dnf}", re.compile(r"^/var/cache/(?:yum|dnf)/.+")),
    CacheSpec("pip cache", "~/.cache/pip", re.compile(r"^(?:/root|/home/[^/]+)/\.cache/pip/.+")),
    CacheSpec("npm cache", "~/.npm/_cacache", re.compile(r"^(?:/root|/home/[^/]+)/\.npm/_cacache/.+")),
    CacheSpec("yarn cache", "~/.cache/yarn",
              re.compile(r"^(?:/usr/local/share|/root|/home/[^/]+)/\.cache/yarn/.+")),
)
"""The caches looked for, in report order."""


def _mode(f: ImageFile) -> str:
    return f"mode {f.mode & 0o7777:04o}, uid {f.uid}, gid {f.gid}"


class ImageFilesCheck(ImageCheck):
    """Files of the squashed view and installed packages."""

    id: ClassVar[str] = "image-files"
    """Stable check id."""
    version: ClassVar[int] = 1
    """Bump when findings for the same files change."""
    rules: ClassVar[tuple[Rule, ...]] = (SSH_SERVER_INSTALLED, SETUID_SETGID, SUDO_INSTALLED, PACKAGE_CACHE_LEFT,
                                         WORLD_WRITABLE)
    """Rules reported."""

    def evaluate_image(self, target: ImageTarget) -> Iterable[CheckFinding]:
        """Findings for the files and packages of `target`."""
        yield from self._installed(target, SSH_SERVER_INSTALLED, "SSH server", SSH_SERVER_PACKAGES,
                                   SSH_SERVER_PATHS)
        yield from self._installed(target, SUDO_INSTALLED, "sudo", SUDO_PACKAGES, SUDO_PATHS)
        paths = sorted(target.files)
        yield from self._setid(target, paths)
        yield from self._caches(target, paths)
        yield from self._world_writable(target, paths)

    def _installed(self, target: ImageTarget, rule: Rule, what: str, packages: tuple[str, ...],
                   paths: tuple[str, ...]) -> Iterable[CheckFinding]:
        pkgs = os_packages(target, packages)
        found = find_file(target, *paths)
        if not pkgs and found is None:
            return
        evidence = [f"package {p.name} {p.version}" for p in pkgs]
        location: Location | None = None
        if found is not None:
            asked, real = found
            evidence.append(asked if asked == real else f"{asked} -> {real}")
            location = file_location(target, asked)
        elif pkgs[0].locations:
            location = pkgs[0].locations[0]
        yield rule.finding(f"{what} is installed: {', '.join(evidence)}", location=location, target=FILES_TARGET,
                           evidence=", ".join(evidence))

    def _setid(self, target: ImageTarget, paths: list[str]) -> Iterable[CheckFinding]:
        for path in paths:
            f = target.files[path]
            if f.kind not in REGULAR_KINDS or not f.mode & 0o6000:
                continue
            bits = " and ".join(b for b, m in (("setuid", 0o4000), ("setgid", 0o2000)) if f.mode & m)
            known = path.rsplit("/", 1)[-1] in KNOWN_SETID and bool(_SYSTEM_BIN.match(path))
            note = ", shipped by the distribution by design" if known else ""
            yield SETUID_SETGID.finding(f"{bits} file {path} ({_mode(f)}){note}", location=target.location(path),
                                        target=FILES_TARGET, evidence=_mode(f),
                                        severity=Severity.LOW if known else None)

    def _caches(self, target: ImageTarget, paths: list[str]) -> Iterable[CheckFinding]:
        for spec in CACHES:
            members = [target.files[p] for p in paths
                       if target.files[p].kind in REGULAR_KINDS and spec.pattern.match(p)]
            total = sum(f.size for f in members)
            if not members or total == 0:
                continue
            largest = sorted(members, key=lambda f: (-f.size, f.path))
            layers = sorted({f.layer_index for f in members})
            layer_word = "layer" if len(layers) == 1 else "layers"
            yield PACKAGE_CACHE_LEFT.finding(
                f"{spec.name}: {len(members)} file{'s' if len(members) != 1 else ''}, {human_size(total)} "
                f"({total} bytes) left in {spec.directory} ({layer_word} {', '.join(map(str, layers))})",
                location=target.location(largest[0].path), target=FILES_TARGET,
                evidence=", ".join(f.path for f in largest[:3]))

    def _world_writable(self, target: ImageTarget, paths: list[str]) -> Iterable[CheckFinding]:
        for path in paths:
            f = target.files[path]
            if not _SYSTEM_DIRS.match(path) or f.kind == "symlink" or not f.mode & 0o002:
                continue
            if f.kind == "dir" and f.mode & 0o1000:
                continue  # sticky: others may create but not remove or rename what is not theirs
            kind = "directory" if f.kind == "dir" else "file"
            yield WORLD_WRITABLE.finding(f"world-writable {kind} {path} ({_mode(f)})",
                                         location=target.location(path), target=FILES_TARGET, evidence=_mode(f))
