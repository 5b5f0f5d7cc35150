"""`Policy.explain`: what a policy requires, in words (``tidegate policy explain``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tidegate.policy.model import Policy, Rules


def explain_rules(rules: Rules) -> list[str]:
    """One line per requirement of one scope's merged rules (``- …``)."""
    out: list[str] = []
    if rules.require_digest:
        out.append("the image must be referenced by digest (repo@sha256:…), not only by a tag")
    if rules.allowed_registries is not None:
        out.append("the image must come from a registry matching " + ", ".join(rules.allowed_registries))
    if rules.signatures:
        s = rules.signatures
        who = ", ".join(s.keys)
        count = "a valid signature" if len(s.keys) == 1 else f"valid signatures by at least {s.min_count} of"
        line = f"the image digest must carry {count} {'by ' if len(s.keys) == 1 else ''}{who}"
        line += {"repository": " (signed for this repository)", "exact": " (signed for this exact reference)",
                 "digest-only": " (any signed name; the digest must match)"}[s.identity]
        if s.annotations:
            line += " with annotations " + ", ".join(f"{k}={v}" for k, v in sorted(s.annotations.items()))
        out.append(line)
    if rules.attestations:
        a = rules.attestations
        keys = ", ".join(a.keys) if a.keys else "the signature keys"
        out.extend(f"a {t} attestation must exist and verify against {keys}" for t in a.types)
    if rules.vulnerabilities:
        v = rules.vulnerabilities
        tail = (" (fixable ones only)" if v.ignore_unfixed else "") + \
            (f", ignoring {', '.join(v.ignore)}" if v.ignore else "")
        if v.max_severity is not None:
            out.append(f"no active vulnerability above {v.max_severity.value}{tail}")
        for sev, n in sorted(v.max_count.items(), reverse=True):
            out.append(f"at most {n} active {sev.value} vulnerabilit{'y' if n == 1 else 'ies'}{tail}")
        if v.max_scan_age:
            out.append(f"the scan must be at most {v.max_scan_age} old")
        if v.max_db_age:
            out.append(f"the vulnerability database must be at most {v.max_db_age} older than the scan")
    if rules.secrets and not rules.secrets.allowed:
        out.append("no secret in any layer (even one deleted by a later layer)")
    if rules.misconfigurations:
        from tidegate.checks.registry import RULES

        for rid in rules.misconfigurations.must_pass:
            title = RULES[rid].title if rid in RULES else "unknown rule"
            out.append(f"misconfiguration rule {rid} must pass ({title})")
    if rules.non_root:
        out.append("the image must run as a non-root user (config.User set, not root or 0)")
    if rules.base_images:
        out.append("the base image (org.opencontainers.image.base.name) must match "
                   + ", ".join(rules.base_images.allowed))
    for i, r in enumerate(rules.rego or ()):
        what = r.file or f"inline module {i + 1}"
        out.append(f"Rego {what}: no {r.query or 'deny/violation'} message")
    return out or ["nothing (every image passes)"]


def explain_policy(policy: Policy) -> list[str]:
    """The whole policy: header, defaults, then each scope (merged over the defaults)."""
    out = [f"Policy {policy.metadata.name!r} ({policy.hash})"]
    if policy.metadata.description:
        out.append(policy.metadata.description)
    if policy.on_not_evaluated == "deny":
        out.append("A rule that cannot be evaluated (missing evidence, a failed scan) denies the image.")
    else:
        out.append("A rule that cannot be evaluated is reported but does not deny the image (onNotEvaluated: allow).")
    out.append("Every image" + (" not matched by a scope" if policy.scopes else "") + " requires:")
    out.extend(f"  - {line}" for line in explain_rules(policy.defaults))
    for scope in policy.scopes:
        merged = scope.rules.merged_over(policy.defaults)
        label = f" ({scope.name})" if scope.name else ""
        out.append(f"Images matching {', '.join(scope.match)}{label} require:")
        out.extend(f"  - {line}" for line in explain_rules(merged))
    return out
