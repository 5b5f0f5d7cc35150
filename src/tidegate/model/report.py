"""The result of a vulnerability scan: the SBOM it was computed from, the findings, and the database used.

    report = scan_vulnerabilities(sbom, db, options)
    [f.id for f in report.active]      # what counts for --fail-on
    [f.id for f in report.suppressed]  # still listed in JSON, with the reason
"""

from __future__ import annotations

from dataclasses import dataclass

from tidegate.model.finding import CheckFinding, Severity, Unknown, VulnFinding
from tidegate.model.sbom import Sbom


@dataclass(frozen=True, slots=True)
class DbInfo:
    """Which vulnerability database a scan used and how old it was."""

    path: str
    """The SQLite file."""
    updated_at: str
    """RFC 3339 time of the last successful import/update."""
    sources: tuple[str, ...]
    """Feeds it holds (``osv:PyPI``, ``alpine-secdb:v3.11/main``, …)."""
    schema_version: int
    """Database schema version."""
    advisories: int = 0
    """Number of advisories in it."""


@dataclass(frozen=True, slots=True)
class VulnReport:
    """Findings for one SBOM; `findings` holds active and suppressed ones, sorted by severity then id."""

    sbom: Sbom
    """What was scanned."""
    findings: tuple[VulnFinding, ...]
    """Every finding that passed the --severity / --ignore-unfixed filters, suppressed or not."""
    db: DbInfo | None
    """The database used."""
    unknowns: tuple[Unknown, ...] = ()
    """Packages that could not be evaluated (unknown ecosystem, unparsable version), with the reason."""
    warnings: tuple[str, ...] = ()
    """One-line warnings (an old database, skipped advisories)."""
    fail_on: Severity | None = None
    """The --fail-on threshold the verdict used, when one was given."""
    checks: tuple[CheckFinding, ...] = ()
    """Secrets and misconfigurations (``--scanners secret,misconfig``), suppressed ones included."""
    scanners: tuple[str, ...] = ("vuln",)
    """The scanners that ran (``vuln``, ``secret``, ``misconfig``)."""

    @property
    def active(self) -> tuple[VulnFinding, ...]:
        """Findings not suppressed: these count for the verdict."""
        return tuple(f for f in self.findings if f.suppression is None)

    @property
    def suppressed(self) -> tuple[VulnFinding, ...]:
        """Findings suppressed by an ignore file, a VEX statement or the feed."""
        return tuple(f for f in self.findings if f.suppression is not None)

    @property
    def active_checks(self) -> tuple[CheckFinding, ...]:
        """Secret and misconfiguration findings not suppressed."""
        return tuple(f for f in self.checks if f.suppression is None)

    @property
    def failed(self) -> bool:
        """True when an active finding of any scanner is at or above `fail_on`."""
        if self.fail_on is None:
            return False
        threshold = self.fail_on
        return any(f.severity >= threshold for f in self.active) or \
            any(f.severity >= threshold for f in self.active_checks)

    def counts(self) -> dict[Severity, int]:
        """Active findings per severity (every severity present, zero when none)."""
        out = {s: 0 for s in Severity}
        for f in self.active:
            out[f.severity] += 1
        return out


@dataclass(frozen=True, slots=True)
class LintReport:
    """The result of ``tidegate lint``: which files were read, their findings, and the files that failed."""

    files: tuple[str, ...]
    """Every Dockerfile and Kubernetes YAML file read, in the order given/walked."""
    findings: tuple[CheckFinding, ...]
    """Findings, suppressed ones included, in `CheckFinding.sort_key` order."""
    errors: tuple[str, ...] = ()
    """One-line errors for files that could not be read or parsed (the run exits 2 when there are any)."""
    fail_on: Severity | None = None
    """The threshold of the verdict (None: never fail on findings)."""

    @property
    def active(self) -> tuple[CheckFinding, ...]:
        """Findings not suppressed."""
        return tuple(f for f in self.findings if f.suppression is None)

    @property
    def failed(self) -> bool:
        """True when an active finding is at or above `fail_on`."""
        threshold = self.fail_on
        return threshold is not None and any(f.severity >= threshold for f in self.active)
