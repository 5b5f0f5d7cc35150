"""RPM versions ``[epoch:]version[-release]``, ordered as rpm's ``rpmvercmp`` / ``rpmverCmp`` order them::

    RpmVersionScheme().compare("1.0~rc1-1", "1.0-1")   # -1 (tilde sorts before the release)
    RpmVersionScheme().compare("1.0^git1", "1.0")      # 1  (caret sorts after it)

Ported from rpm's ``rpmio/rpmvercmp.c`` and ``rpmio/rpmver.c``: alphanumeric segments, separators ignored,
numbers newer than letters, ``~`` below the end of string, ``^`` above it but below any segment. univers'
`RpmVersion` gives the same order but its hash disagrees with its equality (``1.0`` == ``1_0`` with different
hashes), which a key must never do, so the segment walk is ported here and re-checked live against ``rpm``.

NOTE: rpm itself ignores the release when either side has none (``1.0`` == ``1.0-5``), which is not a total
order. Here a missing release sorts as the empty string (``1.0`` < ``1.0-1``), the total order closest to it.
"""

from __future__ import annotations

import functools
from typing import Any

from tidegate.vulndb.versions.base import InvalidVersion, VersionScheme

_TILDE = (0,)
_END = (1,)
_CARET = (2,)
_ALPHA = 3
_NUM = 4


def _isalnum(c: str) -> bool:
    return c.isascii() and c.isalnum()


def _segments(s: str) -> tuple[tuple[Any, ...], ...]:
    out: list[tuple[Any, ...]] = []
    i, n = 0, len(s)
    while True:
        while i < n and not (_isalnum(s[i]) or s[i] in "~^"):
            i += 1
        if i >= n:
            out.append(_END)
            return tuple(out)
        c = s[i]
        if c in "~^":
            out.append(_TILDE if c == "~" else _CARET)
            i += 1
            continue
        j = i
        if c.isdigit():
            while j < n and s[j].isascii() and s[j].isdigit():
                j += 1
            out.append((_NUM, int(s[i:j])))
        else:
            while j < n and s[j].isascii() and s[j].isalpha():
                j += 1
            out.append((_ALPHA, s[i:j]))
        i = j


@functools.lru_cache(maxsize=65536)
def _key(version: str) -> tuple[Any, ...]:
    v = version.strip()
    if not v:
        raise InvalidVersion("RPM version is empty")
    # rpmverParse: the epoch is the leading digits before ':', the release follows the last '-'.
    epoch = 0
    digits = len(v) - len(v.lstrip("0123456789"))
    if digits < len(v) and v[digits] == ":":
        epoch = int(v[:digits] or 0)
        v = v[digits + 1:]
    version_part, sep, release = v.rpartition("-")
    if not sep:
        version_part, release = v, ""
    if not version_part or (sep and not release):
        raise InvalidVersion(f"RPM version {version[:80]!r}: empty version or release")
    return (epoch, _segments(version_part), _segments(release))


class RpmVersionScheme(VersionScheme):
    """rpmvercmp ordering (epoch ``E:V-R``, ``~``, ``^``)."""

    name = "rpm"
    ecosystems = ("Red Hat", "AlmaLinux", "Rocky Linux", "openSUSE", "SUSE", "Mageia", "openEuler")
    purl_types = ("rpm",)

    def key(self, version: str) -> Any:
        """The rpmvercmp ordering key of `version`."""
        return _key(version)
