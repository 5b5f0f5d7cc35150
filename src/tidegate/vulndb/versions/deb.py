"""Debian/Ubuntu package versions, ordered exactly as ``dpkg --compare-versions`` orders them::

    DebVersionScheme().compare("1:1.0~rc1-1", "1:1.0-1")   # -1

The key is a port of dpkg's ``verrevcmp`` (lib/dpkg/version.c) and ``parseversion`` (lib/dpkg/parsehelp.c):
``[epoch:]upstream[-revision]``; ``~`` sorts before everything, even the end of the string. univers'
`DebianVersion` orders these cases correctly, but its objects are not cheap tuple keys, so the (short,
well-specified) dpkg algorithm is ported here and re-checked live against ``dpkg`` by the tests.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from tidegate.vulndb.versions.base import InvalidVersion, VersionScheme

_UPSTREAM = re.compile(r"[A-Za-z0-9.+~:-]+")
_REVISION = re.compile(r"[A-Za-z0-9.+~]+")
_PART = re.compile(r"(\D*)(\d*)")
_INT_MAX = 2**31 - 1
_END = ((0,), 0)


def _weight(c: str) -> int:
    # dpkg order(): letters by code, '~' below the end of string, other symbols after all letters.
    if c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _verrev_key(s: str) -> tuple[tuple[tuple[int, ...], int], ...]:
    """Alternating (non-digit weights + end marker, number) pairs; trailing empty pairs dropped."""
    parts = [(tuple(_weight(c) for c in nd) + (0,), int(d or 0)) for nd, d in _PART.findall(s) if nd or d]
    while parts and parts[-1] == _END:
        parts.pop()
    # NOTE: the sentinel stands for dpkg's implicit padding (end of string = weight 0, number 0); every
    # pair after the first starts with a non-digit of weight != 0, so the sentinel decides against it
    # exactly as the padding would.
    return (*parts, _END)


@functools.lru_cache(maxsize=65536)
def _key(version: str) -> tuple[Any, ...]:
    v = version.strip()
    if not v:
        raise InvalidVersion("Debian version is empty")
    epoch = 0
    if ":" in v:
        head, v = v.split(":", 1)
        if not head.isdigit() or not head.isascii():
            raise InvalidVersion(f"Debian version {version[:80]!r}: epoch is not a number")
        epoch = int(head)
        if epoch > _INT_MAX:
            raise InvalidVersion(f"Debian version {version[:80]!r}: epoch is too big")
        if not v:
            raise InvalidVersion(f"Debian version {version[:80]!r}: nothing after the epoch colon")
    revision = ""
    if "-" in v:
        v, revision = v.rsplit("-", 1)
        if not revision:
            raise InvalidVersion(f"Debian version {version[:80]!r}: revision is empty")
        if not _REVISION.fullmatch(revision) or not revision.isascii():
            raise InvalidVersion(f"Debian version {version[:80]!r}: invalid character in revision")
    if not v:
        raise InvalidVersion(f"Debian version {version[:80]!r}: upstream version is empty")
    if not _UPSTREAM.fullmatch(v) or not v.isascii():
        raise InvalidVersion(f"Debian version {version[:80]!r}: invalid character in version")
    return (epoch, _verrev_key(v), _verrev_key(revision))


class DebVersionScheme(VersionScheme):
    """dpkg version ordering (epochs, ``~``, revisions)."""

    name = "deb"
    ecosystems = ("Debian", "Ubuntu")
    purl_types = ("deb",)

    def key(self, version: str) -> Any:
        """The dpkg ordering key of `version`; `InvalidVersion` where dpkg reports bad syntax."""
        return _key(version)
