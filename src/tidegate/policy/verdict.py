"""What a policy decided about one image: a `Verdict` made of one `RuleResult` per rule, each with evidence.

    verdict = Verdict(reference="registry/app:1", manifest_digest="sha256:…", policy_hash="sha256:…",
                      results=(RuleResult("signatures", "fail", "no valid signature by keys/release.pub"),))
    verdict.allowed      # False: a rule failed
    verdict.reasons      # ("signatures: no valid signature by keys/release.pub",)

A rule that could not be evaluated (the scan it needs failed, a Rego error) is ``not-evaluated``; the policy's
``onNotEvaluated`` setting (default ``deny``: zero trust) decides whether that blocks the image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RuleStatus = Literal["pass", "fail", "not-evaluated"]
"""The outcome of one rule."""


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One rule's outcome, explained."""

    rule: str
    """Stable rule name (``signatures``, ``vulnerabilities``, ``secrets``, ``rego:deny``, …)."""
    status: RuleStatus
    """``pass``, ``fail`` or ``not-evaluated``."""
    message: str
    """One line a user understands (``3 CRITICAL vulnerabilities (max 0): CVE-2024-1, …``)."""
    evidence: tuple[str, ...] = ()
    """Supporting facts: ids, key ids, digests, rule ids of findings."""


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision for one image digest under one policy."""

    reference: str
    """What was asked for (a tag, a digest reference, an archive)."""
    manifest_digest: str
    """The digest decided on: everything was evaluated against this pin."""
    policy_hash: str
    """``sha256:`` of the policy file's canonical content (verdict caches key on digest + this)."""
    results: tuple[RuleResult, ...]
    """Every rule that applied, in policy order."""
    deny_not_evaluated: bool = True
    """Whether a ``not-evaluated`` rule blocks (the policy's ``onNotEvaluated: deny``)."""
    scope: str = ""
    """The policy scope (registry/repository glob) whose rules applied, empty for the defaults."""

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        """Rules that block: failures, and not-evaluated ones when those deny."""
        return tuple(r for r in self.results
                     if r.status == "fail" or (r.status == "not-evaluated" and self.deny_not_evaluated))

    @property
    def allowed(self) -> bool:
        """True when no rule blocks."""
        return not self.failed

    @property
    def reasons(self) -> tuple[str, ...]:
        """``rule: message`` of every blocking rule."""
        return tuple(f"{r.rule}: {r.message}" for r in self.failed)
