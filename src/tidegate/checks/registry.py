"""Every check, registered in one line each, and every rule they report.

    from tidegate.checks.registry import CHECKS, RULES, checks_for
    [c.id for c in checks_for(Target.DOCKERFILE)]
"""

from __future__ import annotations

from tidegate.checks.base import Check, Rule, Target, all_rules

CHECKS: tuple[type[Check], ...] = (
)
"""The registry: add a check class here (and nowhere else)."""

RULES: dict[str, Rule] = {r.id: r for r in all_rules(CHECKS)}
"""Every rule by id."""


def checks_for(target: Target) -> list[type[Check]]:
    """The registered checks that evaluate `target`, in registry order."""
    return [c for c in CHECKS if c.target is target]
