"""The seed's four figures (and a few more) computed from the history store for a time window.

    figures = compute(store, window=dt.timedelta(days=30))
    figures.density, figures.signed_ratio, figures.mttr["CRITICAL"], figures.pass_rate
    REGISTRY.register(HistoryCollector(store))       # Prometheus: read the store on every scrape

Definitions (a window is ``(now - window, now]`` on the store's clock):

- **vulnerability density**: for every repository with a vulnerability scan in the window, its open
  (unresolved) HIGH + CRITICAL findings, averaged over those repositories ("images": a repository's current image
  is its latest scanned digest). Open findings include those `HistoryStore.rematch` found later. Target < 1.
- **signed %**: distinct digests scanned or checked in the window that had a *valid* signature verified at least
  once in the window, over all of them. A digest whose signature was never checked (``tidegate scan`` does not
  verify signatures) counts as unsigned: zero trust. Target 100 %.
- **MTTR per severity**: mean of ``resolved_at - first_seen`` over findings resolved in the window. The store has no
  exploitability data, so the "< 1 h for exploitable" target is applied to CRITICAL and HIGH.
- **scan pass rate**: scans and checks in the window that passed (scan: nothing at or above ``--fail-on``; check:
  allowed), over all of them. Target > 95 %.

Plus: verdict counts by source, decision and first blocking rule; open findings per severity; a histogram of
scan durations.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from tidegate.model.finding import Severity
from tidegate.store.history import HistoryStore, findings, scans, verdicts

DEFAULT_WINDOW = dt.timedelta(days=30)
"""Window of `compute` and of the exporter unless told otherwise."""

DURATION_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
"""Histogram buckets (seconds) of scan durations: cached scans take a second, cold registry pulls minutes."""

EXPLOITABLE = ("CRITICAL", "HIGH")
"""Severities the MTTR target applies to (no exploitability data is stored: these stand in for it)."""

SEVERITIES = tuple(s.name for s in sorted(Severity, reverse=True))
"""Severity names, most severe first."""


@dataclass(frozen=True, slots=True)
class Target:
    """One of the seed's targets."""

    name: str
    """Figure name."""
    op: str
    """``<`` or ``>`` or ``=``."""
    value: float
    """Threshold."""
    text: str
    """How the seed words it."""

    def met(self, figure: float | None) -> bool | None:
        """Whether `figure` meets the target (None when there is no figure)."""
        if figure is None:
            return None
        if self.op == "<":
            return figure < self.value
        if self.op == ">":
            return figure > self.value
        return figure == self.value


TARGETS = {
    "density": Target("vulnerability density", "<", 1.0, "< 1 high/critical per image"),
    "signed": Target("signed images", "=", 1.0, "100% signed"),
    "mttr": Target("MTTR (critical/high)", "<", 3600.0, "< 1 hour for exploitable"),
    "pass_rate": Target("scan pass rate", ">", 0.95, "> 95%"),
}
"""The seed's four targets."""


@dataclass(frozen=True, slots=True)
class ImageFigures:
    """One repository's current image and its open findings."""

    repository: str
    """Repository."""
    digest: str
    """Latest scanned digest."""
    open: dict[str, int]
    """Open findings per severity name (every severity present)."""

    @property
    def high_critical(self) -> int:
        """Open HIGH + CRITICAL findings."""
        return self.open["HIGH"] + self.open["CRITICAL"]


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything `compute` measured for one window."""

    now: dt.datetime
    """End of the window (UTC)."""
    window: dt.timedelta
    """Length of the window."""
    images: tuple[ImageFigures, ...]
    """Per repository: its current image's open findings."""
    images_seen: int
    """Distinct digests scanned or checked in the window."""
    images_signed: int
    """Of those, digests with a valid signature verified in the window."""
    mttr: dict[str, float]
    """Mean seconds to resolve, per severity name (only severities with resolved findings)."""
    resolved: dict[str, int]
    """Findings resolved in the window, per severity name."""
    scans_total: int
    """Scans and checks in the window."""
    scans_passed: int
    """Of those, passed."""
    verdicts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """(source, decision, reason) → count of policy decisions in the window."""
    durations: tuple[float, ...] = ()
    """Durations (seconds) of the scans in the window."""

    @property
    def density(self) -> float | None:
        """Open HIGH + CRITICAL findings per image (None when no image was scanned)."""
        if not self.images:
            return None
        return sum(i.high_critical for i in self.images) / len(self.images)

    @property
    def density_by_severity(self) -> dict[str, float]:
        """Open findings per image, per severity name (empty when no image was scanned)."""
        if not self.images:
            return {}
        return {s: sum(i.open[s] for i in self.images) / len(self.images) for s in SEVERITIES}

    @property
    def signed_ratio(self) -> float | None:
        """Fraction of images seen with a valid signature (None when none was seen)."""
        return self.images_signed / self.images_seen if self.images_seen else None

    @property
    def pass_rate(self) -> float | None:
        """Fraction of scans that passed (None when there were none)."""
        return self.scans_passed / self.scans_total if self.scans_total else None

    @property
    def mttr_exploitable(self) -> float | None:
        """Mean seconds to resolve over resolved CRITICAL and HIGH findings together."""
        n = sum(self.resolved.get(s, 0) for s in EXPLOITABLE)
        if not n:
            return None
        return sum(self.mttr[s] * self.resolved[s] for s in EXPLOITABLE if self.resolved.get(s)) / n

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (``tidegate metrics --format json``)."""
        return {
            "now": self.now.isoformat().replace("+00:00", "Z"),
            "windowSeconds": self.window.total_seconds(),
            "vulnerabilityDensity": {"highCritical": self.density, "bySeverity": self.density_by_severity,
                                     "images": [{"repository": i.repository, "digest": i.digest, "open": i.open}
                                                for i in self.images],
                                     "target": TARGETS["density"].text,
                                     "met": TARGETS["density"].met(self.density)},
            "signed": {"imagesSeen": self.images_seen, "imagesSigned": self.images_signed,
                       "ratio": self.signed_ratio, "target": TARGETS["signed"].text,
                       "met": TARGETS["signed"].met(self.signed_ratio)},
            "mttrSeconds": {"bySeverity": self.mttr, "resolved": self.resolved,
                            "exploitable": self.mttr_exploitable, "target": TARGETS["mttr"].text,
                            "met": TARGETS["mttr"].met(self.mttr_exploitable)},
            "scanPassRate": {"scans": self.scans_total, "passed": self.scans_passed, "rate": self.pass_rate,
                             "target": TARGETS["pass_rate"].text, "met": TARGETS["pass_rate"].met(self.pass_rate)},
            "verdicts": [{"source": k[0], "decision": k[1], "reason": k[2], "count": n}
                         for k, n in sorted(self.verdicts.items())],
        }


def _aware(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)


def compute(store: HistoryStore, window: dt.timedelta = DEFAULT_WINDOW) -> Figures:
    """Measure the window ending at the store clock's now."""
    now = store.now()
    start = now - window
    with store.engine.connect() as conn:
        scan_rows = conn.execute(sa.select(scans).where(scans.c.scanned_at > start, scans.c.scanned_at <= now)
                                 .order_by(scans.c.scanned_at, scans.c.id)).all()
        current: dict[str, str] = {}
        for r in scan_rows:
            if r.vulns:
                current[r.repository] = r.digest
        open_counts: dict[str, dict[str, int]] = {repo: {s: 0 for s in SEVERITIES} for repo in current}
        if current:
            q = sa.select(findings.c.repository, findings.c.severity, sa.func.count()).where(
                findings.c.resolved_at.is_(None), findings.c.first_seen <= now,
                findings.c.repository.in_(list(current))).group_by(findings.c.repository, findings.c.severity)
            for repo, sev, n in conn.execute(q):
                open_counts[repo][sev] = int(n)
        resolved_rows = conn.execute(sa.select(findings.c.severity, findings.c.first_seen, findings.c.resolved_at)
                                     .where(findings.c.resolved_at > start, findings.c.resolved_at <= now)).all()
        verdict_rows = conn.execute(sa.select(verdicts.c.source, verdicts.c.decision, verdicts.c.reason,
                                              sa.func.count()).where(verdicts.c.decided_at > start,
                                                                     verdicts.c.decided_at <= now)
                                    .group_by(verdicts.c.source, verdicts.c.decision, verdicts.c.reason)).all()
        verdict_digests = {r.digest for r in conn.execute(sa.select(verdicts.c.digest).where(
            verdicts.c.decided_at > start, verdicts.c.decided_at <= now))}
    seen = {r.digest for r in scan_rows} | verdict_digests
    signed = {r.digest for r in scan_rows if r.signed}
    totals: dict[str, float] = {}
    resolved: dict[str, int] = {}
    for sev, first, done in resolved_rows:
        totals[sev] = totals.get(sev, 0.0) + (done - first).total_seconds()
        resolved[sev] = resolved.get(sev, 0) + 1
    return Figures(
        now=_aware(now), window=window,
        images=tuple(ImageFigures(repository=repo, digest=current[repo], open=open_counts[repo])
                     for repo in sorted(current)),
        images_seen=len(seen), images_signed=len(signed & seen),
        mttr={s: totals[s] / resolved[s] for s in SEVERITIES if s in resolved},
        resolved={s: resolved[s] for s in SEVERITIES if s in resolved},
        scans_total=len(scan_rows), scans_passed=sum(1 for r in scan_rows if r.passed),
        verdicts={(str(a), str(b), str(c)): int(n) for a, b, c, n in verdict_rows},
        durations=tuple(float(r.duration) for r in scan_rows))


# -- terminal -----------------------------------------------------------------------------------------------


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}%"


def _dur(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _mark(met: bool | None) -> str:
    return {True: "ok", False: "MISSED", None: "-"}[met]


def render_table(f: Figures) -> str:
    """The four figures with their targets, as plain text."""
    days = f.window.total_seconds() / 86400
    lines = [f"tidegate metrics: last {days:g} days up to {f.now.isoformat().replace('+00:00', 'Z')}", ""]
    n_resolved = sum(f.resolved.get(s, 0) for s in EXPLOITABLE)
    rows = [
        ("vulnerability density", "n/a" if f.density is None else f"{f.density:.2f} high/critical per image "
         f"({len(f.images)} images)", TARGETS["density"].text, _mark(TARGETS["density"].met(f.density))),
        ("signed images", f"{_pct(f.signed_ratio)} ({f.images_signed}/{f.images_seen})", TARGETS["signed"].text,
         _mark(TARGETS["signed"].met(f.signed_ratio))),
        ("MTTR critical/high", f"{_dur(f.mttr_exploitable)} ({n_resolved} resolved)", TARGETS["mttr"].text, _mark(TARGETS["mttr"].met(f.mttr_exploitable))),
        ("scan pass rate", f"{_pct(f.pass_rate)} ({f.scans_passed}/{f.scans_total})", TARGETS["pass_rate"].text,
         _mark(TARGETS["pass_rate"].met(f.pass_rate))),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    w2 = max(len(r[2]) for r in rows)
    lines.append(f"{'FIGURE':<{w0}}  {'VALUE':<{w1}}  {'TARGET':<{w2}}  MET")
    lines += [f"{a:<{w0}}  {b:<{w1}}  {c:<{w2}}  {d}" for a, b, c, d in rows]
    if f.mttr:
        lines += ["", "MTTR by severity: " + ", ".join(f"{s} {_dur(v)} ({f.resolved[s]})" for s, v in f.mttr.items())]
    if f.verdicts:
        lines += ["", "verdicts: " + ", ".join(f"{src}/{dec}/{why} {n}" for (src, dec, why), n in
                                                sorted(f.verdicts.items()))]
    return "\n".join(lines) + "\n"


def render_json(f: Figures) -> str:
    """The figures as indented JSON."""
    return json.dumps(f.to_json(), indent=2, sort_keys=True) + "\n"


# -- Prometheus ---------------------------------------------------------------------------------------------


METRIC_NAMES = (
    "tidegate_store_up", "tidegate_window_seconds", "tidegate_images", "tidegate_vulnerability_density",
    "tidegate_vulnerability_density_by_severity", "tidegate_image_open_findings", "tidegate_images_seen",
    "tidegate_images_signed", "tidegate_images_signed_ratio", "tidegate_mttr_seconds",
    "tidegate_findings_resolved", "tidegate_scans", "tidegate_scan_pass_ratio", "tidegate_recorded_verdicts",
    "tidegate_scan_duration_seconds",
)
"""Every metric family the collector exports (``_bucket``/``_sum``/``_count`` added for the histogram)."""


class HistoryCollector(Collector):
    """A Prometheus collector that reads the store on every scrape; a store error exports
    ``tidegate_store_up 0`` instead of failing the scrape."""

    def __init__(self, store: HistoryStore, window: dt.timedelta = DEFAULT_WINDOW) -> None:
        self.store = store
        """The store read on each scrape."""
        self.window = window
        """The window of every figure."""

    def describe(self) -> list[Metric]:
        """Nothing up front: the registry must not call `collect` at registration (it reads the store)."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Compute the figures and yield the metric families."""
        up = GaugeMetricFamily("tidegate_store_up", "1 when the history store could be read on this scrape")
        try:
            f = compute(self.store, self.window)
        except sa.exc.SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("tidegate_window_seconds", "Length of the window every figure covers",
                                value=f.window.total_seconds())
        yield GaugeMetricFamily("tidegate_images", "Repositories with a vulnerability scan in the window "
                                "(their current image is the latest digest scanned)", value=len(f.images))
        density = GaugeMetricFamily("tidegate_vulnerability_density",
                                    "Open HIGH+CRITICAL findings per image (target < 1)")
        if f.density is not None:
            density.add_metric([], f.density)
        yield density
        by_sev = GaugeMetricFamily("tidegate_vulnerability_density_by_severity", "Open findings per image",
                                   labels=["severity"])
        for sev, v in f.density_by_severity.items():
            by_sev.add_metric([sev], v)
        yield by_sev
        per_image = GaugeMetricFamily("tidegate_image_open_findings",
                                      "Open findings of a repository's current image", labels=[
                                          "repository", "digest", "severity"])
        for img in f.images:
            for sev, n in img.open.items():
                per_image.add_metric([img.repository, img.digest, sev], n)
        yield per_image
        yield GaugeMetricFamily("tidegate_images_seen", "Distinct digests scanned or checked in the window",
                                value=f.images_seen)
        yield GaugeMetricFamily("tidegate_images_signed", "Digests seen with a valid signature verified",
                                value=f.images_signed)
        ratio = GaugeMetricFamily("tidegate_images_signed_ratio", "Fraction of images seen with a valid "
                                  "signature (target 1)")
        if f.signed_ratio is not None:
            ratio.add_metric([], f.signed_ratio)
        yield ratio
        mttr = GaugeMetricFamily("tidegate_mttr_seconds", "Mean time to resolve findings resolved in the window "
                                 "(target < 3600 for CRITICAL/HIGH)", labels=["severity"])
        for sev, v in f.mttr.items():
            mttr.add_metric([sev], v)
        yield mttr
        resolved = GaugeMetricFamily("tidegate_findings_resolved", "Findings resolved in the window",
                                     labels=["severity"])
        for sev, n in f.resolved.items():
            resolved.add_metric([sev], n)
        yield resolved
        scans_g = GaugeMetricFamily("tidegate_scans", "Scans and checks in the window", labels=["result"])
        scans_g.add_metric(["passed"], f.scans_passed)
        scans_g.add_metric(["failed"], f.scans_total - f.scans_passed)
        yield scans_g
        rate = GaugeMetricFamily("tidegate_scan_pass_ratio", "Fraction of scans that passed (target > 0.95)")
        if f.pass_rate is not None:
            rate.add_metric([], f.pass_rate)
        yield rate
        vg = GaugeMetricFamily("tidegate_recorded_verdicts", "Policy decisions recorded in the window",
                              labels=["source", "decision", "reason"])
        for (src, dec, why), n in sorted(f.verdicts.items()):
            vg.add_metric([src, dec, why], n)
        yield vg
        buckets: list[tuple[str, float]] = []
        for bound in DURATION_BUCKETS:
            buckets.append((repr(bound), float(sum(1 for d in f.durations if d <= bound))))
        buckets.append(("+Inf", float(len(f.durations))))
        hist = HistogramMetricFamily("tidegate_scan_duration_seconds", "Durations of the scans in the window")
        hist.add_metric([], buckets, sum_value=sum(f.durations))
        yield hist


__all__ = ["DEFAULT_WINDOW", "DURATION_BUCKETS", "EXPLOITABLE", "METRIC_NAMES", "SEVERITIES", "TARGETS", "Figures",
           "HistoryCollector", "ImageFigures", "Target", "compute", "render_json", "render_table"]
