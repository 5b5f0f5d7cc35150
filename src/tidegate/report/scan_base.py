"""The contract of vulnerability-scan formats, plus helpers they share.

A scan format turns a `VulnReport` (the SBOM, its findings and the database used) into bytes; it is listed once
in `tidegate.report.registry.SCAN_FORMATS`::

    class SarifFormat(ScanFormat):
        id = "sarif"
        aliases = ()
        media_type = "application/sarif+json"
        description = "SARIF 2.1.0 for code-scanning dashboards"

        def render(self, report: VulnReport, *, color: bool = False) -> bytes:
            ...
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from tidegate.model.finding import Severity, VulnFinding
from tidegate.model.report import VulnReport

SEVERITIES_ASCENDING: tuple[Severity, ...] = (
    Severity.UNKNOWN,
    Severity.LOW,
    Severity.MEDIUM,
    Severity.HIGH,
    Severity.CRITICAL,
)
"""Every severity, lowest first (the order of Trivy's summary line)."""


class ScanFormat(ABC):
    """One output format of ``tidegate scan``: a stable id plus a pure `render`."""

    id: ClassVar[str]
    """The name users type on ``--format`` (``sarif``); never rename without keeping an alias."""
    aliases: ClassVar[tuple[str, ...]] = ()
    """Other accepted names."""
    media_type: ClassVar[str]
    """IANA media type of the rendered bytes."""
    description: ClassVar[str]
    """One line for ``--help``."""

    @abstractmethod
    def render(self, report: VulnReport, *, color: bool = False) -> bytes:
        """Render `report`; `color` asks for terminal colour and is ignored by machine formats."""


def finding_sort_key(f: VulnFinding) -> tuple[int, str, str, str, str]:
    """Most severe first, then id, package name, version and package id: a total, stable order."""
    return (-f.severity.rank, f.id, f.package_name, f.package_version, f.package_id)


def sorted_findings(findings: tuple[VulnFinding, ...] | list[VulnFinding]) -> list[VulnFinding]:
    """`findings` in `finding_sort_key` order."""
    return sorted(findings, key=finding_sort_key)


def best_cvss_score(f: VulnFinding) -> float | None:
    """The highest-version CVSS base score of `f` (v4 over v3.1 over v3.0 over v2), highest score on ties."""
    if not f.cvss:
        return None
    best = max(f.cvss, key=lambda c: (_version_key(c.version), c.base_score))
    return best.base_score


def _version_key(version: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in version.split("."))
    except ValueError:
        return (0,)


def summary_line(report: VulnReport) -> str:
    """Trivy's ``Total: N (UNKNOWN: a, LOW: b, MEDIUM: c, HIGH: d, CRITICAL: e)`` over the active findings."""
    counts = report.counts()
    parts = ", ".join(f"{s.value}: {counts[s]}" for s in SEVERITIES_ASCENDING)
    return f"Total: {sum(counts.values())} ({parts})"
