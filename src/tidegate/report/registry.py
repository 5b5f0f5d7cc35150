"""Every output format, listed once; CLI choices come from here.

Usage::

    fmt = get_format("spdx")          # ids and aliases both resolve
    fmt.render(sbom)
"""

from __future__ import annotations

from tidegate.errors import UsageError
from tidegate.report.base import Format
from tidegate.report.cyclonedx import CycloneDxJsonFormat, CycloneDxXmlFormat
from tidegate.report.json import JsonFormat
from tidegate.report.spdx import SpdxJsonFormat
from tidegate.report.table import TableFormat

FORMATS: tuple[type[Format], ...] = (
    TableFormat,
    JsonFormat,
    CycloneDxJsonFormat,
    CycloneDxXmlFormat,
    SpdxJsonFormat,
)
"""All formats, the default (``table``) first."""

DEFAULT_FORMAT = TableFormat.id
"""The format used when the user names none."""


def format_choices() -> tuple[str, ...]:
    """The ids users may pass to ``--format`` (aliases are accepted too but not advertised)."""
    return tuple(f.id for f in FORMATS)


def get_format(name: str) -> Format:
    """An instance of the format whose id or alias is `name` (case-insensitive); `UsageError` otherwise."""
    wanted = name.strip().lower()
    for cls in FORMATS:
        if wanted == cls.id or wanted in cls.aliases:
            return cls()
    raise UsageError(
        f"unknown output format {name!r}; choose one of: {', '.join(format_choices())}",
    )
