"""Custom policy rules in Rego (OPA-compatible, evaluated in-process with ``regopy``) over one input document.

    results = evaluate_rego(entry, source, rego_input(evidence), rule="rego:no-latest")
    # [RuleResult("rego:no-latest", "fail", "images must not use the latest tag", evidence=("data.main.deny",))]

Both styles users bring from other tools work:

- conftest / Rego v1: ``deny contains msg if { … }`` (and the v0 spelling ``deny[msg] { … }``),
- Gatekeeper: ``violation[{"msg": msg}] { … }`` or ``violation contains {"msg": msg} if { … }``.

Every message is one failing `RuleResult`; no message is one passing result; a syntax or evaluation error is
one ``not-evaluated`` result carrying the error. The input document is described in docs/policy.md.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tidegate.policy.evidence import Evidence
from tidegate.policy.model import RegoRule
from tidegate.policy.verdict import RuleResult

INPUT_VERSION = 1
"""Version of the input document (``input.tidegate.inputVersion``); bumped when fields change meaning."""
DEFAULT_RULES = ("deny", "violation")
"""Rules read from the module's package when an entry names no ``query``."""
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*$", re.MULTILINE)


def _first_error_line(error: object) -> str:
    """regopy's multi-line error text folded into one line (message and position)."""
    text = str(error)
    msgs = re.findall(r"\(errormsg \d+:([^)]*)\)", text)
    where = re.search(r"-- (\S+:\d+:\d+)", text)
    if msgs:
        return str(msgs[0]).strip() + (f" at {where.group(1)}" if where else "")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith(("~", "-"))]
    return lines[0] if lines else "Rego error"


def _interpreter(source: str, name: str) -> Any:
    from regopy import Interpreter  # type: ignore[import-untyped]

    interp = Interpreter()
    interp.strict_built_in_errors = True
    interp.add_module(name, source)
    return interp


def package_of(source: str) -> str | None:
    """The module's package path (``main``, ``k8s.gatekeeper``), or None when it declares none."""
    m = _PACKAGE.search(source)
    return m.group(1) if m else None


def check_module(source: str, name: str) -> str | None:
    """None when the module parses and compiles; else the first error in one line."""
    if package_of(source) is None:
        return "the module declares no package"
    try:
        interp = _interpreter(source, name)
        out = interp.query("x = data")
    except Exception as e:  # noqa: BLE001 - regopy raises RegoError and plain errors alike
        return _first_error_line(e)
    if not out.ok():
        return _first_error_line(out)
    return None


def _messages(value: Any) -> list[str]:
    """The messages of a ``deny``/``violation`` value: a set (list), a v0 partial object, strings or ``{msg}``."""
    items: list[Any]
    if isinstance(value, dict):
        items = []
        for key, flag in value.items():
            if flag is not True:
                continue
            try:
                items.append(json.loads(key) if key.startswith("{") else key)
            except ValueError:
                items.append(key)
    elif isinstance(value, list):
        items = value
    elif value is None:
        items = []
    else:
        items = [value]
    out = []
    for item in items:
        if isinstance(item, dict) and "msg" in item:
            out.append(str(item["msg"]))
        elif isinstance(item, str):
            out.append(item)
        else:
            out.append(json.dumps(item, sort_keys=True))
    return sorted(set(out))


def evaluate_rego(entry: RegoRule, source: str, input_doc: dict[str, Any], *, rule: str) -> list[RuleResult]:
    """Evaluate one module against `input_doc`: fail results per message, else one pass or not-evaluated."""
    package = package_of(source)
    if package is None:
        return [RuleResult(rule, "not-evaluated", "Rego error: the module declares no package")]
    paths = [entry.query] if entry.query else [f"data.{package}.{r}" for r in DEFAULT_RULES]
    try:
        interp = _interpreter(source, f"{rule.removeprefix('rego:')}.rego")
        interp.set_input_term(json.dumps(input_doc))
        # Query all of data and walk it here: regopy aborts the process on some undefined paths.
        out = interp.query("x = data")
        if not out.ok():
            return [RuleResult(rule, "not-evaluated", f"Rego error: {_first_error_line(out)}")]
        data = json.loads(str(out.binding("x").json()))
    except Exception as e:  # noqa: BLE001 - any failure of the engine is not-evaluated, never a pass
        return [RuleResult(rule, "not-evaluated", f"Rego error: {_first_error_line(e)}")]
    results: list[RuleResult] = []
    found = False
    for path in paths:
        value: Any = data
        for part in path.split(".")[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        found = True
        for message in _messages(value):
            results.append(RuleResult(rule, "fail", message, evidence=(path,)))
    if entry.query and not found:
        return [RuleResult(rule, "not-evaluated", f"{entry.query} is not defined by the module")]
    return results or [RuleResult(rule, "pass", "no Rego rule denied", evidence=tuple(paths))]


def rego_input(evidence: Evidence) -> dict[str, Any]:
    """The documented input document (docs/policy.md) built from `evidence`."""
    report = evidence.report
    packages: list[dict[str, Any]] = []
    vulns: list[dict[str, Any]] = []
    secrets: list[dict[str, Any]] = []
    misconfigs: list[dict[str, Any]] = []
    if report is not None:
        for p in report.sbom.packages:
            packages.append({"name": p.name, "version": p.version, "type": p.type, "purl": p.purl,
                             "layer": p.layer_index, "paths": [loc.path for loc in p.locations]})
        for v in report.findings:
            vulns.append({"id": v.id, "aliases": list(v.aliases), "severity": v.severity.value,
                          "package": v.package_name, "version": v.package_version, "type": v.package_type,
                          "purl": v.package_purl, "fixed": list(v.fixed_versions),
                          "suppressed": v.suppression is not None})
        for c in report.checks:
            where = c.location.path if c.location else (c.source.path if c.source else c.target)
            doc = {"ruleID": c.rule_id, "severity": c.severity.value, "title": c.title, "message": c.message,
                   "where": where, "layer": c.location.layer_index if c.location else None,
                   "suppressed": c.suppression is not None}
            (secrets if c.category.lower() == "secret" else misconfigs).append(doc)
    signatures = [{"key": key, "keyId": s.key_id, "payload": s.payload}
                  for key, result in evidence.signatures for s in result.verified]
    attestations = []
    for kind, result in evidence.attestations:
        for s in result.verified:
            attestations.append({"type": kind, "keyId": s.key_id,
                                 "predicateType": s.payload.get("predicateType", ""),
                                 "predicate": s.payload.get("predicate")})
    return {
        "tidegate": {"inputVersion": INPUT_VERSION},
        "reference": evidence.reference,
        "digest": evidence.manifest_digest,
        "registry": evidence.registry,
        "repository": evidence.repository,
        "tag": evidence.tag,
        "pinnedByDigest": evidence.pinned_by_digest,
        "config": {"user": evidence.user, "labels": dict(evidence.labels)},
        "scanned": report is not None,
        "sbom": {"packages": packages},
        "vulnerabilities": vulns,
        "secrets": secrets,
        "misconfigurations": misconfigs,
        "signatures": signatures,
        "attestations": attestations,
        "errors": [{"what": w, "error": e} for w, e in evidence.errors],
    }
