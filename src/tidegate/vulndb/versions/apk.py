"""Alpine/Wolfi/Chainguard package versions, ordered as apk-tools orders them::

    ApkVersionScheme().compare("1.2.3_rc1-r0", "1.2.3-r0")   # -1
    ApkVersionScheme().compare("1.2.3_git20200101", "1.2.3")  # 1

A port of apk-tools ``src/version.c`` (``get_token``/``next_token``/``apk_version_compare_blob``), the
Gentoo-style grammar ``{digit}{.digit}...{letter}{_suf{#}}...{-r#}``. The suffixes ``_alpha _beta _pre _rc``
sort before the plain release, ``_cvs _svn _git _hg _p`` after it. univers' `AlpineLinuxVersion` rejects the
valid ``_cvs``/``_svn``/``_git``/``_hg`` suffixes (and is unhashable), so the tokenizer is ported here.
"""

from __future__ import annotations

import functools
from typing import Any

from tidegate.vulndb.versions.base import InvalidVersion, VersionScheme

# apk-tools' token types, in its enum order (the order matters: see `_key`).
_INVALID, _DIGIT_OR_ZERO, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _REVISION_NO, _END = range(-1, 7)
_PRE_SUFFIXES = ("alpha", "beta", "pre", "rc")
_POST_SUFFIXES = ("cvs", "svn", "git", "hg", "p")


def _next_type(t: int, s: str, i: int) -> tuple[int, int]:
    """next_token(): the type of the token starting at `i` (after its separator) and its start."""
    if i >= len(s):
        return _END, i
    c = s[i]
    if t in (_DIGIT, _DIGIT_OR_ZERO) and "a" <= c <= "z":
        n = _LETTER
    elif t == _LETTER and c.isascii() and c.isdigit():
        n = _DIGIT
    elif t == _SUFFIX and c.isascii() and c.isdigit():
        n = _SUFFIX_NO
    else:
        n = _INVALID
        if c == ".":
            n = _DIGIT_OR_ZERO
        elif c == "_":
            n = _SUFFIX
        elif c == "-" and i + 1 < len(s) and s[i + 1] == "r":
            n = _REVISION_NO
            i += 1
        i += 1
    if n < t and not ((n == _DIGIT_OR_ZERO and t == _DIGIT) or (n == _SUFFIX and t == _SUFFIX_NO)
                      or (n == _DIGIT and t == _LETTER)):
        n = _INVALID
    return n, i


def _digits(s: str, i: int) -> int:
    j = i
    while j < len(s) and s[j].isascii() and s[j].isdigit():
        j += 1
    return j


@functools.lru_cache(maxsize=65536)
def _key(version: str) -> tuple[tuple[int, int], ...]:
    s = version.strip()
    if not s:
        raise InvalidVersion("apk version is empty")
    tokens: list[tuple[int, int]] = []
    t, i = _DIGIT, 0
    while t not in (_END, _INVALID):
        nt = _INVALID
        if t == _DIGIT_OR_ZERO and s[i] == "0":
            # Leading zeros after a dot: the run counts negatively and the rest is a plain number.
            j = i
            while j < len(s) and s[j] == "0":
                j += 1
            v, nt = -(j - i), _DIGIT
        elif t in (_DIGIT, _DIGIT_OR_ZERO, _SUFFIX_NO, _REVISION_NO):
            j = _digits(s, i)
            v = int(s[i:j] or 0)
        elif t == _LETTER:
            v, j = ord(s[i]), i + 1
        else:  # _SUFFIX
            pre = next((k for k, p in enumerate(_PRE_SUFFIXES) if s.startswith(p, i)), None)
            if pre is not None:
                v, j = pre - len(_PRE_SUFFIXES), i + len(_PRE_SUFFIXES[pre])
            else:
                post = next((k for k, p in enumerate(_POST_SUFFIXES) if s.startswith(p, i)), None)
                if post is None:
                    raise InvalidVersion(f"apk version {version[:80]!r}: unknown suffix")
                v, j = post, i + len(_POST_SUFFIXES[post])
        # apk_version_compare_blob compares token types before values, with one exception: a pre-release
        # suffix is older than whatever the other side has; otherwise the later token type is the older.
        rank = -100 if t == _SUFFIX and v < 0 else -t
        tokens.append((rank, v))
        if j >= len(s):
            t = _END
        elif nt != _INVALID:
            t, i = nt, j
        else:
            t, i = _next_type(t, s, j)
    if t == _INVALID:
        raise InvalidVersion(f"apk version {version[:80]!r}: not {{digit}}{{.digit}}…{{letter}}{{_suf}}…{{-r#}}")
    tokens.append((-_END, 0))
    return tuple(tokens)


class ApkVersionScheme(VersionScheme):
    """apk-tools version ordering (``_p``, ``_rc``, ``_alpha``, ``_git``, ``-rN``)."""

    name = "apk"
    ecosystems = ("Alpine", "Wolfi", "Chainguard")
    purl_types = ("apk",)

    def key(self, version: str) -> Any:
        """The apk ordering key of `version`; `InvalidVersion` where ``apk_version_validate`` fails."""
        return _key(version)
