"""Every corpus Dockerfile yields exactly the rule ids its ``# expect:`` header names (after inline ignores),
and every rule has at least one bad file (its id in ``expect``) and one good file (listed in ``covers``
but not expected)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tidegate.checks.base import apply_ignores, inline_ignores
from tidegate.checks.dockerfile.check import DockerfileCheck
from tidegate.checks.dockerfile.parser import parse_dockerfile
from tidegate.checks.dockerfile.rules import DOCKERFILE_RULES
from tidegate.model.finding import CheckFinding

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*Dockerfile"))


def header(text: str, key: str) -> set[str]:
    """The ids of a ``# key: …`` header line (``none`` → empty)."""
    m = re.search(rf"^# {key}: (.*)$", text, re.MULTILINE)
    assert m, f"missing '# {key}:' header"
    ids = set(m.group(1).split())
    return set() if ids == {"none"} else ids


def lint(path: Path) -> list[CheckFinding]:
    """tidegate's findings for a corpus file, inline ignores applied."""
    text = path.read_text(encoding="utf-8")
    return apply_ignores(DockerfileCheck().evaluate(parse_dockerfile(text, path.name)), inline_ignores(text))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_corpus_file(path: Path) -> None:
    findings = lint(path)
    got = {f.rule_id for f in findings if f.suppression is None}
    assert got == header(path.read_text(encoding="utf-8"), "expect")
    for f in findings:
        assert f.source is not None and f.source.path == path.name
        assert 1 <= f.source.line <= f.source.end_line


def test_every_rule_has_a_bad_and_a_good_file() -> None:
    bad: set[str] = set()
    good: set[str] = set()
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        expect, covers = header(text, "expect"), header(text, "covers")
        bad |= expect
        good |= covers - expect
    ids = {r.id for r in DOCKERFILE_RULES}
    assert ids - bad == set(), "rules without a bad corpus file"
    assert ids - good == set(), "rules without a good corpus file"


def test_inline_ignore_marks_findings_suppressed() -> None:
    findings = lint(CORPUS / "inline_ignore.good.Dockerfile")
    suppressed = {(f.rule_id, f.source.line if f.source else 0) for f in findings if f.suppression}
    assert suppressed == {("TG-DF-001", 4), ("TG-DF-016", 7)}
    assert all(f.suppression and f.suppression.kind == "inline" for f in findings)


def test_rules_are_documented_and_unique() -> None:
    ids = [r.id for r in DOCKERFILE_RULES]
    assert ids == sorted(set(ids)) and all(re.fullmatch(r"TG-DF-\d{3}", i) for i in ids)
    assert all(r.title and r.rationale and r.remediation and r.anchors for r in DOCKERFILE_RULES)
    assert set(DockerfileCheck.rules) == set(DOCKERFILE_RULES)


def test_secret_values_are_masked() -> None:
    findings = lint(CORPUS / "secrets.bad.Dockerfile")
    assert [f.source.line for f in findings if f.source and f.rule_id == "TG-DF-009"] == [3, 5, 6]
    text = " ".join(f.message + f.evidence for f in findings if f.rule_id == "TG-DF-009")
    assert "hunter2" not in text and "ghp_0123456789" not in text and "wJalrXUtn" not in text


def test_evaluate_rejects_other_targets() -> None:
    with pytest.raises(TypeError):
        list(DockerfileCheck().evaluate("FROM x"))
