"""``tidegate policy init|explain|validate``: the written default loads (with and without keys), explain words."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.policy.conftest import PUB
from tidegate.cli import policy as cli_policy
from tidegate.errors import UsageError
from tidegate.policy.load import PolicyFileError, load_policy


def run(argv: list[str]) -> int:
    """Parse `argv` with only the policy commands registered and run it."""
    parser = argparse.ArgumentParser(prog="tidegate")
    cli_policy.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


def test_init_with_key_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "keys" / "release.pub"
    key.parent.mkdir()
    key.write_text(PUB)
    out = tmp_path / "policy" / "policy.yaml"
    out.parent.mkdir()
    assert run(["policy", "init", "--key", str(key), "--output", str(out)]) == 0
    text = out.read_text()
    assert "      - ../keys/release.pub\n" in text and "# " in text
    policy = load_policy(out)
    _, rules = policy.scope_for("registry.example.com/app:1")
    assert rules.signatures is not None and rules.signatures.keys == ["../keys/release.pub"]
    assert rules.attestations is not None and rules.attestations.types == ["cyclonedx"]
    assert rules.vulnerabilities is not None and rules.vulnerabilities.ignore_unfixed
    assert dict(rules.vulnerabilities.max_count) == {"CRITICAL": 0, "HIGH": 0}
    assert rules.secrets is not None and not rules.secrets.allowed
    assert rules.misconfigurations is not None
    assert rules.misconfigurations.must_pass == ["TG-IMG-001", "TG-IMG-005", "TG-IMG-009", "TG-IMG-011"]
    assert rules.non_root and rules.require_digest
    needs = policy.requirements("registry.example.com/app:1")
    assert needs.signature_keys == (str(out.parent / "../keys/release.pub"),)
    assert needs.scanners == frozenset({"vuln", "secret", "misconfig"})
    with pytest.raises(UsageError, match="exists"):
        run(["policy", "init", "--key", str(key), "--output", str(out)])


def test_init_without_key_comments_signatures_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["policy", "init"]) == 0
    text = capsys.readouterr().out
    assert "  # signatures:\n" in text
    path = tmp_path / "p.yaml"
    path.write_text(text)
    policy = load_policy(path)
    assert policy.defaults.signatures is None and policy.defaults.attestations is None
    assert policy.on_not_evaluated == "deny"


def test_init_refuses_a_missing_key(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        run(["policy", "init", "--key", str(tmp_path / "nope.pub")])


def test_explain_and_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "release.pub").write_text(PUB)
    out = tmp_path / "policy.yaml"
    run(["policy", "init", "--key", str(tmp_path / "release.pub"), "--output", str(out)])
    capsys.readouterr()
    assert run(["policy", "explain", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Policy 'zero-trust-default' (sha256:")
    assert "  - the image must be referenced by digest (repo@sha256:…), not only by a tag" in lines
    assert "  - the image digest must carry a valid signature by release.pub (signed for this repository)" in lines
    assert "  - a cyclonedx attestation must exist and verify against the signature keys" in lines
    assert "  - at most 0 active CRITICAL vulnerabilities (fixable ones only)" in lines
    assert "  - misconfiguration rule TG-IMG-001 must pass (Image runs as root)" in lines
    assert run(["policy", "validate", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: valid (sha256:")
    out.write_text(out.read_text().replace("maxSeverity: MEDIUM", "maxSeverity: SEVERE"))
    with pytest.raises(PolicyFileError, match=r"policy.yaml:\d+: defaults.vulnerabilities.maxSeverity: 'SEVERE'"):
        run(["policy", "validate", str(out)])
