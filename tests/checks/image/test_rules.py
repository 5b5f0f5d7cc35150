"""The image rules as data: ids, docs, anchors, and every rule reported by exactly one check."""

from __future__ import annotations

import re

from tidegate.checks.base import MISCONFIG, Target, all_rules
from tidegate.checks.image import IMAGE_CHECKS
from tidegate.checks.image.rules import ALL_RULES


def test_ids_are_sequential_and_unique() -> None:
    assert [r.id for r in ALL_RULES] == [f"TG-IMG-{i:03d}" for i in range(1, len(ALL_RULES) + 1)]


def test_every_rule_is_documented_and_anchored() -> None:
    for r in ALL_RULES:
        assert r.category == MISCONFIG and r.title and r.rationale and r.remediation, r.id
        assert r.anchors, r.id
        for a in r.anchors:
            assert re.fullmatch(r"CIS Docker \d\.\d+|CIS Linux [\d.]+|(CIS|DKL)-[DL]I-\d{4}|DL\d{4}", a), (r.id, a)


def test_every_rule_belongs_to_exactly_one_check() -> None:
    owners = [r.id for c in IMAGE_CHECKS for r in c.rules]
    assert sorted(owners) == [r.id for r in ALL_RULES]
    assert all_rules(IMAGE_CHECKS) == list(ALL_RULES)
    assert len({c.id for c in IMAGE_CHECKS}) == len(IMAGE_CHECKS)
    for c in IMAGE_CHECKS:
        assert c.target is Target.IMAGE and c.version >= 1 and re.fullmatch(r"image-[a-z]+", c.id)
