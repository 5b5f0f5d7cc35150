"""Secrets in the image config (``Env``, ``Labels``) and history (``created_by``: ENV steps, build args).

    findings = list(ConfigSecretsCheck().evaluate(image_target))
    # the layer pass turns a file's matches into findings at its location:
    findings_from_matches(scanner.scan_stream(path, stream, size), location)
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Iterator, Sequence
from typing import ClassVar

from tidegate.checks.base import Check, ImageTarget, Rule, Target
from tidegate.checks.secrets.rules import ALL_RULES, BUILD_ARG_SECRET, ENV_SECRET
from tidegate.checks.secrets.scanner import SecretMatch, SecretScanner
from tidegate.model.finding import CheckFinding
from tidegate.model.location import Location

_BUILD_ARGS = re.compile(r"^(?:RUN\s+)?\|(?P<n>\d+)\s+(?P<rest>.*)$", re.DOTALL)
_ENV_STEP = re.compile(r"^(?:/bin/sh -c #\(nop\)\s+)?ENV\s+(?P<rest>.*)$", re.DOTALL)


def findings_from_matches(matches: Iterable[SecretMatch], location: Location) -> list[CheckFinding]:
    """`CheckFinding`s of a layer file's `matches`, at `location` (path, layer, diff_id, step)."""
    out = []
    for m in matches:
        out.append(m.rule.rule.finding(
            f"{m.rule.title} in {location.path} line {m.line}, column {m.column}: {m.match}",
            location=location, evidence=m.excerpt))
    return out


def _target_findings(matches: Iterable[SecretMatch], target: str) -> list[CheckFinding]:
    return [m.rule.rule.finding(f"{m.rule.title} in {target}: {m.match}", target=target, evidence=m.excerpt)
            for m in matches]


def parse_build_args(created_by: str) -> list[str]:
    """The ``NAME=value`` build args a classic/BuildKit RUN step records (``|2 A=1 B=2 /bin/sh -c …``)."""
    m = _BUILD_ARGS.match(created_by.strip())
    if not m:
        return []
    n = int(m.group("n"))
    try:
        words = shlex.split(m.group("rest"), posix=True)
    except ValueError:
        words = m.group("rest").split()
    return [w for w in words[:n] if "=" in w]


def parse_env_step(created_by: str) -> list[str]:
    """The ``NAME=value`` assignments of an ``ENV`` history step (both ``ENV A=1 B=2`` and ``ENV A 1``)."""
    m = _ENV_STEP.match(created_by.strip())
    if not m:
        return []
    rest = m.group("rest").strip()
    try:
        words = shlex.split(rest, posix=True)
    except ValueError:
        words = rest.split()
    if words and "=" not in words[0]:
        return [f"{words[0]}={' '.join(words[1:])}"] if len(words) > 1 else []
    return [w for w in words if "=" in w]


class ConfigSecretsCheck(Check):
    """Secrets in ``Env`` (also secret-looking names with a literal value), ``Labels`` and history steps.

    A secret is reported once: an ``ENV`` history step repeating a value of ``Env`` and a build arg repeated by
    every RUN step after its ARG are not reported again.
    """

    id: ClassVar[str] = "image-config-secrets"
    version: ClassVar[int] = 1
    target: ClassVar[Target] = Target.IMAGE
    rules: ClassVar[tuple[Rule, ...]] = tuple(r.rule for r in ALL_RULES)

    def __init__(self, scanner: SecretScanner | None = None) -> None:
        self.scanner = scanner or SecretScanner()
        """The scanner used (the default rules unless given)."""

    def evaluate(self, target: object) -> Iterator[CheckFinding]:
        """Findings for an `ImageTarget`; anything else yields nothing."""
        if not isinstance(target, ImageTarget):
            return
        seen: set[str] = set()

        def fresh(matches: Sequence[SecretMatch]) -> list[SecretMatch]:
            out = []
            for m in matches:
                if m.fingerprint not in seen:
                    seen.add(m.fingerprint)
                    out.append(m)
            return out

        config = target.config or {}
        env = config.get("Env") or []
        where = "image config Env"
        for entry in env if isinstance(env, list) else []:
            if isinstance(entry, str):
                yield from _target_findings(fresh(self.scanner.scan_env(entry, where)), where)
        labels = config.get("Labels") or {}
        where = "image config Labels"
        for key, value in sorted(labels.items()) if isinstance(labels, dict) else []:
            yield from _target_findings(fresh(self.scanner.scan_text(f"{key}={value}", where)), where)
        for step in target.history:
            where = f"history step {step.index}"
            text = step.created_by or ""
            found: list[SecretMatch] = []
            for arg in parse_build_args(text):
                found.extend(self.scanner.scan_env(arg, where, rule=BUILD_ARG_SECRET))
            for assignment in parse_env_step(text):
                found.extend(self.scanner.scan_env(assignment, where, rule=ENV_SECRET))
            found.extend(self.scanner.scan_text(text, where))
            yield from _target_findings(fresh(found), where)
