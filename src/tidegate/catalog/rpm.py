"""The ``rpm-db`` cataloger: RPM packages from the SQLite rpmdb (RHEL/Fedora/SUSE ≥ 2021).

``rpmdb.sqlite`` has a ``Packages(hnum, blob)`` table; each blob is an RPM header as rpm stores it in a
database (no lead, no magic)::

    int32 il, int32 dl                    big-endian: index entry count, data store length
    il × {int32 tag, type, offset, count} index entries
    dl bytes                              data store

The BerkeleyDB (``Packages``) and NDB (``Packages.db``) back ends are claimed too, and reported as `Unknown`
rather than silently skipped::

    [p.purl for p in RpmDbCataloger().parse(file).packages]   # ["pkg:rpm/redhat/bash@5.1.8-9.el9?arch=x86_64"]
"""

from __future__ import annotations

import shutil
import sqlite3
import struct
import tempfile
from dataclasses import dataclass

from tidegate.catalog.base import MAX_PACKAGES_PER_FILE, Cataloger, CatalogOutput, FileInput, MiB
from tidegate.catalog.purls import make_purl
from tidegate.model.finding import Unknown
from tidegate.model.location import Location
from tidegate.model.package import Package, RpmEntry

TAG_NAME = 1000
"""RPMTAG_NAME."""
TAG_VERSION = 1001
"""RPMTAG_VERSION."""
TAG_RELEASE = 1002
"""RPMTAG_RELEASE."""
TAG_EPOCH = 1003
"""RPMTAG_EPOCH."""
TAG_LICENSE = 1014
"""RPMTAG_LICENSE."""
TAG_ARCH = 1022
"""RPMTAG_ARCH."""
TAG_SOURCERPM = 1044
"""RPMTAG_SOURCERPM."""

_TYPE_INT32 = 4
_STRING_TYPES = frozenset({6, 8, 9})  # STRING, STRING_ARRAY, I18NSTRING (first string)
_WANTED_TAGS = frozenset(
    {TAG_NAME, TAG_VERSION, TAG_RELEASE, TAG_EPOCH, TAG_LICENSE, TAG_ARCH, TAG_SOURCERPM}
)
# rpm's own sanity limits (lib/header.c: hdrchkTags, hdrchkData).
_MAX_INDEX = 0xFFFF
_MAX_DATA = 256 * MiB

_SQLITE_PATHS = ("/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite")
_BDB_PATHS = ("/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages")
_NDB_PATHS = ("/var/lib/rpm/Packages.db", "/usr/lib/sysimage/rpm/Packages.db")


class HeaderError(ValueError):
    """An RPM header blob that does not follow the format."""


@dataclass(frozen=True, slots=True)
class RpmHeader:
    """The tags tidegate reads from one header."""

    name: str
    """NAME."""
    version: str
    """VERSION."""
    release: str
    """RELEASE."""
    epoch: int | None
    """EPOCH, when present."""
    arch: str
    """ARCH (empty for gpg-pubkey pseudo-packages)."""
    license: str
    """LICENSE."""
    source_rpm: str
    """SOURCERPM (empty for source packages and gpg-pubkey)."""


def parse_header(blob: bytes) -> RpmHeader:
    """Decode one header blob; raise `HeaderError` on anything out of bounds or missing NAME/VERSION."""
    if len(blob) < 8:
        raise HeaderError("header shorter than 8 bytes")
    il, dl = struct.unpack_from(">II", blob, 0)
    if il == 0 or il > _MAX_INDEX or dl > _MAX_DATA:
        raise HeaderError(f"implausible header sizes (entries={il}, data={dl})")
    store = 8 + 16 * il
    if store + dl > len(blob):
        raise HeaderError(f"header truncated: needs {store + dl} bytes, has {len(blob)}")
    data = blob[store : store + dl]
    strings: dict[int, str] = {}
    ints: dict[int, int] = {}
    for i in range(il):
        tag, typ, offset, count = struct.unpack_from(">IIiI", blob, 8 + 16 * i)
        if tag not in _WANTED_TAGS:
            continue
        if offset < 0 or offset >= dl:
            raise HeaderError(f"tag {tag}: offset {offset} outside the data store")
        if typ in _STRING_TYPES:
            end = data.find(b"\x00", offset)
            if end < 0:
                raise HeaderError(f"tag {tag}: unterminated string")
            strings[tag] = data[offset:end].decode("utf-8", errors="replace")
        elif typ == _TYPE_INT32 and count >= 1:
            if offset + 4 > dl:
                raise HeaderError(f"tag {tag}: int32 past the data store")
            ints[tag] = struct.unpack_from(">I", data, offset)[0]
    name, version = strings.get(TAG_NAME, ""), strings.get(TAG_VERSION, "")
    if not name or not version:
        raise HeaderError("header has no NAME or VERSION")
    return RpmHeader(
        name=name,
        version=version,
        release=strings.get(TAG_RELEASE, ""),
        epoch=ints.get(TAG_EPOCH),
        arch=strings.get(TAG_ARCH, ""),
        license=strings.get(TAG_LICENSE, ""),
        source_rpm=strings.get(TAG_SOURCERPM, ""),
    )


def rpm_purl(entry: RpmEntry) -> str:
    """``pkg:rpm/redhat/<name>@<version>-<release>?arch=…&epoch=…`` (namespace rewritten once the OS is known)."""
    version = f"{entry.version}-{entry.release}" if entry.release else entry.version
    qualifiers = {"arch": entry.architecture}
    if entry.epoch is not None:
        qualifiers["epoch"] = str(entry.epoch)
    return make_purl("rpm", entry.name, version, namespace="redhat", qualifiers=qualifiers)


MAX_ROWS = MAX_PACKAGES_PER_FILE
"""More rows than this (a real rpmdb has a few thousand) and the database is refused."""
MAX_VM_STEPS = 50_000_000
"""SQLite virtual-machine steps allowed for the whole read: a hostile schema cannot run forever."""
MAX_HEADER_BLOB = 16 * MiB
"""Largest single header blob."""


def read_blobs(path: str) -> tuple[list[tuple[int, bytes]], int]:
    """``(hnum, blob)`` rows of an rpmdb.sqlite and the number of malformed rows skipped; opened read-only and
    immutable; sqlite errors propagate.

    The database comes from the image, so it is treated as hostile: ``Packages`` must be a plain table (a view
    or trigger could compute anything), nothing is sorted (sorting spills to SQLite's own temp files), temp
    storage stays in memory, and a progress handler aborts queries that run too long.
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        conn.execute("PRAGMA trusted_schema=OFF")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute("PRAGMA cache_size=-16384")  # 16 MiB
        steps = {"n": 0}

        def budget() -> int:
            steps["n"] += 1000
            return 1 if steps["n"] > MAX_VM_STEPS else 0

        conn.set_progress_handler(budget, 1000)
        kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'Packages'").fetchone()
        if kind is None or kind[0] != "table":
            raise sqlite3.DatabaseError("no Packages table" if kind is None else f"Packages is a {kind[0]}, not a table")
        rows: list[tuple[int, bytes]] = []
        skipped = 0
        cur = conn.execute("SELECT hnum, blob FROM Packages")
        while batch := cur.fetchmany(100):
            for h, b in batch:
                if isinstance(h, int) and isinstance(b, bytes) and len(b) <= MAX_HEADER_BLOB:
                    rows.append((h, b))
                else:
                    skipped += 1
            if len(rows) > MAX_ROWS:
                raise sqlite3.DatabaseError(f"more than {MAX_ROWS:,} package rows")
    except sqlite3.OperationalError as e:
        if "interrupted" in str(e):
            raise sqlite3.DatabaseError("query took too long (aborted)") from e
        raise
    finally:
        conn.close()
    rows.sort()
    return rows, skipped


class RpmDbCataloger(Cataloger):
    """Installed RPMs from the SQLite rpmdb; BerkeleyDB and NDB databases are reported, not parsed."""

    name = "rpm-db"
    version = 2
    patterns = _SQLITE_PATHS + _BDB_PATHS + _NDB_PATHS
    max_bytes = 512 * MiB

    def parse(self, file: FileInput) -> CatalogOutput:
        """Every header in the ``Packages`` table; a bad header or database becomes an `Unknown`."""
        loc = file.location
        if loc.path in _BDB_PATHS:
            return self._unknown(loc, "rpmdb in BerkeleyDB format is present but not supported yet")
        if loc.path in _NDB_PATHS:
            return self._unknown(loc, "rpmdb in NDB format is present but not supported yet")
        # NOTE: sqlite needs a real file. tempfile.gettempdir() is tidegate's own temp dir (set by the engine).
        try:
            with tempfile.NamedTemporaryFile(prefix="rpmdb-", suffix=".sqlite") as tmp:
                file.data.seek(0)
                shutil.copyfileobj(file.data, tmp, 1 * MiB)
                tmp.flush()
                rows, skipped = read_blobs(tmp.name)
        except (sqlite3.Error, OSError) as e:
            return self._unknown(loc, f"rpmdb.sqlite could not be read: {e}")
        packages: list[Package] = []
        unknowns: list[Unknown] = []
        if skipped:
            unknowns.append(Unknown(loc, f"{skipped} Packages row(s) without an integer hnum and a header blob "
                                    f"of at most {MAX_HEADER_BLOB:,} bytes were skipped", self.name))
        for hnum, blob in rows:
            try:
                header = parse_header(blob)
            except HeaderError as e:
                unknowns.append(Unknown(loc, f"rpm header {hnum}: {e}", self.name))
                continue
            packages.append(self._package(header, loc))
        return CatalogOutput(packages=tuple(packages), unknowns=tuple(unknowns))

    def _package(self, h: RpmHeader, loc: Location) -> Package:
        entry = RpmEntry(
            name=h.name,
            version=h.version,
            release=h.release,
            epoch=h.epoch,
            architecture=h.arch,
            source_rpm=h.source_rpm,
            license=h.license,
        )
        # The EVR as rpm compares it (syft/grype's form): "[epoch:]version-release".
        evr = f"{h.version}-{h.release}" if h.release else h.version
        if h.epoch is not None:
            evr = f"{h.epoch}:{evr}"
        return Package(
            name=h.name,
            version=evr,
            type="rpm",
            purl=rpm_purl(entry),
            cataloger=self.name,
            locations=(loc,),
            metadata=entry,
            licenses=(h.license,) if h.license else (),
        )

    def _unknown(self, loc: Location, reason: str) -> CatalogOutput:
        return CatalogOutput(unknowns=(Unknown(loc, reason, self.name),))
