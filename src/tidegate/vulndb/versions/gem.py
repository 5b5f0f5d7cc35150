"""RubyGems versions, ordered as ``Gem::Version#<=>`` orders them (through univers' port)::

    GemVersionScheme().compare("1.0.a", "1.0")   # -1: a letter segment makes a prerelease
    GemVersionScheme().compare("1.0", "1")       # 0: trailing zero segments do not count

https://docs.ruby-lang.org/en/master/Gem/Version.html: segments split on ``.`` and at digit/letter changes;
a version with a letter is a prerelease and sorts before the release; ``-`` means ``.pre.``.
"""

from __future__ import annotations

import functools
from typing import Any

from univers import gem as _gem

from tidegate.vulndb.versions._ordered import OrderedKey
from tidegate.vulndb.versions.base import InvalidVersion, VersionScheme


def _cmp(a: Any, b: Any) -> int:
    return int(a.__cmp__(b))


@functools.lru_cache(maxsize=65536)
def _key(version: str) -> OrderedKey:
    # NOTE: Gem::Version treats "" as "0"; an empty version in a feed or SBOM is a defect, not version 0.
    if not version.strip():
        raise InvalidVersion("RubyGems version is empty")
    try:
        v = _gem.GemVersion(version)  # type: ignore[no-untyped-call]
    except _gem.InvalidVersionError as e:
        raise InvalidVersion(f"not a RubyGems version: {version[:80]!r}") from e
    return OrderedKey(v, v.canonical_segments, _cmp)


class GemVersionScheme(VersionScheme):
    """RubyGems ``Gem::Version`` ordering."""

    name = "gem"
    ecosystems = ("RubyGems",)
    purl_types = ("gem",)

    def key(self, version: str) -> Any:
        """A sortable, hashable key for `version`."""
        return _key(version)
