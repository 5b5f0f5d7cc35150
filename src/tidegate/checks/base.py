"""The check contract: rules as data, checks that evaluate one kind of target and yield `CheckFinding`s.

A *rule* is what users see and configure (a stable id, title, severity, rationale, the anchor it corresponds
to in CIS / Dockle / hadolint / Pod Security Standards, how to fix). A *check* evaluates one kind of target —
a parsed Dockerfile, Kubernetes objects, an image (config, history, merged files) — and may implement several
rules. Checks are registered once in ``tidegate.checks.registry.CHECKS``::

    class NoUserCheck(Check):
        id = "dockerfile-user"
        version = 1
        target = Target.DOCKERFILE
        rules = (NO_USER,)

        def evaluate(self, target: object) -> Iterable[CheckFinding]:
            if not any(i.keyword == "USER" for i in target.instructions):
                yield NO_USER.finding("no USER instruction: the container runs as root", source=SourceLocation(p))
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any, ClassVar

from tidegate.model.distro import Distro
from tidegate.model.finding import CheckFinding, Severity, SourceLocation, Suppression
from tidegate.model.location import Location
from tidegate.model.package import Package
from tidegate.model.sbom import ImageInfo

SECRET = "secret"
"""`Rule.category` of baked-in credentials."""
MISCONFIG = "misconfig"
"""`Rule.category` of configuration problems."""


class Target(str, Enum):
    """What a check evaluates."""

    IMAGE = "image"
    """An image: its verified config, history and merged file index (``tidegate scan``)."""
    LAYER_FILE = "layer-file"
    """Each file of each layer, during the single pass (secrets)."""
    DOCKERFILE = "dockerfile"
    """A parsed Dockerfile (``tidegate lint``)."""
    K8S = "k8s"
    """Kubernetes objects from YAML (``tidegate lint``)."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule as users see it; ids are part of the interface (output, ignore files, config, policy)."""

    id: str
    """``TG-SEC-…`` secrets, ``TG-IMG-…`` image config/files, ``TG-DF-…`` Dockerfile, ``TG-K8S-…`` Kubernetes."""
    title: str
    """One line, the same for every finding."""
    severity: Severity
    """Default severity."""
    category: str
    """`SECRET` or `MISCONFIG`."""
    rationale: str
    """Why it matters (docs/rules.md)."""
    remediation: str
    """How to fix it (docs/rules.md, SARIF help)."""
    anchors: tuple[str, ...] = ()
    """Corresponding ids elsewhere: ``CIS-DI-0001``, ``DKL-DI-0005``, ``DL3007``, ``PSS restricted: runAsNonRoot``."""

    def finding(self, message: str, *, location: Location | None = None, source: SourceLocation | None = None,
                target: str = "", evidence: str = "", severity: Severity | None = None) -> CheckFinding:
        """A `CheckFinding` of this rule."""
        return CheckFinding(rule_id=self.id, category=self.category, severity=severity or self.severity,
                            title=self.title, message=message, location=location, source=source, target=target,
                            evidence=evidence)


class Check(ABC):
    """Evaluates one kind of target for one or more rules. Register the class in ``checks.registry.CHECKS``."""

    id: ClassVar[str]
    """Stable kebab-case id of the check (``dockerfile``, ``k8s-pod-security``)."""
    version: ClassVar[int]
    """Bump whenever the findings for the same input change (it invalidates per-layer caches)."""
    target: ClassVar[Target]
    """What `evaluate` receives."""
    rules: ClassVar[tuple[Rule, ...]]
    """Every rule this check can report."""

    @abstractmethod
    def evaluate(self, target: object) -> Iterable[CheckFinding]:
        """Findings for `target` (of the kind `target` names). Raise nothing for bad content."""


@dataclass(frozen=True, slots=True)
class HistoryStep:
    """One entry of the image config's ``history`` (build steps, including those that made no layer)."""

    index: int
    """0-based position in ``history``."""
    created_by: str
    """The step (``/bin/sh -c #(nop)  USER root``, ``RUN apt-get …``, ``ADD https://… /x``)."""
    empty_layer: bool
    """True when the step changed only metadata (ENV, USER, EXPOSE…)."""
    layer_index: int | None
    """The layer it produced, None for empty-layer steps."""


@dataclass(frozen=True, slots=True)
class ImageFile:
    """A path of the squashed filesystem (what a container started from the image sees)."""

    path: str
    """Absolute path."""
    kind: str
    """``file``, ``dir``, ``symlink``, ``hardlink``, ``char``, ``block``, ``fifo``."""
    mode: int
    """Permission bits incl. setuid/setgid/sticky (``0o4755``)."""
    uid: int
    """Owner uid."""
    gid: int
    """Owner gid."""
    size: int
    """Size of regular files."""
    layer_index: int
    """The layer that provides the visible entry."""
    linkname: str = ""
    """Link target for links."""


@dataclass(frozen=True, slots=True)
class ImageTarget:
    """What image checks evaluate: the verified config and history, the squashed files and the SBOM."""

    image: ImageInfo
    """Identity, layers (diff_id, created_by), user, labels."""
    config: Mapping[str, Any]
    """The config document's ``config`` object (``User``, ``Env``, ``ExposedPorts``, ``Healthcheck``, …)."""
    history: tuple[HistoryStep, ...]
    """Every build step, oldest first."""
    files: Mapping[str, ImageFile] = field(default_factory=dict)
    """The squashed view by path."""
    packages: tuple[Package, ...] = ()
    """Installed packages (the SBOM)."""
    distro: Distro | None = None
    """The OS release."""

    def location(self, path: str) -> Location | None:
        """The `Location` of a visible file (its layer, diff_id and step), None when absent."""
        f = self.files.get(path)
        if f is None:
            return None
        return self.layer_location(path, f.layer_index)

    def layer_location(self, path: str, layer_index: int) -> Location:
        """A `Location` for `path` in layer `layer_index` (visible or not)."""
        layer = self.image.layers[layer_index] if 0 <= layer_index < len(self.image.layers) else None
        return Location(path=path, layer_index=layer_index, diff_id=layer.diff_id if layer else "",
                        created_by=layer.created_by if layer else None)


_IGNORE = re.compile(r"#\s*tidegate:ignore\s*=\s*([A-Za-z0-9_*,\s-]+)")


def inline_ignores(text: str) -> dict[int, frozenset[str]]:
    """Line number → rule ids ignored there, from ``# tidegate:ignore=ID[,ID…]`` comments.

    A comment at the end of a line applies to that line; a comment on a line of its own applies to the next
    line that is not a comment or blank (hadolint's ``# hadolint ignore=`` convention). ``*`` or ``all``
    ignores every rule.
    """
    out: dict[int, set[str]] = {}
    pending: set[str] = set()
    for n, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        m = _IGNORE.search(line)
        ids = {i.strip().upper() for i in m.group(1).split(",") if i.strip()} if m else set()
        if stripped.startswith("#") or not stripped:
            pending |= ids
            continue
        ids |= pending
        pending = set()
        if ids:
            out.setdefault(n, set()).update(ids)
    return {n: frozenset(v) for n, v in out.items()}


def apply_ignores(findings: Iterable[CheckFinding], ignores: dict[int, frozenset[str]], *,
                  disabled: frozenset[str] = frozenset(), what: str = "inline comment") -> list[CheckFinding]:
    """Drop findings of `disabled` rules; mark findings on ignored lines as suppressed (kept, with the reason)."""
    out = []
    for f in findings:
        if f.rule_id in disabled:
            continue
        line = f.source.line if f.source else 0
        ids = ignores.get(line, frozenset())
        if line and (f.rule_id in ids or "*" in ids or "ALL" in ids):
            f = replace(f, suppression=Suppression(kind="inline", reason=f"tidegate:ignore={f.rule_id} ({what})",
                                                   source=f"{f.source.path}:{line}" if f.source else ""))
        out.append(f)
    return out


def sorted_findings(findings: Iterable[CheckFinding]) -> list[CheckFinding]:
    """`findings` in `CheckFinding.sort_key` order."""
    return sorted(findings, key=lambda f: f.sort_key)


def all_rules(checks: Sequence[type[Check]]) -> list[Rule]:
    """Every rule of `checks`, sorted by id."""
    return sorted({r.id: r for c in checks for r in c.rules}.values(), key=lambda r: r.id)
