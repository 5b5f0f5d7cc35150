"""The CI pipeline of examples/ci/, run locally: build → SBOM → scan → sign → attest → check, against a real registry.

Same tidegate commands, same order, as examples/ci/github-actions.yml, .gitlab-ci.yml and Jenkinsfile (the
"build" is ``skopeo copy`` of ../shared/images/bookworm-patched.oci.tar into the test registry, since there is
no Docker daemon here). Then the negative door: bookworm-app (its truth: old packages, leaked secrets, root)
under the default policy of ``tidegate policy init`` is denied, with each reason explained.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tests.support.images import IMAGES, load_truth
from tests.support.registry import push_archive
from tidegate.cli import main as cli_main

PATCHED = IMAGES / "bookworm-patched.oci.tar"
APP = IMAGES / "bookworm-app.oci.tar"
PASSWORD = "pipeline password"

pytestmark = [pytest.mark.registry,
              pytest.mark.skipif(not PATCHED.exists(), reason="../shared/images not present")]


@dataclass
class Run:
    """One CLI run."""

    code: int
    out: str
    err: str


def _parser() -> argparse.ArgumentParser:
    """main's parser with ``check``, ``policy`` and the trust commands, in case main does not register them yet."""
    from tidegate.cli import check, policy, trust

    parser = _build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, module in (("check", check), ("policy", policy), ("sign", trust)):
        if name not in sub.choices:
            module.register(sub)
    return parser


_build_parser = cli_main.build_parser


@pytest.fixture
def tidegate(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, vulndb: Path,
             tmp_path: Path) -> Iterator[Any]:
    """Run ``tidegate ARGV…`` in-process, in a CI-like working directory, with the key password in the env."""
    monkeypatch.setattr(cli_main, "build_parser", _parser)
    monkeypatch.setenv("TIDEGATE_PASSWORD", PASSWORD)
    monkeypatch.setenv("TIDEGATE_DB_DIR", str(vulndb))
    monkeypatch.setenv("DOCKER_CONFIG", "/nonexistent-docker-config")
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    monkeypatch.chdir(tmp_path)

    def go(*argv: str) -> Run:
        code = cli_main.main(["-q", *argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    yield go


def test_build_sbom_scan_sign_attest_check_passes(tidegate: Any, registry: str, tmp_path: Path) -> None:
    image = f"{registry}/pipeline/app:1"
    # build (docker build && docker push in CI)
    push_archive(f"oci-archive:{PATCHED}:1", image)
    # sbom
    r = tidegate("sbom", image, "--format", "cyclonedx-json", "--output", "sbom.cdx.json")
    assert r.code == 0, r.err
    assert json.loads(Path("sbom.cdx.json").read_text())["bomFormat"] == "CycloneDX"
    # scan: the patched image has no CRITICAL finding (its truth), so --fail-on critical passes
    r = tidegate("scan", image, "--fail-on", "critical", "-f", "sarif", "-o", "scan.sarif")
    assert r.code == 0, r.err
    scan = json.loads(Path("scan.sarif").read_text())
    remaining = sorted({res["ruleId"] for res in scan["runs"][0]["results"]
                        if not res.get("suppressions") and res["ruleId"][:3] in ("CVE", "GHS", "PYS", "DSA", "DLA")})
    # key, sign, attest
    r = tidegate("key", "generate", "--output-prefix", "cosign")
    assert r.code == 0, r.err
    r = tidegate("sign", image, "--key", "cosign.key")
    assert r.code == 0, r.err
    r = tidegate("attest", image, "--key", "cosign.key", "--sbom")
    assert r.code == 0, r.err
    # check: signature + verified SBOM attestation required, the remaining findings accepted by id
    Path("policy.yaml").write_text(
        "apiVersion: tidegate.dev/v1\nkind: Policy\nmetadata:\n  name: ci\n"
        "defaults:\n"
        "  signatures:\n    keys: [cosign.pub]\n"
        "  attestations:\n    types: [cyclonedx]\n"
        "  vulnerabilities:\n    maxSeverity: HIGH\n"
        + (f"    ignore: [{', '.join(remaining)}]\n" if remaining else "")
        + "  secrets:\n    allowed: false\n"
        "  nonRoot: true\n", encoding="utf-8")
    r = tidegate("check", image, "--policy", "policy.yaml", "-f", "junit", "-o", "check.xml")
    assert r.code == 0, r.err + Path("check.xml").read_text()
    suite = ET.parse("check.xml").getroot().find("testsuite")
    assert suite is not None and (suite.get("failures"), suite.get("errors")) == ("0", "0")
    cases = {c.get("name") for c in suite.findall("testcase")}
    assert {"signatures", "attestations:cyclonedx", "vulnerabilities", "secrets", "nonRoot"} <= cases
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["manifestDigest"] == load_truth("bookworm-patched")["images"][0]["manifest_digest"]
    assert props["decision"] == "allowed"
    # The same check with another key is denied: the signature really is what passed.
    r = tidegate("key", "generate", "--output-prefix", "other")
    assert r.code == 0
    Path("policy-other.yaml").write_text(Path("policy.yaml").read_text().replace("cosign.pub", "other.pub"))
    r = tidegate("check", image, "--policy", "policy-other.yaml", "-f", "json")
    assert r.code == 1
    failed = {x["rule"] for x in json.loads(r.out)["results"] if x["status"] == "fail"}
    assert failed == {"signatures", "attestations:cyclonedx"}


def test_unsigned_bookworm_app_under_the_default_policy_is_denied_with_reasons(tidegate: Any, registry: str
                                                                                ) -> None:
    image = f"{registry}/pipeline/bad:1"
    push_archive(f"oci-archive:{APP}:1", image)
    r = tidegate("key", "generate", "--output-prefix", "cosign")
    assert r.code == 0, r.err
    r = tidegate("policy", "init", "--key", "cosign.pub", "--output", "policy.yaml")
    assert r.code == 0, r.err
    r = tidegate("check", image, "--policy", "policy.yaml", "-f", "json")
    assert r.code == 1, r.err
    doc = json.loads(r.out)
    assert doc["decision"] == "denied"
    assert doc["manifestDigest"] == load_truth("bookworm-app")["images"][0]["manifest_digest"]
    failed = {x["rule"]: x for x in doc["results"] if x["status"] == "fail"}
    # unsigned
    assert "signatures" in failed and "no signature" in failed["signatures"]["message"]
    # critical/high vulnerabilities, named
    vulns = failed["vulnerabilities"]
    assert "HIGH" in vulns["message"] or "CRITICAL" in vulns["message"]
    assert any(e.startswith(("CVE-", "GHSA-", "PYSEC-")) for e in vulns["evidence"])
    # secrets, each located
    assert "secret" in failed["secrets"]["message"] and failed["secrets"]["evidence"]
    # root
    assert "nonRoot" in failed and "root" in failed["nonRoot"]["message"]
    # The table says the same thing to a human.
    r = tidegate("check", image, "--policy", "policy.yaml")
    assert r.code == 1
    last = r.out.rstrip().splitlines()[-1]
    assert last.startswith("DENIED") and all(rule in last for rule in ("signatures", "vulnerabilities", "secrets",
                                                                       "nonRoot"))


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "ci"
SEQUENCE = ("docker build", "tidegate sbom", "tidegate scan", "--fail-on critical", "tidegate sign",
            "tidegate attest", "--sbom", "tidegate check", "--policy policy.yaml", "-f junit")


@pytest.mark.parametrize("name", ["github-actions.yml", ".gitlab-ci.yml", "Jenkinsfile"])
def test_example_pipelines_run_the_tested_sequence(name: str) -> None:
    import yaml  # type: ignore[import-untyped]

    text = (EXAMPLES / name).read_text(encoding="utf-8")
    if name.endswith(".yml"):
        assert isinstance(yaml.safe_load(text), dict)
    positions = [text.find(step) for step in SEQUENCE]
    assert all(p >= 0 for p in positions), [s for s, p in zip(SEQUENCE, positions, strict=True) if p < 0]
    assert positions == sorted(positions), "steps out of order"
    assert "TIDEGATE_PASSWORD" in text and "tidegate-check.xml" in text
