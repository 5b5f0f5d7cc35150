"""SemVer 2.0 versions (npm, crates.io, and the OSV ``SEMVER`` range type)::

    SemverVersionScheme().compare("1.0.0-rc.1", "1.0.0")      # -1
    SemverVersionScheme().compare("1.0.0+build.5", "1.0.0")   # 0: build metadata does not order
    semver_key("1.2.3")                                       # strict SemVer 2.0, no "v"

Precedence is section 11 of https://semver.org/spec/v2.0.0.html, which node-semver implements too. npm
versions may carry a leading ``v`` or ``=`` (node-semver's ``clean``/``parse`` accept them); the strict
`semver_key` used for OSV ``SEMVER`` events does not.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from tidegate.vulndb.versions.base import InvalidVersion, VersionScheme

# The regular expression suggested by semver.org ("Is there a suggested regular expression?").
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?",
    re.ASCII,
)

SemverKey = tuple[int, int, int, tuple[Any, ...]]
"""(major, minor, patch, prerelease key); a release sorts after all of its prereleases."""


def prerelease_key(prerelease: str) -> tuple[Any, ...]:
    """SemVer 11.3/11.4: no prerelease > any prerelease; numeric ids < alphanumeric ids; longer set wins."""
    if not prerelease:
        return (1,)
    return (0, *((0, int(p)) if p.isdigit() else (1, p) for p in prerelease.split(".")))


@functools.lru_cache(maxsize=65536)
def semver_key(version: str) -> SemverKey:
    """The precedence key of a strict SemVer 2.0 string; `InvalidVersion` otherwise."""
    m = _SEMVER.fullmatch(version)
    if m is None:
        raise InvalidVersion(f"not a SemVer 2.0 version: {version[:80]!r}")
    return (int(m[1]), int(m[2]), int(m[3]), prerelease_key(m[4] or ""))


class SemverVersionScheme(VersionScheme):
    """SemVer 2.0 precedence as node-semver applies it (prereleases; build metadata ignored)."""

    name = "semver"
    ecosystems = ("npm", "crates.io")
    purl_types = ("npm", "cargo")

    def key(self, version: str) -> Any:
        """The SemVer key; a leading ``v`` or ``=`` and surrounding blanks are dropped as node-semver does."""
        v = version.strip()
        if v[:1] == "=":
            v = v[1:].lstrip()
        if v[:1] in ("v", "V"):
            v = v[1:]
        return semver_key(v)
