"""The ``apk-db`` cataloger: Alpine packages from ``/lib/apk/db/installed``.

The database is a list of records separated by blank lines; each line is ``<letter>:<value>`` (apk-tools'
"installed database" format: ``P`` name, ``V`` version, ``A`` arch, ``o`` origin, ``m`` maintainer,
``L`` license; other letters are file lists and checksums, ignored here)::

    [p.purl for p in ApkDbCataloger().parse(file).packages]   # ["pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64"]
"""

from __future__ import annotations

from tidegate.catalog.base import MAX_PACKAGES_PER_FILE, Cataloger, CatalogOutput, FileInput, MiB, too_many
from tidegate.catalog.purls import make_purl
from tidegate.model.finding import Unknown
from tidegate.model.location import Location
from tidegate.model.package import ApkEntry, Package

_WANTED = frozenset("PVAomL")


def parse_records(text: str) -> list[tuple[int, dict[str, str], str]]:
    """Records as (first line number, the wanted fields, error or ""); unknown letters are skipped."""
    records: list[tuple[int, dict[str, str], str]] = []
    fields: dict[str, str] = {}
    start, error, seen = 0, "", False
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            if seen:
                records.append((start, fields, error))
            fields, error, seen = {}, "", False
            continue
        if not seen:
            start, seen = lineno, True
        if len(line) < 2 or line[1] != ":":
            error = error or f"malformed line {lineno}"
            continue
        if line[0] in _WANTED:
            fields[line[0]] = line[2:].strip()
    if seen:
        records.append((start, fields, error))
    return records


class ApkDbCataloger(Cataloger):
    """Installed Alpine packages."""

    name = "apk-db"
    version = 1
    patterns = ("/lib/apk/db/installed",)
    max_bytes = 128 * MiB

    def parse(self, file: FileInput) -> CatalogOutput:
        """Every record with a name and version; malformed records become `Unknown` entries."""
        data = file.read_all()
        loc = file.location
        if b"\x00" in data:
            return CatalogOutput(unknowns=(Unknown(loc, "apk database is not a text file", self.name),))
        packages: list[Package] = []
        unknowns: list[Unknown] = []
        count = data.count(b"\nP:") + data.startswith(b"P:")
        if count > MAX_PACKAGES_PER_FILE:  # checked on the bytes, before any per-line work
            return too_many(loc, count, self.name)
        records = parse_records(data.decode("utf-8", errors="replace"))
        for start, fields, error in records:
            if error or not fields.get("P") or not fields.get("V"):
                reason = error or ("no P: (name) field" if not fields.get("P") else "no V: (version) field")
                unknowns.append(Unknown(loc, f"apk record at line {start}: {reason}", self.name))
                continue
            packages.append(self._package(fields, loc))
        return CatalogOutput(packages=tuple(packages), unknowns=tuple(unknowns))

    def _package(self, f: dict[str, str], loc: Location) -> Package:
        entry = ApkEntry(
            package=f["P"],
            version=f["V"],
            architecture=f.get("A", ""),
            origin=f.get("o") or f["P"],
            maintainer=f.get("m", ""),
            license=f.get("L", ""),
        )
        qualifiers = {"arch": entry.architecture}
        if entry.origin != entry.package:
            qualifiers["upstream"] = entry.origin
        return Package(
            name=entry.package,
            version=entry.version,
            type="apk",
            purl=make_purl("apk", entry.package, entry.version, namespace="alpine", qualifiers=qualifiers),
            cataloger=self.name,
            locations=(loc,),
            metadata=entry,
            licenses=(entry.license,) if entry.license else (),
        )
