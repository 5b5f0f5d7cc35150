"""The error tree: every failure tidegate reports is a `TidegateError` with a one-line message.

Library code raises these; only ``tidegate.cli.main`` turns them into ``tidegate: error: …`` plus an exit code::

    raise DigestMismatch("layer 3 (sha256:ab12…): content hashes to sha256:cd34…")
"""

from __future__ import annotations


class TidegateError(Exception):
    """Root of every expected tidegate failure; `message` is one line saying what and where."""

    exit_code: int = 2
    """Process exit code the CLI uses for this error (2 = input or usage error)."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        """One line: what went wrong and where."""
        self.hint = hint
        """Optional one-line suggestion for the user."""

    def __str__(self) -> str:
        return self.message


class UsageError(TidegateError):
    """A bad command-line flag or value."""


class InvalidReference(TidegateError):
    """An image reference or transport string that does not parse."""


class ImageError(TidegateError):
    """Base for problems with an image's content or layout."""


class ArchiveError(ImageError):
    """An archive or layout that is missing, truncated or malformed."""


class BlobNotFound(ImageError):
    """A descriptor points at a blob that the source does not have."""


class DigestMismatch(ImageError):
    """Bytes whose digest does not equal the digest their descriptor declares."""


class SizeMismatch(DigestMismatch):
    """Bytes whose length does not equal the size their descriptor declares."""


class ManifestError(ImageError):
    """A manifest, index or config that is not valid JSON or violates its schema."""


class UnsupportedMediaType(ManifestError):
    """A media type tidegate does not handle (e.g. Docker schema 1)."""


class PlatformNotFound(ManifestError):
    """An image index without a manifest for the requested platform."""


class UnsafePath(ImageError):
    """A tar entry whose path or link would escape the image root."""


class LayerLimitExceeded(ImageError):
    """A layer or file that grows past a configured bound (e.g. a decompression bomb)."""


class RegistryError(TidegateError):
    """A registry that is unreachable or answers with an error."""


class AuthError(RegistryError):
    """A registry that refuses our credentials (or asks for ones we do not have)."""
