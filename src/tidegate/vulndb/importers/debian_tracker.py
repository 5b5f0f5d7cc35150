"""The Debian security tracker's JSON export (``https://security-tracker.debian.org/tracker/data/json``)::

    {"openssl": {"CVE-2024-1234": {"description": "…", "scope": "remote", "debianbug": 1061582,
                 "releases": {"bookworm": {"status": "resolved", "fixed_version": "3.0.13-1~deb12u1",
                                           "urgency": "medium", "repositories": {"bookworm": "3.0.11-1~deb12u2"}}}}}}

The format is described in ``docs/debian-tracker-format.md``. Each id becomes one advisory ``DEBIAN-CVE-…``
(alias the CVE; ``TEMP-…`` ids are kept as they are, without alias), source ``debian-tracker``, with one
affected entry per (source package, release): ecosystem ``Debian:<N>`` from the codename (`CODENAMES`;
``sid``/``experimental`` and unknown codenames are skipped), and

- ``resolved`` + a version → range ``introduced 0, fixed <version>``;
- ``resolved`` + ``"0"`` → ``not_affected`` (the release never had the vulnerable code);
- ``open`` / ``undetermined`` → range ``introduced 0`` with no fix (every version is affected);
- ``urgency`` → ``feed_severity`` (`URGENCY_SEVERITY`; ``not yet assigned`` and ``end-of-life`` give none).

The export has no dates: every record's ``modified`` is the fixed epoch `DEBIAN_MODIFIED` and the store's
content hash decides whether a re-imported record changed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from tidegate.vulndb.importers.base import (
    FeedError,
    Importer,
    SkipKind,
    Skipped,
    load_json_document,
    sniff_json,
)
from tidegate.vulndb.schema import MAX_TEXT, Advisory, Affected, Event, Range

DEBIAN_MODIFIED = "1970-01-01T00:00:00Z"
"""``modified`` of every tracker record (the export has no dates; the store treats it as unknown)."""

CODENAMES: dict[str, str] = {
    "buster": "10",
    "bullseye": "11",
    "bookworm": "12",
    "trixie": "13",
    "forky": "14",
}
"""Release codename → Debian major version (the OSV ecosystem suffix)."""

SKIPPED_CODENAMES = ("sid", "experimental")
"""Codenames that are not releases (quietly skipped)."""

URGENCY_SEVERITY: dict[str, str] = {
    "unimportant": "LOW",
    "low": "LOW",
    "medium": "MEDIUM",
    "high": "HIGH",
    "not yet assigned": "",
    "end-of-life": "",
}
"""Tracker urgency (trailing ``*`` removed) → severity word."""

STATUSES = ("resolved", "open", "undetermined")
"""The per-release statuses the tracker emits."""

_ID = re.compile(r"(CVE-\d{4}-\d{4,}|TEMP-\d{7}-[0-9A-F]{6}|DSA-\d+-\d+|DLA-\d+-\d+)")


class DebianTrackerImporter(Importer):
    """The Debian security tracker JSON export."""

    name = "debian-tracker"

    def detect(self, path: Path) -> bool:
        """A JSON object of package → id → object with ``releases``."""
        doc, head = sniff_json(path)
        if doc is not None:
            if not isinstance(doc, dict) or not doc:
                return False
            first = next(iter(doc.values()))
            if not isinstance(first, dict) or not first:
                return False
            entry = next(iter(first.values()))
            return isinstance(entry, dict) and "releases" in entry
        return (head.lstrip().startswith("{") and '"releases"' in head and '"distroversion"' not in head
                and re.search(r'"(CVE|TEMP)-[0-9]', head) is not None)

    def records(self, path: Path) -> Iterator[Advisory | Skipped]:
        """One advisory per tracker id, affected entries across packages and releases."""
        doc = load_json_document(path)
        if not isinstance(doc, dict):
            raise FeedError(f"{path}: not a Debian tracker export (top level is not an object)")
        # id -> (description, [Affected]); packages in file order, releases sorted by version
        out: dict[str, tuple[str, list[Affected]]] = {}
        for pkg, issues in doc.items():
            if not isinstance(issues, dict):
                yield Skipped(str(pkg)[:80], "package entry is not an object")
                continue
            for vid, issue in issues.items():
                if not _ID.fullmatch(vid):
                    yield Skipped(f"{pkg} {vid[:60]}", "not a CVE/TEMP id")
                    continue
                if not isinstance(issue, dict) or not isinstance(issue.get("releases"), dict):
                    yield Skipped(f"{pkg} {vid}", "entry has no releases object")
                    continue
                description = issue.get("description")
                entry = out.setdefault(vid, (description if isinstance(description, str) else "", []))
                for codename, rel in sorted(issue["releases"].items(), key=lambda kv: CODENAMES.get(kv[0], "")):
                    if codename in SKIPPED_CODENAMES:
                        continue
                    where = f"{pkg} {vid} {codename}"
                    major = CODENAMES.get(codename)
                    if major is None:
                        yield Skipped(where, f"unknown release codename {codename[:40]!r}", SkipKind.ENTRY)
                        continue
                    if not isinstance(rel, dict):
                        yield Skipped(where, "release entry is not an object", SkipKind.ENTRY)
                        continue
                    one = _affected(pkg, f"Debian:{major}", rel)
                    if isinstance(one, str):
                        yield Skipped(where, one, SkipKind.ENTRY)
                        continue
                    entry[1].append(one)
        for vid, (description, affected) in out.items():
            if not affected:
                continue  # only sid/experimental (or dropped entries): nothing for a release
            first_line = description.strip().splitlines()[0] if description.strip() else ""
            yield Advisory(
                id=vid if vid.startswith("TEMP-") else f"DEBIAN-{vid}",
                source="debian-tracker",
                modified=DEBIAN_MODIFIED,
                aliases=() if vid.startswith("TEMP-") else (vid,),
                summary=first_line[:200],
                details=description[:MAX_TEXT],
                references=(f"https://security-tracker.debian.org/tracker/{vid}",),
                affected=tuple(affected),
            )


def _affected(pkg: str, ecosystem: str, rel: dict[str, object]) -> Affected | str:
    """The affected entry of one release, or the reason it is dropped."""
    status = rel.get("status")
    urgency = rel.get("urgency")
    word = urgency.strip().rstrip("*").strip().lower() if isinstance(urgency, str) else ""
    if word and word not in URGENCY_SEVERITY:
        return f"unknown urgency {word[:40]!r}"
    severity = URGENCY_SEVERITY.get(word, "")
    fixed = rel.get("fixed_version")
    if status == "resolved":
        if not isinstance(fixed, str) or not fixed.strip():
            return "resolved without a fixed_version"
        if fixed.strip() == "0":
            return Affected(ecosystem=ecosystem, name=pkg, feed_severity=severity, not_affected=True)
        events: tuple[Event, ...] = (Event("introduced", "0"), Event("fixed", fixed.strip()))
    elif status in ("open", "undetermined"):
        events = (Event("introduced", "0"),)
    else:
        return f"unknown status {str(status)[:40]!r}"
    return Affected(ecosystem=ecosystem, name=pkg, feed_severity=severity,
                    ranges=(Range(type="ECOSYSTEM", events=events),))
