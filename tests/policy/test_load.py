"""`load_policy`: every schema and meaning error is one line naming file:line and the field; the shipped schema
equals the generated one; scope precedence; hash and requirements."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tidegate.policy.evidence import Requirements
from tidegate.policy.load import PolicyFileError, load_policy, policy_schema, shipped_schema
from tidegate.policy.model import glob_match, specificity

HEAD = "apiVersion: tidegate.dev/v1\nkind: Policy\nmetadata:\n  name: t\n"


def test_shipped_schema_equals_generated() -> None:
    assert shipped_schema() == policy_schema()


def test_schema_file_is_package_data() -> None:
    text = Path(__file__).resolve().parents[2].joinpath("pyproject.toml").read_text()
    assert '"tidegate.policy" = ["schema.json"]' in text


def test_minimal_policy_loads(write_policy: Callable[[str], Path]) -> None:
    policy = load_policy(write_policy(HEAD))
    assert policy.on_not_evaluated == "deny"
    assert policy.requirements("alpine:3") == Requirements(scan=False)
    assert policy.hash.startswith("sha256:") and len(policy.hash) == 71


# (policy body after HEAD, expected line, expected text after "policy.yaml:LINE: ")
ERRORS = [
    ("defaults:\n  vulnerabilities:\n    maxSeverity: SEVERE\n", 7,
     "defaults.vulnerabilities.maxSeverity: 'SEVERE' is not one of 'UNKNOWN', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'"),
    ("defaults:\n  signatures:\n    keys: []\n", 7, "defaults.signatures.keys: [] should be non-empty"),
    ("defaults:\n  vulnerabilities:\n    maxScanAge: 1 day\n", 7,
     "defaults.vulnerabilities.maxScanAge: '1 day' is not a duration (e.g. 90s, 30m, 24h, 7d, 1d12h)"),
    ("defaults:\n  nonRoot: true\n  bogus: 1\n", 7, "defaults.bogus: unknown field (expected one of: "),
    ("defaults:\n  vulnerabilities:\n    maxCount:\n      CRITICAL: 0\n      HUGE: 1\n", 7,
     "defaults.vulnerabilities.maxCount: 'HUGE' is not one of"),
    ("defaults:\n  vulnerabilities:\n    maxCount: {HIGH: -1}\n", 7,
     "defaults.vulnerabilities.maxCount.HIGH: -1 is less than the minimum of 0"),
    ("scopes:\n  - match: [\"Registry.example.com/x\"]\n    rules: {}\n", 6,
     "scopes[0].match[0]: 'Registry.example.com/x' is not a registry/repository glob"),
    ("scopes:\n  - match: [\"a.io/x\"]\n", 6, "scopes[0]: required field 'rules' is missing"),
    ("onNotEvaluated: maybe\n", 5, "onNotEvaluated: 'maybe' is not one of 'deny', 'allow'"),
    ("defaults:\n  attestations:\n    types: [sbom]\n", 7,
     "defaults.attestations.types[0]: 'sbom' is not an attestation type"),
    ("defaults:\n  nonRoot: yes please\n", 6, "defaults.nonRoot: 'yes please' is not of type 'boolean'"),
    ("defaults:\n  misconfigurations:\n    mustPass: [TG-IMG-999]\n", 7,
     "defaults.misconfigurations.mustPass[0]: 'TG-IMG-999': no such rule"),
    ("defaults:\n  misconfigurations:\n    mustPass:\n      - TG-IMG-001\n      - TG-DF-001\n", 9,
     "defaults.misconfigurations.mustPass[1]: 'TG-DF-001': a rule of tidegate lint, not of images"),
    ("defaults:\n  signatures:\n    keys: [missing.pub]\n", 7,
     "defaults.signatures.keys[0]: cannot read key file 'missing.pub': No such file or directory"),
    ("defaults:\n  signatures:\n    keys: [policy.yaml]\n", 7,
     "defaults.signatures.keys[0]: 'policy.yaml' is not a PEM public key"),
    ("defaults:\n  signatures:\n    keys: [release.pub]\n    minCount: 2\n", 8,
     "defaults.signatures.minCount: 2 is more than the 1 key(s) listed"),
    ("defaults:\n  attestations:\n    types: [cyclonedx]\n", 6,
     "defaults.attestations: attestations need keys: set attestations.keys or signatures.keys"),
    ("defaults:\n  rego:\n    - name: x\n", 7, "defaults.rego[0]: give exactly one of 'file' or 'inline'"),
    ("defaults:\n  rego:\n    - inline: |\n        package main\n        deny contains m if {\n", 7,
     "defaults.rego[0].inline: Rego error: "),
    ("defaults:\n  rego:\n    - inline: \"deny contains 1 if true\"\n", 7,
     "defaults.rego[0].inline: Rego error: the module declares no package"),
    ("defaults:\n  rego:\n    - {file: nope.rego}\n", 7,
     "defaults.rego[0].file: cannot read Rego file 'nope.rego'"),
    ("defaults:\n  rego:\n    - {inline: \"package a\", query: \"deny\"}\n", 7,
     "defaults.rego[0].query: 'deny' is not a Rego rule path (e.g. data.tidegate.deny)"),
    ("defaults:\n  nonRoot: true\n  nonRoot: false\n", 7, "defaults.nonRoot: duplicate key"),
    ("defaults: &d\n  nonRoot: true\nscopes:\n  - match: [a.io/*]\n    rules: *d\n", 9,
     "scopes[0].rules: YAML aliases are not allowed"),
    ("defaults:\n  nonRoot: [\n", 7, "invalid YAML: "),
]


@pytest.mark.parametrize(("body", "line", "text"), ERRORS, ids=[e[2].split(":")[0] + f"@{e[1]}" for e in ERRORS])
def test_errors_name_file_line_and_field(write_policy: Callable[[str], Path], body: str, line: int,
                                         text: str) -> None:
    path = write_policy(HEAD + body)
    with pytest.raises(PolicyFileError) as exc:
        load_policy(path)
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: {text}"), message
    assert exc.value.exit_code == 2


@pytest.mark.parametrize(("text", "line", "phrase"), [
    ("kind: Policy\nmetadata: {name: t}\n", 1, "(document): required field 'apiVersion' is missing"),
    ("apiVersion: tidegate.dev/v2\nkind: Policy\nmetadata: {name: t}\n", 1,
     "apiVersion: 'tidegate.dev/v2' must be 'tidegate.dev/v1'"),
    ("", 1, "the policy file is empty"),
    ("- a\n- b\n", 1, "the policy must be a YAML mapping"),
    ("a: 1\n---\nb: 2\n", 2, "invalid YAML: "),
])
def test_document_level_errors(write_policy: Callable[[str], Path], text: str, line: int, phrase: str) -> None:
    path = write_policy(text)
    with pytest.raises(PolicyFileError, match=rf"^{path}:{line}: " + phrase.replace("(", r"\(").replace(")", r"\)")):
        load_policy(path)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyFileError, match="cannot read the policy file"):
        load_policy(tmp_path / "absent.yaml")


def test_several_errors_report_the_first_by_line(write_policy: Callable[[str], Path]) -> None:
    path = write_policy(HEAD + "defaults:\n  secrets: {allowed: maybe}\n  nonRoot: 3\n")
    with pytest.raises(PolicyFileError, match=r":6: defaults.secrets.allowed: .* \(and 1 more\)$"):
        load_policy(path)


@pytest.mark.parametrize(("pattern", "name", "ok"), [
    ("registry.example.com/team/*", "registry.example.com/team/app", True),
    ("registry.example.com/team/*", "registry.example.com/team/sub/app", False),
    ("registry.example.com/team/**", "registry.example.com/team/sub/app", True),
    ("docker.io/library/*", "docker.io/library/nginx", True),
    ("docker.io/library/*", "docker.io/bitnami/nginx", False),
    ("*.example.com/app", "eu.example.com/app", True),
    ("registry.example.com/app?", "registry.example.com/app1", True),
    ("registry.example.com/app", "registry.example.com/app2", False),
])
def test_glob(pattern: str, name: str, ok: bool) -> None:
    assert glob_match(pattern, name) is ok


def test_specificity_orders_longest_literal_prefix_then_fewest_wildcards() -> None:
    # literal prefix before the first wildcard: 22 > 21 > 0
    assert specificity("registry.example.com/t/*") > specificity("registry.example.com/*")
    assert specificity("registry.example.com/*") > specificity("*/team/app")
    # same prefix: one wildcard beats two
    assert specificity("a.io/x*") > specificity("a.io/x*/*")


SCOPED = HEAD + """\
defaults:
  nonRoot: true
  requireDigest: true
scopes:
  - match: ["registry.example.com/**"]
    rules:
      requireDigest: false
  - name: team
    match: ["registry.example.com/team/*"]
    rules:
      secrets: {allowed: false}
  - match: ["registry.example.com/team/app"]
    rules:
      nonRoot: null
  - match: ["docker.io/library/*"]
    rules:
      vulnerabilities: {maxSeverity: HIGH}
"""


@pytest.mark.parametrize(("reference", "scope", "non_root", "digest", "secrets", "vulns"), [
    # only the winning scope applies, merged over the defaults (not over the less specific scopes)
    ("registry.example.com/team/app:1", "registry.example.com/team/app", None, True, False, False),
    ("registry.example.com/team/web@sha256:" + "a" * 64, "team", True, True, True, False),
    ("registry.example.com/other/x:2", "registry.example.com/**", True, False, False, False),
    ("nginx:1.27", "docker.io/library/*", True, True, False, True),
    ("docker.io/bitnami/nginx", "", True, True, False, False),
    ("oci-archive:app.tar:1", "", True, True, False, False),
])
def test_most_specific_scope_wins_and_replaces_sections(write_policy: Callable[[str], Path], reference: str,
                                                        scope: str, non_root: bool | None, digest: bool,
                                                        secrets: bool, vulns: bool) -> None:
    policy = load_policy(write_policy(SCOPED))
    name, rules = policy.scope_for(reference)
    assert name == scope
    assert rules.non_root is non_root
    assert bool(rules.require_digest) is digest
    assert (rules.secrets is not None) is secrets
    assert (rules.vulnerabilities is not None) is vulns


def test_requirements_resolve_keys_and_scanners(write_policy: Callable[[str], Path], tmp_path: Path) -> None:
    policy = load_policy(write_policy(HEAD + """\
defaults:
  signatures: {keys: [release.pub], identity: exact, annotations: {build: "42", env: prod}}
  attestations: {types: [cyclonedx, "https://example.com/custom/v1"]}
  vulnerabilities: {maxSeverity: HIGH}
  secrets: {allowed: false}
"""))
    key = str(tmp_path / "release.pub")
    assert policy.requirements("registry.example.com/app:1") == Requirements(
        scan=True, scanners=frozenset({"vuln", "secret"}), signature_keys=(key,), signature_identity="exact",
        signature_annotations=(("build", "42"), ("env", "prod")),
        attestation_types=("cyclonedx", "https://example.com/custom/v1"), attestation_keys=(key,))


def test_rego_requires_every_scanner(write_policy: Callable[[str], Path]) -> None:
    policy = load_policy(write_policy(HEAD + "defaults:\n  rego:\n    - inline: \"package main\"\n"))
    assert policy.requirements("a.io/b").scanners == frozenset({"vuln", "secret", "misconfig"})


def test_hash_covers_model_and_key_content(write_policy: Callable[[str], Path], tmp_path: Path) -> None:
    text = HEAD + "defaults:\n  signatures: {keys: [release.pub]}\n"
    first = load_policy(write_policy(text)).hash
    assert load_policy(write_policy(text + "# a comment changes nothing\n")).hash == first
    assert load_policy(write_policy(text.replace("name: t", "name: u"))).hash != first
    path = write_policy(text)
    (tmp_path / "release.pub").write_text((tmp_path / "release.pub").read_text().replace("MFkw", "MFkx"))
    assert load_policy(path).hash != first


def test_hash_is_canonical_json(write_policy: Callable[[str], Path]) -> None:
    a = load_policy(write_policy(HEAD + "defaults: {nonRoot: true, requireDigest: true}\n")).hash
    b = load_policy(write_policy(HEAD + "defaults:\n  requireDigest: true\n  nonRoot: true\n")).hash
    assert a == b
    json.dumps(policy_schema())  # the schema is JSON-serialisable
