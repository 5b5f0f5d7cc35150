"""Recording the doors' verdicts in the history store (issue 7: "every scan/check, webhook and gate verdict").

    run = recording_assessor(policy, options, source="webhook", store=None)   # None: the default store
    verdict = run("registry/app:1")                                            # gathers, evaluates, records

Only fresh assessments reach this function (cached verdicts are not re-recorded: the store keeps images,
findings and verdicts per digest, and a cache hit adds no new fact). A store error is logged and never changes
the verdict: the door's decision must not depend on the history database being up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from tidegate.errors import TidegateError
from tidegate.policy.assess import AssessOptions, gather_for
from tidegate.policy.evaluate import evaluate
from tidegate.policy.model import Policy
from tidegate.policy.verdict import Verdict
from tidegate.store.history import Source, record, scan_record

log = logging.getLogger(__name__)


def recording_assessor(policy: Policy, options: AssessOptions, *, source: Source,
                       store: str | None) -> Callable[[str], Verdict]:
    """``assess`` that also records the verdict, its evidence (signatures, attestations) and the scan."""

    def run(reference: str) -> Verdict:
        started = time.monotonic()
        evidence = gather_for(reference, policy, options)
        verdict = evaluate(policy, evidence)
        try:
            record(scan_record(None, reference=reference, source=source, duration=time.monotonic() - started,
                               verdict=verdict, evidence=evidence), store=store)
        except TidegateError as e:
            log.warning("%s verdict for %s not recorded in the history store: %s", source, reference, e.message)
        return verdict

    return run


def add_store_metrics(registry: object, store: str | None) -> None:
    """Export the history store's programme figures on a door's ``/metrics`` too (same names as
    ``tidegate serve metrics``); the store is read on each scrape."""
    from prometheus_client import CollectorRegistry

    from tidegate.store.history import HistoryStore
    from tidegate.store.metrics import HistoryCollector

    assert isinstance(registry, CollectorRegistry)
    registry.register(HistoryCollector(HistoryStore.open(store)))
