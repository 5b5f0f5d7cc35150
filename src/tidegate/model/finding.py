"""Things tidegate could not do, reported instead of dropped (syft's "unknowns").

    Unknown(location=loc, reason="rpmdb in BerkeleyDB format is present but not supported yet", source="rpm-db")
"""

from __future__ import annotations

from dataclasses import dataclass

from tidegate.model.location import Location


@dataclass(frozen=True, slots=True)
class Unknown:
    """A located failure: a file we could not parse, a format we do not support yet."""

    location: Location | None
    """Where; None for image-level problems."""
    reason: str
    """One line saying what could not be done."""
    source: str
    """The cataloger or component that hit it."""
