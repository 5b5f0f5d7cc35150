"""Output formats of ``tidegate lint``: table (default), JSON and SARIF, listed in `LINT_FORMATS`.

    get_lint_format("sarif").render(report)     # GitHub code scanning annotates the Dockerfile lines
"""

from __future__ import annotations

import io
import json
from abc import ABC, abstractmethod
from collections import Counter
from typing import ClassVar

from rich.console import Console

from tidegate.model.finding import Severity
from tidegate.model.report import LintReport
from tidegate.report.base import TOOL_NAME
from tidegate.report.checks_common import CheckWire, check_table, sarif_run_parts
from tidegate.report.sarif import INFORMATION_URI, SARIF_SCHEMA_URI, SARIF_VERSION

LINT_SCHEMA_VERSION = "1"
"""``schemaVersion`` of the lint JSON."""


class LintFormat(ABC):
    """One output format of ``tidegate lint``."""

    id: ClassVar[str]
    """The name users type on ``--format``."""
    aliases: ClassVar[tuple[str, ...]] = ()
    """Other accepted names."""
    media_type: ClassVar[str]
    """IANA media type of the rendered bytes."""
    description: ClassVar[str]
    """One line for ``--help``."""

    @abstractmethod
    def render(self, report: LintReport, *, color: bool = False) -> bytes:
        """Render `report`."""


def _version() -> str:
    from tidegate import __version__

    return __version__


class LintTableFormat(LintFormat):
    """Findings as a terminal table, most severe first, with a summary and the verdict."""

    id = "table"
    aliases = ("text",)
    media_type = "text/plain; charset=utf-8"
    description = "human-readable table (default)"

    def render(self, report: LintReport, *, color: bool = False) -> bytes:
        """Render the table, summary, suppressed count, errors and verdict."""
        console = Console(file=io.StringIO(), width=200, color_system="standard" if color else None,
                          force_terminal=color, highlight=False, emoji=False, markup=False, soft_wrap=True)
        active = report.active
        if active:
            console.print(check_table(active, color=color, layer_steps=False), soft_wrap=False)
            console.print()
        counts = Counter(f.severity for f in active)
        parts = ", ".join(f"{s.value}: {counts.get(s, 0)}" for s in Severity)
        console.print(f"{len(report.files)} file{'s' if len(report.files) != 1 else ''} checked; "
                      f"Total: {len(active)} ({parts})")
        if len(report.findings) > len(active):
            console.print(f"{len(report.findings) - len(active)} suppressed (tidegate:ignore comments or the "
                          f"ignore file); see --format json")
        for e in report.errors:
            console.print(f"error: {e}", style="red" if color else None)
        if report.errors:
            console.print(f"ERROR: {len(report.errors)} file{'s' if len(report.errors) != 1 else ''} could not be "
                          f"checked", style="bold red" if color else None)
        elif report.fail_on is not None:
            over = sum(1 for f in active if f.severity >= report.fail_on)
            console.print(f"{'FAIL' if report.failed else 'PASS'}: {over} finding{'s' if over != 1 else ''} at or "
                          f"above {report.fail_on.value} (--fail-on)",
                          style=("bold red" if report.failed else "bold green") if color else None)
        assert isinstance(console.file, io.StringIO)
        text = "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())
        return (text + "\n").encode("utf-8")


class LintJsonFormat(LintFormat):
    """tidegate's lint JSON: files, findings (suppressed ones with the reason), errors, verdict."""

    id = "json"
    media_type = "application/vnd.tidegate.lint+json"
    description = "tidegate's own JSON (schemaVersion 1)"

    def render(self, report: LintReport, *, color: bool = False) -> bytes:
        """Render as indented, deterministic JSON."""
        counts = Counter(f.severity for f in report.active)
        doc = {
            "schemaVersion": LINT_SCHEMA_VERSION,
            "tool": {"name": TOOL_NAME, "version": _version()},
            "files": list(report.files),
            "summary": {"total": len(report.active),
                        "bySeverity": {s.value: counts.get(s, 0) for s in sorted(Severity, reverse=True)},
                        "suppressed": len(report.findings) - len(report.active)},
            "findings": [CheckWire.of(f).model_dump(by_alias=True) for f in report.findings],
            "errors": list(report.errors),
            "verdict": {"failOn": report.fail_on.value if report.fail_on else None,
                        "failed": report.failed or bool(report.errors)},
        }
        return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class LintSarifFormat(LintFormat):
    """SARIF 2.1.0: one result per finding at its file and line (GitHub code scanning annotations)."""

    id = "sarif"
    aliases = ("sarif-json",)
    media_type = "application/sarif+json"
    description = "SARIF 2.1.0 (GitHub code scanning)"

    def render(self, report: LintReport, *, color: bool = False) -> bytes:
        """Render as indented SARIF 2.1.0 JSON."""
        rules, results = sarif_run_parts(report.findings)
        run = {
            "tool": {"driver": {"name": TOOL_NAME, "version": _version(), "informationUri": INFORMATION_URI,
                                "rules": rules}},
            "results": results,
            "artifacts": [{"location": {"uri": f}} for f in report.files],
            "invocations": [{"executionSuccessful": not report.errors,
                             "toolExecutionNotifications": [{"level": "error", "message": {"text": e}}
                                                            for e in report.errors]}],
        }
        doc = {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}
        return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
