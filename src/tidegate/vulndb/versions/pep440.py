"""PyPI versions, ordered by PEP 440 through `packaging.version` (the reference implementation)::

    Pep440VersionScheme().compare("2.0rc1", "2.0")   # -1
"""

from __future__ import annotations

import functools
from typing import Any

from packaging.version import InvalidVersion as _PackagingInvalid
from packaging.version import Version

from tidegate.vulndb.versions.base import InvalidVersion, VersionScheme


@functools.lru_cache(maxsize=65536)
def _key(version: str) -> Version:
    try:
        return Version(version)
    except _PackagingInvalid as e:
        raise InvalidVersion(f"not a PEP 440 version: {version[:80]!r}") from e


class Pep440VersionScheme(VersionScheme):
    """PEP 440 ordering (epochs, pre/post/dev releases, local versions)."""

    name = "pep440"
    ecosystems = ("PyPI",)
    purl_types = ("pypi",)

    def key(self, version: str) -> Any:
        """A `packaging.version.Version` (hashable; ``1.0 == 1.0.0``)."""
        return _key(version)
