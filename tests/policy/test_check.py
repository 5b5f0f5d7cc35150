"""``tidegate check``: its four output formats on a real verdict, and its exit codes.

The verdict is the real one for ../shared/images/bookworm-app (old packages, leaked secrets, runs as root: its
truth file) under a strict policy; SARIF is validated against the OASIS 2.1.0 schema, JUnit against the shape
of the Jenkins/Ant JUnit XSD (``junit-10.xsd``) that GitLab and the GitHub reporters also read.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from tests.support.images import IMAGES, load_truth
from tidegate.cli import main as cli_main
from tidegate.policy.evidence import Evidence
from tidegate.policy.verdict import RuleResult, Verdict
from tidegate.report.verdict import VerdictReport
from tidegate.report.verdict_registry import VERDICT_FORMATS, get_verdict_format

APP = IMAGES / "bookworm-app.oci.tar"
PATCHED = IMAGES / "bookworm-patched.oci.tar"
SCHEMAS = Path(__file__).resolve().parents[1] / "report" / "schemas"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "check-json-format.md"

pytestmark = pytest.mark.skipif(not APP.exists(), reason="../shared/images not present")

STRICT = """\
apiVersion: tidegate.dev/v1
kind: Policy
metadata:
  name: strict
onNotEvaluated: {on_not_evaluated}
defaults:
  signatures:
    keys: [release.pub]
  attestations:
    types: [cyclonedx]
  vulnerabilities:
    maxSeverity: MEDIUM
  secrets:
    allowed: false
  nonRoot: true
  misconfigurations:
    mustPass: [TG-IMG-001]
"""

NON_ROOT_ONLY = """\
apiVersion: tidegate.dev/v1
kind: Policy
metadata:
  name: non-root
defaults:
  nonRoot: true
"""


def write_public_key(path: Path) -> Path:
    """An ECDSA P-256 public key in PEM (what ``tidegate key generate`` writes to P.pub)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def write_policy(directory: Path, text: str, name: str = "policy.yaml") -> Path:
    """`text` as DIR/NAME, with the release.pub it names beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    if not (directory / "release.pub").exists():
        write_public_key(directory / "release.pub")
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def judge(reference: str, policy_path: Path, db: Path) -> VerdictReport:
    """gather + evaluate, as ``tidegate check`` does."""
    from tidegate.policy.assess import AssessOptions, gather_for
    from tidegate.policy.evaluate import evaluate
    from tidegate.policy.load import load_policy

    policy = load_policy(policy_path)
    evidence = gather_for(reference, policy, AssessOptions(db_dir=db))
    return VerdictReport(verdict=evaluate(policy, evidence), evidence=evidence, policy_path=str(policy_path))


@pytest.fixture(scope="module")
def app_report(vulndb: Path, tmp_path_factory: pytest.TempPathFactory) -> VerdictReport:
    """bookworm-app under the strict policy (signatures and attestations impossible in an archive)."""
    policy = write_policy(tmp_path_factory.mktemp("policy"), STRICT.format(on_not_evaluated="deny"))
    return judge(f"oci-archive:{APP}:1", policy, vulndb)


def statuses(report: VerdictReport) -> dict[str, str]:
    """rule → status."""
    return {r.rule: r.status for r in report.verdict.results}


def test_the_strict_verdict_on_bookworm_app_is_explained(app_report: VerdictReport) -> None:
    v = app_report.verdict
    assert v.manifest_digest == load_truth("bookworm-app")["images"][0]["manifest_digest"]
    assert statuses(app_report) == {
        "signatures": "not-evaluated", "attestations:cyclonedx": "not-evaluated", "vulnerabilities": "fail",
        "secrets": "fail", "nonRoot": "fail", "misconfigurations": "fail"}
    assert not v.allowed and len(v.failed) == 6
    assert app_report.evidence is not None
    assert {w for w, _ in app_report.evidence.errors} == {"signatures", "attestations"}


# -- formats -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", VERDICT_FORMATS, ids=lambda c: c.id)
def test_every_format_is_registered_documented_and_deterministic(cls: Any, app_report: VerdictReport) -> None:
    assert cls.__doc__ and cls.description and cls.media_type
    assert get_verdict_format(cls.id).__class__ is cls
    for alias in cls.aliases:
        assert get_verdict_format(alias.upper()).__class__ is cls
    out = cls().render(app_report)
    assert out.endswith(b"\n") and out == cls().render(app_report)


def test_unknown_format_is_a_usage_error() -> None:
    from tidegate.errors import UsageError

    with pytest.raises(UsageError, match="choose one of: table, json, sarif, junit"):
        get_verdict_format("html")


def test_table_lists_each_rule_the_digest_the_gathering_errors_and_the_decision(app_report: VerdictReport) -> None:
    text = get_verdict_format("table").render(app_report).decode()
    v = app_report.verdict
    assert f"Digest:  {v.manifest_digest}" in text and v.policy_hash in text
    for r in v.results:
        line = next(line for line in text.splitlines() if re.match(rf"^\S.*\s{re.escape(r.rule)}\s", line))
        assert line.startswith({"pass": "PASS", "fail": "FAIL", "not-evaluated": "NOT EVALUATED"}[r.status])
        assert " ".join(r.message.split())[:60] in line
    assert "Evidence that could not be gathered:" in text and "not in oci-archive files" in text
    secret_evidence = next(r for r in v.results if r.rule == "secrets").evidence
    assert f"- {secret_evidence[0]}" in text
    assert text.rstrip().splitlines()[-1].startswith("DENIED: 6 rules: 0 passed, 4 failed, 2 not evaluated; "
                                                     "blocked by signatures")
    assert "\x1b[" not in text and "\x1b[" in get_verdict_format("table").render(app_report, color=True).decode()


def test_json_matches_the_verdict_and_the_documented_keys(app_report: VerdictReport) -> None:
    doc = json.loads(get_verdict_format("json").render(app_report))
    v = app_report.verdict
    assert doc["schemaVersion"] == "1" and doc["tool"]["name"] == "tidegate"
    assert (doc["reference"], doc["manifestDigest"], doc["decision"], doc["allowed"]) == (
        v.reference, v.manifest_digest, "denied", False)
    assert doc["policy"] == {"path": app_report.policy_path, "hash": v.policy_hash, "scope": "",
                             "onNotEvaluated": "deny"}
    assert [(r["rule"], r["status"], r["message"], tuple(r["evidence"]), r["blocking"]) for r in doc["results"]] == [
        (r.rule, r.status, r.message, r.evidence, True) for r in v.results]
    assert doc["reasons"] == list(v.reasons)
    assert doc["summary"] == {"rules": 6, "pass": 0, "fail": 4, "notEvaluated": 2, "blocking": 6}
    ev = doc["evidence"]
    assert ev["scan"]["scanners"] == ["vuln", "secret", "misconfig"]
    assert ev["scan"]["vulnerabilities"]["CRITICAL"] + ev["scan"]["vulnerabilities"]["HIGH"] > 0
    assert ev["scan"]["secrets"] > 0
    assert ev["user"] == "" and ev["scannedAt"] is not None
    assert {e["what"] for e in ev["errors"]} == {"signatures", "attestations"}
    # Every key the renderer writes is documented (and nothing undocumented is written).
    documented = set(re.findall(r"^\| `([A-Za-z.\[\]]+)` \|", DOCS.read_text(encoding="utf-8"), re.MULTILINE))

    def keys(node: Any, prefix: str = "") -> Iterator[str]:
        if isinstance(node, dict):
            for k, value in node.items():
                yield prefix + k
                yield from keys(value, prefix + k + ".")
        elif isinstance(node, list) and node and isinstance(node[0], dict):
            yield from keys(node[0], prefix.rstrip(".") + "[].")

    written = set(keys(doc)) - {k for k in keys(doc) if k.startswith("evidence.scan.vulnerabilities.")}
    assert written <= documented, sorted(written - documented)


def test_sarif_is_schema_valid_with_one_result_per_blocking_rule_plus_its_findings(app_report: VerdictReport
                                                                                   ) -> None:
    doc = json.loads(get_verdict_format("sarif").render(app_report))
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft7Validator(schema).validate(doc)
    run = doc["runs"][0]
    rules, results = run["tool"]["driver"]["rules"], run["results"]
    v = app_report.verdict
    policy_results = [r for r in results if r["ruleId"].startswith("policy/")]
    assert [r["ruleId"] for r in policy_results] == [f"policy/{r.rule}" for r in v.failed]
    assert all(r["level"] == "error" for r in policy_results)
    assert policy_results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("policy.yaml")
    for r in results:
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]
    findings = [r for r in results if not r["ruleId"].startswith("policy/")]
    vuln_rule = next(r for r in v.results if r.rule == "vulnerabilities")
    assert {r["ruleId"] for r in findings if r["ruleId"].startswith(("CVE-", "GHSA-", "DSA-", "DLA-"))} == \
        {e for e in vuln_rule.evidence if e.startswith(("CVE-", "GHSA-", "DSA-", "DLA-"))}
    assert {"TG-IMG-001"} | {e.split()[0] for e in next(r for r in v.results if r.rule == "secrets").evidence} <= \
        {r["ruleId"] for r in findings}
    assert all(r["properties"]["policyRules"] for r in findings)
    assert run["properties"]["decision"] == "denied"
    assert len(run["invocations"][0]["toolExecutionNotifications"]) == 2


def test_sarif_of_an_allowed_verdict_has_no_results() -> None:
    report = VerdictReport(Verdict("r", "sha256:" + "a" * 64, "sha256:" + "b" * 64,
                                   (RuleResult("nonRoot", "pass", "config.User is 'app'"),)))
    doc = json.loads(get_verdict_format("sarif").render(report))
    jsonschema.Draft7Validator(json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())).validate(doc)
    assert doc["runs"][0]["results"] == [] and doc["runs"][0]["properties"]["allowed"] is True


# -- JUnit -------------------------------------------------------------------------------------------------------

# The Jenkins/Ant shape (jenkinsci junit-plugin ``junit-10.xsd``, trimmed to what tidegate writes): GitLab's and
# the GitHub reporters' parsers read the same elements and attributes.
JUNIT_XSD = """\
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" elementFormDefault="qualified">
  <xs:element name="failure"><xs:complexType mixed="true">
    <xs:attribute name="type" type="xs:string"/><xs:attribute name="message" type="xs:string"/></xs:complexType>
  </xs:element>
  <xs:element name="error"><xs:complexType mixed="true">
    <xs:attribute name="type" type="xs:string"/><xs:attribute name="message" type="xs:string"/></xs:complexType>
  </xs:element>
  <xs:element name="skipped"><xs:complexType mixed="true">
    <xs:attribute name="message" type="xs:string"/></xs:complexType></xs:element>
  <xs:element name="property"><xs:complexType>
    <xs:attribute name="name" type="xs:string" use="required"/>
    <xs:attribute name="value" type="xs:string" use="required"/></xs:complexType></xs:element>
  <xs:element name="properties"><xs:complexType><xs:sequence>
    <xs:element ref="property" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
  <xs:element name="system-out" type="xs:string"/>
  <xs:element name="system-err" type="xs:string"/>
  <xs:element name="testcase"><xs:complexType><xs:sequence>
    <xs:choice minOccurs="0"><xs:element ref="skipped"/><xs:element ref="error"/><xs:element ref="failure"/>
    </xs:choice>
    <xs:element ref="system-out" minOccurs="0" maxOccurs="unbounded"/>
    <xs:element ref="system-err" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
    <xs:attribute name="name" type="xs:string" use="required"/>
    <xs:attribute name="classname" type="xs:string"/>
    <xs:attribute name="time" type="xs:decimal"/></xs:complexType></xs:element>
  <xs:element name="testsuite"><xs:complexType><xs:sequence>
    <xs:element ref="properties" minOccurs="0"/>
    <xs:element ref="testcase" minOccurs="0" maxOccurs="unbounded"/>
    <xs:element ref="system-out" minOccurs="0"/><xs:element ref="system-err" minOccurs="0"/></xs:sequence>
    <xs:attribute name="name" type="xs:string" use="required"/>
    <xs:attribute name="tests" type="xs:nonNegativeInteger" use="required"/>
    <xs:attribute name="failures" type="xs:nonNegativeInteger"/>
    <xs:attribute name="errors" type="xs:nonNegativeInteger"/>
    <xs:attribute name="skipped" type="xs:nonNegativeInteger"/>
    <xs:attribute name="time" type="xs:decimal"/>
    <xs:attribute name="timestamp" type="xs:dateTime"/>
    <xs:attribute name="hostname" type="xs:string"/>
    <xs:attribute name="id" type="xs:string"/>
    <xs:attribute name="package" type="xs:string"/></xs:complexType></xs:element>
  <xs:element name="testsuites"><xs:complexType><xs:sequence>
    <xs:element ref="testsuite" minOccurs="0" maxOccurs="unbounded"/></xs:sequence>
    <xs:attribute name="name" type="xs:string"/>
    <xs:attribute name="tests" type="xs:nonNegativeInteger"/>
    <xs:attribute name="failures" type="xs:nonNegativeInteger"/>
    <xs:attribute name="errors" type="xs:nonNegativeInteger"/>
    <xs:attribute name="skipped" type="xs:nonNegativeInteger"/>
    <xs:attribute name="time" type="xs:decimal"/></xs:complexType></xs:element>
</xs:schema>
"""


def junit_valid(data: bytes) -> None:
    """Validate against `JUNIT_XSD` with lxml."""
    from lxml import etree

    schema = etree.XMLSchema(etree.fromstring(JUNIT_XSD.encode()))
    doc = etree.fromstring(data)
    assert schema.validate(doc), schema.error_log


def test_junit_has_one_suite_per_image_and_one_case_per_rule(app_report: VerdictReport) -> None:
    data = get_verdict_format("junit").render(app_report)
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    junit_valid(data)
    root = ET.fromstring(data)
    v = app_report.verdict
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == v.reference
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("6", "4", "2",
                                                                                                      "0")
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == {
        k: suite.get(k) for k in ("tests", "failures", "errors", "skipped")}
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["manifestDigest"] == v.manifest_digest and props["decision"] == "denied"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [r.rule for r in v.results]
    assert {c.get("classname") for c in cases} == {"tidegate.policy.policy"}
    for case, r in zip(cases, v.results, strict=True):
        outcome = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        assert outcome == {"fail": ["failure"], "not-evaluated": ["error"]}[r.status]
        el = case.find(outcome[0])
        assert el is not None and el.get("message", "").endswith(r.message)
        assert all(e in (el.text or "") for e in r.evidence)
    assert "DENIED" in (suite.findtext("system-out") or "")


def test_junit_not_evaluated_that_does_not_block_is_skipped(vulndb: Path, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, STRICT.format(on_not_evaluated="allow"))
    report = judge(f"oci-archive:{APP}:1", policy, vulndb)
    data = get_verdict_format("junit").render(report)
    junit_valid(data)
    suite = ET.fromstring(data).find("testsuite")
    assert suite is not None
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("4", "0", "2")
    skipped = [c.get("name") for c in suite.findall("testcase") if c.find("skipped") is not None]
    assert skipped == ["signatures", "attestations:cyclonedx"]


def test_junit_passing_rules_and_hostile_text() -> None:
    v = Verdict("app\x00:1 <&>", "sha256:" + "a" * 64, "sha256:" + "b" * 64,
                (RuleResult("nonRoot", "pass", "config.User is 'app'", ("User=app",)),
                 RuleResult("rego:deny", "fail", "bad ]]> \x1b[31m <x/>", ("e\x07vil",))))
    data = get_verdict_format("junit").render(VerdictReport(v))
    junit_valid(data)
    cases = ET.fromstring(data).findall("testsuite/testcase")
    assert [c.find("failure") is not None for c in cases] == [False, True]
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "bad ]]> [31m <x/>"


# -- CLI ---------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One CLI run."""

    code: int
    out: str
    err: str


def parser_with_check() -> argparse.ArgumentParser:
    """main's parser, with ``check`` registered if main does not register it (yet)."""
    from tidegate.cli import check

    parser = _build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "check" not in sub.choices:
        check.register(sub)
    return parser


_build_parser = cli_main.build_parser


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Run ``tidegate -q ARGV…`` in-process."""
    monkeypatch.setattr(cli_main, "build_parser", parser_with_check)
    monkeypatch.setenv("DOCKER_CONFIG", "/nonexistent-docker-config")

    def go(*argv: str) -> Run:
        code = cli_main.main(["-q", *argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    yield go


def test_cli_denied_is_exit_1_with_reasons_on_stderr(run: Any, vulndb: Path, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, STRICT.format(on_not_evaluated="deny"))
    out = tmp_path / "check.xml"
    r = run("check", f"oci-archive:{APP}:1", "--policy", str(policy), "--db", str(vulndb), "-f", "junit",
            "-o", str(out))
    assert r.code == 1, r.err
    assert r.out == ""
    junit_valid(out.read_bytes())
    assert "tidegate: denied: oci-archive:" in r.err and "secrets: " in r.err and "nonRoot: " in r.err


def test_cli_allowed_is_exit_0(run: Any, vulndb: Path, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, NON_ROOT_ONLY)
    r = run("check", f"oci-archive:{PATCHED}:1", "--policy", str(policy), "--db", str(vulndb), "-f", "json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["allowed"] is True and doc["results"][0]["rule"] == "nonRoot"
    assert doc["manifestDigest"] == load_truth("bookworm-patched")["images"][0]["manifest_digest"]
    table = run("check", f"oci-archive:{PATCHED}:1", "--policy", str(policy))
    assert table.code == 0 and table.out.rstrip().splitlines()[-1].startswith("ALLOWED: 1 rules: 1 passed")


def test_cli_evidence_not_gathered_denies_under_zero_trust(run: Any, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, STRICT.format(on_not_evaluated="deny"))
    r = run("check", f"oci-archive:{PATCHED}:1", "--policy", str(policy), "--db", str(tmp_path / "no-db"))
    assert r.code == 1
    assert "NOT EVALUATED  vulnerabilities" in r.out and "no vulnerability database at" in r.out


@pytest.mark.parametrize(("argv", "phrase"), [
    (["--policy", "{missing}"], "missing.yaml"),
    (["--policy", "{bad}"], "bad.yaml:6"),
    (["--policy", "{good}", "-f", "html"], "unknown output format 'html' for check"),
    (["--policy", "{good}", "--parallel", "0"], "--parallel must be at least 1"),
    ([], "the following arguments are required: --policy"),
])
def test_cli_usage_and_input_errors_are_exit_2(run: Any, tmp_path: Path, argv: list[str], phrase: str) -> None:
    good = write_policy(tmp_path, NON_ROOT_ONLY)
    bad = write_policy(tmp_path, NON_ROOT_ONLY.replace("nonRoot: true", "nonRoot: maybe"), name="bad.yaml")
    paths = {"missing": str(tmp_path / "missing.yaml"), "bad": str(bad), "good": str(good)}
    try:
        r = run("check", f"oci-archive:{PATCHED}:1", *[a.format(**paths) for a in argv])
    except SystemExit as e:  # argparse usage errors exit from the parser
        assert e.code == 2
        return
    assert r.code == 2, r.err
    assert phrase in r.err and r.err.count("\n") <= 2


def test_cli_unresolvable_image_is_exit_2(run: Any, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, NON_ROOT_ONLY)
    r = run("check", "oci-archive:/nonexistent/app.tar", "--policy", str(policy))
    assert r.code == 2 and "tidegate: error:" in r.err


def test_report_without_evidence_renders_in_every_format() -> None:
    v = Verdict("r:1", "sha256:" + "a" * 64, "sha256:" + "b" * 64,
                (RuleResult("requireDigest", "fail", "the reference names a tag", ("r:1",)),), scope="team")
    for cls in VERDICT_FORMATS:
        assert cls().render(VerdictReport(v))
    doc = json.loads(get_verdict_format("json").render(VerdictReport(replace(v, results=()))))
    assert doc["evidence"] is None and doc["allowed"] is True and doc["policy"]["scope"] == "team"
    _ = Evidence  # the type the renderers read
