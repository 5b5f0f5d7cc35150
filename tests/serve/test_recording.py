"""The doors' `/metrics` carry the history store's programme figures (same names as ``serve metrics``)."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tidegate.policy.verdict import RuleResult, Verdict
from tidegate.serve.recording import add_store_metrics
from tidegate.store.history import record, scan_record


def test_door_registry_exports_store_figures(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'h.db'}"
    deny = Verdict(reference="r.example/app:1", manifest_digest="sha256:" + "a" * 64, policy_hash="sha256:p",
                   results=(RuleResult("signatures", "fail", "no signature by release.pub"),))
    record(scan_record(None, reference="r.example/app:1", source="webhook", duration=0.2, verdict=deny),
           store=store)
    registry = CollectorRegistry()
    add_store_metrics(registry, store)
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    verdicts = [s for s in families["tidegate_recorded_verdicts"].samples if s.value]
    assert [(s.labels.get("source"), s.labels.get("decision"), s.value) for s in verdicts] == \
        [("webhook", "denied", 1.0)]
