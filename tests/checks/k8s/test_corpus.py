"""Every manifest in corpus/ against the finding ids its header expects (worked out from the PSS text).

Each file starts with ``# expect: ID…`` (or ``none``) and optionally ``# expect-suppressed: ID…``; all K8S checks
run over the file as one input set and inline ``tidegate:ignore`` comments are applied, as ``tidegate lint`` does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tidegate.checks.base import Check, apply_ignores, inline_ignores
from tidegate.checks.k8s.loader import load_objects
from tidegate.checks.k8s.pod_security import PodSecurityBaselineCheck, PodSecurityRestrictedCheck
from tidegate.checks.k8s.workload import NetworkPolicyCheck, WorkloadCheck
from tidegate.model.finding import CheckFinding

CORPUS = Path(__file__).parent / "corpus"
CHECKS: tuple[type[Check], ...] = (PodSecurityBaselineCheck, PodSecurityRestrictedCheck, WorkloadCheck,
                                   NetworkPolicyCheck)
FILES = sorted(CORPUS.glob("*.yaml"))


def _header(text: str, key: str) -> set[str] | None:
    m = re.search(rf"^# {key}:(.*)$", text, re.MULTILINE)
    if m is None:
        return None
    ids = set(m.group(1).split())
    return set() if ids == {"none"} else ids


def lint(text: str, path: str) -> list[CheckFinding]:
    objs = load_objects(text, path)
    findings = [f for c in CHECKS for f in c().evaluate(objs)]
    return apply_ignores(findings, inline_ignores(text))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_file(path: Path) -> None:
    text = path.read_text()
    expected = _header(text, "expect")
    assert expected is not None, f"{path.name} has no '# expect:' header"
    expected_suppressed = _header(text, "expect-suppressed") or set()
    findings = lint(text, path.name)
    active = {f.rule_id for f in findings if f.suppression is None}
    suppressed = {f.rule_id for f in findings if f.suppression is not None}
    assert active == expected, [f"{f.rule_id} {f.source.line if f.source else 0} {f.message}" for f in findings]
    assert suppressed == expected_suppressed
    for f in findings:
        assert f.source is not None and f.source.path == path.name and f.source.line >= 1
        assert f.target


def test_every_rule_has_a_bad_case_and_there_are_good_cases() -> None:
    rule_ids = {r.id for c in CHECKS for r in c.rules}
    expected: set[str] = set()
    good = 0
    for path in FILES:
        ids = _header(path.read_text(), "expect") or set()
        expected |= ids
        good += not ids
    assert rule_ids == expected
    assert good >= len(rule_ids)


def test_rules_are_documented_and_anchored() -> None:
    ids = [r.id for c in CHECKS for r in c.rules]
    assert len(ids) == len(set(ids))
    assert ids == sorted(ids) and ids[0] == "TG-K8S-001"
    for c in CHECKS:
        assert c.target.value == "k8s" and c.version >= 1 and c.id.startswith("k8s-")
        for r in c.rules:
            assert r.title and r.rationale and r.remediation and r.anchors
    pss = [r for r in (*PodSecurityBaselineCheck.rules, *PodSecurityRestrictedCheck.rules)]
    assert all(r.anchors[0].startswith(("PSS baseline: ", "PSS restricted: ")) for r in pss)
