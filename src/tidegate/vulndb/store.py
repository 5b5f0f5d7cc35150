"""The vulnerability database: one SQLite file, built atomically and incrementally from feed files::

    summary = import_paths(default_db_dir(), [Path("osv/PyPI/all.zip"), Path("alpine/v3.19/main.json")])
    summary.failed                                # paths that could not be read at all
    with VulnDb.open(default_db_dir()) as db:     # read-only
        db.advisories_for("PyPI", "Requests")     # the AdvisoryLookup protocol of the matchers
        db.status()                               # sources, counts per ecosystem, age, size

Layout (schema `SCHEMA_VERSION`): ``records`` keeps each advisory's canonical OSV JSON (``Advisory.to_osv``,
zstd-compressed) keyed by (source, id), with its ``modified``, a SHA-256 content hash and a withdrawn flag;
``affected`` indexes (ecosystem, normalised name) → record; ``sources`` has the time each feed was last
imported; ``meta`` the schema version and the time of the last successful import.

An import never changes the live file: it copies it next to itself, applies every path inside one
transaction (one savepoint per path, so a path that fails half-way leaves nothing behind), and
``os.replace``-s the copy into place at the end. Readers, a crash, Ctrl-C or a broken feed leave the
previous database intact and usable. A record is *added*, *unchanged* (same content hash), *updated* (a newer
``modified``, or a different hash when either ``modified`` is unknown — a placeholder such as Go's
``0001-01-01T00:00:00Z`` or the fixed epoch of date-less feeds), *stale* (an older ``modified``: ignored) or
*withdrawn* (stored as withdrawn: it hides the previous version and never matches).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple, Self

from tidegate.errors import TidegateError
from tidegate.model.report import DbInfo
from tidegate.vulndb.importers.base import FeedError, Importer, SkipKind, Skipped
from tidegate.vulndb.schema import Advisory, InvalidAdvisory, normalize_name

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Version of the table layout; a database of another version is refused, never guessed at."""

APPLICATION_ID = 0x54474442
"""SQLite ``PRAGMA application_id`` of our databases ("TGDB"): tells our file from any other SQLite file."""

DB_FILE = "vuln.db"
"""File name of the database inside its directory."""

MAX_LISTED = 50
"""Most skipped items listed per path in a summary (all are counted)."""

_BATCH = 2000
_UNKNOWN_BEFORE = dt.datetime(1970, 1, 2, tzinfo=dt.UTC)


class NoDatabase(TidegateError):
    """There is no vulnerability database in the directory."""


class VulnDbError(TidegateError):
    """A database file that is not ours, has another schema version, or cannot be read or written."""


def default_db_dir() -> Path:
    """``$TIDEGATE_DB_DIR``, else ``$XDG_CACHE_HOME/tidegate/db``, else ``~/.cache/tidegate/db``."""
    if os.environ.get("TIDEGATE_DB_DIR"):
        return Path(os.environ["TIDEGATE_DB_DIR"])
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]) / "tidegate" / "db"
    return Path.home() / ".cache" / "tidegate" / "db"


# -- summaries and status ---------------------------------------------------------------------------------
class ImportProgress:
    """Receives import progress events and ignores them; subclass and override what you need."""

    def path_started(self, index: int, total: int, path: str) -> None:
        """Path `index` of `total` begins."""

    def advance(self, index: int, items: int) -> None:
        """`items` more records (or skipped items) of path `index` were read."""

    def path_done(self, index: int, summary: PathSummary) -> None:
        """Path `index` is finished (imported, or failed: see `PathSummary.error`)."""


@dataclass(frozen=True, slots=True)
class PathSummary:
    """What importing one path did."""

    path: str
    """The path as given."""
    importer: str
    """The importer that read it (``osv``, ``alpine-secdb``, ``debian-tracker``; empty when none claimed it)."""
    sources: tuple[str, ...] = ()
    """Source labels of its records (``osv:PyPI``, ``alpine-secdb:v3.11/main``, ``debian-tracker``)."""
    added: int = 0
    """Records new to the database."""
    updated: int = 0
    """Records that replaced an older version."""
    unchanged: int = 0
    """Records identical (by content hash) to the stored version."""
    stale: int = 0
    """Records older (by ``modified``) than the stored version: ignored."""
    withdrawn: int = 0
    """Withdrawn records stored (they hide any previous version)."""
    skipped: int = 0
    """Records not imported (malformed, huge, unsafe member name, no usable affected entry)."""
    dropped_entries: int = 0
    """Parts of imported records that were dropped (affected entries of an unknown ecosystem, bad ids)."""
    notes: int = 0
    """Unusual things kept as they are (an affected entry with neither ranges nor versions)."""
    ignored: int = 0
    """Files that are not feed records at all (counted, not listed)."""
    items: tuple[Skipped, ...] = ()
    """The first `MAX_LISTED` skipped/dropped/noted items with their reasons."""
    error: str = ""
    """Why the whole path failed (then nothing of it was imported); empty on success."""

    @property
    def source(self) -> str:
        """The source labels as one string."""
        return ", ".join(self.sources)

    @property
    def failed(self) -> bool:
        """True when the path could not be imported at all."""
        return bool(self.error)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import did, path by path."""

    db_path: str
    """The database file."""
    paths: tuple[PathSummary, ...]
    """One summary per path, in the order given."""
    seconds: float = 0.0
    """Wall time of the import."""
    written: bool = True
    """False when nothing was written (every path failed)."""

    @property
    def failed(self) -> tuple[PathSummary, ...]:
        """The paths that could not be imported."""
        return tuple(p for p in self.paths if p.failed)


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """One feed in the database."""

    source: str
    """Source label (``osv:PyPI``)."""
    records: int
    """Records that can match (not withdrawn)."""
    withdrawn: int
    """Withdrawn records kept to hide their earlier versions."""
    newest_modified: str
    """Newest known ``modified`` of its records (empty when the feed has no dates)."""
    imported_at: str
    """RFC 3339 time it was last imported."""


@dataclass(frozen=True, slots=True)
class EcosystemCount:
    """How many (non-withdrawn) records name an ecosystem."""

    ecosystem: str
    """Full OSV ecosystem (``Debian:12``)."""
    records: int
    """Records with at least one affected entry in it."""


@dataclass(frozen=True, slots=True)
class DbStatus:
    """What ``tidegate db status`` shows."""

    path: str
    """The database file."""
    size_bytes: int
    """Its size."""
    schema_version: int
    """Its schema version."""
    created_at: str
    """RFC 3339 time it was first built."""
    updated_at: str
    """RFC 3339 time of the last successful import or update."""
    records: int
    """Records that can match."""
    withdrawn: int
    """Withdrawn records."""
    sources: tuple[SourceStatus, ...] = ()
    """Per feed, sorted by label."""
    ecosystems: tuple[EcosystemCount, ...] = ()
    """Per ecosystem, sorted by name."""


# -- reading ----------------------------------------------------------------------------------------------
class VulnDb:
    """A read-only view of the database (implements ``match.base.AdvisoryLookup``)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path
        self._lock = threading.Lock()
        self._memo: dict[tuple[str, str], list[Advisory]] = {}
        self._dctx: Any = None

    @classmethod
    def open(cls, db_dir: Path) -> VulnDb:
        """Open ``db_dir/vuln.db`` read-only; raises `NoDatabase` or `VulnDbError`."""
        path = Path(db_dir) / DB_FILE
        if not path.is_file():
            raise NoDatabase(f"no vulnerability database at {db_dir}",
                             hint="run `tidegate db import PATH…` or `tidegate db update`")
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        except sqlite3.Error as e:
            raise VulnDbError(f"{path}: cannot open the vulnerability database ({e})") from e
        try:
            _check_ours(conn, path)
        except BaseException:
            conn.close()
            raise
        return cls(conn, path)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def advisories_for(self, ecosystem: str, name: str) -> list[Advisory]:
        """Every non-withdrawn advisory with an affected entry for (`ecosystem`, `name`), sorted by id.

        `name` is normalised with `normalize_name`; answers are memoised per (ecosystem, name)."""
        key = (ecosystem, normalize_name(ecosystem, name))
        with self._lock:
            hit = self._memo.get(key)
            if hit is None:
                hit = self._memo[key] = self._lookup(*key)
        return list(hit)

    def _lookup(self, ecosystem: str, name_key: str) -> list[Advisory]:
        rows = self._query(
            "SELECT DISTINCT r.source, r.id, r.data FROM affected a JOIN records r ON r.rid = a.rid "
            "WHERE a.ecosystem = ? AND a.name_key = ? AND r.withdrawn = 0 ORDER BY r.id, r.source",
            (ecosystem, name_key))
        out = []
        for source, rid, blob in rows:
            try:
                out.append(Advisory.from_osv(json.loads(self._decompress(blob)), source=source))
            except (InvalidAdvisory, ValueError) as e:  # our own writes: only a damaged file gets here
                raise VulnDbError(f"{self._path}: record {source} {rid} is unreadable ({e})") from e
        return out

    def _decompress(self, blob: bytes) -> bytes:
        if self._dctx is None:
            import zstandard

            self._dctx = zstandard.ZstdDecompressor()
        data: bytes = self._dctx.decompress(blob)
        return data

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise VulnDbError(f"{self._path}: cannot read the vulnerability database ({e})") from e

    def _meta(self) -> dict[str, str]:
        return dict(self._query("SELECT key, value FROM meta"))

    def info(self) -> DbInfo:
        """Which database this is and how old (for scan reports)."""
        meta = self._meta()
        sources = tuple(r[0] for r in self._query("SELECT source FROM sources ORDER BY source"))
        (count,) = self._query("SELECT count(*) FROM records WHERE withdrawn = 0")[0]
        return DbInfo(path=str(self._path), updated_at=meta.get("updated_at", ""), sources=sources,
                      schema_version=int(meta.get("schema_version", "0")), advisories=int(count))

    def ecosystems(self) -> frozenset[str]:
        """Every ecosystem (``Debian:12``, ``PyPI``, ``Go``) some advisory in the database names."""
        return frozenset(str(e) for (e,) in self._query("SELECT DISTINCT ecosystem FROM affected"))

    def status(self) -> DbStatus:
        """Sources with counts, counts per ecosystem, schema version, last update, file size."""
        meta = self._meta()
        sources = []
        for source, imported_at in self._query("SELECT source, imported_at FROM sources ORDER BY source"):
            live, gone, newest = self._query(
                "SELECT coalesce(sum(withdrawn = 0), 0), coalesce(sum(withdrawn), 0), "
                "coalesce(max(CASE WHEN modified > '1970-01-02' THEN modified END), '') "
                "FROM records WHERE source = ?", (source,))[0]
            sources.append(SourceStatus(source=source, records=int(live), withdrawn=int(gone),
                                        newest_modified=str(newest), imported_at=imported_at))
        ecosystems = tuple(EcosystemCount(eco, int(n)) for eco, n in self._query(
            "SELECT a.ecosystem, count(DISTINCT a.rid) FROM affected a JOIN records r ON r.rid = a.rid "
            "WHERE r.withdrawn = 0 GROUP BY a.ecosystem ORDER BY a.ecosystem"))
        live, gone = self._query(
            "SELECT coalesce(sum(withdrawn = 0), 0), coalesce(sum(withdrawn), 0) FROM records")[0]
        return DbStatus(path=str(self._path), size_bytes=self._path.stat().st_size,
                        schema_version=int(meta.get("schema_version", "0")),
                        created_at=meta.get("created_at", ""), updated_at=meta.get("updated_at", ""),
                        records=int(live), withdrawn=int(gone), sources=tuple(sources), ecosystems=ecosystems)


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    hint = "import into an empty --db directory, or delete the file and run `tidegate db update`"
    try:
        (app_id,) = conn.execute("PRAGMA application_id").fetchone()
        if app_id != APPLICATION_ID:
            raise VulnDbError(f"{path}: not a tidegate vulnerability database", hint=hint)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.Error as e:
        raise VulnDbError(f"{path}: not a tidegate vulnerability database ({e})", hint=hint) from e
    version = row[0] if row else "?"
    if version != str(SCHEMA_VERSION):
        raise VulnDbError(f"{path}: database schema version {version}, this tidegate reads version "
                          f"{SCHEMA_VERSION}", hint=hint)


# -- writing ----------------------------------------------------------------------------------------------
_SCHEMA = f"""
PRAGMA application_id = {APPLICATION_ID};
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE sources (source TEXT PRIMARY KEY, imported_at TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE records (
  rid INTEGER PRIMARY KEY,
  source TEXT NOT NULL,
  id TEXT NOT NULL,
  modified TEXT NOT NULL,
  hash TEXT NOT NULL,
  withdrawn INTEGER NOT NULL,
  data BLOB NOT NULL,
  UNIQUE (source, id)
);
CREATE TABLE affected (ecosystem TEXT NOT NULL, name_key TEXT NOT NULL, rid INTEGER NOT NULL);
CREATE INDEX affected_by_name ON affected (ecosystem, name_key);
CREATE INDEX affected_by_rid ON affected (rid);
"""


class _Stored(NamedTuple):
    rid: int
    modified: str
    hash: str


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _modified_time(value: str) -> dt.datetime | None:
    """The ``modified`` instant, or None when unknown (placeholder, epoch, unparsable)."""
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when if when >= _UNKNOWN_BEFORE else None


class _Writer:
    """Applies advisories to an open (temp) database inside the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        import zstandard

        self.conn = conn
        self._cctx = zstandard.ZstdCompressor(level=6)
        self.reload()

    def reload(self) -> None:
        self.stored: dict[tuple[str, str], _Stored] = {
            (s, i): _Stored(rid, m, h) for rid, s, i, m, h in
            self.conn.execute("SELECT rid, source, id, modified, hash FROM records")}
        (top,) = self.conn.execute("SELECT coalesce(max(rid), 0) FROM records").fetchone()
        self.next_rid = int(top) + 1
        self._clear()

    def _clear(self) -> None:
        self._rows: list[tuple[Any, ...]] = []
        self._unindex: list[tuple[int]] = []
        self._index: list[tuple[str, str, int]] = []
        self._touched: set[int] = set()

    def apply(self, adv: Advisory) -> str:
        """Stage one advisory; returns its outcome (added, updated, unchanged, stale, withdrawn)."""
        canonical = json.dumps(adv.to_osv(), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        digest = hashlib.sha256(canonical).hexdigest()
        key = (adv.source, adv.id)
        old = self.stored.get(key)
        if old is not None:
            if old.hash == digest:
                return "unchanged"
            new_t, old_t = _modified_time(adv.modified), _modified_time(old.modified)
            if new_t is not None and old_t is not None and new_t < old_t:
                return "stale"
            rid = old.rid
            outcome = "withdrawn" if adv.withdrawn else "updated"
        else:
            rid = self.next_rid
            self.next_rid += 1
            outcome = "withdrawn" if adv.withdrawn else "added"
        if rid in self._touched:
            self.flush()
        self._touched.add(rid)
        self.stored[key] = _Stored(rid, adv.modified, digest)
        self._rows.append((rid, adv.source, adv.id, adv.modified, digest, 1 if adv.withdrawn else 0,
                           self._cctx.compress(canonical)))
        if old is not None:
            self._unindex.append((rid,))
        if not adv.withdrawn:
            keys = {(a.ecosystem, normalize_name(a.ecosystem, a.name)) for a in adv.affected}
            self._index.extend((eco, name, rid) for eco, name in sorted(keys))
        if len(self._rows) >= _BATCH:
            self.flush()
        return outcome

    def flush(self) -> None:
        c = self.conn
        if self._unindex:
            c.executemany("DELETE FROM affected WHERE rid = ?", self._unindex)
        if self._rows:
            c.executemany("INSERT OR REPLACE INTO records (rid, source, id, modified, hash, withdrawn, data) "
                          "VALUES (?, ?, ?, ?, ?, ?, ?)", self._rows)
        if self._index:
            c.executemany("INSERT INTO affected (ecosystem, name_key, rid) VALUES (?, ?, ?)", self._index)
        self._clear()


def _import_one(writer: _Writer, importer: Importer, path: Path, index: int,
                progress: ImportProgress) -> PathSummary:
    counts = {"added": 0, "updated": 0, "unchanged": 0, "stale": 0, "withdrawn": 0, "skipped": 0,
              "dropped_entries": 0, "notes": 0, "ignored": 0}
    kind_counter = {SkipKind.RECORD: "skipped", SkipKind.ENTRY: "dropped_entries", SkipKind.NOTE: "notes",
                    SkipKind.IGNORED: "ignored"}
    items: list[Skipped] = []
    sources: set[str] = set()
    pending = 0
    for item in importer.records(path):
        if isinstance(item, Skipped):
            counts[kind_counter[item.kind]] += 1
            if item.kind is not SkipKind.IGNORED and len(items) < MAX_LISTED:
                items.append(item)
        else:
            counts[writer.apply(item)] += 1
            sources.add(item.source)
        pending += 1
        if pending >= 500:
            progress.advance(index, pending)
            pending = 0
    writer.flush()
    progress.advance(index, pending)
    return PathSummary(path=str(path), importer=importer.name, sources=tuple(sorted(sources)),
                       items=tuple(items), added=counts["added"], updated=counts["updated"],
                       unchanged=counts["unchanged"], stale=counts["stale"], withdrawn=counts["withdrawn"],
                       skipped=counts["skipped"], dropped_entries=counts["dropped_entries"],
                       notes=counts["notes"], ignored=counts["ignored"])


@contextlib.contextmanager
def _import_lock(db_dir: Path) -> Iterator[None]:
    """One import at a time per directory (a second concurrent import would lose the first's changes)."""
    import fcntl

    fd = os.open(db_dir / ".import.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise VulnDbError(f"another import into {db_dir} is running") from None
        yield
    finally:
        os.close(fd)


def import_paths(db_dir: Path, paths: Sequence[Path], *, progress: ImportProgress | None = None,
                 importers: Sequence[Importer] | None = None) -> ImportSummary:
    """Import every path (zip, directory, feed file) into ``db_dir/vuln.db``, atomically.

    Each path is read by the first importer that detects it (`importers`, default every entry of
    ``IMPORTERS``). A path that fails as a whole is reported in its `PathSummary.error` and leaves no
    record behind; the other paths still import. Nothing is written when every path fails."""
    from tidegate.vulndb.importers import IMPORTERS

    started = time.perf_counter()
    progress = progress or ImportProgress()
    candidates = list(importers) if importers is not None else [cls() for cls in IMPORTERS]
    db_dir = Path(db_dir)
    try:
        db_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise VulnDbError(f"{db_dir}: cannot create the database directory ({e.strerror or e})") from e
    target = db_dir / DB_FILE
    with _import_lock(db_dir):
        if target.exists():
            probe = VulnDb.open(db_dir)  # refuses a foreign file or another schema before we copy it
            probe.close()
        fd, tmp_name = tempfile.mkstemp(prefix=".vuln.db.", suffix=".tmp", dir=db_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        conn: sqlite3.Connection | None = None
        try:
            if target.exists():
                shutil.copyfile(target, tmp)
            conn = sqlite3.connect(tmp, isolation_level=None)
            conn.execute("PRAGMA journal_mode = MEMORY")
            conn.execute("PRAGMA synchronous = OFF")
            now = _now()
            conn.execute("BEGIN")
            if not target.exists():
                conn.executescript("BEGIN;" + _SCHEMA)  # executescript commits first; keep one transaction
                conn.executemany("INSERT INTO meta VALUES (?, ?)", [
                    ("schema_version", str(SCHEMA_VERSION)), ("created_at", now)])
            writer = _Writer(conn)
            results: list[PathSummary] = []
            imported: set[str] = set()
            for index, path in enumerate(paths):
                path = Path(path)
                progress.path_started(index, len(paths), str(path))
                summary = _import_path(conn, writer, candidates, path, index, progress)
                if not summary.failed:
                    imported.update(summary.sources)
                results.append(summary)
                progress.path_done(index, summary)
            written = any(not r.failed for r in results)
            if not written:
                conn.execute("ROLLBACK")
            else:
                conn.executemany("INSERT OR REPLACE INTO sources VALUES (?, ?)",
                                 [(s, now) for s in sorted(imported)])
                conn.execute("INSERT OR REPLACE INTO meta VALUES ('updated_at', ?)", (now,))
                conn.execute("COMMIT")
            conn.close()
            conn = None
            if written:
                with open(tmp, "rb+") as f:
                    os.fsync(f.fileno())
                os.replace(tmp, target)
                _fsync_dir(db_dir)
        except sqlite3.Error as e:
            raise VulnDbError(f"{target}: cannot write the vulnerability database ({e})") from e
        finally:
            if conn is not None:
                conn.close()
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
    return ImportSummary(db_path=str(target), paths=tuple(results), seconds=time.perf_counter() - started,
                         written=written)


def _import_path(conn: sqlite3.Connection, writer: _Writer, candidates: Sequence[Importer], path: Path,
                 index: int, progress: ImportProgress) -> PathSummary:
    if not path.exists():
        return PathSummary(path=str(path), importer="", error=f"{path}: no such file or directory")
    importer = next((imp for imp in candidates if imp.detect(path)), None)
    if importer is None:
        return PathSummary(path=str(path), importer="",
                           error=f"{path}: unknown feed layout (not an OSV zip/directory/record, an Alpine "
                                 "secdb file or a Debian tracker export)")
    conn.execute("SAVEPOINT feed_path")
    try:
        summary = _import_one(writer, importer, path, index, progress)
    except (FeedError, OSError) as e:
        conn.execute("ROLLBACK TO feed_path")
        conn.execute("RELEASE feed_path")
        writer.reload()
        reason = e.message if isinstance(e, FeedError) else f"{path}: cannot read ({e.strerror or e})"
        return PathSummary(path=str(path), importer=importer.name, error=reason)
    conn.execute("RELEASE feed_path")
    return summary


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
