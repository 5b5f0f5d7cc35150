"""The history store: every scan, check and verdict over time, for metrics, drift and re-matching.

    with HistoryStore.open() as store:              # SQLite in $TIDEGATE_DATA_DIR (default ~/.local/share/tidegate)
        store.record(scan_record(report, reference="registry/app:1", source="scan", duration=2.5))
    with HistoryStore.open("postgresql://u@127.0.0.1:5432/tidegate", clock=fake_clock) as store:
        store.tag_history("registry/app")

    record(rec, store=url)                          # one call for scan, check, webhook and gate

One data-access layer (SQLAlchemy Core, no ORM) over SQLite or PostgreSQL; the schema is created and upgraded by
the Alembic migrations shipped in ``tidegate/store/migrations`` every time a store is opened. Times are stored as
naive UTC and handed back timezone-aware. The clock is injectable so tests can play a series of scans over days.

Tables: ``images`` (digest → repository, first/last seen, config facts), ``tags`` (runs of (repository, tag) →
digest: a new row whenever the tag points somewhere new), ``sboms`` (once per digest, zlib-compressed tidegate
CycloneDX JSON, which `tidegate.report.sbom_input` reads back losslessly), ``scans`` (one row per scan/check:
counts per severity, pass/fail, duration, signature and attestation status, verdict), ``findings`` (per
(repository, vulnerability, package): first seen, last seen, resolved when a later scan of the repository no
longer has it; a finding that comes back opens a new row) and ``verdicts`` (check / webhook / gate decisions).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from tidegate.errors import TidegateError
from tidegate.model.finding import Severity
from tidegate.model.report import VulnReport
from tidegate.model.sbom import ImageInfo, Sbom
from tidegate.policy.verdict import Verdict

Clock = Callable[[], dt.datetime]
"""Returns "now" (timezone-aware); injectable for tests."""

Source = Literal["scan", "check", "webhook", "gate"]
"""Which command or door recorded a row."""

SBOM_FORMAT = "cyclonedx-json"
"""How SBOMs are stored: tidegate's CycloneDX JSON round-trips through `tidegate.report.sbom_input` exactly."""

DATA_DIR_ENV = "TIDEGATE_DATA_DIR"
"""Environment variable naming the directory of the default SQLite store."""

STORE_ENV = "TIDEGATE_STORE"
"""Environment variable with a store URL (overridden by ``--store``)."""

MIGRATIONS = Path(__file__).with_name("migrations")
"""The Alembic script directory shipped as package data."""

SEVERITY_COLUMNS: tuple[tuple[Severity, str], ...] = (
    (Severity.CRITICAL, "critical"), (Severity.HIGH, "high"), (Severity.MEDIUM, "medium"),
    (Severity.LOW, "low"), (Severity.UNKNOWN, "unknown"))
"""Severity → the ``scans`` column holding its count."""


class StoreError(TidegateError):
    """The history store cannot be opened, migrated, read or written."""


# -- schema (mirrors migrations/versions; a change here is a new migration) ---------------------------------

metadata = sa.MetaData()
"""The store's tables, as the latest migration leaves them."""

images = sa.Table(
    "images", metadata,
    sa.Column("digest", sa.String(100), primary_key=True),
    sa.Column("repository", sa.String(500), nullable=False),
    sa.Column("first_seen", sa.DateTime(), nullable=False),
    sa.Column("last_seen", sa.DateTime(), nullable=False),
    sa.Column("config", sa.Text(), nullable=True),
)
"""One row per image digest."""

tags = sa.Table(
    "tags", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("repository", sa.String(500), nullable=False),
    sa.Column("tag", sa.String(200), nullable=False),
    sa.Column("digest", sa.String(100), nullable=False),
    sa.Column("first_seen", sa.DateTime(), nullable=False),
    sa.Column("last_seen", sa.DateTime(), nullable=False),
)
"""One row per run of a tag pointing at one digest."""

sboms = sa.Table(
    "sboms", metadata,
    sa.Column("digest", sa.String(100), primary_key=True),
    sa.Column("format", sa.String(50), nullable=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
    sa.Column("stored_at", sa.DateTime(), nullable=False),
)
"""One compressed SBOM per digest."""

scans = sa.Table(
    "scans", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("scanned_at", sa.DateTime(), nullable=False),
    sa.Column("digest", sa.String(100), nullable=False),
    sa.Column("repository", sa.String(500), nullable=False),
    sa.Column("reference", sa.String(1000), nullable=False),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("passed", sa.Boolean(), nullable=False),
    sa.Column("duration", sa.Float(), nullable=False),
    sa.Column("critical", sa.Integer(), nullable=False),
    sa.Column("high", sa.Integer(), nullable=False),
    sa.Column("medium", sa.Integer(), nullable=False),
    sa.Column("low", sa.Integer(), nullable=False),
    sa.Column("unknown", sa.Integer(), nullable=False),
    sa.Column("vulns", sa.Boolean(), nullable=False),
    sa.Column("signed", sa.Boolean(), nullable=True),
    sa.Column("attested", sa.Boolean(), nullable=True),
    sa.Column("decision", sa.String(20), nullable=True),
    sa.Column("reasons", sa.Text(), nullable=True),
)
"""One row per scan or check."""

findings = sa.Table(
    "findings", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("repository", sa.String(500), nullable=False),
    sa.Column("vuln_id", sa.String(200), nullable=False),
    sa.Column("package_name", sa.String(500), nullable=False),
    sa.Column("package_version", sa.String(200), nullable=False),
    sa.Column("severity", sa.String(20), nullable=False),
    sa.Column("digest", sa.String(100), nullable=False),
    sa.Column("first_seen", sa.DateTime(), nullable=False),
    sa.Column("last_seen", sa.DateTime(), nullable=False),
    sa.Column("resolved_at", sa.DateTime(), nullable=True),
)
"""Open (resolved_at NULL) and resolved findings per (repository, vulnerability id, package name)."""

verdicts = sa.Table(
    "verdicts", metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("decided_at", sa.DateTime(), nullable=False),
    sa.Column("digest", sa.String(100), nullable=False),
    sa.Column("repository", sa.String(500), nullable=False),
    sa.Column("reference", sa.String(1000), nullable=False),
    sa.Column("source", sa.String(20), nullable=False),
    sa.Column("decision", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("reasons", sa.Text(), nullable=False),
    sa.Column("policy_hash", sa.String(100), nullable=False),
)
"""Policy decisions (check, webhook, gate)."""


# -- what gets recorded -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConfigFacts:
    """The parts of an image config that drift matters for; environment variable NAMES only, never values."""

    user: str = ""
    """``config.User``."""
    exposed_ports: tuple[str, ...] = ()
    """``config.ExposedPorts`` keys, sorted (``8080/tcp``)."""
    env_names: tuple[str, ...] = ()
    """Names of ``config.Env`` entries, sorted."""

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> ConfigFacts:
        """From a whole image config document (or its ``config`` object)."""
        cfg = raw.get("config", raw) if isinstance(raw.get("config"), Mapping) else raw
        ports = cfg.get("ExposedPorts") or {}
        env = cfg.get("Env") or []
        return cls(user=str(cfg.get("User") or ""),
                   exposed_ports=tuple(sorted(str(p) for p in ports)) if isinstance(ports, (Mapping, list)) else (),
                   env_names=tuple(sorted({str(e).split("=", 1)[0] for e in env if isinstance(e, str)}))
                   if isinstance(env, list) else ())

    def to_json(self) -> str:
        """Stored form."""
        return json.dumps({"user": self.user, "exposedPorts": list(self.exposed_ports),
                           "envNames": list(self.env_names)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ConfigFacts:
        """Inverse of `to_json`."""
        doc = json.loads(text)
        return cls(user=doc.get("user", ""), exposed_ports=tuple(doc.get("exposedPorts", ())),
                   env_names=tuple(doc.get("envNames", ())))


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """One scan, check or admission decision to record; build it with `scan_record`."""

    reference: str
    """What the user asked for."""
    digest: str
    """The image digest everything was decided on."""
    repository: str
    """Repository the findings are tracked under (registry/repo, or the archive reference without its tag)."""
    source: Source
    """Who recorded it."""
    passed: bool
    """The CI verdict (scan: nothing at or above --fail-on; check: allowed)."""
    duration: float
    """Seconds the scan/check took."""
    tag: str | None = None
    """Tag the reference resolved from, when one was used."""
    report: VulnReport | None = None
    """The vulnerability report (None when no scan ran, e.g. a check with signature rules only)."""
    verdict: Verdict | None = None
    """The policy verdict (check, webhook, gate)."""
    signed: bool | None = None
    """A valid signature was verified (None: not checked)."""
    attested: bool | None = None
    """A valid attestation was verified (None: not checked)."""
    config: ConfigFacts | None = None
    """Config facts when the recorder had the image config."""


def repository_of(image: ImageInfo) -> str:
    """The repository name of an image: its registry name, else the reference without its tag."""
    if image.name:
        return image.name
    ref = image.reference
    if image.tag and ref.endswith(":" + image.tag):
        return ref[: -len(image.tag) - 1]
    return ref


def scan_record(report: VulnReport | None, *, reference: str, source: Source, duration: float,
                passed: bool | None = None, verdict: Verdict | None = None, evidence: Any = None,
                config: ConfigFacts | None = None) -> ScanRecord:
    """Build a `ScanRecord` from what the commands have: a report, and for check/webhook/gate the verdict and
    its `tidegate.policy.evidence.Evidence` (signatures, attestations, repository, tag)."""
    if report is None and evidence is not None:
        report = evidence.report
    digest = (verdict.manifest_digest if verdict is not None else "") or (
        report.sbom.image.digest if report is not None else "")
    if not digest:
        raise StoreError(f"{reference}: nothing to record (no digest)")
    repository, tag = reference, None
    if report is not None:
        repository, tag = repository_of(report.sbom.image), report.sbom.image.tag
    evidence_repo = str(getattr(evidence, "repository", "") or "")
    if evidence is not None and evidence_repo:
        repository = f"{evidence.registry}/{evidence_repo}" if evidence.registry else evidence_repo
        tag = evidence.tag
    signed = attested = None
    if evidence is not None:
        if evidence.signatures:
            signed = any(r.ok for _, r in evidence.signatures)
        if evidence.attestations:
            attested = any(r.ok for _, r in evidence.attestations)
    if passed is None:
        passed = verdict.allowed if verdict is not None else not (report is not None and report.failed)
    return ScanRecord(reference=reference, digest=digest, repository=repository, source=source, passed=passed,
                      duration=duration, tag=tag, report=report, verdict=verdict, signed=signed,
                      attested=attested, config=config)


# -- rows handed back ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TagSpan:
    """A run of one tag pointing at one digest."""

    repository: str
    """Repository."""
    tag: str
    """Tag."""
    digest: str
    """Digest it pointed at."""
    first_seen: dt.datetime
    """First observation of this run."""
    last_seen: dt.datetime
    """Last observation of this run."""
    moved_from: str | None = None
    """The digest the tag pointed at before this run (None for the first run): a tag move."""


@dataclass(frozen=True, slots=True)
class StoredImage:
    """An image as the store knows it."""

    digest: str
    """Digest."""
    repository: str
    """Repository it was first recorded under."""
    first_seen: dt.datetime
    """First recording."""
    last_seen: dt.datetime
    """Last recording."""
    config: ConfigFacts | None
    """Config facts when they were recorded."""


@dataclass(frozen=True, slots=True)
class RematchResult:
    """What `HistoryStore.rematch` did."""

    sboms: int
    """Stored SBOMs re-evaluated."""
    new_findings: tuple[tuple[str, str, str], ...] = ()
    """(repository, vulnerability id, package name) of findings recorded for the first time."""
    errors: tuple[tuple[str, str], ...] = field(default=())
    """(digest, message) of SBOMs that could not be read back."""


# -- the store ----------------------------------------------------------------------------------------------


def default_store_url() -> str:
    """``$TIDEGATE_STORE``, else SQLite at ``$TIDEGATE_DATA_DIR/history.db``, else the XDG data directory."""
    if os.environ.get(STORE_ENV):
        return os.environ[STORE_ENV]
    if os.environ.get(DATA_DIR_ENV):
        base = Path(os.environ[DATA_DIR_ENV])
    else:
        xdg = os.environ.get("XDG_DATA_HOME")
        base = (Path(xdg) if xdg else Path.home() / ".local" / "share") / "tidegate"
    return f"sqlite:///{base / 'history.db'}"


def engine_url(url: str) -> str:
    """Normalise user URLs: ``postgresql://`` uses psycopg 3; a bare path is a SQLite file."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser()}"
    return url


def _utc_naive(when: dt.datetime) -> dt.datetime:
    if when.tzinfo is None:
        return when
    return when.astimezone(dt.UTC).replace(tzinfo=None)


def _aware(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


def _system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def migrate(connection: Connection) -> None:
    """Run the Alembic migrations up to head on `connection`."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


class HistoryStore:
    """The history store over one SQLAlchemy engine; open with `HistoryStore.open`."""

    def __init__(self, engine: Engine, *, clock: Clock | None = None) -> None:
        self.engine = engine
        """The SQLAlchemy engine."""
        self.clock: Clock = clock or _system_clock
        """Source of "now"."""

    @classmethod
    def open(cls, url: str | None = None, *, clock: Clock | None = None, must_exist: bool = False) -> HistoryStore:
        """Open (creating and migrating as needed) the store at `url` (default `default_store_url`).

        Commands that only read (``metrics``, ``history``, ``report``, ``serve metrics``) pass `must_exist`: a
        mistyped SQLite path is then an error instead of a new, empty store (and new directories)."""
        raw = url or default_store_url()
        full = engine_url(raw)
        try:
            if full.startswith("sqlite:///"):
                path = full[len("sqlite:///"):]
                if path and path != ":memory:":
                    if must_exist and not Path(path).is_file():
                        raise StoreError(f"history store {path} does not exist (nothing recorded there yet?)",
                                         hint="scan or check an image first (recording is on by default), or "
                                              "name the store with --store")
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(full)
            with engine.begin() as conn:
                migrate(conn)
        except (sa.exc.SQLAlchemyError, OSError) as e:
            raise StoreError(f"history store {_redact(raw)}: {_short(e)}") from e
        except Exception as e:
            if type(e).__module__.startswith("alembic"):
                raise StoreError(f"history store {_redact(raw)}: migration failed: {_short(e)}") from e
            raise
        return cls(engine, clock=clock)

    def close(self) -> None:
        """Release the connection pool."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> dt.datetime:
        """The clock's time, as stored (naive UTC)."""
        return _utc_naive(self.clock())

    # -- writing ----------------------------------------------------------------------------------------

    def record(self, rec: ScanRecord) -> int:
        """Record one scan/check/decision in one transaction; returns the ``scans`` row id."""
        now = self.now()
        try:
            with self.engine.begin() as conn:
                self._image(conn, rec, now)
                if rec.tag:
                    self._tag(conn, rec.repository, rec.tag, rec.digest, now)
                if rec.report is not None:
                    self._sbom(conn, rec.digest, rec.report.sbom, now)
                    if "vuln" in rec.report.scanners:
                        self._findings(conn, rec.repository, rec.digest, rec.report, now)
                scan_id = self._scan(conn, rec, now)
                if rec.verdict is not None:
                    self._verdict(conn, rec, now)
        except sa.exc.SQLAlchemyError as e:
            raise StoreError(f"history store: cannot record {rec.reference}: {_short(e)}") from e
        return scan_id

    def record_verdict(self, verdict: Verdict, *, source: Source, repository: str) -> None:
        """Record a policy decision alone (a webhook or gate cache hit: no scan ran)."""
        now = self.now()
        rec = ScanRecord(reference=verdict.reference, digest=verdict.manifest_digest, repository=repository,
                         source=source, passed=verdict.allowed, duration=0.0, verdict=verdict)
        with self.engine.begin() as conn:
            self._verdict(conn, rec, now)

    def _image(self, conn: Connection, rec: ScanRecord, now: dt.datetime) -> None:
        row = conn.execute(sa.select(images.c.digest, images.c.config).where(images.c.digest == rec.digest)).first()
        config = rec.config.to_json() if rec.config is not None else None
        if row is None:
            conn.execute(images.insert().values(digest=rec.digest, repository=rec.repository, first_seen=now,
                                                last_seen=now, config=config))
        else:
            values: dict[str, Any] = {"last_seen": now}
            if config is not None:
                values["config"] = config
            conn.execute(images.update().where(images.c.digest == rec.digest).values(**values))

    def _tag(self, conn: Connection, repository: str, tag: str, digest: str, now: dt.datetime) -> None:
        last = conn.execute(sa.select(tags.c.id, tags.c.digest).where(
            tags.c.repository == repository, tags.c.tag == tag).order_by(tags.c.id.desc()).limit(1)).first()
        if last is not None and last.digest == digest:
            conn.execute(tags.update().where(tags.c.id == last.id).values(last_seen=now))
        else:
            conn.execute(tags.insert().values(repository=repository, tag=tag, digest=digest, first_seen=now,
                                              last_seen=now))

    def _sbom(self, conn: Connection, digest: str, sbom: Sbom, now: dt.datetime) -> None:
        if conn.execute(sa.select(sboms.c.digest).where(sboms.c.digest == digest)).first() is not None:
            return
        from tidegate.report.registry import get_format

        data = zlib.compress(get_format(SBOM_FORMAT).render(sbom), 9)
        conn.execute(sboms.insert().values(digest=digest, format=SBOM_FORMAT, data=data, stored_at=now))

    def _findings(self, conn: Connection, repository: str, digest: str, report: VulnReport,
                  now: dt.datetime, *, resolve: bool = True) -> list[tuple[str, str, str]]:
        current = {(f.id, f.package_name): f for f in report.active}
        open_rows = {(r.vuln_id, r.package_name): r.id for r in conn.execute(
            sa.select(findings.c.id, findings.c.vuln_id, findings.c.package_name).where(
                findings.c.repository == repository, findings.c.resolved_at.is_(None)))}
        new: list[tuple[str, str, str]] = []
        for key, f in sorted(current.items()):
            if key in open_rows:
                conn.execute(findings.update().where(findings.c.id == open_rows[key]).values(
                    last_seen=now, severity=f.severity.name, package_version=f.package_version, digest=digest))
            else:
                conn.execute(findings.insert().values(
                    repository=repository, vuln_id=f.id, package_name=f.package_name,
                    package_version=f.package_version, severity=f.severity.name, digest=digest, first_seen=now,
                    last_seen=now, resolved_at=None))
                new.append((repository, f.id, f.package_name))
        if resolve:
            gone = [i for key, i in open_rows.items() if key not in current]
            if gone:
                conn.execute(findings.update().where(findings.c.id.in_(gone)).values(resolved_at=now))
        return new

    def _scan(self, conn: Connection, rec: ScanRecord, now: dt.datetime) -> int:
        counts = rec.report.counts() if rec.report is not None else {s: 0 for s in Severity}
        verdict = rec.verdict
        values: dict[str, Any] = {col: counts[sev] for sev, col in SEVERITY_COLUMNS}
        result = conn.execute(scans.insert().values(
            scanned_at=now, digest=rec.digest, repository=rec.repository, reference=rec.reference,
            source=rec.source, passed=rec.passed, duration=float(rec.duration),
            vulns=rec.report is not None and "vuln" in rec.report.scanners, signed=rec.signed,
            attested=rec.attested, decision=None if verdict is None else ("allowed" if verdict.allowed else "denied"),
            reasons=None if verdict is None else json.dumps(list(verdict.reasons)), **values))
        key = result.inserted_primary_key
        return int(key[0]) if key else 0

    def _verdict(self, conn: Connection, rec: ScanRecord, now: dt.datetime) -> None:
        v = rec.verdict
        assert v is not None
        reason = v.failed[0].rule if v.failed else "ok"
        conn.execute(verdicts.insert().values(
            decided_at=now, digest=rec.digest, repository=rec.repository, reference=rec.reference,
            source=rec.source, decision="allowed" if v.allowed else "denied", reason=reason[:200],
            reasons=json.dumps(list(v.reasons)), policy_hash=v.policy_hash))

    # -- reading ----------------------------------------------------------------------------------------

    def sbom(self, digest: str) -> Sbom | None:
        """The stored SBOM of `digest`, read back into a `Sbom` (None when none is stored)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sboms.c.format, sboms.c.data).where(sboms.c.digest == digest)).first()
        if row is None:
            return None
        from tidegate.report.sbom_input import parse_sbom

        return parse_sbom(zlib.decompress(row.data), f"stored SBOM {digest}")

    def digests(self) -> list[str]:
        """Every digest with a stored SBOM, oldest first."""
        with self.engine.connect() as conn:
            return [r.digest for r in conn.execute(sa.select(sboms.c.digest).order_by(sboms.c.stored_at,
                                                                                       sboms.c.digest))]

    def image(self, digest: str) -> StoredImage | None:
        """What the store knows about `digest` (a unique prefix of at least 12 hex digits also matches)."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(images).where(images.c.digest == digest)).first()
            if row is None and len(digest.removeprefix("sha256:")) >= 12:
                rows = conn.execute(sa.select(images).where(images.c.digest.startswith(
                    digest if digest.startswith("sha256:") else "sha256:" + digest)).limit(2)).all()
                row = rows[0] if len(rows) == 1 else None
        if row is None:
            return None
        return StoredImage(digest=row.digest, repository=row.repository, first_seen=_aware(row.first_seen),
                           last_seen=_aware(row.last_seen),
                           config=ConfigFacts.from_json(row.config) if row.config else None)

    def scan_rows(self, repository: str) -> list[dict[str, Any]]:
        """Every recorded scan/check of `repository`, oldest first, as plain dicts (the ``scans`` columns)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(scans).where(scans.c.repository == repository)
                                .order_by(scans.c.scanned_at, scans.c.id)).all()
        return [{**dict(r._mapping), "scanned_at": _aware(r.scanned_at)} for r in rows]

    def current_digests(self) -> dict[str, str]:
        """Repository → the digest of its latest scan that matched vulnerabilities."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(scans.c.repository, scans.c.digest).where(scans.c.vulns.is_(True))
                                .order_by(scans.c.scanned_at, scans.c.id)).all()
        return {r.repository: r.digest for r in rows}

    def tag_history(self, repository: str) -> list[TagSpan]:
        """Every run of every tag of `repository`, per tag in time order; `moved_from` marks tag moves."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(tags).where(tags.c.repository == repository)
                                .order_by(tags.c.tag, tags.c.id)).all()
        out: list[TagSpan] = []
        previous: dict[str, str] = {}
        for r in rows:
            out.append(TagSpan(repository=r.repository, tag=r.tag, digest=r.digest,
                               first_seen=_aware(r.first_seen), last_seen=_aware(r.last_seen),
                               moved_from=previous.get(r.tag)))
            previous[r.tag] = r.digest
        return out

    def open_findings(self, repository: str | None = None) -> list[dict[str, Any]]:
        """Unresolved findings (of one repository, or all), as plain dicts."""
        q = sa.select(findings).where(findings.c.resolved_at.is_(None))
        if repository is not None:
            q = q.where(findings.c.repository == repository)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q.order_by(findings.c.id))]

    # -- rematch ----------------------------------------------------------------------------------------

    def rematch(self, match: Callable[[Sbom], VulnReport]) -> RematchResult:
        """Re-evaluate every stored SBOM with `match` (the current vulnerability DB); record findings not seen
        before, first seen now, for the repositories whose current image that SBOM is. Nothing is resolved:
        the images did not change, only the knowledge about them."""
        now = self.now()
        current = self.current_digests()
        by_digest: dict[str, list[str]] = {}
        for repo, digest in current.items():
            by_digest.setdefault(digest, []).append(repo)
        new: list[tuple[str, str, str]] = []
        errors: list[tuple[str, str]] = []
        digests = self.digests()
        for digest in digests:
            try:
                sbom = self.sbom(digest)
            except TidegateError as e:
                errors.append((digest, e.message))
                continue
            if sbom is None:
                continue
            report = match(sbom)
            with self.engine.begin() as conn:
                for repo in by_digest.get(digest, ()):
                    new.extend(self._findings(conn, repo, digest, report, now, resolve=False))
        return RematchResult(sboms=len(digests), new_findings=tuple(new), errors=tuple(errors))


def record(rec: ScanRecord, *, store: str | None = None, clock: Clock | None = None) -> int:
    """Open the store at `store` (default `default_store_url`), record `rec`, close it. The one call the CLI,
    the webhook and the gate use; raises `StoreError`."""
    with HistoryStore.open(store, clock=clock) as s:
        return s.record(rec)


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:300]


def _redact(url: str) -> str:
    """A URL without its password."""
    if "://" in url and "@" in url.split("://", 1)[1]:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        user = cred.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in cred else url
    return url


def iter_rows(conn: Connection, query: sa.Select[Any]) -> Iterable[Any]:
    """Execute `query` and yield rows (a small helper for the metrics module)."""
    yield from conn.execute(query)


__all__ = [
    "SBOM_FORMAT",
    "Clock",
    "ConfigFacts",
    "HistoryStore",
    "RematchResult",
    "ScanRecord",
    "Source",
    "StoreError",
    "StoredImage",
    "TagSpan",
    "default_store_url",
    "engine_url",
    "findings",
    "images",
    "migrate",
    "record",
    "repository_of",
    "sboms",
    "scan_record",
    "scans",
    "tags",
    "verdicts",
]
