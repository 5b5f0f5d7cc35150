"""Every check, registered in one line each, and every rule they report.

    from tidegate.checks.registry import CHECKS, RULES, checks_for
    [c.id for c in checks_for(Target.DOCKERFILE)]
"""

from __future__ import annotations

from tidegate.checks.base import Check, Rule, Target, all_rules
from tidegate.checks.dockerfile.check import DockerfileCheck
from tidegate.checks.image.config import ImageConfigCheck
from tidegate.checks.image.files import ImageFilesCheck
from tidegate.checks.image.history import ImageHistoryCheck
from tidegate.checks.image.minimalism import ImageMinimalismCheck
from tidegate.checks.k8s.pod_security import PodSecurityBaselineCheck, PodSecurityRestrictedCheck
from tidegate.checks.k8s.workload import NetworkPolicyCheck, WorkloadCheck
from tidegate.checks.secrets.config import ConfigSecretsCheck

CHECKS: tuple[type[Check], ...] = (
    ConfigSecretsCheck,
    ImageConfigCheck,
    ImageHistoryCheck,
    ImageFilesCheck,
    ImageMinimalismCheck,
    DockerfileCheck,
    PodSecurityBaselineCheck,
    PodSecurityRestrictedCheck,
    WorkloadCheck,
    NetworkPolicyCheck,
)
"""The registry: add a check class here (and nowhere else)."""

RULES: dict[str, Rule] = {r.id: r for r in all_rules(CHECKS)}
"""Every rule by id."""


def checks_for(target: Target) -> list[type[Check]]:
    """The registered checks that evaluate `target`, in registry order."""
    return [c for c in CHECKS if c.target is target]
