"""Renderers that turn a cataloged `Sbom` into bytes a person or another tool reads.

One module per format, each registered by one line in `tidegate.report.registry.FORMATS`::

    from tidegate.report import get_format
    data = get_format("cyclonedx-json").render(sbom)
"""

from __future__ import annotations

from tidegate.report.base import Format, InvalidReport
from tidegate.report.registry import FORMATS, format_choices, get_format

__all__ = ["FORMATS", "Format", "InvalidReport", "format_choices", "get_format"]
