"""The HTML scan report: one self-contained file people open in a browser (``tidegate scan --format html``).

Everything is inline — stylesheet, script, and an SVG severity chart drawn here — and the page's
Content-Security-Policy (``default-src 'none'``, the script and style allowed by hash) forbids any fetch, so the
file can be mailed, archived as a CI artifact or opened offline. Every number and table is rendered on the server,
so the page is complete without JavaScript; the script only sorts, filters and cross-checks. The data is embedded
once, as JSON, in ``<script type="application/json" id="tidegate-data">``: the tidegate JSON scan report
(``report``, exactly what ``--format json`` prints), the packages of each layer (``layers``), the policy verdict
(``verdict``) and earlier scans (``history``)::

    HtmlFormat().render(report)                                  # bytes, what ``scan --format html`` writes
    render_html(report, verdict=verdict, history=rows)           # for ``tidegate check`` / ``tidegate report``

The report content is hostile input (package names, ``created_by`` steps, secret messages come from the image):
every string goes through `html.escape`, and the embedded JSON has ``</`` and ``<!--`` escaped so it cannot end
its ``<script>`` element. Output is deterministic: no clock is read (the database age is measured from the scan
time), and every list is sorted.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tidegate.model.finding import CheckFinding, Severity, VulnFinding
from tidegate.model.package import Package
from tidegate.model.report import VulnReport
from tidegate.policy.verdict import Verdict
from tidegate.report.checks_common import where
from tidegate.report.html_assets import SCRIPT, STYLE, csp_hash
from tidegate.report.scan_base import ScanFormat, best_cvss_score, sorted_findings
from tidegate.report.vuln_json import VulnJsonFormat

SEVERITIES_DESCENDING: tuple[Severity, ...] = (
    Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.UNKNOWN,
)
"""Severities in the order the page shows them, most severe first."""

NO_LAYER = "none"
"""The bucket key of findings and packages that no layer file carries (image config, history, no location)."""

DATA_FORMAT = "tidegate-html-data"
"""``format`` of the embedded JSON object; ``version`` beside it is bumped on incompatible changes."""
DATA_VERSION = 1
"""Version of the embedded JSON object."""


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One earlier scan of the same repository, for the trend table (filled from the history store)."""

    scanned_at: str
    """RFC 3339 time of the scan."""
    manifest_digest: str
    """The digest scanned then."""
    counts: tuple[tuple[Severity, int], ...]
    """Active vulnerability findings per severity at that scan."""
    failed: bool | None = None
    """The --fail-on / policy outcome then (None when no gate applied)."""
    tags: tuple[str, ...] = ()
    """Tags seen for that digest."""


@dataclass(slots=True)
class _Bucket:
    """What one layer (or no layer) brought: packages, active vulnerabilities, active secrets."""

    packages: list[Package] = field(default_factory=list)
    vulns: list[VulnFinding] = field(default_factory=list)
    secrets: list[CheckFinding] = field(default_factory=list)


def _e(value: object) -> str:
    """Escape `value` for text and quoted attribute values alike."""
    return html.escape(str(value), quote=True)


def _embed_json(obj: object) -> str:
    """JSON for a ``<script type="application/json">`` body: nothing in it can close or confuse the element.

    ``<`` only occurs inside JSON strings, where ``<\\/`` and ``<\\u0021--`` decode back to ``</`` and ``<!--``.
    """
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\u0021--")


def _layer_key(index: int | None) -> str:
    return NO_LAYER if index is None else str(index)


def _buckets(report: VulnReport) -> dict[str, _Bucket]:
    """Per layer (``"0"``, ``"1"``, … and `NO_LAYER`): the packages, active vulnerabilities and active secrets."""
    out = {str(la.index): _Bucket() for la in report.sbom.image.layers}
    for p in report.sbom.packages:
        out.setdefault(_layer_key(p.layer_index), _Bucket()).packages.append(p)
    for f in sorted_findings(report.active):
        out.setdefault(_layer_key(f.locations[0].layer_index if f.locations else None), _Bucket()).vulns.append(f)
    for c in sorted(report.active_checks, key=lambda c: c.sort_key):
        if c.category == "secret":
            key = _layer_key(c.location.layer_index if c.location is not None else None)
            out.setdefault(key, _Bucket()).secrets.append(c)
    return out


def _count(key: str, value: int, label: str = "") -> str:
    """A number the page shows, tagged so a test (and the script) can read it: ``data-count``/``data-value``."""
    text = f"{value}" if not label else f"{value} {_e(label)}"
    return f'<span class="n" data-count="{_e(key)}" data-value="{value}">{text}</span>'


def _sev(s: Severity | str) -> str:
    v = s.value if isinstance(s, Severity) else s
    return f'<span class="sev sev-{_e(v)}">{_e(v)}</span>'


def _age(report: VulnReport) -> str:
    """How old the database was when the scan ran (scan time − database update), or ``unknown``."""
    if report.db is None:
        return "no vulnerability database used"
    try:
        updated = dt.datetime.fromisoformat(report.db.updated_at)
        scanned = dt.datetime.fromisoformat(report.sbom.created)
    except ValueError:
        return f"updated {report.db.updated_at}"
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=dt.UTC)
    if scanned.tzinfo is None:
        scanned = scanned.replace(tzinfo=dt.UTC)
    delta = scanned - updated
    hours = int(delta.total_seconds() // 3600)
    if delta.days >= 1:
        words = f"{delta.days} day{'s' if delta.days != 1 else ''}"
    elif hours >= 1:
        words = f"{hours} hour{'s' if hours != 1 else ''}"
    else:
        words = "less than an hour"
    return f"{words} old at scan time (updated {report.db.updated_at})"


def _header(report: VulnReport) -> str:
    img = report.sbom.image
    distro = report.sbom.distro
    rows = [
        ("Reference", img.reference),
        ("Digest", img.digest),
        ("Config", img.config_digest),
        ("OS", distro.pretty_name if distro is not None else "unknown (no os-release)"),
        ("Platform", img.platform),
        ("Layers", str(len(img.layers))),
        ("Database", _age(report)),
        ("Scanners", ", ".join(report.scanners)),
        ("Scanned", report.sbom.created or "unknown"),
    ]
    items = "".join(f'<dt>{_e(k)}</dt><dd data-field="{_e(k.lower())}">{_e(v)}</dd>' for k, v in rows)
    return f'<header class="top"><h1>{_e(img.reference)}</h1><dl>{items}</dl></header>'


def _verdict_block(report: VulnReport) -> str:
    if report.fail_on is None:
        badge = '<span class="verdict verdict-none" data-verdict="not-gated">NOT GATED</span>'
        why = "No <code>--fail-on</code> threshold was given: the scan reports but does not decide."
    elif report.failed:
        badge = '<span class="verdict verdict-fail" data-verdict="fail">FAIL</span>'
        why = (f"At least one active finding is at or above <code>--fail-on {_e(report.fail_on.value)}</code> "
               "(exit code 1).")
    else:
        badge = '<span class="verdict verdict-pass" data-verdict="pass">PASS</span>'
        why = f"No active finding is at or above <code>--fail-on {_e(report.fail_on.value)}</code>."
    return f'<section id="verdict"><h2>Verdict</h2><p>{badge} {why}</p></section>'


def _chart(counts: dict[Severity, int]) -> str:
    """A horizontal bar chart of active findings per severity, as inline SVG (no library, no script)."""
    bar_h, gap, label_w, bar_w = 22, 8, 90, 420
    top = max([*counts.values(), 1])
    height = len(SEVERITIES_DESCENDING) * (bar_h + gap) + gap
    parts = [(f'<svg class="chart" role="img" aria-labelledby="chart-title" width="{label_w + bar_w + 60}" '
             f'height="{height}" viewBox="0 0 {label_w + bar_w + 60} {height}">'),
             '<title id="chart-title">Active vulnerabilities by severity</title>']
    for i, s in enumerate(SEVERITIES_DESCENDING):
        y = gap + i * (bar_h + gap)
        n = counts[s]
        w = 0 if n == 0 else max(2, round(bar_w * n / top))
        parts.append(
            f'<g data-severity="{s.value}" data-value="{n}">'
            f'<text x="0" y="{y + bar_h - 6}">{s.value}</text>'
            f'<rect class="bar-{s.value}" x="{label_w}" y="{y}" width="{w}" height="{bar_h}" rx="3">'
            f'<title>{s.value}: {n}</title></rect>'
            f'<text x="{label_w + w + 6}" y="{y + bar_h - 6}">{n}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _summary(report: VulnReport) -> str:
    counts = report.counts()
    cards = [("total", sum(counts.values()), "Vulnerabilities")]
    cards += [(s.value, counts[s], s.value.title()) for s in SEVERITIES_DESCENDING]
    cards += [
        ("suppressed", len(report.suppressed), "Suppressed"),
        ("secrets", sum(1 for c in report.active_checks if c.category == "secret"), "Secrets"),
        ("misconfigurations", sum(1 for c in report.active_checks if c.category == "misconfig"),
         "Misconfigurations"),
    ]
    html_cards = "".join(f'<div class="card">{_count(k, n)}<span class="muted">{_e(label)}</span></div>'
                         for k, n, label in cards)
    return (f'<section id="summary"><h2>Severity breakdown</h2>{_chart(counts)}'
            f'<div class="cards">{html_cards}</div></section>')


def _th(key: str, label: str, *, numeric: bool = False) -> str:
    kind = ' data-type="num"' if numeric else ""
    return f'<th data-key="{_e(key)}"{kind}><button type="button">{_e(label)}</button></th>'


def _filters(table_id: str, severities: Iterable[Severity], *, primary: bool = False) -> str:
    boxes = "".join(f'<label><input type="checkbox" name="sev" value="{s.value}" checked> {_sev(s)}</label>'
                    for s in severities)
    flag = " data-primary" if primary else ""
    return (f'<div class="filters" data-table="{_e(table_id)}"{flag} hidden>{boxes}'
            f'<input type="search" placeholder="Filter by id, package, text…" aria-label="Filter rows">'
            f'<output class="muted"></output></div>')


def _layer_cell(f: VulnFinding) -> tuple[str, str]:
    if not f.locations:
        return "", "—"
    loc = f.locations[0]
    return str(loc.layer_index), f"{loc.layer_index}"


def _vuln_table(table_id: str, findings: Sequence[VulnFinding], *, suppressed: bool = False) -> str:
    heads = [_th("severity", "Severity", numeric=True), _th("id", "Vulnerability"), _th("package", "Package"),
             _th("installed", "Installed"), _th("fixed", "Fixed in"), _th("cvss", "CVSS", numeric=True),
             _th("layer", "Layer", numeric=True), _th("title", "Title")]
    if suppressed:
        heads.append(_th("why", "Suppressed because"))
    rows = []
    for f in findings:
        score = best_cvss_score(f)
        layer_v, layer_text = _layer_cell(f)
        aliases = f' <span class="muted">({_e(", ".join(f.aliases))})</span>' if f.aliases else ""
        cells = [
            f'<td data-v="{f.severity.rank}">{_sev(f.severity)}</td>',
            f'<td><code>{_e(f.id)}</code>{aliases}</td>',
            f'<td>{_e(f.package_name)} <span class="muted">{_e(f.package_type)}</span></td>',
            f"<td><code>{_e(f.package_version)}</code></td>",
            f'<td><code>{_e(", ".join(f.fixed_versions))}</code></td>' if f.fixed_versions else
            '<td class="muted">no fix</td>',
            f'<td data-v="{"" if score is None else score}">{"" if score is None else f"{score:.1f}"}</td>',
            f'<td data-v="{layer_v}">{_e(layer_text)}</td>',
            f"<td>{_e(f.title)}</td>",
        ]
        if suppressed and f.suppression is not None:
            s = f.suppression
            cells.append(f"<td>{_e(s.kind)}: {_e(s.reason)}"
                         + (f' <span class="muted">({_e(s.source)})</span>' if s.source else "") + "</td>")
        rows.append(f'<tr data-severity="{f.severity.value}">{"".join(cells)}</tr>')
    return (f'<table id="{_e(table_id)}" class="sortable"><thead><tr>{"".join(heads)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _vulns(report: VulnReport) -> str:
    active = sorted_findings(report.active)
    parts = ['<section id="vulnerabilities"><h2>Vulnerabilities</h2>']
    if not active:
        parts.append('<p class="muted">No active vulnerability findings.</p>')
    else:
        parts.append(_filters("vuln-table", SEVERITIES_DESCENDING, primary=True))
        parts.append(_vuln_table("vuln-table", active))
    suppressed = sorted_findings(report.suppressed)
    if suppressed:
        parts.append(f"<h3>Suppressed ({len(suppressed)})</h3>"
                     '<p class="muted">Not counted for the verdict; listed with the reason.</p>')
        parts.append(_vuln_table("suppressed-table", suppressed, suppressed=True))
    return "".join(parts) + "</section>"


def _check_table(table_id: str, findings: Sequence[CheckFinding]) -> str:
    heads = [_th("severity", "Severity", numeric=True), _th("rule", "Rule"), _th("where", "Where"),
             _th("layer", "Layer", numeric=True), _th("message", "Message"), _th("evidence", "Evidence (masked)"),
             _th("step", "Build step"), _th("status", "Status")]
    rows = []
    for c in findings:
        layer = c.location.layer_index if c.location is not None else None
        step = c.location.created_by if c.location is not None and c.location.created_by else ""
        status = "active" if c.suppression is None else f"suppressed ({c.suppression.kind}: {c.suppression.reason})"
        rows.append(
            f'<tr data-severity="{c.severity.value}">'
            f'<td data-v="{c.severity.rank}">{_sev(c.severity)}</td>'
            f"<td><code>{_e(c.rule_id)}</code><br><span class=\"muted\">{_e(c.title)}</span></td>"
            f"<td><code>{_e(where(c))}</code></td>"
            f'<td data-v="{"" if layer is None else layer}">{"—" if layer is None else layer}</td>'
            f"<td>{_e(c.message)}</td>"
            f"<td><code>{_e(c.evidence)}</code></td>"
            f'<td><code class="mono">{_e(step)}</code></td>'
            f"<td>{_e(status)}</td></tr>")
    return (f'<table id="{_e(table_id)}" class="sortable"><thead><tr>{"".join(heads)}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _checks(report: VulnReport, category: str, section_id: str, title: str) -> str:
    ran = category in report.scanners
    found = sorted((c for c in report.checks if c.category == category), key=lambda c: c.sort_key)
    parts = [f'<section id="{section_id}"><h2>{_e(title)}</h2>']
    if not ran:
        parts.append(f'<p class="muted" data-status="not-run">Not scanned (add <code>--scanners {category}</code>).'
                     "</p>")
    elif not found:
        parts.append(f'<p class="muted">No {_e(title.lower())} found.</p>')
    else:
        if category == "secret":
            parts.append('<p class="muted">Values are masked by the scanner; a secret deleted by a later layer is '
                         "still in the image and is listed with the layer that added it.</p>")
        table_id = f"{section_id}-table"
        parts.append(_filters(table_id, sorted({c.severity for c in found}, reverse=True)))
        parts.append(_check_table(table_id, found))
    return "".join(parts) + "</section>"


def _layers(report: VulnReport, buckets: dict[str, _Bucket]) -> str:
    parts = [('<section id="layers"><h2>Layers</h2><p class="muted">Where each package, active vulnerability and '
             "active secret came from: the layer whose tar carried the file, and the build step that made it."
             "</p>")]
    entries: list[tuple[str, str, str, str]] = [
        (str(la.index), f"Layer {la.index}", la.diff_id, la.created_by or "")
        for la in report.sbom.image.layers
    ]
    if NO_LAYER in buckets:
        entries.append((NO_LAYER, "Not from a layer file", "", "image config, history, or no recorded location"))
    for key, label, diff_id, step in entries:
        b = buckets.get(key, _Bucket())
        counts = (f'{_count(f"layer:{key}:packages", len(b.packages), "packages")} · '
                  f'{_count(f"layer:{key}:vulns", len(b.vulns), "vulnerabilities")} · '
                  f'{_count(f"layer:{key}:secrets", len(b.secrets), "secrets")}')
        pkgs = "".join(f"<li><code>{_e(p.name)} {_e(p.version)}</code> <span class=\"muted\">{_e(p.type)}</span>"
                       "</li>" for p in b.packages)
        vulns = "".join(f"<li>{_sev(f.severity)} <code>{_e(f.id)}</code> in <code>{_e(f.package_name)} "
                        f"{_e(f.package_version)}</code></li>" for f in b.vulns)
        secrets = "".join(f"<li>{_sev(c.severity)} <code>{_e(c.rule_id)}</code> <code>{_e(where(c))}</code>: "
                          f"{_e(c.message)}</li>" for c in b.secrets)
        body = "".join(f"<h4>{name}</h4><ul>{items}</ul>" for name, items in
                       (("Packages", pkgs), ("Vulnerabilities", vulns), ("Secrets", secrets)) if items)
        did = f'<div class="muted mono" data-field="diff-id">{_e(diff_id)}</div>' if diff_id else ""
        parts.append(
            f'<details class="layer" data-layer="{_e(key)}"><summary><strong>{_e(label)}</strong> — {counts}'
            f'</summary>{did}<code class="step" data-field="created-by">{_e(step)}</code>{body}</details>')
    return "".join(parts) + "</section>"


def _trust(verdict: Verdict | None) -> str:
    """Signature, attestation and policy status: what is known, and plainly "not checked" when nothing is."""
    parts = ['<section id="trust"><h2>Signatures, attestations and policy</h2><table><tbody>']

    def row(name: str, status: str, text: str) -> None:
        parts.append(f'<tr data-check="{_e(name)}"><th>{_e(name.title())}</th>'
                     f'<td><span class="status status-{_e(status)}" data-status="{_e(status)}">{_e(status)}</span>'
                     f"</td><td>{_e(text)}</td></tr>")

    if verdict is None:
        row("signature", "not-checked", "This report is a scan only: no signature was verified.")
        row("attestations", "not-checked", "No attestation was verified.")
        row("policy", "not-evaluated", "No policy was applied; run `tidegate check` with a policy file.")
        return "".join(parts) + "</tbody></table></section>"
    for name, prefix in (("signature", "signature"), ("attestations", "attestation")):
        rules = [r for r in verdict.results if r.rule.startswith(prefix)]
        if not rules:
            row(name, "not-checked", "The policy has no rule about this.")
            continue
        worst = "fail" if any(r.status == "fail" for r in rules) else \
            "not-evaluated" if any(r.status == "not-evaluated" for r in rules) else "pass"
        row(name, worst, "; ".join(r.message for r in rules))
    decision = "pass" if verdict.allowed else "fail"
    row("policy", decision, ("allowed" if verdict.allowed else "denied: " + "; ".join(verdict.reasons))
        + f" (policy {verdict.policy_hash}" + (f", scope {verdict.scope}" if verdict.scope else "") + ")")
    parts.append("</tbody></table><h3>Rules</h3><table><thead><tr><th>Rule</th><th>Status</th><th>Message</th>"
                 "<th>Evidence</th></tr></thead><tbody>")
    for r in verdict.results:
        parts.append(f'<tr data-rule="{_e(r.rule)}"><td><code>{_e(r.rule)}</code></td>'
                     f'<td><span class="status status-{_e(r.status)}">{_e(r.status)}</span></td>'
                     f"<td>{_e(r.message)}</td><td><code>{_e(', '.join(r.evidence))}</code></td></tr>")
    return "".join(parts) + "</tbody></table></section>"


def _history(history: Sequence[HistoryRow]) -> str:
    if not history:
        return ""
    heads = "".join(f"<th>{_e(h)}</th>" for h in ("Scanned", "Digest", "Tags",
                                                  *(s.value for s in SEVERITIES_DESCENDING), "Gate"))
    rows = []
    for h in sorted(history, key=lambda h: (h.scanned_at, h.manifest_digest)):
        counts = dict(h.counts)
        gate = "—" if h.failed is None else ("fail" if h.failed else "pass")
        cells = [h.scanned_at, h.manifest_digest, ", ".join(h.tags),
                 *(str(counts.get(s, 0)) for s in SEVERITIES_DESCENDING), gate]
        rows.append("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in cells) + "</tr>")
    return (f'<section id="history"><h2>History</h2><table><thead><tr>{heads}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def _notes(report: VulnReport) -> str:
    if not report.unknowns and not report.warnings:
        return ""
    items = [f"<li>warning: {_e(w)}</li>" for w in report.warnings]
    items += [f"<li>not evaluated ({_e(u.source)}): {_e(u.reason)}"
              + (f" <code>{_e(u.location.path)}</code>" if u.location else "") + "</li>"
              for u in sorted(report.unknowns, key=lambda u: (u.location.path if u.location else "", u.source,
                                                              u.reason))]
    return f'<section id="notes"><h2>Warnings and unknowns</h2><ul>{"".join(items)}</ul></section>'


def _verdict_data(verdict: Verdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "reference": verdict.reference, "manifestDigest": verdict.manifest_digest,
        "policyHash": verdict.policy_hash, "scope": verdict.scope, "allowed": verdict.allowed,
        "denyNotEvaluated": verdict.deny_not_evaluated,
        "results": [{"rule": r.rule, "status": r.status, "message": r.message, "evidence": list(r.evidence)}
                    for r in verdict.results],
    }


def embedded_data(report: VulnReport, *, verdict: Verdict | None = None,
                  history: Sequence[HistoryRow] = ()) -> dict[str, Any]:
    """The object embedded in the page: the JSON scan report plus per-layer packages, verdict and history."""
    buckets = _buckets(report)
    return {
        "format": DATA_FORMAT,
        "version": DATA_VERSION,
        "report": json.loads(VulnJsonFormat().render(report)),
        "layers": [{"index": int(k) if k != NO_LAYER else NO_LAYER,
                    "packages": [{"id": p.id, "name": p.name, "version": p.version, "type": p.type}
                                 for p in b.packages]}
                   for k, b in buckets.items()],
        "verdict": _verdict_data(verdict),
        "history": [{"scannedAt": h.scanned_at, "manifestDigest": h.manifest_digest, "tags": list(h.tags),
                     "failed": h.failed, "bySeverity": {s.value: n for s, n in h.counts}}
                    for h in sorted(history, key=lambda h: (h.scanned_at, h.manifest_digest))],
    }


def render_html(report: VulnReport, *, verdict: Verdict | None = None,
                history: Sequence[HistoryRow] = ()) -> str:
    """The whole page for `report`, with the policy `verdict` and earlier scans (`history`) when known."""
    buckets = _buckets(report)
    csp = (f"default-src 'none'; style-src {csp_hash(STYLE)}; script-src {csp_hash(SCRIPT)}; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    title = f"tidegate scan: {report.sbom.image.reference}"
    body = "".join((
        _header(report),
        "<main>",
        _verdict_block(report),
        _summary(report),
        _vulns(report),
        _checks(report, "secret", "secrets", "Secrets"),
        _checks(report, "misconfig", "misconfigurations", "Misconfigurations"),
        _layers(report, buckets),
        _trust(verdict),
        _history(history),
        _notes(report),
        "</main>",
        (f"<footer>{_e(report.sbom.tool_version and 'tidegate ' + report.sbom.tool_version or 'tidegate')} · "
        f"report generated from the scan of {_e(report.sbom.created or 'unknown time')}</footer>"),
    ))
    data = _embed_json(embedded_data(report, verdict=verdict, history=history))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title><style>{STYLE}</style></head>\n"
        f"<body>{body}\n"
        f'<script type="application/json" id="tidegate-data">{data}</script>\n'
        f"<script>{SCRIPT}</script>\n"
        "</body></html>\n"
    )


class HtmlFormat(ScanFormat):
    """A self-contained HTML page: verdict, severity chart, sortable findings, secrets, layers, trust status."""

    id = "html"
    aliases = ()
    media_type = "text/html"
    description = "one self-contained HTML page (inline CSS/JS/SVG, no network) for people to read"

    def render(self, report: VulnReport, *, color: bool = False) -> bytes:
        """Render `report` as UTF-8 HTML; `color` is ignored. A scan alone carries no signature or policy data."""
        return render_html(report).encode("utf-8")
