"""The version-scheme contract: one scheme per ecosystem family, each a total order over version strings.

    scheme = scheme_for_ecosystem("Debian:12")      # from tidegate.vulndb.versions
    scheme.compare("1:1.0~rc1-1", "1:1.0-1")         # -1
    scheme.key("2.31.0") < scheme.key("2.32.0")      # keys sort like versions

A scheme wraps a well-kept library (``univers``, ``packaging``); it never guesses: a string its ecosystem
cannot parse raises `InvalidVersion`, and the matcher reports the package as not evaluated.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from tidegate.errors import TidegateError


class InvalidVersion(TidegateError):
    """A version string the scheme cannot parse."""


class VersionScheme(ABC):
    """One versioning scheme (deb, apk, rpm, pep440, semver, go, maven, gem)."""

    name: ClassVar[str]
    """Stable id of the scheme (``deb``, ``pep440``)."""
    ecosystems: ClassVar[tuple[str, ...]]
    """OSV ecosystem base names that use it (``Debian``, ``Ubuntu``); the part before ``:``."""
    purl_types: ClassVar[tuple[str, ...]]
    """purl types whose versions it orders (``deb``)."""

    @abstractmethod
    def key(self, version: str) -> Any:
        """A totally ordered, hashable key for `version` (equal keys = equal versions); `InvalidVersion` if bad."""

    def compare(self, a: str, b: str) -> int:
        """-1, 0 or 1 as `a` is older than, equal to or newer than `b`."""
        ka, kb = self.key(a), self.key(b)
        return int((ka > kb) - (ka < kb))
