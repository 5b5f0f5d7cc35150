"""Alpine secdb JSON (``https://secdb.alpinelinux.org/v3.19/main.json``): fixed versions per package::

    {"distroversion": "v3.11", "reponame": "main",
     "packages": [{"pkg": {"name": "openssl",
                           "secfixes": {"1.1.1d-r1": ["CVE-2019-1547 CVE-2019-1549"], "0": ["CVE-…"]}}}]}

Each (release, vulnerability id) becomes one advisory ``ALPINE-v3.11-CVE-2019-1547`` (alias the id, source
``alpine-secdb:v3.11/main``) with one affected entry per package (the origin package the secfixes comment
is in): ecosystem ``Alpine:v3.11``, range ECOSYSTEM ``introduced 0, fixed <version>``. A fix version ``0``
means the package was never affected: ``not_affected=True`` and no range.

A secfixes string may hold several space-separated ids and trailing comments in parentheses
(``"CVE-2018-16808 (AoE)"``); a token that is not an id (``CVE-????-?????``, ``CVE_2019-2426``,
``CVE-2017-8073.patch``) is reported and not guessed at. When a package lists the same id under several
versions (an incomplete first fix), the highest version (apk ordering) is the fix.

The file has no dates: every record's ``modified`` is the fixed epoch `ALPINE_MODIFIED`, and the store's
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
from tidegate.vulndb.schema import Advisory, Affected, Event, Range

ALPINE_MODIFIED = "1970-01-01T00:00:00Z"
"""``modified`` of every Alpine record (the feed has no dates; the store treats it as unknown)."""

_ID = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+")
_RELEASE = re.compile(r"v\d+\.\d+|edge")


class AlpineSecdbImporter(Importer):
    """Alpine secdb ``vX.Y/{main,community}.json``."""

    name = "alpine-secdb"

    def detect(self, path: Path) -> bool:
        """A JSON object with ``distroversion`` and ``packages``."""
        doc, head = sniff_json(path)
        if doc is not None:
            return isinstance(doc, dict) and "distroversion" in doc and "packages" in doc
        return head.lstrip().startswith("{") and '"distroversion"' in head

    def records(self, path: Path) -> Iterator[Advisory | Skipped]:
        """One advisory per vulnerability id in the file."""
        doc = load_json_document(path)
        if not isinstance(doc, dict):
            raise FeedError(f"{path}: not an Alpine secdb document (top level is not an object)")
        release, repo = doc.get("distroversion"), doc.get("reponame") or "main"
        if not isinstance(release, str) or not _RELEASE.fullmatch(release):
            raise FeedError(f"{path}: distroversion {str(release)[:40]!r} is not vX.Y")
        if not isinstance(repo, str) or not re.fullmatch(r"[a-z0-9_-]{1,40}", repo):
            raise FeedError(f"{path}: reponame {str(repo)[:40]!r} is not a repository name")
        packages = doc.get("packages")
        if packages is None:
            return
        if not isinstance(packages, list):
            raise FeedError(f"{path}: packages is not a list")
        from tidegate.vulndb.versions import InvalidVersion, scheme_for_ecosystem

        scheme = scheme_for_ecosystem("Alpine")
        # vulnerability id -> package -> [versions]; insertion order keeps the output deterministic
        fixes: dict[str, dict[str, list[str]]] = {}
        related: dict[str, set[str]] = {}
        for i, entry in enumerate(packages):
            pkg = entry.get("pkg") if isinstance(entry, dict) else None
            name = pkg.get("name") if isinstance(pkg, dict) else None
            if not isinstance(pkg, dict) or not isinstance(name, str) or not name.strip():
                yield Skipped(f"packages[{i}]", "not a {pkg: {name, secfixes}} object")
                continue
            secfixes = pkg.get("secfixes") or {}
            if not isinstance(secfixes, dict):
                yield Skipped(name, "secfixes is not an object")
                continue
            for version, ids in secfixes.items():
                if ids is None:
                    yield Skipped(f"{name} {version}", "empty secfixes list", SkipKind.ENTRY)
                    continue
                if not isinstance(ids, list) or not version.strip():
                    yield Skipped(f"{name} {version}", "secfixes entry is not a list of strings")
                    continue
                for text in ids:
                    if not isinstance(text, str):
                        yield Skipped(f"{name} {version}", "secfixes entry is not a string", SkipKind.ENTRY)
                        continue
                    found = []
                    for token in text.split("(", 1)[0].split():
                        if _ID.fullmatch(token):
                            found.append(token)
                        else:
                            yield Skipped(f"{name} {version}", f"{token[:60]!r} is not a vulnerability id",
                                          SkipKind.ENTRY)
                    for vid in found:
                        fixes.setdefault(vid, {}).setdefault(name, []).append(version)
                        related.setdefault(vid, set()).update(t for t in found if t != vid)
        for vid, by_pkg in fixes.items():
            affected = []
            for pkg_name, versions in by_pkg.items():
                real = [v for v in versions if v != "0"]
                if not real:
                    affected.append(Affected(ecosystem=f"Alpine:{release}", name=pkg_name, not_affected=True))
                    continue
                fixed = real[0]
                for v in real[1:]:
                    try:
                        if scheme is not None and scheme.compare(v, fixed) > 0:
                            fixed = v
                    except InvalidVersion:  # reported, never fatal
                        yield Skipped(f"ALPINE-{release}-{vid}", f"{pkg_name}: cannot order versions "
                                                                 f"{v!r} and {fixed!r}; kept {fixed!r}",
                                      SkipKind.NOTE)
                affected.append(Affected(
                    ecosystem=f"Alpine:{release}", name=pkg_name,
                    ranges=(Range(type="ECOSYSTEM", events=(Event("introduced", "0"), Event("fixed", fixed))),),
                ))
            refs = (f"https://security.alpinelinux.org/vuln/{vid}",) if vid.startswith("CVE-") else ()
            yield Advisory(
                id=f"ALPINE-{release}-{vid}",
                source=f"alpine-secdb:{release}/{repo}",
                modified=ALPINE_MODIFIED,
                aliases=(vid,),
                related=tuple(sorted(related.get(vid, ()))),
                references=refs,
                affected=tuple(affected),
                extra={"source": "alpine-secdb", "distroversion": release, "reponame": repo},
            )
