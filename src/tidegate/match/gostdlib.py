"""The Go standard library compiled into each Go binary, matched as the Go feed's ``stdlib`` module.

    go_tag_to_semver("go1.21rc2")   # '1.21.0-rc.2'
    [(p.purl, out) for p, out in GoStdlibMatcher().match_all(go_packages, ctx)]   # pkg:golang/stdlib@1.26.1

A Go binary carries the standard library of the toolchain that built it (``go_version`` in its build info),
so for each binary one synthetic package ``stdlib`` is matched, as Syft and Grype do (purl
``pkg:golang/stdlib@<version without go>``). The Go vulnerability database also has a ``toolchain`` module:
that is the ``go`` command itself (cmd/go, the linker, …), which runs at build time and is not in the binary,
so it is deliberately not searched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tidegate.match.base import MatchContext, Matcher, MatchOutput
from tidegate.match.language import evaluate_advisories
from tidegate.model.finding import Unknown
from tidegate.model.package import GoModule, Package

STDLIB = "stdlib"
"""The Go vulnerability database's module name for the standard library."""

_GO_TAG = re.compile(r"^go(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:(beta|rc)(\d+))?$")


def go_tag_to_semver(tag: str) -> str | None:
    """A Go release tag as the Go feed spells versions (golang.org/x/vuln's ``GoTagToSemver``), or None.

    ``go1.26.1`` → ``1.26.1``; ``go1.21`` → ``1.21.0``; ``go1.22rc1`` → ``1.22.0-rc.1``. Build suffixes
    after a space (``go1.22.2 X:boringcrypto``) are dropped; a ``devel`` toolchain gives None.
    """
    m = _GO_TAG.match(tag.strip().split(" ", 1)[0])
    if m is None:
        return None
    major, minor, patch, pre, num = m.groups()
    version = f"{major}.{minor or 0}.{patch or 0}"
    # Before Go 1.21 the first release of a minor was "go1.N" (= 1.N.0); a pre-release names the .0 one.
    return f"{version}-{pre}.{num}" if pre else version


def stdlib_package(binary: Package) -> Package | None:
    """The synthetic ``stdlib`` package for the binary `binary` (any of its Go module packages)."""
    meta = binary.metadata
    if not isinstance(meta, GoModule) or not meta.go_version:
        return None
    semver = go_tag_to_semver(meta.go_version)
    return Package(
        name=STDLIB,
        version=meta.go_version,
        type="golang",
        purl=f"pkg:golang/{STDLIB}@{semver or meta.go_version}",
        cataloger="go-module-binary",
        locations=binary.locations[:1],
        metadata=GoModule(module_path=STDLIB, version=meta.go_version, go_version=meta.go_version,
                          binary_path=meta.binary_path),
    )


class GoStdlibMatcher(Matcher):
    """One ``stdlib`` package per Go binary, at the toolchain version that built it."""

    name = "go-stdlib"
    package_types = ("golang",)

    def match(self, pkg: Package, ctx: MatchContext) -> MatchOutput:
        """Matches for `pkg`, which must be a synthetic ``stdlib`` package (see `stdlib_package`)."""
        loc = pkg.locations[0] if pkg.locations else None
        semver = go_tag_to_semver(pkg.version)
        if semver is None:
            reason = f"Go toolchain version {pkg.version!r}: not a release; standard library not evaluated"
            return MatchOutput(unknowns=(Unknown(loc, reason, self.name),))
        return evaluate_advisories(ctx, matcher=self.name, ecosystem="Go", name=STDLIB, version=semver,
                                   location=loc)

    def match_all(self, pkgs: Iterable[Package], ctx: MatchContext) -> list[tuple[Package, MatchOutput]]:
        """Groups Go module packages by binary and matches each binary's synthetic ``stdlib`` once."""
        by_binary: dict[str, Package] = {}
        for p in pkgs:
            meta = p.metadata
            # The main module's location names the binary as well as any dependency's does.
            if isinstance(meta, GoModule) and meta.binary_path and (meta.binary_path not in by_binary
                                                                     or meta.is_main):
                by_binary[meta.binary_path] = p
        out: list[tuple[Package, MatchOutput]] = []
        for path in sorted(by_binary):
            std = stdlib_package(by_binary[path])
            if std is not None:
                out.append((std, self.match(std, ctx)))
        return out
