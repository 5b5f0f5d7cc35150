"""OS packages (deb, apk, rpm) matched against their distribution release's feed, by SOURCE package.

    feed_ecosystems(Distro(id="debian", version_id="12"))       # ('Debian:12',)
    feed_ecosystems(Distro(id="alpine", version_id="3.18.4"))   # ('Alpine:v3.18',)

Distribution feeds (Debian's tracker, Alpine secdb, the OSV exports of both) key advisories by the source
package: ``libssl3`` is fixed when ``openssl`` is. So, like grype's dpkg/apk matchers, the search is by the
source name at the source version, and a match through a source whose name differs from the binary's is
marked ``indirect``. A feed's "not affected" entry is passed on (`RawMatch.not_affected`) so the engine
shows it as a ``distro`` suppression instead of dropping it silently.
"""

from __future__ import annotations

from collections.abc import Iterable

from tidegate.match.base import MatchContext, Matcher, MatchOutput, RawMatch
from tidegate.match.language import evaluate_advisories
from tidegate.model.distro import Distro
from tidegate.model.finding import Unknown
from tidegate.model.package import ApkEntry, DpkgEntry, Package, RpmEntry

# os-release ID → (package type the distribution uses, how its OSV ecosystem is spelled).
# Only ecosystems OSV really publishes (https://ossf.github.io/osv-schema/#affectedpackage-field):
# ``Debian:<major>``, ``Ubuntu:<version>[:LTS]``, ``Alpine:v<major>.<minor>``, ``AlmaLinux:<major>``,
# ``Rocky Linux:<major>``. Red Hat's OSV ecosystems are per product stream (``Red Hat:enterprise_linux:9::…``),
# which os-release does not tell us, so RHEL is reported as not matched rather than guessed.
_FAMILIES: dict[str, str] = {
    "debian": "deb",
    "ubuntu": "deb",
    "alpine": "apk",
    "almalinux": "rpm",
    "rocky": "rpm",
}


def feed_ecosystems(distro: Distro) -> tuple[str, ...]:
    """The OSV ecosystems holding advisories for `distro`'s release (empty when OSV has none we can name)."""
    vid = distro.version_id.strip()
    parts = vid.split(".")
    if not vid or not parts[0].isdigit():
        return ()
    match distro.id:
        case "debian":
            return (f"Debian:{parts[0]}",)
        case "ubuntu":
            # OSV spells LTS releases (even year, April) ``Ubuntu:22.04:LTS`` and others ``Ubuntu:23.10``.
            if len(parts) >= 2 and parts[1] == "04" and int(parts[0]) % 2 == 0:
                return (f"Ubuntu:{vid}:LTS",)
            return (f"Ubuntu:{vid}",)
        case "alpine":
            return (f"Alpine:v{parts[0]}.{parts[1]}",) if len(parts) >= 2 else ()
        case "almalinux":
            return (f"AlmaLinux:{parts[0]}",)
        case "rocky":
            return (f"Rocky Linux:{parts[0]}",)
    return ()


def _rpm_source_name(source_rpm: str) -> str:
    """``openssl-3.0.7-24.el9.src.rpm`` → ``openssl`` (name-version-release, name may contain dashes)."""
    base = source_rpm.removesuffix(".rpm").removesuffix(".src").removesuffix(".nosrc")
    parts = base.rsplit("-", 2)
    return parts[0] if len(parts) == 3 else ""


def search_targets(pkg: Package) -> list[tuple[str, str, bool]]:
    """(name, version, indirect) pairs to search for an OS package: the source first, as feeds key by it."""
    meta = pkg.metadata
    if isinstance(meta, DpkgEntry):
        name, version = meta.source_name or meta.package, meta.source_version or meta.version
        return [(name, version, name != meta.package)]
    if isinstance(meta, ApkEntry):
        name = meta.origin or meta.package
        return [(name, meta.version, name != meta.package)]
    if isinstance(meta, RpmEntry):
        version = f"{meta.version}-{meta.release}"
        if meta.epoch:
            version = f"{meta.epoch}:{version}"
        # RPM feeds (AlmaLinux, Rocky) list binary packages, so the binary name is searched as well.
        targets = [(meta.name, version, False)]
        source = _rpm_source_name(meta.source_rpm)
        if source and source != meta.name:
            targets.append((source, version, True))
        return targets
    return [(pkg.name, pkg.version, False)]


class DistroMatcher(Matcher):
    """Matches OS packages through their source package in the release's feed (grype's dpkg/apk/rpm)."""

    name = "distro"
    package_types = ("deb", "apk", "rpm")

    def match(self, pkg: Package, ctx: MatchContext) -> MatchOutput:
        """Matches for one OS package; without a known release it cannot be matched (an `Unknown`)."""
        loc = pkg.locations[0] if pkg.locations else None
        if ctx.distro is None:
            return MatchOutput(unknowns=(Unknown(None, "OS not detected: OS packages not matched", self.name),))
        ecosystems = feed_ecosystems(ctx.distro)
        family = _FAMILIES.get(ctx.distro.id)
        if not ecosystems or family != pkg.type:
            release = f"{ctx.distro.id} {ctx.distro.version_id}".strip()
            reason = f"{pkg.type} packages on {release}: no vulnerability feed for this release; not matched"
            return MatchOutput(unknowns=(Unknown(loc, reason, self.name),))
        matches: list[RawMatch] = []
        unknowns: list[Unknown] = []
        seen: set[tuple[str, str]] = set()
        for ecosystem in ecosystems:
            for name, version, indirect in search_targets(pkg):
                out = evaluate_advisories(ctx, matcher=self.name, ecosystem=ecosystem, name=name,
                                          version=version, location=loc, indirect=indirect)
                for m in out.matches:
                    # The binary and source searches of an RPM can find the same record: keep the first.
                    if (m.advisory.id, m.affected.name) not in seen:
                        seen.add((m.advisory.id, m.affected.name))
                        matches.append(m)
                unknowns.extend(out.unknowns)
        return MatchOutput(matches=tuple(matches), unknowns=tuple(unknowns))

    def match_all(self, pkgs: Iterable[Package], ctx: MatchContext) -> list[tuple[Package, MatchOutput]]:
        """As `match`, but a missing OS release is reported once for the image, not once per package."""
        pkgs = list(pkgs)
        if not pkgs:
            return []
        if ctx.distro is None:
            reason = "OS not detected: OS packages not matched"
        elif not feed_ecosystems(ctx.distro) or ctx.distro.id not in _FAMILIES:
            release = f"{ctx.distro.id} {ctx.distro.version_id}".strip()
            reason = f"{release}: no vulnerability feed for this release; OS packages not matched"
        else:
            return [(p, self.match(p, ctx)) for p in pkgs]
        unknown = MatchOutput(unknowns=(Unknown(None, reason, self.name),))
        return [(pkgs[0], unknown)] + [(p, MatchOutput()) for p in pkgs[1:]]
