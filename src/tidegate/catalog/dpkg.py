"""The ``dpkg-status`` cataloger: Debian packages from the dpkg database.

Reads ``/var/lib/dpkg/status`` and distroless-style ``/var/lib/dpkg/status.d/<pkg>`` stanza files (their
``<pkg>.md5sums`` siblings are not claimed)::

    out = DpkgStatusCataloger().parse(file)
    [(p.name, p.version) for p in out.packages]   # [("adduser", "3.134"), ...]

The purl namespace is ``debian`` until the engine knows the OS and calls `tidegate.catalog.purls.qualify_os_purl`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tidegate.catalog.base import MAX_PACKAGES_PER_FILE, Cataloger, CatalogOutput, FileInput, MiB, too_many
from tidegate.catalog.purls import make_purl
from tidegate.model.finding import Unknown
from tidegate.model.location import Location
from tidegate.model.package import DpkgEntry, Package

_FIELD_RE = re.compile(r"([!-9;-~]+):[ \t]*(.*)\Z")  # deb822(5): field names are printable US-ASCII minus ':'
# Debian policy 5.6.1/5.6.12: "Source: name" or "Source: name (version)".
_SOURCE_RE = re.compile(r"([A-Za-z0-9][A-Za-z0-9.+~_-]*)(?:\s*\(([^()\s]+)\))?\s*\Z")

# dpkg(1) package states. Files are on disk and configured in "installed" and in the two trigger states
# (only trigger processing is outstanding); everything else (not-installed, config-files, half-installed,
# unpacked, half-configured) is not a usable installed package.
_INSTALLED_STATES = frozenset({"installed", "triggers-awaiting", "triggers-pending"})

# Control files dpkg keeps next to each stanza in status.d (distroless) or info/: never package stanzas.
# Package names may contain dots (libbz2-1.0), so only these known suffixes are excluded.
_CONTROL_SUFFIXES = (
    ".md5sums", ".sha256sums", ".list", ".conffiles", ".preinst", ".postinst", ".prerm", ".postrm",
    ".config", ".templates", ".triggers", ".shlibs", ".symbols", ".triggers-pending", ".dpkg-old",
    ".dpkg-new", ".dpkg-tmp", ".dpkg-dist", ".dpkg-bak",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Stanza:
    """One deb822 paragraph: its fields in order and the line it starts on."""

    fields: dict[str, str]
    """Field name → value (continuation lines joined with ``\\n``)."""
    line: int
    """1-based line number of the first field."""
    error: str = ""
    """Why the paragraph is malformed, or empty when it parsed."""


MAX_FIELD_CHARS = 4096
"""Longest value kept for a field tidegate reads (names, versions, status: all short by Debian policy)."""
_KEPT_FIELDS = frozenset({"Package", "Version", "Status", "Architecture", "Source", "Maintainer", "Installed-Size"})


def parse_stanzas(text: str, fields_wanted: frozenset[str] | None = _KEPT_FIELDS) -> list[Stanza]:
    """Split deb822 text into paragraphs (blank-line separated, continuation lines start with space/tab).

    Only `fields_wanted` are kept (None keeps all): the long multi-line ones (Description, Conffiles) are
    skipped, and a kept field longer than `MAX_FIELD_CHARS` marks the paragraph malformed, so a hostile status
    file costs linear time and bounded memory.
    """
    stanzas: list[Stanza] = []
    fields: dict[str, str] = {}
    start = 0
    last: str | None = None
    skipping = False
    error = ""

    def flush() -> None:
        if fields or error:
            stanzas.append(Stanza(dict(fields), start, error))

    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            flush()
            fields, last, error, skipping = {}, None, "", False
            continue
        if not fields and not error:
            start = lineno
        if line[0] in " \t":
            if last is None and not skipping:
                error = error or f"continuation line {lineno} without a field"
            elif last is not None:
                if len(fields[last]) + len(line) > MAX_FIELD_CHARS:
                    error = error or f"field {last} longer than {MAX_FIELD_CHARS:,} characters"
                else:
                    fields[last] += "\n" + line.strip()
            continue
        m = _FIELD_RE.match(line)
        if not m:
            error = error or f"malformed line {lineno}"
            last, skipping = None, False
            continue
        name = m.group(1)
        if fields_wanted is not None and name not in fields_wanted:
            last, skipping = None, True
            continue
        last, skipping = name, False
        if len(line) > MAX_FIELD_CHARS + len(name) + 2:
            error = error or f"field {name} longer than {MAX_FIELD_CHARS:,} characters"
            fields[name] = ""
            continue
        fields[last] = m.group(2).strip()
    flush()
    return stanzas


def is_installed(status: str | None) -> bool:
    """True for a ``Status:`` whose state is installed; a missing Status (distroless status.d) counts as installed."""
    if status is None:
        return True
    words = status.split()
    return len(words) == 3 and words[2] in _INSTALLED_STATES


def dpkg_purl(entry: DpkgEntry) -> str:
    """``pkg:deb/debian/<name>@<version>?arch=…``, plus ``upstream=<source>[@<version>]`` as syft writes it."""
    qualifiers = {"arch": entry.architecture}
    if entry.source_name != entry.package or entry.source_version != entry.version:
        upstream = entry.source_name
        if entry.source_version != entry.version:
            upstream += f"@{entry.source_version}"
        qualifiers["upstream"] = upstream
    return make_purl("deb", entry.package, entry.version, namespace="debian", qualifiers=qualifiers)


class DpkgStatusCataloger(Cataloger):
    """Installed Debian packages from dpkg's status database (classic and distroless ``status.d``)."""

    name = "dpkg-status"
    version = 2
    patterns = ("/var/lib/dpkg/status", "/var/lib/dpkg/status.d/*")
    max_bytes = 64 * MiB

    def wants(self, path: str, mode: int, size: int, head: bytes) -> bool:
        """Skip the control files kept beside the stanzas in ``status.d`` (``*.md5sums`` and friends)."""
        base = path.rsplit("/", 1)[-1]
        return not (base.startswith(".") or base.endswith(_CONTROL_SUFFIXES))

    def parse(self, file: FileInput) -> CatalogOutput:
        """Every installed package in the file; malformed stanzas become `Unknown` entries."""
        data = file.read_all()
        loc = file.location
        if b"\x00" in data:
            return CatalogOutput(unknowns=(Unknown(loc, "dpkg status is not a text file", self.name),))
        packages: list[Package] = []
        unknowns: list[Unknown] = []
        count = data.count(b"\nPackage:") + data.startswith(b"Package:")
        if count > MAX_PACKAGES_PER_FILE:  # checked on the bytes, before any per-line work
            return too_many(loc, count, self.name)
        stanzas = parse_stanzas(data.decode("utf-8", errors="replace"))
        for stanza in stanzas:
            try:
                pkg = self._package(stanza, loc)
            except ValueError as e:
                unknowns.append(Unknown(loc, f"dpkg stanza at line {stanza.line}: {e}", self.name))
                continue
            if pkg is not None:
                packages.append(pkg)
        return CatalogOutput(packages=tuple(packages), unknowns=tuple(unknowns))

    def _package(self, stanza: Stanza, loc: Location) -> Package | None:
        f = stanza.fields
        if stanza.error:
            raise ValueError(stanza.error)
        name, version = f.get("Package", ""), f.get("Version", "")
        if not name:
            raise ValueError("no Package field")
        if not is_installed(f.get("Status")):
            return None
        if not version:
            raise ValueError(f"package {name!r} has no Version")
        source_name, source_version = name, version
        if f.get("Source"):
            m = _SOURCE_RE.match(f["Source"])
            if not m:
                raise ValueError(f"package {name!r}: malformed Source {f['Source'][:80]!r}")
            source_name, source_version = m.group(1), m.group(2) or version
        size = f.get("Installed-Size", "")
        entry = DpkgEntry(
            package=name,
            version=version,
            architecture=f.get("Architecture", ""),
            source_name=source_name,
            source_version=source_version,
            maintainer=f.get("Maintainer", ""),
            installed_size_kib=int(size) if size.isdigit() else None,
        )
        return Package(
            name=name,
            version=version,
            type="deb",
            purl=dpkg_purl(entry),
            cataloger=self.name,
            locations=(loc,),
            metadata=entry,
        )
