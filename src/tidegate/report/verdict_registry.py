"""Every ``tidegate check`` output format, listed once; the CLI's ``--format`` choices come from here.

    get_verdict_format("junit").render(report)
"""

from __future__ import annotations

from tidegate.errors import UsageError
from tidegate.report.verdict import VerdictFormat
from tidegate.report.verdict_json import VerdictJsonFormat
from tidegate.report.verdict_junit import VerdictJunitFormat
from tidegate.report.verdict_sarif import VerdictSarifFormat
from tidegate.report.verdict_table import VerdictTableFormat

VERDICT_FORMATS: tuple[type[VerdictFormat], ...] = (
    VerdictTableFormat,
    VerdictJsonFormat,
    VerdictSarifFormat,
    VerdictJunitFormat,
)
"""Formats of ``tidegate check``, the default (``table``) first."""

DEFAULT_VERDICT_FORMAT = VerdictTableFormat.id
"""The format used when the user names none."""


def verdict_format_choices() -> tuple[str, ...]:
    """The ids users may pass to ``tidegate check --format``."""
    return tuple(f.id for f in VERDICT_FORMATS)


def get_verdict_format(name: str) -> VerdictFormat:
    """An instance of the format whose id or alias is `name` (case-insensitive); `UsageError` otherwise."""
    wanted = name.strip().lower()
    for cls in VERDICT_FORMATS:
        if wanted == cls.id or wanted in cls.aliases:
            return cls()
    raise UsageError(f"unknown output format {name!r} for check; choose one of: {', '.join(verdict_format_choices())}")


__all__ = ["DEFAULT_VERDICT_FORMAT", "VERDICT_FORMATS", "get_verdict_format", "verdict_format_choices"]
