"""Prometheus metrics of the admission webhook, on a registry of its own (so tests can run several webhooks).

    metrics = WebhookMetrics()
    metrics.requests.labels(operation="CREATE", decision="denied").inc()
    metrics.render()           # (body, content type) for GET /metrics

Series (``/healthz``, ``/readyz`` and ``/metrics`` themselves are not counted):

- ``tidegate_admission_requests_total{operation,decision}``: ``operation`` is the AdmissionReview's
  (``CREATE``, ``UPDATE``, …, ``unknown`` for an unreadable body); ``decision`` is ``allowed``, ``denied``,
  ``error`` (denied because the webhook failed: fail-closed), ``fail-open`` (allowed despite a failure),
  ``exempt`` (namespace exempt) or ``skipped`` (nothing to judge: another operation, kind or no new images).
- ``tidegate_verdicts_total{decision,reason}``: one per image per request; ``reason`` is the first blocking rule
  (``signatures``, ``vulnerabilities``, …), ``ok``, or ``error``/``timeout``/``invalid-reference``.
- ``tidegate_admission_duration_seconds{webhook}``: histogram of request handling time, ``webhook`` =
  ``validate`` or ``mutate``.
- ``tidegate_cache_hits_total{cache}`` / ``tidegate_cache_misses_total{cache}``: ``cache`` = ``verdict`` or
  ``resolution`` (tag → digest).
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 7.5, 10.0)
"""Histogram buckets: cached admissions take milliseconds, cold ones seconds, and 10 s is the API server's cap."""


class WebhookMetrics:
    """The webhook's counters and histogram."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        """This webhook's Prometheus registry."""
        self.requests = Counter("tidegate_admission_requests_total", "Admission requests by operation and decision",
                                ["operation", "decision"], registry=self.registry)
        """``tidegate_admission_requests_total{operation,decision}``."""
        self.verdicts = Counter("tidegate_verdicts_total", "Per-image verdicts by decision and first reason",
                                ["decision", "reason"], registry=self.registry)
        """``tidegate_verdicts_total{decision,reason}``."""
        self.duration = Histogram("tidegate_admission_duration_seconds", "Time to answer an admission request",
                                  ["webhook"], buckets=DURATION_BUCKETS, registry=self.registry)
        """``tidegate_admission_duration_seconds{webhook}``."""
        self.cache_hits = Counter("tidegate_cache_hits_total", "Cache hits by cache", ["cache"],
                                  registry=self.registry)
        """``tidegate_cache_hits_total{cache}``."""
        self.cache_misses = Counter("tidegate_cache_misses_total", "Cache misses by cache", ["cache"],
                                    registry=self.registry)
        """``tidegate_cache_misses_total{cache}``."""
        for cache in ("verdict", "resolution"):
            self.cache_hits.labels(cache=cache)
            self.cache_misses.labels(cache=cache)

    def cache(self, name: str, hit: bool) -> None:
        """Count one lookup of cache `name`."""
        (self.cache_hits if hit else self.cache_misses).labels(cache=name).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


__all__ = ["DURATION_BUCKETS", "WebhookMetrics"]
