"""Fake secrets for the tests, built at run time so the repository holds nothing that looks live.

Every value is pseudo-random from a fixed seed (entropy-positive but obviously generated) or a run of one letter.
"""

from __future__ import annotations

import random
import string

_ALNUM = string.ascii_letters + string.digits


def rand(n: int, seed: int, alphabet: str = _ALNUM) -> str:
    """`n` deterministic pseudo-random characters of `alphabet`."""
    rng = random.Random(seed)
    return "".join(rng.choice(alphabet) for _ in range(n))


def upper(n: int, seed: int) -> str:
    """`n` pseudo-random upper-case letters and digits (AWS key id body)."""
    return rand(n, seed, string.ascii_uppercase + string.digits)


def b64(n: int, seed: int) -> str:
    """`n` pseudo-random base64 characters."""
    return rand(n, seed, _ALNUM + "+/")
