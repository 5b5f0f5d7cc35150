"""Maven versions, ordered as Maven's ``ComparableVersion`` orders them (through univers' port)::

    MavenVersionScheme().compare("1.0-SNAPSHOT", "1.0")   # -1
    MavenVersionScheme().compare("1.0-rc1", "1.0-sp1")    # -1

Qualifier order (https://maven.apache.org/pom.html#version-order-specification):
``alpha`` < ``beta`` < ``milestone`` < ``rc`` = ``cr`` < ``snapshot`` < ``""`` = ``final`` = ``ga`` =
``release`` < ``sp``; ``a1``/``b1``/``m1`` abbreviate ``alpha-1``/``beta-1``/``milestone-1``; trailing zeros
are dropped (``1.0`` = ``1``). univers' `maven.Version` hashes the raw string although ``1.0 == 1.0.0``, so
the key wraps it with a hash on the leading numbers instead.
"""

from __future__ import annotations

import functools
from typing import Any

from univers import maven as _maven

from tidegate.vulndb.versions._ordered import OrderedKey
from tidegate.vulndb.versions.base import InvalidVersion, VersionScheme


def _cmp(a: Any, b: Any) -> int:
    return int(a.__cmp__(b))


def _coarse(parsed: tuple[Any, ...]) -> tuple[int, ...]:
    lead: list[int] = []
    for item in parsed:
        if not isinstance(item, int):
            break
        lead.append(item)
    while lead and lead[-1] == 0:
        lead.pop()
    return tuple(lead)


@functools.lru_cache(maxsize=65536)
def _key(version: str) -> OrderedKey:
    if not version.strip():
        raise InvalidVersion("Maven version is empty")
    v = _maven.Version(version)  # type: ignore[no-untyped-call]
    return OrderedKey(v, _coarse(v._parsed), _cmp)


class MavenVersionScheme(VersionScheme):
    """Maven ComparableVersion ordering."""

    name = "maven"
    ecosystems = ("Maven",)
    purl_types = ("maven",)

    def key(self, version: str) -> Any:
        """A sortable, hashable key for `version` (ComparableVersion accepts any non-empty string)."""
        return _key(version)
