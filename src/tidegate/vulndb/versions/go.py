"""Go module and Go toolchain versions, ordered as ``golang.org/x/mod/semver`` orders them::

    GoVersionScheme().compare("v1.2.3", "1.2.4")                                  # -1 ("v" optional)
    GoVersionScheme().compare("v0.0.0-20200101000000-abcdef123456", "v0.1.0")   # -1 (pseudo-version)
    go_to_semver("go1.22rc1")                                                   # "1.22.0-rc.1"

Go module versions are SemVer with a ``v`` prefix; x/mod/semver also accepts the shorthands ``v1`` and
``v1.2`` (= ``v1.0.0``, ``v1.2.0``) and ignores build metadata such as ``+incompatible``. Toolchain (stdlib)
versions ``go1.21``, ``go1.21.3``, ``go1.22rc1``, ``go1.22beta2`` are mapped the way the Go vulnerability
database maps them (x/vuln ``internal/semver.GoTagToSemver``): ``go1.21`` → ``1.21.0``, ``go1.22rc1`` →
``1.22.0-rc.1``; OSV records for ``stdlib``/``toolchain`` carry those SemVer strings.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from tidegate.vulndb.versions.base import InvalidVersion, VersionScheme
from tidegate.vulndb.versions.semver import prerelease_key, semver_key

_GO_TAG = re.compile(r"go(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?(?:\.(0|[1-9]\d*))?(?:(beta|rc)(\d+))?", re.ASCII)
_SHORT = re.compile(r"(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?", re.ASCII)


def go_to_semver(tag: str) -> str:
    """A Go toolchain tag as SemVer without ``v`` (``go1.21`` → ``1.21.0``); `InvalidVersion` if not one."""
    if tag == "go1":
        return "1.0.0"  # GoTagToSemver special case; "go1.0" was never a tag
    m = _GO_TAG.fullmatch(tag)
    if m is None or tag == "go1.0":
        raise InvalidVersion(f"not a Go toolchain version: {tag[:80]!r}")
    out = f"{m[1]}.{m[2] or 0}.{m[3] or 0}"
    return f"{out}-{m[4]}.{m[5]}" if m[4] else out


@functools.lru_cache(maxsize=65536)
def _key(version: str) -> Any:
    v = version.strip()
    if v.startswith("go"):
        return semver_key(go_to_semver(v))
    v = v.removeprefix("v")
    short = _SHORT.fullmatch(v)
    if short is not None:  # x/mod/semver: "v1" and "v1.2" are shorthand for v1.0.0 and v1.2.0
        return (int(short[1]), int(short[2] or 0), 0, prerelease_key(""))
    return semver_key(v)


class GoVersionScheme(VersionScheme):
    """x/mod/semver ordering, ``v`` optional, plus Go toolchain versions."""

    name = "go"
    ecosystems = ("Go",)
    purl_types = ("golang",)

    def key(self, version: str) -> Any:
        """The SemVer key of a Go module or toolchain version (same key space as `semver_key`)."""
        return _key(version)
