"""How secrets and misconfigurations (`CheckFinding`) look in every format, shared by ``scan`` and ``lint``.

    table = check_table(findings, title="Secrets", color=False)
    CheckWire.of(finding).model_dump(by_alias=True)          # the JSON object
    sarif_rule(rule), sarif_result(finding, rule_index)       # SARIF 2.1.0 pieces

Secrets reach this module already masked (the scanner masks them); nothing here ever sees a raw value.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from tidegate.checks.base import Rule
from tidegate.model.finding import CheckFinding, Severity
from tidegate.report.wire import LocationWire, SuppressionWire, Wire

RULES_DOC = "https://tidegate.dev/docs/rules#"
"""Base of each rule's help link (docs/rules.md anchors)."""

_LEVELS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
           Severity.LOW: "note", Severity.UNKNOWN: "note"}
_SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                      Severity.LOW: "2.0", Severity.UNKNOWN: "0.0"}
_STYLES = {Severity.CRITICAL: "bold red", Severity.HIGH: "red", Severity.MEDIUM: "yellow",
           Severity.LOW: "blue", Severity.UNKNOWN: "dim"}


def where(f: CheckFinding) -> str:
    """``Dockerfile:12``, ``/app/.env (layer 3, deleted later)``, or the checked target."""
    if f.source is not None:
        return f"{f.source.path}:{f.source.line}" if f.source.line else f.source.path
    if f.location is not None:
        gone = "" if f.location.visible else ", deleted later"
        return f"{f.location.path} (layer {f.location.layer_index}{gone})"
    return f.target


def check_table(findings: Sequence[CheckFinding], *, color: bool, layer_steps: bool = True) -> Table:
    """Rows of active findings: severity, rule, where, message (and the build step for image files)."""
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold" if color else "")
    cols = ["SEVERITY", "RULE", "WHERE", "MESSAGE"] + (["STEP"] if layer_steps else [])
    for c in cols:
        table.add_column(c, no_wrap=c != "MESSAGE")
    for f in findings:
        row: list[Text | str] = [Text(f.severity.value, style=_STYLES[f.severity] if color else ""), f.rule_id,
                                 where(f), f.message]
        if layer_steps:
            step = f.location.created_by if f.location is not None and f.location.created_by else ""
            row.append(step if len(step) <= 60 else step[:59] + "…")
        table.add_row(*row)
    return table


class CheckSourceWire(Wire):
    """A place in a source file."""

    path: str
    line: int
    end_line: int
    column: int


class CheckWire(Wire):
    """One secret or misconfiguration finding on the wire (tidegate scan and lint JSON)."""

    rule_id: str
    category: str
    severity: str
    title: str
    message: str
    target: str
    evidence: str
    location: LocationWire | None
    source: CheckSourceWire | None
    suppression: SuppressionWire | None

    @classmethod
    def of(cls, f: CheckFinding) -> CheckWire:
        """The wire form of `f`."""
        src = f.source
        return cls(
            rule_id=f.rule_id, category=f.category, severity=f.severity.value, title=f.title, message=f.message,
            target=f.target, evidence=f.evidence,
            location=None if f.location is None else LocationWire.of(f.location),
            source=None if src is None else CheckSourceWire(path=src.path, line=src.line, end_line=src.end_line,
                                                            column=src.column),
            suppression=SuppressionWire.of(f.suppression))


def sarif_rule(rule: Rule | None, f: CheckFinding) -> dict[str, Any]:
    """``tool.driver.rules[]`` entry for the rule of `f` (documented rule when known)."""
    out: dict[str, Any] = {
        "id": f.rule_id,
        "name": "".join(w.capitalize() for w in f.rule_id.replace("-", " ").split()),
        "shortDescription": {"text": f.title},
        "defaultConfiguration": {"level": _LEVELS[rule.severity if rule else f.severity]},
        "helpUri": RULES_DOC + f.rule_id.lower(),
        "properties": {"tags": ["security", f.category],
                       "security-severity": _SECURITY_SEVERITY[rule.severity if rule else f.severity]},
    }
    if rule is not None:
        out["fullDescription"] = {"text": rule.rationale}
        out["help"] = {"text": rule.remediation, "markdown": f"**Why:** {rule.rationale}\n\n**Fix:** "
                                                             f"{rule.remediation}"}
        if rule.anchors:
            out["properties"]["anchors"] = list(rule.anchors)
    return out


def sarif_result(f: CheckFinding, rule_index: int, *, image: str | None = None) -> dict[str, Any]:
    """``results[]`` entry for `f`: a source file and line, or a file inside the image plus its layer."""
    if f.source is not None:
        region: dict[str, int] = {"startLine": max(1, f.source.line)}
        if f.source.end_line and f.source.end_line >= region["startLine"]:
            region["endLine"] = f.source.end_line
        if f.source.column:
            region["startColumn"] = f.source.column
        physical = {"artifactLocation": {"uri": f.source.path}, "region": region}
        path = f.source.path
    else:
        path = f.location.path if f.location is not None else (image or f.target)
        physical = {"artifactLocation": {"uri": path.lstrip("/") or "image"},
                    "region": {"startLine": 1, "startColumn": 1}}
    loc: dict[str, Any] = {"physicalLocation": physical}
    if image:
        loc["logicalLocations"] = [{"name": image, "kind": "image"}]
    result: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": _LEVELS[f.severity],
        "message": {"text": f.message},
        "locations": [loc],
        "partialFingerprints": {"tidegateCheck/v1": hashlib.sha256(json.dumps(
            [f.rule_id, path, f.source.line if f.source else 0, f.target, f.message]).encode()).hexdigest()},
        "properties": {"severity": f.severity.value, "category": f.category, "target": f.target},
    }
    if f.location is not None:
        result["properties"]["layer"] = {"index": f.location.layer_index, "diffID": f.location.diff_id,
                                         "createdBy": f.location.created_by or "", "visible": f.location.visible}
    if f.suppression is not None:
        s = f.suppression
        result["suppressions"] = [{"kind": "inSource" if s.kind == "inline" else "external",
                                   "status": "accepted", "justification": f"{s.kind}: {s.reason}"}]
    return result


def sarif_run_parts(findings: Sequence[CheckFinding], *, image: str | None = None,
                    first_index: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(rules, results) for `findings`, rule indexes starting at `first_index`."""
    from tidegate.checks.registry import RULES

    rules: list[dict[str, Any]] = []
    index: dict[str, int] = {}
    results = []
    for f in findings:
        if f.rule_id not in index:
            index[f.rule_id] = first_index + len(rules)
            rules.append(sarif_rule(RULES.get(f.rule_id), f))
        results.append(sarif_result(f, index[f.rule_id], image=image))
    return rules, results
