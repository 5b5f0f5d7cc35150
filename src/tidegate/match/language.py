"""Language packages (PyPI, npm, Go modules, Maven, RubyGems) matched against their OSV ecosystem by name.

    out = LanguageMatcher().match(pkg, MatchContext(db=store, distro=None))
    [m.advisory.id for m in out.matches]    # ['PYSEC-2023-74', …]

`evaluate_advisories` is the shared helper every matcher uses: one lookup of (ecosystem, name), every
``affected[]`` entry of that package evaluated at the installed version, feed "not affected" entries passed
on as such, and a version the scheme cannot parse reported once as an `Unknown` (never guessed at).
"""

from __future__ import annotations

import functools
import logging

from packageurl import PackageURL

from tidegate.match.base import MatchContext, Matcher, MatchOutput, RawMatch
from tidegate.model.finding import MatchDetails, Unknown
from tidegate.model.location import Location
from tidegate.model.package import GoModule, Package
from tidegate.vulndb.ranges import RangeEvaluation, evaluate
from tidegate.vulndb.schema import Affected, normalize_name
from tidegate.vulndb.versions.base import InvalidVersion

log = logging.getLogger(__name__)

ECOSYSTEMS: dict[str, str] = {
    "pypi": "PyPI",
    "npm": "npm",
    "golang": "Go",
    "maven": "Maven",
    "gem": "RubyGems",
}
"""purl type → OSV ecosystem for the language packages this matcher handles."""


@functools.lru_cache(maxsize=65536)
def _evaluate(affected: Affected, version: str) -> RangeEvaluation:
    # NOTE: memoised because the same (entry, version) pair comes up again for every binary of a source
    # package and for every Go binary that links the same module; `Affected` is frozen and hashable.
    return evaluate(affected, version)


def _evaluable(affected: Affected) -> bool:
    """True when the entry has something besides GIT ranges (commits cannot be compared with versions)."""
    return bool(affected.versions) or any(r.type != "GIT" for r in affected.ranges)


def evaluate_advisories(
    ctx: MatchContext,
    *,
    matcher: str,
    ecosystem: str,
    name: str,
    version: str,
    location: Location | None,
    indirect: bool = False,
    note: str = "",
) -> MatchOutput:
    """Every advisory of (`ecosystem`, `name`) whose affected entry covers `version`.

    `note` is appended to each match's constraint (e.g. why another name than the package's was searched).
    An installed version the ecosystem's scheme cannot parse gives one `Unknown` and no matches.
    """
    key = normalize_name(ecosystem, name)
    matches: list[RawMatch] = []
    unknowns: list[Unknown] = []
    for adv in ctx.db.advisories_for(ecosystem, name):
        if adv.withdrawn:
            continue
        for aff in adv.affected:
            if aff.ecosystem != ecosystem or normalize_name(ecosystem, aff.name) != key:
                continue
            details = MatchDetails(matcher=matcher, ecosystem=ecosystem, searched_name=name,
                                   searched_version=version, indirect=indirect)
            if aff.not_affected:
                matches.append(RawMatch(advisory=adv, affected=aff, fixed_versions=(),
                                        details=_with(details, "not affected (feed)", note), not_affected=True))
                continue
            try:
                ev = _evaluate(aff, version)
            except InvalidVersion as e:
                reason = f"{ecosystem} {name} {version}: version not evaluated ({e})"
                return MatchOutput(unknowns=(Unknown(location, reason, matcher),))
            if ev.affected:
                matches.append(RawMatch(advisory=adv, affected=aff, fixed_versions=tuple(ev.fixed),
                                        details=_with(details, ev.constraint, note)))
            elif ev.unevaluated and not _evaluable(aff):
                reason = f"{adv.id} for {name} {version}: not evaluated ({'; '.join(ev.unevaluated)})"
                unknowns.append(Unknown(location, reason, matcher))
    return MatchOutput(matches=tuple(matches), unknowns=tuple(unknowns))


def _with(details: MatchDetails, constraint: str, note: str) -> MatchDetails:
    text = f"{constraint} ({note})" if note and constraint else constraint or note
    return MatchDetails(matcher=details.matcher, ecosystem=details.ecosystem, searched_name=details.searched_name,
                        searched_version=details.searched_version, indirect=details.indirect, constraint=text)


def _purl_name(pkg: Package, sep: str) -> str:
    """namespace + `sep` + name from the purl (Maven ``group:artifact``, npm ``@scope/name``)."""
    try:
        purl = PackageURL.from_string(pkg.purl)
    except ValueError:
        return pkg.name
    if purl.namespace:
        return f"{purl.namespace}{sep}{purl.name}"
    return purl.name


class LanguageMatcher(Matcher):
    """Matches language packages by their own name in the ecosystem's OSV feed (grype's language matchers)."""

    name = "language"
    package_types = tuple(ECOSYSTEMS)

    def match(self, pkg: Package, ctx: MatchContext) -> MatchOutput:
        """Matches for one language package; a version that cannot be compared is an `Unknown`."""
        ecosystem = ECOSYSTEMS.get(pkg.type)
        loc = pkg.locations[0] if pkg.locations else None
        if ecosystem is None:
            return MatchOutput()
        name, version, note = pkg.name, pkg.version, ""
        if pkg.type == "npm":
            name = _purl_name(pkg, "/") if pkg.purl else pkg.name
        elif pkg.type == "maven":
            name = _purl_name(pkg, ":") if pkg.purl else pkg.name
        elif pkg.type == "golang":
            if isinstance(pkg.metadata, GoModule) and pkg.metadata.module_path == "stdlib":
                # NOTE: an SBOM from another tool may list the toolchain as a ``stdlib`` module; the go-stdlib
                # matcher evaluates it (once per binary), so it is not a module to search here.
                return MatchOutput()
            resolved = _go_target(pkg)
            if isinstance(resolved, Unknown):
                return MatchOutput(unknowns=(resolved,))
            name, version, note = resolved
        if not version:
            return MatchOutput(unknowns=(Unknown(loc, f"{pkg.type} {name}: no version; not evaluated", self.name),))
        return evaluate_advisories(ctx, matcher=self.name, ecosystem=ecosystem, name=name, version=version,
                                   location=loc, note=note)


def _go_target(pkg: Package) -> tuple[str, str, str] | Unknown:
    """(module path, version without ``v``, note) to search for a Go module, or why it cannot be matched."""
    loc = pkg.locations[0] if pkg.locations else None
    meta = pkg.metadata
    path, version, note = pkg.name, pkg.version, ""
    if isinstance(meta, GoModule):
        path, version = meta.module_path, meta.version
        if meta.replaced_by:
            # The code linked into the binary is the replacement's, so that is what advisories must cover.
            target, sep, rversion = meta.replaced_by.rpartition("@")
            if not sep or not rversion:
                reason = f"Go module {path} is replaced by the local directory {meta.replaced_by}; not evaluated"
                return Unknown(loc, reason, LanguageMatcher.name)
            note = f"{path} is replaced by {meta.replaced_by}"
            path, version = target, rversion
    if not version or version == "(devel)":
        return Unknown(loc, f"Go module {path}: version {version or '(none)'!s} not evaluated", LanguageMatcher.name)
    return path, version.removeprefix("v"), note
