"""``tidegate check -f table``: every rule with its status, message and evidence, the digest and the decision.

    print(VerdictTableFormat().render(report).decode())
"""

from __future__ import annotations

from tidegate.policy.verdict import RuleResult
from tidegate.report.verdict import STATUS_WORDS, VerdictFormat, VerdictReport

MAX_EVIDENCE_LINES = 8
"""Evidence lines shown per rule (the JSON format has them all)."""

_STYLES = {"pass": "\x1b[32m", "fail": "\x1b[1;31m", "not-evaluated": "\x1b[33m"}
_RESET = "\x1b[0m"


class VerdictTableFormat(VerdictFormat):
    """A terminal summary: header (image, digest, policy), one block per rule, evidence errors, the decision."""

    id = "table"
    aliases = ("text",)
    media_type = "text/plain; charset=utf-8"
    description = "human-readable table (default)"

    def render(self, report: VerdictReport, *, color: bool = False) -> bytes:
        """Render the table; ANSI colours only when `color`."""
        v = report.verdict
        lines = [f"Image:   {v.reference}", f"Digest:  {v.manifest_digest}"]
        policy = report.policy_path or "(policy)"
        lines.append(f"Policy:  {policy} ({v.policy_hash})" + (f", scope {v.scope}" if v.scope else ""))
        lines.append("")
        width = max([len("RULE"), *(len(r.rule) for r in v.results)])
        lines.append(f"{'STATUS':<14} {'RULE':<{width}}  MESSAGE")
        for r in v.results:
            lines.extend(_rule_lines(r, width, report.blocks(r), color))
        if not v.results:
            lines.append("(no rule applies to this image)")
        if any(r.status == "not-evaluated" and not report.blocks(r) for r in v.results):
            lines.append("* not evaluated; does not block (the policy's onNotEvaluated is allow)")
        errors = report.evidence.errors if report.evidence is not None else ()
        if errors:
            lines += ["", "Evidence that could not be gathered:"]
            lines += [f"  {what}: {message}" for what, message in errors]
        lines.append("")
        counts = report.counts()
        summary = (f"{len(v.results)} rules: {counts['pass']} passed, {counts['fail']} failed, "
                   f"{counts['not-evaluated']} not evaluated")
        if v.allowed:
            head = "ALLOWED"
            tail = summary
        else:
            head = "DENIED"
            blocking = ", ".join(r.rule for r in v.failed)
            tail = f"{summary}; blocked by {blocking}"
        style = ("\x1b[1;32m" if v.allowed else "\x1b[1;31m") if color else ""
        lines.append(f"{style}{head}{_RESET if color else ''}: {tail}")
        return ("\n".join(line.rstrip() for line in lines) + "\n").encode("utf-8")


def _rule_lines(r: RuleResult, width: int, blocks: bool, color: bool) -> list[str]:
    word = STATUS_WORDS[r.status]
    if r.status == "not-evaluated" and not blocks:
        word += "*"
    status = f"{word:<14}"
    if color:
        status = f"{_STYLES[r.status]}{status}{_RESET}"
    out = [f"{status} {r.rule:<{width}}  {' '.join(r.message.split())}"]
    indent = " " * (15 + width + 2)
    shown = r.evidence[:MAX_EVIDENCE_LINES]
    out += [f"{indent}- {e}" for e in shown]
    if len(r.evidence) > len(shown):
        out.append(f"{indent}… and {len(r.evidence) - len(shown)} more (see -f json)")
    return out


__all__ = ["MAX_EVIDENCE_LINES", "VerdictTableFormat"]
