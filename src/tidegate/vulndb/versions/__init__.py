"""Version schemes: one per ecosystem family, looked up by OSV ecosystem, scheme name or purl type::

    from tidegate.vulndb.versions import scheme_for_ecosystem
    scheme = scheme_for_ecosystem("Debian:12")        # the deb scheme
    scheme.compare("1:1.0~rc1-1", "1:1.0-1")           # -1
    scheme_for_ecosystem("Hackage") is None           # no scheme: the caller reports "not evaluated"

Adding a scheme is one module plus one entry in `SCHEMES`; nothing registers itself on import.
"""

from __future__ import annotations

from tidegate.vulndb.versions.apk import ApkVersionScheme
from tidegate.vulndb.versions.base import InvalidVersion, VersionScheme
from tidegate.vulndb.versions.deb import DebVersionScheme
from tidegate.vulndb.versions.gem import GemVersionScheme
from tidegate.vulndb.versions.go import GoVersionScheme
from tidegate.vulndb.versions.maven import MavenVersionScheme
from tidegate.vulndb.versions.pep440 import Pep440VersionScheme
from tidegate.vulndb.versions.rpm import RpmVersionScheme
from tidegate.vulndb.versions.semver import SemverVersionScheme

__all__ = [
    "SCHEMES",
    "InvalidVersion",
    "VersionScheme",
    "scheme_by_name",
    "scheme_for_ecosystem",
    "scheme_for_purl_type",
]

SCHEMES: tuple[type[VersionScheme], ...] = (
    DebVersionScheme,
    ApkVersionScheme,
    RpmVersionScheme,
    Pep440VersionScheme,
    SemverVersionScheme,
    GoVersionScheme,
    MavenVersionScheme,
    GemVersionScheme,
)
"""Every version scheme, in lookup order (the registry)."""

_INSTANCES = tuple(cls() for cls in SCHEMES)
_BY_NAME = {s.name: s for s in _INSTANCES}
_BY_ECOSYSTEM = {eco: s for s in _INSTANCES for eco in s.ecosystems}
_BY_PURL = {p: s for s in _INSTANCES for p in s.purl_types}


def scheme_for_ecosystem(ecosystem: str) -> VersionScheme | None:
    """The scheme of a full OSV ecosystem string (``Debian:12`` → deb), or None when we have none."""
    return _BY_ECOSYSTEM.get(ecosystem.split(":", 1)[0])


def scheme_by_name(name: str) -> VersionScheme | None:
    """The scheme with this stable `VersionScheme.name` (``deb``, ``pep440``), or None."""
    return _BY_NAME.get(name)


def scheme_for_purl_type(purl_type: str) -> VersionScheme | None:
    """The scheme for a purl type (``deb``, ``pypi``, ``golang``), or None."""
    return _BY_PURL.get(purl_type.lower())
