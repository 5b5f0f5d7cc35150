"""History store on SQLite and on a real PostgreSQL: the simulated timeline of `tests.store.timeline`, tag moves,
finding lifecycle, SBOM storage once per digest, rematch, and the `record` entry point."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from tests.store import timeline as tl
from tests.store.conftest import T0, FakeClock
from tidegate.model.finding import Severity
from tidegate.model.sbom import Sbom
from tidegate.store.history import (
    ConfigFacts,
    HistoryStore,
    StoreError,
    findings,
    record,
    repository_of,
    sboms,
    scan_record,
    scans,
)

Open = Callable[[], HistoryStore]


def at(minutes: float) -> dt.datetime:
    """T0 + minutes."""
    return T0 + dt.timedelta(minutes=minutes)


def test_timeline_findings_lifecycle(open_store: Open, clock: FakeClock) -> None:
    store = open_store()
    tl.play(store, clock)
    with store.engine.connect() as conn:
        rows = {(r.repository, r.vuln_id): r for r in conn.execute(sa.select(findings))}
    assert set(rows) == {(tl.APP, "CVE-1"), (tl.APP, "CVE-2"), (tl.APP, "CVE-3"), (tl.APP, "CVE-4"),
                         (tl.WEB, "CVE-9")}
    naive = {k: (r.first_seen, r.last_seen, r.resolved_at) for k, r in rows.items()}
    assert naive[(tl.APP, "CVE-1")] == (at(0).replace(tzinfo=None), at(45).replace(tzinfo=None),
                                        at(60).replace(tzinfo=None))
    assert naive[(tl.APP, "CVE-3")] == (at(45).replace(tzinfo=None), at(45).replace(tzinfo=None),
                                        at(60).replace(tzinfo=None))
    assert naive[(tl.APP, "CVE-4")] == (at(0).replace(tzinfo=None), at(90).replace(tzinfo=None), None)
    assert rows[(tl.APP, "CVE-4")].digest == tl.B
    assert [f["vuln_id"] for f in store.open_findings(tl.APP)] == ["CVE-4"]


def test_scans_rows_and_sbom_once_per_digest(open_store: Open, clock: FakeClock) -> None:
    store = open_store()
    tl.play(store, clock)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(scans).order_by(scans.c.id)).all()
        n_sboms = conn.execute(sa.select(sa.func.count()).select_from(sboms)).scalar_one()
    assert [(r.source, r.passed) for r in rows] == [("scan", False), ("check", False), ("scan", False),
                                                    ("scan", True), ("check", True), ("scan", True), ("scan", True)]
    assert (rows[2].critical, rows[2].high, rows[2].medium, rows[2].low) == (1, 2, 1, 0)
    assert rows[1].decision == "denied" and rows[1].signed is True and rows[0].signed is None
    assert n_sboms == 3  # A, B, C: the second and third scans of A/B did not store it again
    back = store.sbom(tl.B)
    assert back is not None and back.image.digest == tl.B
    assert store.sbom("sha256:" + "9" * 64) is None


def test_tag_history_flags_the_move(open_store: Open, clock: FakeClock) -> None:
    store = open_store()
    tl.play(store, clock)
    spans = store.tag_history(tl.APP)
    assert [(s.tag, s.digest, s.first_seen, s.last_seen, s.moved_from) for s in spans] == [
        ("1", tl.A, at(0), at(45), None),
        ("1", tl.B, at(60), at(90), tl.A),
    ]
    assert [s.moved_from for s in store.tag_history(tl.WEB)] == [None]
    assert store.tag_history("registry.test/none") == []


def test_finding_that_comes_back_opens_a_new_row(open_store: Open, clock: FakeClock) -> None:
    store = open_store()
    for minutes, found in ((0, (tl.CVE2,)), (10, ()), (20, (tl.CVE2,))):
        clock.set(minutes=minutes)
        store.record(scan_record(tl.report(tl.APP, "1", tl.A, *found), reference="x", source="scan", duration=1))
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(findings.c.first_seen, findings.c.resolved_at).order_by(findings.c.id)).all()
    assert [(r.first_seen, r.resolved_at) for r in rows] == [
        (at(0).replace(tzinfo=None), at(10).replace(tzinfo=None)), (at(20).replace(tzinfo=None), None)]


def test_rematch_records_new_findings_first_seen_now(open_store: Open, clock: FakeClock) -> None:
    store = open_store()
    tl.play(store, clock)
    clock.set(hours=4)
    new = tl.finding("CVE-NEW", "libc6", Severity.CRITICAL)
    seen: list[str] = []

    def match(sbom: Sbom) -> tl.VulnReport:
        seen.append(sbom.image.digest)
        extra = {tl.A: (tl.CVE1,), tl.B: (tl.CVE4, new), tl.C: (tl.CVE9,)}[sbom.image.digest]
        return tl.report(sbom.image.name or "", "1", sbom.image.digest, *extra)

    result = store.rematch(match)
    assert sorted(seen) == [tl.A, tl.B, tl.C] and result.sboms == 3 and not result.errors
    # A is no repository's current image: its old finding is not reopened. B gets the new advisory.
    assert result.new_findings == ((tl.APP, "CVE-NEW", "libc6"),)
    row = next(f for f in store.open_findings(tl.APP) if f["vuln_id"] == "CVE-NEW")
    assert row["first_seen"] == at(240).replace(tzinfo=None) and row["digest"] == tl.B
    assert store.rematch(match).new_findings == ()  # idempotent


def test_reopen_runs_migrations_idempotently_and_keeps_data(open_store: Open, clock: FakeClock) -> None:
    tl.play(open_store(), clock)
    again = open_store()
    assert len(again.digests()) == 3
    assert again.image(tl.A[:19]) is not None and again.image(tl.A[:19]).digest == tl.A  # type: ignore[union-attr]


def test_config_facts_keep_env_names_never_values() -> None:
    facts = ConfigFacts.from_config({"config": {"User": "1000", "ExposedPorts": {"8080/tcp": {}, "22/tcp": {}},
                                                "Env": ["PATH=/bin", "DATABASE_PASSWORD=hunter2"]}})
    assert facts == ConfigFacts(user="1000", exposed_ports=("22/tcp", "8080/tcp"),
                                env_names=("DATABASE_PASSWORD", "PATH"))
    assert "hunter2" not in facts.to_json()
    assert ConfigFacts.from_json(facts.to_json()) == facts


def test_repository_of_archive_and_registry() -> None:
    assert repository_of(tl.sbom(tl.APP, "1", tl.A).image) == tl.APP
    img = tl.sbom(tl.APP, "1", tl.A).image
    import dataclasses

    assert repository_of(dataclasses.replace(img, name=None, reference="oci-archive:x.tar:1")) == \
        "oci-archive:x.tar"


def test_record_entry_point_and_store_errors(tmp_path: pytest.TempPathFactory, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path}/h.db"
    rec = scan_record(tl.report(tl.APP, "1", tl.A, tl.CVE1), reference="r", source="scan", duration=1)
    assert record(rec, store=url, clock=clock) == 1
    (tmp_path / "file").write_text("x")  # type: ignore[operator]
    with pytest.raises(StoreError, match="history store"):
        HistoryStore.open(f"sqlite:///{tmp_path}/file/sub/h.db")
    with pytest.raises(StoreError, match=r"postgresql://u:\*\*\*@127\.0\.0\.1:1/x"):
        HistoryStore.open("postgresql://u:secret@127.0.0.1:1/x")
