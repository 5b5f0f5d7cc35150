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
import subprocess
import sys
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


_WORKER = r"""
import json, sys
from regopy import Interpreter
req = json.load(sys.stdin)
try:
    interp = Interpreter()
    interp.strict_built_in_errors = True
    interp.add_module(req["name"], req["source"])
    if req["input"] is not None:
        interp.set_input_term(req["input"])
    out = interp.query("x = data")
    if not out.ok():
        print(json.dumps({"error": str(out)}))
    else:
        print(json.dumps({"data": json.loads(out.binding("x").json())}))
except ValueError as e:
    print(json.dumps({"error": "the Rego engine produced output it cannot read (" + str(e) + ")"}))
except Exception as e:
    print(json.dumps({"error": str(e)}))
"""
TIMEOUT_SECONDS = 20.0
"""A Rego evaluation taking longer than this is not-evaluated."""


def run_module(source: str, name: str, input_doc: dict[str, Any] | None) -> tuple[Any, str | None]:
    """(all of ``data``, None) or (None, one-line error) for one module and input.

    regopy (rego-cpp) aborts the whole process on some inputs (``std::terminate``), so every evaluation runs
    in a child interpreter: a crash there is a not-evaluated rule here, never a dead webhook.
    """
    request = json.dumps({"name": name, "source": source,
                          "input": None if input_doc is None else json.dumps(input_doc)})
    try:
        proc = subprocess.run([sys.executable, "-c", _WORKER], input=request, capture_output=True, text=True,
                              timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return None, f"evaluation took longer than {TIMEOUT_SECONDS:g}s"
    try:
        answer = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        tail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        return None, f"the Rego engine crashed ({tail})"
    if "error" in answer:
        return None, _first_error_line(answer["error"])
    return answer.get("data"), None


def package_of(source: str) -> str | None:
    """The module's package path (``main``, ``k8s.gatekeeper``), or None when it declares none."""
    m = _PACKAGE.search(source)
    return m.group(1) if m else None


def check_module(source: str, name: str) -> str | None:
    """None when the module parses and compiles; else the first error in one line."""
    if package_of(source) is None:
        return "the module declares no package"
    return run_module(source, name, None)[1]


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
            except ValueError:  # rego-cpp renders derived strings in object keys unescaped
                m = re.fullmatch(r'\{"msg":"(.*)"\}', key, re.DOTALL)
                items.append(m.group(1) if m else key)
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
    data, error = run_module(source, f"{rule.removeprefix('rego:')}.rego", input_doc)
    if error is not None:
        return [RuleResult(rule, "not-evaluated", f"Rego error: {error}")]
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
