"""The seed's four figures over the simulated timeline, worked out by hand (see `tests.store.timeline`), on SQLite
and PostgreSQL; the Prometheus exposition parsed back; the Grafana dashboard and alert rules checked against it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from tests.store import timeline as tl
from tests.store.conftest import FakeClock
from tidegate.cli.serve_metrics import metrics_app, metrics_registry
from tidegate.store.history import HistoryStore
from tidegate.store.metrics import METRIC_NAMES, compute, render_json, render_table

ROOT = Path(__file__).resolve().parents[2]
Open = Callable[[], HistoryStore]
DAY = 24 * 60


def test_figures_at_three_hours(open_store: Open, clock: FakeClock) -> None:
    store = open_store()
    tl.play(store, clock)
    clock.set(hours=3)
    f = compute(store)
    # density: app's current image B has CVE-4 (MEDIUM) open → 0 high/critical; web@C has CVE-9 HIGH → 1.
    assert [(i.repository, i.digest, i.high_critical) for i in f.images] == [(tl.APP, tl.B, 0), (tl.WEB, tl.C, 1)]
    assert f.density == 0.5
    assert f.density_by_severity == {"CRITICAL": 0.0, "HIGH": 0.5, "MEDIUM": 0.5, "LOW": 0.0, "UNKNOWN": 0.0}
    # signed: A (check at 30m) and B (check at 75m) verified; C never → 2 of 3.
    assert (f.images_seen, f.images_signed) == (3, 2) and f.signed_ratio == 2 / 3
    # MTTR: CVE-1 0m→60m = 3600 s; HIGH: CVE-2 0m→60m = 3600, CVE-3 45m→60m = 900 → 2250; together 8100/3.
    assert f.mttr == {"CRITICAL": 3600.0, "HIGH": 2250.0}
    assert f.resolved == {"CRITICAL": 1, "HIGH": 2}
    assert f.mttr_exploitable == 2700.0
    # pass rate: fail, fail, fail, pass, pass, pass, pass → 4/7.
    assert (f.scans_passed, f.scans_total) == (4, 7) and f.pass_rate == 4 / 7
    assert f.verdicts == {("check", "denied", "vulnerabilities"): 1, ("check", "allowed", "ok"): 1}
    assert sorted(f.durations) == [0.4, 0.8, 1.5, 2.0, 3.0, 3.0, 45.0]


def test_window_drops_what_is_older(open_store: Open, clock: FakeClock) -> None:
    store = open_store()
    tl.play(store, clock)
    clock.set(days=30, minutes=30)  # window (T0+30m, T0+30d+30m]: the check at 30m falls out
    f = compute(store)
    assert (f.scans_passed, f.scans_total) == (4, 5)
    assert (f.images_seen, f.images_signed) == (3, 1)  # A seen at 45m, but its signature check was at 30m
    assert f.mttr == {"CRITICAL": 3600.0, "HIGH": 2250.0}
    clock.set(days=30, minutes=61)  # (T0+61m, …]: no resolution in the window, only passing runs
    f = compute(store)
    assert (f.scans_passed, f.scans_total, f.pass_rate) == (3, 3, 1.0)
    assert f.mttr == {} and f.mttr_exploitable is None
    assert (f.images_seen, f.images_signed) == (2, 1)
    assert f.density == 0.5


def test_empty_store_has_no_figures(open_store: Open) -> None:
    f = compute(open_store())
    assert (f.density, f.signed_ratio, f.mttr_exploitable, f.pass_rate) == (None, None, None, None)
    assert "n/a" in render_table(f)


def test_table_and_json(open_store: Open, clock: FakeClock) -> None:
    store = open_store()
    tl.play(store, clock)
    clock.set(hours=3)
    f = compute(store)
    table = render_table(f)
    assert "0.50 high/critical per image (2 images)" in table
    assert "66.7% (2/3)" in table and "45.0m (3 resolved)" in table and "57.1% (4/7)" in table
    doc = json.loads(render_json(f))
    assert doc["vulnerabilityDensity"]["met"] is True and doc["signed"]["met"] is False
    assert doc["mttrSeconds"]["met"] is True and doc["scanPassRate"]["met"] is False


def _scrape(store: HistoryStore) -> dict[str, list[tuple[str, dict[str, str], float]]]:
    client = TestClient(metrics_app(metrics_registry(store)))
    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    out: dict[str, list[tuple[str, dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(resp.text):
        out[fam.name] = [(s.name, s.labels, s.value) for s in fam.samples]
    return out


def _one(samples: list[tuple[str, dict[str, str], float]], **labels: str) -> float:
    found = [v for _, lab, v in samples if all(lab.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, (labels, samples)
    return found[0]


def test_prometheus_exposition(open_store: Open, clock: FakeClock) -> None:
    store = open_store()
    tl.play(store, clock)
    clock.set(hours=3)
    m = _scrape(store)
    assert set(m) == set(METRIC_NAMES)
    assert _one(m["tidegate_store_up"]) == 1
    assert _one(m["tidegate_vulnerability_density"]) == 0.5
    assert _one(m["tidegate_vulnerability_density_by_severity"], severity="HIGH") == 0.5
    assert _one(m["tidegate_image_open_findings"], repository=tl.WEB, digest=tl.C, severity="HIGH") == 1
    assert _one(m["tidegate_images_signed_ratio"]) == pytest.approx(2 / 3)
    assert _one(m["tidegate_mttr_seconds"], severity="HIGH") == 2250
    assert _one(m["tidegate_mttr_seconds"], severity="CRITICAL") == 3600
    assert _one(m["tidegate_scan_pass_ratio"]) == pytest.approx(4 / 7)
    assert _one(m["tidegate_scans"], result="failed") == 3
    assert _one(m["tidegate_recorded_verdicts"], decision="denied", reason="vulnerabilities") == 1
    hist = {lab.get("le"): v for name, lab, v in m["tidegate_scan_duration_seconds"] if name.endswith("_bucket")}
    assert (hist["0.5"], hist["1.0"], hist["2.5"], hist["5.0"], hist["30.0"], hist["60.0"], hist["+Inf"]) == \
        (1, 2, 4, 6, 6, 7, 7)
    assert _one([s for s in m["tidegate_scan_duration_seconds"] if s[0].endswith("_sum")]) == pytest.approx(55.7)
    assert TestClient(metrics_app(metrics_registry(store))).get("/healthz").text == "ok\n"


def test_store_down_scrapes_as_zero(tmp_path: Path) -> None:
    store = HistoryStore.open(f"sqlite:///{tmp_path}/h.db")
    (tmp_path / "h.db").unlink()
    (tmp_path / "h.db").mkdir()  # the file is gone and cannot be recreated
    store.engine.dispose()
    m = _scrape(store)
    assert m == {"tidegate_store_up": [("tidegate_store_up", {}, 0.0)]}


_NAME = re.compile(r"\b(tidegate_[a-z_]+)\b")


def _exported_names() -> set[str]:
    names = set(METRIC_NAMES)
    return names | {f"tidegate_scan_duration_seconds_{s}" for s in ("bucket", "sum", "count")}


def test_grafana_dashboard_queries_exist_and_targets_are_thresholds() -> None:
    dash = json.loads((ROOT / "deploy/grafana/tidegate.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    used = {n for e in exprs for n in _NAME.findall(e)}
    assert used and used <= _exported_names(), used - _exported_names()
    by_title = {p["title"]: p for p in dash["panels"]}
    steps = {t: [s["value"] for s in by_title[t]["fieldConfig"]["defaults"]["thresholds"]["steps"]]
             for t in ("Vulnerability density", "Signed images", "MTTR critical/high", "Scan pass rate")}
    assert steps == {"Vulnerability density": [None, 1], "Signed images": [None, 1],
                     "MTTR critical/high": [None, 3600], "Scan pass rate": [None, 0.95]}


def test_prometheus_rules_use_exported_metrics() -> None:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/tidegate-alerts.yml").read_text())
    exprs = {r["alert"]: r["expr"] for g in rules["groups"] for r in g["rules"]}
    assert exprs["TidegateScanPassRateLow"] == "tidegate_scan_pass_ratio < 0.95"
    assert {n for e in exprs.values() for n in _NAME.findall(e)} <= _exported_names()
    scrape = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    assert "tidegate-alerts.yml" in scrape["rule_files"]
