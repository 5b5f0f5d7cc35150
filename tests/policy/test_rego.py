"""Custom Rego rules as Kyverno / Gatekeeper / conftest users write them, over the documented input document."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.policy.test_evaluate import DIGEST, KEY_ID, NOW, check, evidence, report, signed, vuln
from tidegate.policy import rego
from tidegate.policy.evaluate import evaluate
from tidegate.policy.load import load_policy
from tidegate.policy.model import RegoRule
from tidegate.policy.rego import evaluate_rego, rego_input

HEAD = "apiVersion: tidegate.dev/v1\nkind: Policy\nmetadata:\n  name: t\n"

NO_LATEST = """package main
import rego.v1

deny contains msg if {
  input.tag == "latest"
  msg := "images must not use the latest tag"
}
deny contains msg if {
  input.tag == null
  not input.pinnedByDigest
  msg := "images must name a tag or a digest"
}
"""

REQUIRE_LABEL_GATEKEEPER = """package k8srequiredlabels
import rego.v1

violation contains {"msg": msg} if {
  some k in ["org.opencontainers.image.source", "team"]
  not input.config.labels[k]
  msg := sprintf("missing label %s", [k])
}
"""

BLOCK_PACKAGE = """package tidegate

deny[msg] {
  some p in input.sbom.packages
  p.name == "requests"
  startswith(p.version, "2.0")
  msg := sprintf("blocked package %s %s (layer %d)", [p.name, p.version, p.layer])
}
"""

REQUIRE_KEY = """package tidegate.signing
import rego.v1

trusted := {"KEY_ID"}

deny contains "no signature by a trusted key id" if {
  count({s | some s in input.signatures; s.keyId in trusted}) == 0
}
""".replace("KEY_ID", KEY_ID)


def run(source: str, ev_kw: dict[str, object] | None = None, query: str | None = None) -> list[tuple[str, str]]:
    """(status, message) of one module on evidence with a report."""
    kw: dict[str, object] = {"report": report()}
    kw.update(ev_kw or {})
    entry = RegoRule(inline=source, query=query)
    return [(r.status, r.message) for r in evaluate_rego(entry, source, rego_input(evidence(**kw)), rule="rego:t")]


def test_disallow_latest_tag() -> None:
    assert run(NO_LATEST, {"tag": "latest"}) == [("fail", "images must not use the latest tag")]
    assert run(NO_LATEST, {"tag": "1"}) == [("pass", "no Rego rule denied")]
    assert run(NO_LATEST, {"tag": None}) == [("fail", "images must name a tag or a digest")]


def test_require_labels_gatekeeper_style() -> None:
    assert run(REQUIRE_LABEL_GATEKEEPER, {"labels": (("team", "a"),)}) == [
        ("fail", "missing label org.opencontainers.image.source")]
    assert run(REQUIRE_LABEL_GATEKEEPER) == [
        ("fail", "missing label org.opencontainers.image.source"), ("fail", "missing label team")]
    labels = (("team", "a"), ("org.opencontainers.image.source", "https://git.example/app"))
    assert run(REQUIRE_LABEL_GATEKEEPER, {"labels": labels}) == [("pass", "no Rego rule denied")]


def test_engine_crash_is_not_evaluated_and_isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    # regopy (rego-cpp) can abort its process (std::terminate); evaluation runs in a child so we survive it
    monkeypatch.setattr(rego, "_WORKER", "import os; os.abort()")
    [(status, message)] = run(NO_LATEST)
    assert status == "not-evaluated" and message.startswith("Rego error: the Rego engine crashed"), message


def test_block_a_package_conftest_v0_style() -> None:
    # tests.match.pypi puts the package in layer 2
    assert run(BLOCK_PACKAGE) == [("fail", "blocked package requests 2.0 (layer 2)")]


def test_require_signature_by_key_id() -> None:
    assert run(REQUIRE_KEY) == [("fail", "no signature by a trusted key id")]
    assert run(REQUIRE_KEY, {"signatures": (("k.pub", signed(True)),)}) == [("pass", "no Rego rule denied")]


def test_each_message_is_one_failure_and_findings_are_visible() -> None:
    source = """package main
import rego.v1
deny contains sprintf("%s is %s", [v.id, v.severity]) if { some v in input.vulnerabilities; not v.suppressed }
deny contains sprintf("secret %s at %s", [s.ruleID, s.where]) if { some s in input.secrets }
"""
    got = run(source, {"report": report((vuln("CVE-1", "HIGH"), vuln("CVE-2", "LOW", suppressed=True)),
                                        (check("TG-SEC-001", "secret", path="app/.env"),))})
    assert got == [("fail", "CVE-1 is HIGH"), ("fail", "secret TG-SEC-001 at app/.env")]


def test_explicit_query() -> None:
    source = 'package acme.images\nimport rego.v1\nreasons contains "nope" if input.tag == "1"\n'
    assert run(source, query="data.acme.images.reasons") == [("fail", "nope")]
    assert run(source, query="data.acme.images.other") == [
        ("not-evaluated", "data.acme.images.other is not defined by the module")]


def test_builtin_error_is_not_evaluated() -> None:
    source = 'package main\nimport rego.v1\ndeny contains m if { m := concat(",", input.tag) }\n'
    [(status, message)] = run(source)
    assert status == "not-evaluated" and message.startswith("Rego error")


def test_syntax_error_is_not_evaluated() -> None:
    [(status, message)] = run("package main\ndeny contains m if {\n")
    assert status == "not-evaluated" and message.startswith("Rego error")


def test_input_document() -> None:
    doc = rego_input(evidence(report=report((vuln("CVE-1", "HIGH", aliases=("GHSA-1",)),)),
                              attestations=(("cyclonedx", signed(True)),), labels=(("a", "b"),)))
    assert doc["digest"] == DIGEST and doc["registry"] == "registry.example.com"
    assert doc["repository"] == "team/app" and doc["tag"] == "1" and doc["pinnedByDigest"] is False
    assert doc["config"] == {"user": "1000", "labels": {"a": "b"}}
    assert doc["sbom"]["packages"][0] == {"name": "requests", "version": "2.0", "type": "pypi",
                                          "purl": "pkg:pypi/requests@2.0", "layer": 2, "paths": [
                                              "/usr/lib/python3/dist-packages/requests-2.0.dist-info/METADATA"]}
    assert doc["vulnerabilities"] == [{"id": "CVE-1", "aliases": ["GHSA-1"], "severity": "HIGH",
                                       "package": "requests", "version": "2.0", "type": "pypi",
                                       "purl": "pkg:pypi/requests@2.0", "fixed": ["2.1"], "suppressed": False}]
    assert doc["attestations"] == [{"type": "cyclonedx", "keyId": KEY_ID, "predicateType": "", "predicate": None}]


def test_rego_in_a_policy_file(write_policy: Callable[[str], Path], tmp_path: Path) -> None:
    (tmp_path / "latest.rego").write_text(NO_LATEST)
    policy = load_policy(write_policy(HEAD + "defaults:\n  rego:\n    - file: latest.rego\n"
                                      "    - name: labels\n      inline: |\n"
                                      + "".join(f"        {ln}\n" for ln in REQUIRE_LABEL_GATEKEEPER.splitlines())))
    verdict = evaluate(policy, evidence(tag="latest", report=report()), now=NOW)
    assert [(r.rule, r.status, r.message) for r in verdict.results] == [
        ("rego:latest.rego", "fail", "images must not use the latest tag"),
        ("rego:labels", "fail", "missing label org.opencontainers.image.source"),
        ("rego:labels", "fail", "missing label team")]
    # the file's content as loaded is what is evaluated and hashed
    (tmp_path / "latest.rego").write_text("package main\n")
    assert evaluate(policy, evidence(tag="latest", report=report()), now=NOW).results[0].status == "fail"


@pytest.mark.parametrize(("kw", "message"), [
    ({}, "no scan result for the input document"),
    ({"report": report(), "errors": (("signatures", "registry 503"),)},
     "the input is incomplete: signatures: registry 503"),
])
def test_incomplete_input_is_not_evaluated(write_policy: Callable[[str], Path], kw: dict[str, object],
                                           message: str) -> None:
    policy = load_policy(write_policy(HEAD + "defaults:\n  rego:\n    - inline: \"package main\"\n"))
    [result] = evaluate(policy, evidence(**kw), now=NOW).results
    assert (result.rule, result.status, result.message) == ("rego:inline-1", "not-evaluated", message)


def test_now_defaults_to_the_clock() -> None:
    assert NOW < dt.datetime.now(dt.UTC)
