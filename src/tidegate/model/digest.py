"""Content digests as OCI defines them (`algorithm:encoded`), validated at the boundary.

    >>> parse_digest("sha256:" + "0" * 64).hex
    '000…'
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from tidegate.errors import ManifestError

# OCI image-spec descriptor.md "Digests": algorithm ":" encoded; we verify the registered algorithms.
_DIGEST_RE = re.compile(r"^(?P<algo>[a-z0-9]+(?:[.+_-][a-z0-9]+)*):(?P<hex>[a-zA-Z0-9=_-]+)$")
_HEX_LEN = {"sha256": 64, "sha512": 128}


@dataclass(frozen=True, slots=True)
class Digest:
    """A validated content digest."""

    algorithm: str
    """Hash algorithm name, ``sha256`` or ``sha512``."""
    hex: str
    """Lower-case hex encoding of the hash."""

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    def hasher(self) -> hashlib._Hash:
        """A fresh hashlib object of this digest's algorithm."""
        return hashlib.new(self.algorithm)

    @property
    def short(self) -> str:
        """``sha256:0123456789ab`` — enough to name a blob in a message."""
        return f"{self.algorithm}:{self.hex[:12]}"


def parse_digest(value: object, *, where: str = "digest") -> Digest:
    """Parse and validate ``algo:hex``; raise `ManifestError` naming `where` otherwise."""
    if not isinstance(value, str):
        raise ManifestError(f"{where}: expected a digest string, got {type(value).__name__}")
    m = _DIGEST_RE.match(value)
    if not m:
        raise ManifestError(f"{where}: malformed digest {value[:80]!r}")
    algo, hexpart = m.group("algo"), m.group("hex")
    want = _HEX_LEN.get(algo)
    if want is None:
        raise ManifestError(f"{where}: unsupported digest algorithm {algo!r}")
    if len(hexpart) != want or not re.fullmatch(r"[0-9a-f]+", hexpart):
        raise ManifestError(f"{where}: malformed {algo} digest {value[:80]!r}")
    return Digest(algo, hexpart)


def sha256_of(data: bytes) -> Digest:
    """The sha256 digest of `data`."""
    return Digest("sha256", hashlib.sha256(data).hexdigest())
