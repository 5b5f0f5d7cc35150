"""The default ``tidegate scan`` output: an image header, findings grouped by package, Trivy's summary line,
then the secrets and misconfigurations with their layer and build step.

    print(VulnTableFormat().render(report).decode())

Only active findings get rows; suppressed ones are counted (the JSON, SARIF and CycloneDX formats list them
with their reason).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from itertools import groupby

from rich import box
from rich.table import Table
from rich.text import Text

from tidegate.model.finding import Severity, VulnFinding
from tidegate.model.report import DbInfo, VulnReport
from tidegate.report.base import console_text, os_name, text_console
from tidegate.report.checks_common import check_table
from tidegate.report.scan_base import ScanFormat, summary_line

TITLE_WIDTH = 60
"""Titles longer than this are cut (with ``…``) so that a row fits a terminal."""

SEVERITY_STYLES: dict[Severity, str] = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "blue",
    Severity.UNKNOWN: "dim",
}
"""Terminal style of each severity when colour is on (Trivy's colours)."""

_MAX_WIDTH = 400


def cut(text: str, width: int = TITLE_WIDTH) -> str:
    """The first line of `text`, cut to `width` characters with a trailing ``…`` when longer."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def db_age(db: DbInfo, now: dt.datetime | None = None) -> str:
    """``updated 2024-05-01T12:00:00Z (3 days ago)``; just the time when it does not parse."""
    try:
        when = dt.datetime.fromisoformat(db.updated_at)
    except ValueError:
        return f"updated {db.updated_at or 'never'}"
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    age = (now or dt.datetime.now(dt.UTC)) - when
    if age.days >= 1:
        words = f"{age.days} day{'s' if age.days != 1 else ''} ago"
    elif age.total_seconds() >= 3600:
        hours = int(age.total_seconds() // 3600)
        words = f"{hours} hour{'s' if hours != 1 else ''} ago"
    else:
        words = "less than an hour ago"
    return f"updated {db.updated_at} ({words})"


def _package_key(f: VulnFinding) -> tuple[str, str, str, str]:
    return (f.package_name, f.package_version, f.package_type, f.package_id)


class VulnTableFormat(ScanFormat):
    """Findings as a terminal table grouped by package (colour optional), Trivy-style."""

    id = "table"
    aliases = ("text",)
    media_type = "text/plain; charset=utf-8"
    description = "human-readable table of vulnerabilities grouped by package (default)"

    def render(self, report: VulnReport, *, color: bool = False) -> bytes:
        """Render header, grouped findings, summary, suppressed count, unknowns, warnings and verdict."""
        img = report.sbom.image
        header = [("Image", img.reference), ("Digest", img.digest), ("OS", os_name(report.sbom))]
        if report.db is not None:
            header.append(("DB", db_age(report.db)))

        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold" if color else "")
        for col in ("PACKAGE", "INSTALLED", "VULNERABILITY", "SEVERITY", "STATUS", "FIXED VERSION", "TITLE"):
            table.add_column(col, no_wrap=True)
        active = sorted(report.active, key=lambda f: (*_package_key(f), -f.severity.rank, f.id))
        groups = [list(g) for _, g in groupby(active, key=_package_key)]
        for gi, group in enumerate(groups):
            for i, f in enumerate(group):
                sev = Text(f.severity.value, style=SEVERITY_STYLES[f.severity] if color else "")
                table.add_row(
                    f.package_name if i == 0 else "",
                    f.package_version if i == 0 else "",
                    f.id,
                    sev,
                    f.fix_state,
                    ", ".join(f.fixed_versions),
                    cut(f.title or f.description),
                    end_section=i == len(group) - 1 and gi < len(groups) - 1,
                )

        check_tables: dict[str, tuple[int, Table]] = {}
        for category in ("secret", "misconfig"):
            rows = [f for f in report.active_checks if f.category == category]
            if rows and category in report.scanners:
                check_tables[category] = (len(rows), check_table(rows, color=color))
        console = text_console([table, *(t for _, t in check_tables.values())], color=color, max_width=_MAX_WIDTH)
        label = "bold" if color else None
        for key, value in header:
            console.print(f"{key + ':':<8}", end="", style=label)
            console.print(value)
        console.print()
        if "vuln" in report.scanners:
            if active:
                console.print(table, soft_wrap=False)
                console.print()
            else:
                console.print("No vulnerabilities found")
            console.print(summary_line(report))
        for category, heading in (("secret", "Secrets"), ("misconfig", "Misconfigurations")):
            if category not in report.scanners:
                continue
            entry = check_tables.get(category)
            console.print()
            console.print(f"{heading} ({entry[0] if entry else 0})", style=label)
            if entry is not None:
                console.print(entry[1], soft_wrap=False)
            else:
                console.print(f"No {heading.lower()} found")
        suppressed_checks = len(report.checks) - len(report.active_checks)
        if suppressed_checks:
            console.print(f"{suppressed_checks} secret/misconfiguration finding(s) suppressed; see --format json")
        if report.suppressed:
            kinds = Counter(f.suppression.kind for f in report.suppressed if f.suppression is not None)
            detail = ", ".join(f"{k}: {n}" for k, n in sorted(kinds.items()))
            console.print(f"{len(report.suppressed)} suppressed ({detail}); see --format json for the reasons")
        if report.unknowns:
            console.print(f"{len(report.unknowns)} not evaluated:", style=label)
            for unk in report.unknowns:
                where = f" {unk.location.path}" if unk.location is not None else ""
                console.print(f"  [{unk.source}]{where}: {unk.reason}")
        for w in report.warnings:
            console.print(f"warning: {w}", style="yellow" if color else None)
        if report.fail_on is not None:
            threshold = report.fail_on
            over = sum(1 for f in report.active if f.severity >= threshold) + \
                sum(1 for c in report.active_checks if c.severity >= threshold)
            verdict = "FAIL" if report.failed else "PASS"
            console.print(
                f"{verdict}: {over} finding{'s' if over != 1 else ''} at or above {report.fail_on.value} "
                f"(--fail-on)",
                style=("bold red" if report.failed else "bold green") if color else None,
            )
        return console_text(console)
