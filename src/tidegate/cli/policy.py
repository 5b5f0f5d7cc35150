"""``tidegate policy init|explain|validate``: write, explain and check a policy file (docs/policy.md).

    $ tidegate policy init --key release.pub --output policy.yaml   # strict zero-trust default, commented
    $ tidegate policy explain policy.yaml                           # what it requires, in words
    $ tidegate policy validate policy.yaml                          # exit 0, or 2 with file:line: field: error

Exit codes: 0 done / valid, 2 usage or invalid policy (one line naming file:line and the field).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from tidegate.errors import UsageError

DEFAULT_POLICY_FILE = "tidegate-policy.yaml"
"""What ``policy explain`` reads when no FILE is given."""

_TEMPLATE_HEAD = """\
# tidegate policy: a strict zero-trust default (docs/policy.md). Every rule below must pass for an image
# to be allowed in CI (tidegate check), at admission (tidegate serve webhook) and at the registry gate.
apiVersion: tidegate.dev/v1
kind: Policy
metadata:
  name: zero-trust-default
# A rule that cannot be evaluated (a failed scan, an unreachable signature store) denies the image.
onNotEvaluated: deny
defaults:
"""

_SIGNATURES_WITH_KEYS = """\
  # Only images whose manifest digest is signed (cosign-compatible: tidegate sign / cosign sign) by one of
  # these keys, for this repository, are allowed. Paths are relative to this file.
  signatures:
    keys:
{keys}
    minCount: 1
    identity: repository
  # An SBOM attestation (tidegate attest --sbom / cosign attest --type cyclonedx) must exist and verify.
  attestations:
    types: [cyclonedx]
"""

_SIGNATURES_COMMENTED = """\
  # Signatures: no key was given to 'tidegate policy init --key'. Uncomment and name your public key(s)
  # to allow only images signed by them (tidegate key generate; tidegate sign IMAGE --key cosign.key).
  # signatures:
  #   keys: [cosign.pub]
  #   minCount: 1
  #   identity: repository
  # An SBOM attestation must exist and verify against the signature keys (needs 'signatures' above).
  # attestations:
  #   types: [cyclonedx]
"""

_TEMPLATE_TAIL = """\
  # No active CRITICAL or HIGH vulnerability that has a fix; the scan must be fresh.
  vulnerabilities:
    maxSeverity: MEDIUM
    ignoreUnfixed: true
    maxCount: {CRITICAL: 0, HIGH: 0}
    ignore: []          # vulnerability ids (or aliases) accepted after review
    maxScanAge: 24h
  # No secret baked into any layer, even one a later layer deletes.
  secrets:
    allowed: false
  # Image checks that must not report anything (docs/rules.md):
  misconfigurations:
    mustPass:
      - TG-IMG-001      # image runs as root
      - TG-IMG-005      # ADD of a remote URL
      - TG-IMG-009      # SSH port 22 exposed
      - TG-IMG-011      # SSH server installed
  # config.User must name a non-root user.
  nonRoot: true
  # The reference must pin the digest (repo@sha256:…): tags move, digests do not.
  requireDigest: true
  # Only images from these registries (globs over the registry host); uncomment and adapt:
  # allowedRegistries: [registry.example.com]
# Per-image scopes: the most specific 'match' glob over registry/repository wins; sections given there
# replace the defaults' (others are inherited).
# scopes:
#   - match: ["registry.example.com/sandbox/*"]
#     rules:
#       vulnerabilities: {maxSeverity: HIGH, ignoreUnfixed: true}
"""


def default_policy(keys: list[str]) -> str:
    """The text ``tidegate policy init`` writes (keys as given, relative to the policy file)."""
    if keys:
        listed = "\n".join(f"      - {k}" for k in keys)
        return _TEMPLATE_HEAD + _SIGNATURES_WITH_KEYS.format(keys=listed) + _TEMPLATE_TAIL
    return _TEMPLATE_HEAD + _SIGNATURES_COMMENTED + _TEMPLATE_TAIL


def register(sub: Any) -> None:
    """Add ``policy`` with ``init``, ``explain`` and ``validate``."""
    policy = sub.add_parser("policy", help="write, explain and validate a policy file",
                            description="The zero-trust policy evaluated by tidegate check, the admission "
                                        "webhook and the registry gate (docs/policy.md).")
    psub = policy.add_subparsers(dest="policy_command", metavar="ACTION", parser_class=type(policy))
    init = psub.add_parser("init", help="write a strict zero-trust default policy with comments")
    init.add_argument("--key", action="append", default=[], metavar="PUB",
                      help="require signatures by this public key (repeatable)")
    init.add_argument("--output", "-o", metavar="FILE", help="write here instead of stdout")
    init.add_argument("--force", action="store_true", help="overwrite an existing FILE")
    init.set_defaults(run=run_init)
    explain = psub.add_parser("explain", help="print what a policy requires, in words")
    explain.add_argument("file", nargs="?", default=DEFAULT_POLICY_FILE, metavar="FILE",
                         help=f"policy file (default {DEFAULT_POLICY_FILE})")
    explain.set_defaults(run=run_explain)
    validate = psub.add_parser("validate", help="check a policy file (exit 0 valid, 2 invalid)")
    validate.add_argument("file", metavar="FILE", help="policy file")
    validate.set_defaults(run=run_validate)
    policy.set_defaults(run=lambda args: _missing_action(policy))


def _missing_action(parser: argparse.ArgumentParser) -> int:
    parser.print_usage()
    raise UsageError("policy: give an ACTION (init, explain, validate)")


def _key_relative(key: str, output: str | None) -> str:
    """A key path as the policy must name it: relative to the policy file's directory."""
    if output is None:
        return key
    base = Path(output).resolve().parent
    return os.path.relpath(Path(key).resolve(), base)


def run_init(args: argparse.Namespace) -> int:
    """``policy init``: write the default policy (and check that it loads)."""
    from tidegate.policy.load import PolicyFileError, parse_policy

    for key in args.key:
        if not Path(key).is_file():
            raise UsageError(f"--key {key}: no such file")
    keys = [_key_relative(k, args.output) for k in args.key]
    text = default_policy(keys)
    base = Path(args.output).resolve().parent if args.output else Path(".")
    try:
        parse_policy(text, source=args.output or "<stdout>", base_dir=base)
    except PolicyFileError as e:
        raise UsageError(f"the generated policy does not load: {e}") from e
    if args.output is None:
        print(text, end="")
        return 0
    out = Path(args.output)
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists (use --force to overwrite)")
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    print(f"tidegate: wrote {out}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    """``policy explain``: print `Policy.explain()`."""
    from tidegate.policy.load import load_policy

    for line in load_policy(Path(args.file)).explain():
        print(line)
    return 0


def run_validate(args: argparse.Namespace) -> int:
    """``policy validate``: load the policy; errors exit 2 through the CLI's one-line error path."""
    from tidegate.policy.load import load_policy

    policy = load_policy(Path(args.file))
    print(f"{args.file}: valid ({policy.hash})")
    return 0
