"""SBOM drift between two images: packages added / removed / changed, findings introduced / fixed, config changes.

    drift = diff_images(old, new)            # two `DiffSide`s (SBOM + optional report + optional config facts)
    [c.name for c in drift.changed]           # same (type, name), different versions
    render_drift_table(drift)

Packages are keyed by (type, name); a key whose set of versions differs is "changed". Findings are keyed by
(vulnerability id, package name). Config drift covers the user, exposed ports and environment variable NAMES:
values are never read into the comparison, so a secret in ``Env`` cannot leak through ``tidegate diff``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tidegate.model.report import VulnReport
from tidegate.model.sbom import Sbom
from tidegate.store.history import ConfigFacts


@dataclass(frozen=True, slots=True)
class DiffSide:
    """One side of a diff."""

    label: str
    """How the user named it (a reference or a digest)."""
    sbom: Sbom
    """Its SBOM."""
    report: VulnReport | None = None
    """Its vulnerability report against the current DB (None: no DB, findings not compared)."""
    config: ConfigFacts | None = None
    """Its config facts (None: unknown, config not compared)."""


@dataclass(frozen=True, slots=True)
class PackageChange:
    """A package key present on one or both sides."""

    type: str
    """Package type (``deb``, ``python``, …)."""
    name: str
    """Package name."""
    before: tuple[str, ...]
    """Versions in the first image (empty: added)."""
    after: tuple[str, ...]
    """Versions in the second image (empty: removed)."""


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """One config field that differs."""

    field: str
    """``user``, ``exposedPorts`` or ``envNames``."""
    before: tuple[str, ...]
    """Value(s) in the first image."""
    after: tuple[str, ...]
    """Value(s) in the second image."""


@dataclass(frozen=True, slots=True)
class Drift:
    """What changed from `a` to `b`."""

    a: str
    """First image label."""
    b: str
    """Second image label."""
    digest_a: str
    """First image digest."""
    digest_b: str
    """Second image digest."""
    added: tuple[PackageChange, ...]
    """Packages only in `b`."""
    removed: tuple[PackageChange, ...]
    """Packages only in `a`."""
    changed: tuple[PackageChange, ...]
    """Packages in both with different versions."""
    introduced: tuple[tuple[str, str, str], ...] | None
    """(vulnerability id, package, severity) only in `b` (None: findings not compared)."""
    fixed: tuple[tuple[str, str, str], ...] | None
    """(vulnerability id, package, severity) only in `a` (None: findings not compared)."""
    config: tuple[ConfigChange, ...] | None
    """Config fields that differ (None: config of one side unknown)."""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        def pkgs(items: tuple[PackageChange, ...]) -> list[dict[str, Any]]:
            return [{"type": c.type, "name": c.name, "before": list(c.before), "after": list(c.after)}
                    for c in items]

        def vulns(items: tuple[tuple[str, str, str], ...] | None) -> list[dict[str, str]] | None:
            return None if items is None else [{"id": i, "package": p, "severity": s} for i, p, s in items]

        return {"a": {"image": self.a, "digest": self.digest_a}, "b": {"image": self.b, "digest": self.digest_b},
                "packages": {"added": pkgs(self.added), "removed": pkgs(self.removed),
                             "changed": pkgs(self.changed)},
                "findings": {"introduced": vulns(self.introduced), "fixed": vulns(self.fixed)},
                "config": None if self.config is None else [
                    {"field": c.field, "before": list(c.before), "after": list(c.after)} for c in self.config]}


def _versions(sbom: Sbom) -> dict[tuple[str, str], tuple[str, ...]]:
    out: dict[tuple[str, str], set[str]] = {}
    for p in sbom.packages:
        out.setdefault((p.type, p.name), set()).add(p.version)
    return {k: tuple(sorted(v)) for k, v in out.items()}


def _vulns(report: VulnReport) -> dict[tuple[str, str], str]:
    return {(f.id, f.package_name): f.severity.name for f in report.active}


def diff_images(a: DiffSide, b: DiffSide) -> Drift:
    """Compare `a` (before) with `b` (after)."""
    va, vb = _versions(a.sbom), _versions(b.sbom)
    added = tuple(PackageChange(t, n, (), vb[(t, n)]) for t, n in sorted(vb.keys() - va.keys()))
    removed = tuple(PackageChange(t, n, va[(t, n)], ()) for t, n in sorted(va.keys() - vb.keys()))
    changed = tuple(PackageChange(t, n, va[(t, n)], vb[(t, n)]) for t, n in sorted(va.keys() & vb.keys())
                    if va[(t, n)] != vb[(t, n)])
    introduced = fixed = None
    if a.report is not None and b.report is not None:
        fa, fb = _vulns(a.report), _vulns(b.report)
        introduced = tuple((i, p, fb[(i, p)]) for i, p in sorted(fb.keys() - fa.keys()))
        fixed = tuple((i, p, fa[(i, p)]) for i, p in sorted(fa.keys() - fb.keys()))
    config = None
    if a.config is not None and b.config is not None:
        pairs = (("user", (a.config.user,), (b.config.user,)),
                 ("exposedPorts", a.config.exposed_ports, b.config.exposed_ports),
                 ("envNames", a.config.env_names, b.config.env_names))
        config = tuple(ConfigChange(name, before, after) for name, before, after in pairs if before != after)
    return Drift(a=a.label, b=b.label, digest_a=a.sbom.image.digest, digest_b=b.sbom.image.digest, added=added,
                 removed=removed, changed=changed, introduced=introduced, fixed=fixed, config=config)


def render_drift_table(d: Drift) -> str:
    """Plain-text drift report."""
    lines = [f"diff {d.a} ({d.digest_a[:19]}) -> {d.b} ({d.digest_b[:19]})", "",
             f"packages: {len(d.added)} added, {len(d.removed)} removed, {len(d.changed)} changed"]
    lines += [f"  + {c.type} {c.name} {', '.join(c.after)}" for c in d.added]
    lines += [f"  - {c.type} {c.name} {', '.join(c.before)}" for c in d.removed]
    lines += [f"  ~ {c.type} {c.name} {', '.join(c.before)} -> {', '.join(c.after)}" for c in d.changed]
    if d.introduced is None or d.fixed is None:
        lines.append("findings: not compared (no vulnerability database)")
    else:
        lines.append(f"findings: {len(d.introduced)} introduced, {len(d.fixed)} fixed")
        lines += [f"  + {sev} {vid} ({pkg})" for vid, pkg, sev in d.introduced]
        lines += [f"  - {sev} {vid} ({pkg})" for vid, pkg, sev in d.fixed]
    if d.config is None:
        lines.append("config: not compared (config of an image not known)")
    else:
        lines.append(f"config: {len(d.config)} changed")
        lines += [f"  ~ {c.field}: {' '.join(c.before) or '(none)'} -> {' '.join(c.after) or '(none)'}"
                  for c in d.config]
    return "\n".join(lines) + "\n"


def render_drift_json(d: Drift) -> str:
    """Drift as indented JSON."""
    return json.dumps(d.to_json(), indent=2) + "\n"


__all__ = ["ConfigChange", "DiffSide", "Drift", "PackageChange", "diff_images", "render_drift_json",
           "render_drift_table"]
