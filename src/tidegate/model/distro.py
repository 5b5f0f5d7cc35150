"""The operating system an image is built on, from os-release.

    Distro(id="debian", version_id="12", codename="bookworm", pretty_name="Debian GNU/Linux 12 (bookworm)")
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Distro:
    """Fields of os-release(5) that identify a distribution release."""

    id: str
    """``ID`` (``debian``, ``alpine``, ``rhel``)."""
    version_id: str = ""
    """``VERSION_ID`` (``12``, ``3.19.1``)."""
    codename: str = ""
    """``VERSION_CODENAME`` (``bookworm``)."""
    pretty_name: str = ""
    """``PRETTY_NAME``."""
    id_like: tuple[str, ...] = ()
    """``ID_LIKE`` entries."""
    path: str = ""
    """Where it was read (after following symlinks)."""
