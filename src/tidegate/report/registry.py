"""Every output format, listed once; CLI choices come from here.

Two families: SBOM formats (``tidegate sbom``, render a `Sbom`) and scan formats (``tidegate scan``, render a
`VulnReport`). Usage::

    fmt = get_format("spdx")          # ids and aliases both resolve
    fmt.render(sbom)
    get_scan_format("sarif").render(report)
"""

from __future__ import annotations

from typing import TypeVar

from tidegate.errors import UsageError
from tidegate.report.base import Format
from tidegate.report.cyclonedx import CycloneDxJsonFormat, CycloneDxXmlFormat
from tidegate.report.cyclonedx_vuln import CycloneDxVulnJsonFormat
from tidegate.report.html import HtmlFormat
from tidegate.report.json import JsonFormat
from tidegate.report.lint import LintFormat, LintJsonFormat, LintSarifFormat, LintTableFormat
from tidegate.report.sarif import SarifFormat
from tidegate.report.scan_base import ScanFormat
from tidegate.report.spdx import SpdxJsonFormat
from tidegate.report.table import TableFormat
from tidegate.report.vuln_json import VulnJsonFormat
from tidegate.report.vuln_table import VulnTableFormat

_F = TypeVar("_F", Format, ScanFormat, LintFormat)

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


def _lookup(registry: tuple[type[_F], ...], name: str, what: str) -> _F:
    wanted = name.strip().lower()
    for cls in registry:
        if wanted == cls.id or wanted in cls.aliases:
            return cls()
    choices = ", ".join(cls.id for cls in registry)
    raise UsageError(f"unknown output format {name!r}{what}; choose one of: {choices}")


def get_format(name: str) -> Format:
    """An instance of the format whose id or alias is `name` (case-insensitive); `UsageError` otherwise."""
    return _lookup(FORMATS, name, "")

SCAN_FORMATS: tuple[type[ScanFormat], ...] = (
    VulnTableFormat,
    VulnJsonFormat,
    SarifFormat,
    CycloneDxVulnJsonFormat,
    HtmlFormat,
)
"""Formats of ``tidegate scan``, the default (``table``) first."""

DEFAULT_SCAN_FORMAT = VulnTableFormat.id
"""The scan format used when the user names none."""


def scan_format_choices() -> tuple[str, ...]:
    """The ids users may pass to ``tidegate scan --format``."""
    return tuple(f.id for f in SCAN_FORMATS)


def get_scan_format(name: str) -> ScanFormat:
    """An instance of the scan format whose id or alias is `name` (case-insensitive); `UsageError` otherwise."""
    return _lookup(SCAN_FORMATS, name, " for scan")


LINT_FORMATS: tuple[type[LintFormat], ...] = (
    LintTableFormat,
    LintJsonFormat,
    LintSarifFormat,
)
"""Formats of ``tidegate lint``, the default (``table``) first."""


def get_lint_format(name: str) -> LintFormat:
    """An instance of the lint format whose id or alias is `name`; `UsageError` otherwise."""
    return _lookup(LINT_FORMATS, name, " for lint")
