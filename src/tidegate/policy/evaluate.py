"""Evaluate a policy on gathered evidence: pure, one `RuleResult` per applicable rule, each with its evidence.

    verdict = evaluate(policy, evidence)                 # no I/O: Evidence → Verdict
    [(r.rule, r.status, r.message) for r in verdict.results]

Rule names (`RuleResult.rule`): ``requireDigest``, ``allowedRegistries``, ``signatures``,
``attestations:<type>``, ``vulnerabilities``, ``vulnerabilities.maxScanAge``, ``vulnerabilities.maxDbAge``,
``secrets``, ``misconfigurations``, ``nonRoot``, ``baseImages``, ``rego:<name>``. A rule whose evidence is missing
or failed to be gathered is ``not-evaluated`` with the reason, never a pass.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from tidegate.model.finding import Severity, VulnFinding
from tidegate.model.report import VulnReport
from tidegate.policy.evidence import Evidence
from tidegate.policy.model import (
    AttestationRule,
    BaseImageRule,
    MisconfigRule,
    Policy,
    RegoRule,
    Rules,
    SecretRule,
    SignatureRule,
    VulnerabilityRule,
    duration_seconds,
    glob_match,
    reference_name,
)
from tidegate.policy.verdict import RuleResult, Verdict

BASE_IMAGE_LABEL = "org.opencontainers.image.base.name"
"""The OCI annotation/label naming the base image."""
MAX_LISTED = 10
"""At most this many ids are named in a message (the evidence tuple holds them all)."""


def evaluate(policy: Policy, evidence: Evidence, *, now: dt.datetime | None = None) -> Verdict:
    """The verdict of `policy` on `evidence` (`now` for scan-age rules; default the current UTC time)."""
    name = f"{evidence.registry}/{evidence.repository}" if evidence.registry and evidence.repository \
        else reference_name(evidence.reference)
    scope, rules = policy.scope_for_name(name)
    results = evaluate_rules(policy, rules, evidence, now=now or dt.datetime.now(dt.UTC))
    return Verdict(reference=evidence.reference, manifest_digest=evidence.manifest_digest,
                   policy_hash=policy.hash, results=tuple(results),
                   deny_not_evaluated=policy.on_not_evaluated == "deny", scope=scope)


def evaluate_rules(policy: Policy, rules: Rules, evidence: Evidence, *, now: dt.datetime) -> list[RuleResult]:
    """Every applicable rule of one scope's merged `rules`, in the documented order."""
    out: list[RuleResult] = []
    if rules.require_digest:
        out.append(_require_digest(evidence))
    if rules.allowed_registries is not None:
        out.append(_allowed_registries(rules.allowed_registries, evidence))
    if rules.signatures:
        out.append(_signatures(policy, rules.signatures, evidence))
    if rules.attestations:
        out.extend(_attestations(rules.attestations, evidence))
    if rules.vulnerabilities:
        out.extend(_vulnerabilities(rules.vulnerabilities, evidence, now))
    if rules.secrets and not rules.secrets.allowed:
        out.append(_secrets(rules.secrets, evidence))
    if rules.misconfigurations:
        out.append(_misconfigurations(rules.misconfigurations, evidence))
    if rules.non_root:
        out.append(_non_root(evidence))
    if rules.base_images:
        out.append(_base_images(rules.base_images, evidence))
    for i, entry in enumerate(rules.rego or ()):
        out.extend(_rego(policy, entry, i, evidence))
    return out


# -- helpers ---------------------------------------------------------------------------------------------------


def _error(evidence: Evidence, what: str) -> str | None:
    """The gathering error for `what` (``scan``, ``signatures``, ``signatures:KEY``, …), if any."""
    for name, message in evidence.errors:
        if name == what or name.startswith(what + ":"):
            return f"{name}: {message}" if name != what else message
    return None


def _listed(items: Sequence[str]) -> str:
    head = ", ".join(items[:MAX_LISTED])
    return head + (f", … ({len(items) - MAX_LISTED} more)" if len(items) > MAX_LISTED else "")


def _scan(evidence: Evidence, rule: str, scanner: str) -> tuple[VulnReport | None, RuleResult | None]:
    """The report, or the not-evaluated result saying why there is none usable for `scanner`."""
    problem = _error(evidence, "scan")
    if problem:
        return None, RuleResult(rule, "not-evaluated", f"the scan failed: {problem}")
    if evidence.report is None:
        return None, RuleResult(rule, "not-evaluated", "no scan result")
    if scanner not in evidence.report.scanners:
        return None, RuleResult(rule, "not-evaluated", f"the scan did not run the {scanner} scanner")
    return evidence.report, None


# -- rules -----------------------------------------------------------------------------------------------------


def _require_digest(evidence: Evidence) -> RuleResult:
    if evidence.pinned_by_digest:
        return RuleResult("requireDigest", "pass", "the reference names the digest",
                          evidence=(evidence.manifest_digest,))
    tag = f"tag {evidence.tag!r}" if evidence.tag else "no digest"
    return RuleResult("requireDigest", "fail",
                      f"the reference uses {tag}, not a digest: pin it as …@{evidence.manifest_digest}",
                      evidence=(evidence.reference,))


def _allowed_registries(allowed: list[str], evidence: Evidence) -> RuleResult:
    registry = evidence.registry or reference_name(evidence.reference).split("/", 1)[0]
    if not registry:
        return RuleResult("allowedRegistries", "not-evaluated",
                          "the image was not read from a registry (a layout or archive)",
                          evidence=(evidence.reference,))
    for pattern in allowed:
        if glob_match(pattern, registry):
            return RuleResult("allowedRegistries", "pass", f"registry {registry} is allowed by {pattern!r}",
                              evidence=(registry, pattern))
    return RuleResult("allowedRegistries", "fail",
                      f"registry {registry} is not allowed (allowed: {', '.join(allowed)})", evidence=(registry,))


def _signatures(policy: Policy, rule: SignatureRule, evidence: Evidence) -> RuleResult:
    results = dict(evidence.signatures)
    ok: list[str] = []
    key_ids: list[str] = []
    missing: list[str] = []
    reasons: list[str] = []
    for key in rule.keys:
        resolved = policy.resolve(key)
        result = results.get(resolved, results.get(key))
        if result is None:
            missing.append(key)
            continue
        if result.ok:
            ok.append(key)
            key_ids.extend(sorted({s.key_id for s in result.verified}))
        else:
            reasons.extend(f"{key}: {r.reason}" for r in result.rejected)
    need = rule.min_count
    if len(ok) >= need:
        return RuleResult("signatures", "pass", f"valid signatures by {len(ok)} of {len(rule.keys)} key(s) "
                          f"(need {need}): {', '.join(ok)}", evidence=tuple(key_ids))
    problem = _error(evidence, "signatures")
    if problem or missing:
        why = problem or f"no verification result for {', '.join(missing)}"
        return RuleResult("signatures", "not-evaluated", f"signatures could not be verified: {why}",
                          evidence=tuple(key_ids))
    if not reasons:
        msg = f"no signature by {_listed(rule.keys)}" if not ok else \
            f"valid signatures by {len(ok)} key(s), {need} required"
    else:
        msg = f"valid signatures by {len(ok)} of {len(rule.keys)} key(s), {need} required; rejected: " \
            + _listed(reasons)
    return RuleResult("signatures", "fail", msg, evidence=tuple(key_ids) + tuple(reasons))


def _attestations(rule: AttestationRule, evidence: Evidence) -> list[RuleResult]:
    results = dict(evidence.attestations)
    out = []
    for kind in rule.types:
        name = f"attestations:{kind}"
        result = results.get(kind)
        if result is not None and result.ok:
            ids = sorted({s.key_id for s in result.verified})
            out.append(RuleResult(name, "pass", f"{len(result.verified)} verified {kind} attestation(s)",
                                  evidence=tuple(ids)))
            continue
        problem = _error(evidence, f"attestations:{kind}") or _error(evidence, "attestations")
        if result is None:
            why = problem or "no verification result"
            out.append(RuleResult(name, "not-evaluated", f"{kind} attestations could not be verified: {why}"))
            continue
        reasons = tuple(r.reason for r in result.rejected)
        if problem:
            out.append(RuleResult(name, "not-evaluated", f"{kind} attestations could not be verified: {problem}",
                                  evidence=reasons))
        elif reasons:
            out.append(RuleResult(name, "fail", f"no valid {kind} attestation; rejected: {_listed(reasons)}",
                                  evidence=reasons))
        else:
            out.append(RuleResult(name, "fail", f"no {kind} attestation"))
    return out


def _counted(rule: VulnerabilityRule, findings: Sequence[VulnFinding]) -> list[VulnFinding]:
    """Active findings that count: not ignored by id/alias, and fixable when `ignoreUnfixed`."""
    ignored = set(rule.ignore)
    return [f for f in findings
            if not ignored.intersection(f.all_ids) and not (rule.ignore_unfixed and not f.fixed_versions)]


def _vulnerabilities(rule: VulnerabilityRule, evidence: Evidence, now: dt.datetime) -> list[RuleResult]:
    out: list[RuleResult] = []
    limits = rule.max_severity is not None or bool(rule.max_count)
    report, missing = _scan(evidence, "vulnerabilities", "vuln")
    if limits:
        if report is None:
            assert missing is not None
            out.append(missing)
        else:
            out.append(_vuln_limits(rule, report))
    if rule.max_scan_age:
        out.append(_age("vulnerabilities.maxScanAge", "the scan", rule.max_scan_age, evidence.scanned_at, now,
                        missing))
    if rule.max_db_age:
        db_time = _parse_time(report.db.updated_at) if report is not None and report.db else None
        anchor = evidence.scanned_at or now
        if report is not None and db_time is None:
            out.append(RuleResult("vulnerabilities.maxDbAge", "not-evaluated",
                                  "the scan does not say when its vulnerability database was updated"))
        else:
            out.append(_age("vulnerabilities.maxDbAge", "the vulnerability database", rule.max_db_age, db_time,
                            anchor, missing))
    return out


def _vuln_limits(rule: VulnerabilityRule, report: VulnReport) -> RuleResult:
    counted = _counted(rule, report.active)
    problems: list[str] = []
    bad: list[str] = []
    if rule.max_severity is not None:
        threshold = rule.max_severity
        above = [f for f in counted if f.severity > threshold]
        if above:
            problems.append(f"{len(above)} finding(s) above {threshold.value}: "
                            + _listed([f"{f.id} ({f.severity.value}, {f.package_name})" for f in above]))
            bad.extend(f.id for f in above)
    for severity in sorted(rule.max_count, reverse=True):
        limit = rule.max_count[severity]
        of_severity = [f for f in counted if f.severity == severity]
        if len(of_severity) > limit:
            problems.append(f"{len(of_severity)} {severity.value} (max {limit}): "
                            + _listed([f.id for f in of_severity]))
            bad.extend(f.id for f in of_severity if f.id not in bad)
    ignored = len(report.active) - len(counted)
    note = f" ({ignored} ignored by the policy)" if ignored else ""
    if problems:
        return RuleResult("vulnerabilities", "fail", "; ".join(problems) + note, evidence=tuple(bad))
    counts = {s: 0 for s in Severity}
    for f in counted:
        counts[f.severity] += 1
    summary = ", ".join(f"{n} {s.value}" for s, n in sorted(counts.items(), reverse=True) if n) or "no findings"
    return RuleResult("vulnerabilities", "pass", f"within limits: {summary}{note}",
                      evidence=tuple(f.id for f in counted))


def _parse_time(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _age(rule: str, what: str, limit: str, when: dt.datetime | None, now: dt.datetime,
         missing: RuleResult | None) -> RuleResult:
    if when is None:
        if missing is not None:
            return RuleResult(rule, "not-evaluated", missing.message)
        return RuleResult(rule, "not-evaluated", f"the time of {what} is unknown")
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    age = int((now - when).total_seconds())
    stamp = when.isoformat()
    if age > duration_seconds(limit):
        return RuleResult(rule, "fail", f"{what} is {_human(age)} old (max {limit})", evidence=(stamp,))
    return RuleResult(rule, "pass", f"{what} is {_human(max(age, 0))} old (max {limit})", evidence=(stamp,))


def _human(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}".removesuffix(".0") + unit
    return f"{seconds}s"


def _where(f: object) -> str:
    from tidegate.model.finding import CheckFinding

    assert isinstance(f, CheckFinding)
    if f.location:
        return f"{f.location.path} (layer {f.location.layer_index})"
    if f.source:
        return f"{f.source.path}:{f.source.line}"
    return f.target or "image"


def _secrets(rule: SecretRule, evidence: Evidence) -> RuleResult:
    report, missing = _scan(evidence, "secrets", "secret")
    if report is None:
        assert missing is not None
        return missing
    found = [f for f in report.active_checks if f.category.lower() == "secret"]
    if found:
        return RuleResult("secrets", "fail", f"{len(found)} secret(s) in the image: "
                          + _listed([f"{f.rule_id} in {_where(f)}" for f in found]),
                          evidence=tuple(f"{f.rule_id} {_where(f)}" for f in found))
    return RuleResult("secrets", "pass", "no secrets found")


def _misconfigurations(rule: MisconfigRule, evidence: Evidence) -> RuleResult:
    report, missing = _scan(evidence, "misconfigurations", "misconfig")
    if report is None:
        assert missing is not None
        return missing
    wanted = set(rule.must_pass)
    found = [f for f in report.active_checks if f.rule_id in wanted]
    if found:
        return RuleResult("misconfigurations", "fail", f"{len(found)} finding(s) of required rules: "
                          + _listed([f"{f.rule_id} {f.title} ({_where(f)})" for f in found]),
                          evidence=tuple(f"{f.rule_id} {_where(f)}" for f in found))
    return RuleResult("misconfigurations", "pass", f"{len(wanted)} required rule(s) pass: "
                      + _listed(sorted(wanted)), evidence=tuple(sorted(wanted)))


_ROOT_USERS = {"", "root", "0"}


def _non_root(evidence: Evidence) -> RuleResult:
    problem = _error(evidence, "config")
    if problem:
        return RuleResult("nonRoot", "not-evaluated", f"the image config could not be read: {problem}")
    user = evidence.user.strip()
    name = user.partition(":")[0]
    if name in _ROOT_USERS:
        shown = repr(user) if user else "unset (defaults to root)"
        return RuleResult("nonRoot", "fail", f"config.User is {shown}", evidence=(f"User={user}",))
    hint = "" if name.isdigit() else " (a name: the runtime must resolve it to a non-zero uid)"
    return RuleResult("nonRoot", "pass", f"config.User is {user!r}{hint}", evidence=(f"User={user}",))


def _base_images(rule: BaseImageRule, evidence: Evidence) -> RuleResult:
    problem = _error(evidence, "config")
    if problem:
        return RuleResult("baseImages", "not-evaluated", f"the image config could not be read: {problem}")
    base = dict(evidence.labels).get(BASE_IMAGE_LABEL)
    if not base:
        return RuleResult("baseImages", "not-evaluated", f"the image has no {BASE_IMAGE_LABEL} label")
    name = reference_name(base)
    if not name:
        return RuleResult("baseImages", "fail", f"base image {base!r} is not a registry reference",
                          evidence=(base,))
    for pattern in rule.allowed:
        if glob_match(pattern, name):
            return RuleResult("baseImages", "pass", f"base image {name} is allowed by {pattern!r}",
                              evidence=(base, pattern))
    return RuleResult("baseImages", "fail", f"base image {name} is not allowed (allowed: "
                      f"{', '.join(rule.allowed)})", evidence=(base,))


def rego_rule_name(entry: RegoRule, index: int) -> str:
    """``rego:NAME``: the entry's name, else its file name, else ``inline-N`` (1-based)."""
    if entry.name:
        return f"rego:{entry.name}"
    if entry.file:
        return f"rego:{entry.file}"
    return f"rego:inline-{index + 1}"


def _rego(policy: Policy, entry: RegoRule, index: int, evidence: Evidence) -> list[RuleResult]:
    from tidegate.policy import rego

    rule = rego_rule_name(entry, index)
    if evidence.errors:
        what = ", ".join(f"{w}: {m}" for w, m in evidence.errors)
        return [RuleResult(rule, "not-evaluated", f"the input is incomplete: {what}")]
    if evidence.report is None:
        return [RuleResult(rule, "not-evaluated", "no scan result for the input document")]
    try:
        source = entry.inline if entry.inline is not None else \
            policy.file_content(entry.file or "").decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return [RuleResult(rule, "not-evaluated", f"cannot read {entry.file}: {e}")]
    return rego.evaluate_rego(entry, source, rego.rego_input(evidence), rule=rule)

