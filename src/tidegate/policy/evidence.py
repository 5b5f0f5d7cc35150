"""What a policy is evaluated on (`Evidence`), and what it needs gathered first (`Requirements`).

    needs = policy.requirements("registry.example/team/app:1")     # Requirements(scan=True, keys=(…), …)
    evidence = gather(reference, needs, options)                   # policy.assess: resolve once, scan, verify
    verdict = evaluate(policy, evidence)                           # pure: Evidence → Verdict

Evidence is gathered once per (manifest digest, policy) and never re-fetched by rules: every rule sees the same
pinned digest. What could not be gathered is recorded in `Evidence.errors` (the rules that needed it become
``not-evaluated``), never silently treated as absent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from tidegate.model.report import VulnReport
from tidegate.trust.model import VerificationResult


@dataclass(frozen=True, slots=True)
class Requirements:
    """The evidence a policy scope needs for one image."""

    scan: bool = False
    """Catalog + match the image (vulnerabilities; with `scanners`)."""
    scanners: frozenset[str] = frozenset({"vuln"})
    """``vuln``, ``secret``, ``misconfig``: what the scan must run."""
    signature_keys: tuple[str, ...] = ()
    """Public key files signatures must verify against (each verified separately)."""
    signature_identity: str = "repository"
    """``repository``, ``exact`` or ``digest-only`` (see trust.simplesigning)."""
    signature_annotations: tuple[tuple[str, str], ...] = ()
    """Annotations a signature must carry."""
    attestation_types: tuple[str, ...] = ()
    """Predicate types (cosign ``--type`` names or URIs) whose attestations must verify."""
    attestation_keys: tuple[str, ...] = ()
    """Public key files attestations must verify against (default: `signature_keys`)."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything known about one image, all of it about `manifest_digest`."""

    reference: str
    """What was asked for."""
    manifest_digest: str
    """The pin (resolved once)."""
    registry: str = ""
    """Registry host (``docker.io``, ``127.0.0.1:5000``); empty for archives and layouts."""
    repository: str = ""
    """Repository path (``library/nginx``); empty when unknown."""
    tag: str | None = None
    """The tag asked for, if any."""
    pinned_by_digest: bool = False
    """True when the reference named the digest itself (``repo@sha256:…``)."""
    report: VulnReport | None = None
    """The scan (SBOM, vulnerability findings, secrets and misconfigurations) when the policy needed it."""
    scanned_at: dt.datetime | None = None
    """When the scan ran (``maxScanAge``)."""
    signatures: tuple[tuple[str, VerificationResult], ...] = ()
    """Per required key (file name) → the verification of the ``.sig`` signatures against it."""
    attestations: tuple[tuple[str, VerificationResult], ...] = ()
    """Per required predicate type → the verification of the ``.att`` attestations."""
    user: str = ""
    """``config.User`` of the image."""
    labels: tuple[tuple[str, str], ...] = ()
    """``config.Labels``."""
    errors: tuple[tuple[str, str], ...] = field(default=())
    """(what, one-line error) for evidence that could not be gathered (``scan``, ``signatures``, …)."""
