"""The contract of ``tidegate check`` output formats: a `VerdictReport` in, bytes out.

    report = VerdictReport(verdict=evaluate(policy, evidence), evidence=evidence, policy_path="policy.yaml")
    get_verdict_format("junit").render(report)          # see report/verdict_registry.py for every format

One module per format (``verdict_table``, ``verdict_json``, ``verdict_sarif``, ``verdict_junit``), registered once
in ``verdict_registry.VERDICT_FORMATS``. The helpers here are what every format shares: status words, whether a
rule blocks, and which scan findings a rule's evidence names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from tidegate.model.finding import CheckFinding, VulnFinding
from tidegate.policy.evidence import Evidence
from tidegate.policy.verdict import RuleResult, RuleStatus, Verdict

STATUS_WORDS: dict[RuleStatus, str] = {"pass": "PASS", "fail": "FAIL", "not-evaluated": "NOT EVALUATED"}
"""How each rule status is written for humans."""


@dataclass(frozen=True, slots=True)
class VerdictReport:
    """What ``tidegate check`` renders: the verdict, the evidence it was decided on, and which policy file."""

    verdict: Verdict
    """The decision and every rule's result."""
    evidence: Evidence | None = None
    """The gathered evidence (scan report, verifications, errors); None when only the verdict is known."""
    policy_path: str = ""
    """The policy file as the user named it (SARIF anchors policy results there)."""

    @property
    def decision(self) -> str:
        """``allowed`` or ``denied``."""
        return "allowed" if self.verdict.allowed else "denied"

    def blocks(self, result: RuleResult) -> bool:
        """True when `result` denies the image (a failure, or not-evaluated under ``onNotEvaluated: deny``)."""
        return result.status == "fail" or (result.status == "not-evaluated" and self.verdict.deny_not_evaluated)

    def counts(self) -> dict[RuleStatus, int]:
        """Rules per status (every status present)."""
        out: dict[RuleStatus, int] = {"pass": 0, "fail": 0, "not-evaluated": 0}
        for r in self.verdict.results:
            out[r.status] += 1
        return out

    def findings_named(self, results: tuple[RuleResult, ...]) -> tuple[tuple[VulnFinding, ...],
                                                                        tuple[CheckFinding, ...]]:
        """The scan's vulnerability and secret/misconfiguration findings whose id (or an alias, or the check's rule
        id) appears in the evidence of `results`: the findings that made those rules fail."""
        report = self.evidence.report if self.evidence is not None else None
        if report is None:
            return (), ()
        named = evidence_ids(results)
        vulns = tuple(f for f in report.findings if f.id in named or any(a in named for a in f.aliases))
        checks = tuple(f for f in report.checks if f.rule_id in named)
        return vulns, checks


def evidence_ids(results: tuple[RuleResult, ...]) -> frozenset[str]:
    """Every evidence string of `results` and its first word (``TG-SEC-003 /app/.env (layer 2)`` names
    ``TG-SEC-003``)."""
    out: set[str] = set()
    for r in results:
        for e in r.evidence:
            out.add(e)
            if e.split():
                out.add(e.split()[0])
    return frozenset(out)


class VerdictFormat(ABC):
    """One output format of ``tidegate check``."""

    id: ClassVar[str]
    """The name users type on ``--format``."""
    aliases: ClassVar[tuple[str, ...]] = ()
    """Other accepted names."""
    media_type: ClassVar[str]
    """IANA media type of the rendered bytes."""
    description: ClassVar[str]
    """One line for ``--help``."""

    @abstractmethod
    def render(self, report: VerdictReport, *, color: bool = False) -> bytes:
        """Render `report` (deterministic for the same input)."""


def tool_version() -> str:
    """The running tidegate version."""
    from tidegate import __version__

    return __version__


__all__ = ["STATUS_WORDS", "VerdictFormat", "VerdictReport", "evidence_ids", "tool_version"]
