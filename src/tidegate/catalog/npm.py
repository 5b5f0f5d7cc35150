"""The ``npm-package`` cataloger: installed npm packages and package-lock.json entries.

Installed packages are the ``package.json`` directly inside ``node_modules/<name>/`` or
``node_modules/@scope/<name>/``. Lockfiles contribute lockfile v1 ``dependencies`` (nested) and v2/v3
``packages`` entries (the root ``""`` entry and workspace links are skipped)::

    [p.purl for p in NpmPackageCataloger().parse(file).packages]   # ["pkg:npm/%40babel/core@7.0.0"]
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from tidegate.catalog.base import MAX_PACKAGES_PER_FILE, Cataloger, CatalogOutput, FileInput, too_many
from tidegate.catalog.purls import make_purl
from tidegate.model.finding import Unknown
from tidegate.model.location import Location
from tidegate.model.package import NpmPackage, Package

_NM = "node_modules/"
_MAX_DEPTH = 200


def npm_purl(name: str, version: str) -> str:
    """``pkg:npm/<name>@<version>``, with a scope as the namespace (``pkg:npm/%40babel/core@7.0.0``)."""
    scope, _, bare = name.rpartition("/") if name.startswith("@") else ("", "", name)
    return make_purl("npm", bare, version, namespace=scope or None)


def _license(doc: dict[str, Any]) -> str:
    """``license`` as a string or ``{"type": …}``, else the legacy ``licenses`` list joined with OR."""
    lic = doc.get("license")
    if isinstance(lic, dict):
        lic = lic.get("type")
    if isinstance(lic, str):
        return lic.strip()
    legacy = doc.get("licenses")
    if isinstance(legacy, list):
        names = [x.get("type") if isinstance(x, dict) else x for x in legacy]
        strs = [n.strip() for n in names if isinstance(n, str) and n.strip()]
        return " OR ".join(strs)
    return ""


def _lock_v1(deps: object, depth: int = 0) -> Iterator[tuple[str, object]]:
    """(name, entry) for every lockfile v1 ``dependencies`` entry, depth first."""
    if not isinstance(deps, dict) or depth > _MAX_DEPTH:
        return
    for name, entry in deps.items():
        yield name, entry
        if isinstance(entry, dict):
            yield from _lock_v1(entry.get("dependencies"), depth + 1)


class NpmPackageCataloger(Cataloger):
    """Installed npm packages and package-lock.json entries."""

    name = "npm-package"
    version = 1
    patterns = (
        "**/node_modules/*/package.json",
        "**/node_modules/@*/*/package.json",
        "**/package-lock.json",
    )

    def parse(self, file: FileInput) -> CatalogOutput:
        """Packages from one package.json or package-lock.json; bad JSON or entries become `Unknown` entries."""
        loc = file.location
        try:
            doc = json.loads(file.read_all())
        except (ValueError, RecursionError) as e:
            return self._unknowns(loc, [f"invalid JSON: {str(e)[:120]}"])
        if not isinstance(doc, dict):
            return self._unknowns(loc, ["JSON document is not an object"])
        if loc.path.endswith("/package-lock.json") or loc.path == "package-lock.json":
            return self._lockfile(doc, loc)
        return self._installed(doc, loc)

    def _installed(self, doc: dict[str, Any], loc: Location) -> CatalogOutput:
        name, version = doc.get("name"), doc.get("version")
        if not isinstance(name, str) or not name or not isinstance(version, str) or not version:
            return self._unknowns(loc, ["package.json has no name or version"])
        return CatalogOutput(packages=(self._package(name, version, _license(doc), False, loc),))

    def _lockfile(self, doc: dict[str, Any], loc: Location) -> CatalogOutput:
        packages: list[Package] = []
        problems: list[str] = []
        pkgs = doc.get("packages")
        deps = doc.get("dependencies")
        count = len(pkgs) if isinstance(pkgs, dict) else len(deps) if isinstance(deps, dict) else 0
        if count > MAX_PACKAGES_PER_FILE:
            return too_many(loc, count, self.name)
        if isinstance(pkgs, dict):  # lockfile v2/v3
            for key, entry in pkgs.items():
                if key == "" or not isinstance(entry, dict):
                    continue
                if entry.get("link") is True or _NM not in key:
                    continue  # a symlink to a workspace folder, or the workspace folder itself: our own code
                name = entry.get("name") or key.rsplit(_NM, 1)[1]
                version = entry.get("version")
                if not isinstance(name, str) or not isinstance(version, str) or not version:
                    problems.append(f"lock entry {key[:120]!r} has no version")
                    continue
                packages.append(self._package(name, version, _license(entry), True, loc))
        else:  # lockfile v1
            for name, entry in _lock_v1(doc.get("dependencies")):
                version = entry.get("version") if isinstance(entry, dict) else None
                if not isinstance(version, str) or not version:
                    problems.append(f"lock dependency {name[:120]!r} has no version")
                    continue
                # A v1 "version" may be a URL or "file:" spec for non-registry deps; keep it as recorded.
                packages.append(self._package(name, version, "", True, loc))
        return CatalogOutput(
            packages=tuple(packages),
            unknowns=tuple(Unknown(loc, p, self.name) for p in problems),
        )

    def _package(self, name: str, version: str, lic: str, from_lockfile: bool, loc: Location) -> Package:
        return Package(
            name=name,
            version=version,
            type="npm",
            purl=npm_purl(name, version),
            cataloger=self.name,
            locations=(loc,),
            metadata=NpmPackage(name=name, version=version, from_lockfile=from_lockfile, license=lic),
            licenses=(lic,) if lic else (),
        )

    def _unknowns(self, loc: Location, reasons: list[str]) -> CatalogOutput:
        return CatalogOutput(unknowns=tuple(Unknown(loc, r, self.name) for r in reasons))
