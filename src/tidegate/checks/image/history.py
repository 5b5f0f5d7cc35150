"""Checks of the build history (``created_by`` of each step): ADD of URLs, ADD vs COPY, upgrades, lone updates.

    findings = list(ImageHistoryCheck().evaluate(image_target))   # TG-IMG-005 … 008

Each finding names its step (``target="history step 6"``, 0-based like `HistoryStep.index`) and, when the
step produced a layer, carries that layer's location (its path is the ADD destination when known, else empty).
Secrets in history steps are the secret scanner's concern, not this module's.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import ClassVar
from urllib.parse import urlsplit

from tidegate.checks.base import HistoryStep, ImageTarget, Rule
from tidegate.checks.image.commands import (
    Step,
    is_index_update,
    is_install,
    is_local_archive,
    is_remote_source,
    is_system_upgrade,
    is_upgrade,
    package_commands,
    parse_step,
)
from tidegate.checks.image.common import ImageCheck
from tidegate.checks.image.rules import ADD_INSTEAD_OF_COPY, ADD_REMOTE_URL, PACKAGE_UPGRADE, UPDATE_ALONE
from tidegate.model.finding import CheckFinding, Severity
from tidegate.model.location import Location

_EVIDENCE_MAX = 240


def step_target(step: HistoryStep) -> str:
    """``history step N`` (0-based), the `CheckFinding.target` of history findings."""
    return f"history step {step.index}"


def _evidence(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _EVIDENCE_MAX else text[:_EVIDENCE_MAX - 1] + "…"


def _location(target: ImageTarget, step: HistoryStep, path: str = "") -> Location | None:
    if step.layer_index is None:
        return None
    return target.layer_location(path, step.layer_index)


def _add_dest(parsed: Step, source: str) -> str:
    """Where an ADD put `source`: the destination, or destination + file name when it is a directory."""
    dest = parsed.dest
    if not dest.startswith("/"):
        return ""  # relative to a WORKDIR the history does not state reliably
    if dest.endswith("/"):
        name = posixpath.basename(urlsplit(source).path) if is_remote_source(source) else ""
        return posixpath.normpath(posixpath.join(dest, name)) if name else posixpath.normpath(dest)
    return posixpath.normpath(dest)


class ImageHistoryCheck(ImageCheck):
    """Build steps recorded in the image config's ``history``."""

    id: ClassVar[str] = "image-history"
    """Stable check id."""
    version: ClassVar[int] = 1
    """Bump when findings for the same history change."""
    rules: ClassVar[tuple[Rule, ...]] = (ADD_REMOTE_URL, ADD_INSTEAD_OF_COPY, PACKAGE_UPGRADE, UPDATE_ALONE)
    """Rules reported."""

    def evaluate_image(self, target: ImageTarget) -> Iterable[CheckFinding]:
        """Findings for every history step of `target`."""
        for step in target.history:
            parsed = parse_step(step.created_by)
            if parsed.keyword == "ADD":
                yield from self._add(target, step, parsed)
            elif parsed.keyword == "RUN":
                yield from self._run(target, step, parsed)

    def _add(self, target: ImageTarget, step: HistoryStep, parsed: Step) -> Iterable[CheckFinding]:
        sources = parsed.sources
        checksum = any(f.startswith("--checksum=") for f in parsed.flags)
        for source in sources:
            if not is_remote_source(source):
                continue
            dest = _add_dest(parsed, source)
            verified = " (verified by --checksum)" if checksum else " without a checksum"
            yield ADD_REMOTE_URL.finding(
                f"ADD downloads {source}{verified}" + (f" to {dest}" if dest else ""),
                location=_location(target, step, dest), target=step_target(step),
                evidence=_evidence(step.created_by), severity=Severity.LOW if checksum else None)
        local = [s for s in sources if not is_remote_source(s)]
        # The first step is the base image's rootfs (``ADD file:<hash> in /``), as Dockle's CIS-DI-0009 skips it.
        if step.index == 0 or not local or all(is_local_archive(s) for s in local):
            return
        hidden = " (the classic builder hides the source name)" if parsed.classic else ""
        dest = parsed.dest if parsed.dest.startswith("/") else ""
        yield ADD_INSTEAD_OF_COPY.finding(
            f"ADD of {', '.join(local)}{' to ' + parsed.dest if parsed.dest else ''}: use COPY{hidden}",
            location=_location(target, step, posixpath.normpath(dest) if dest else ""),
            target=step_target(step), evidence=_evidence(step.created_by))

    def _run(self, target: ImageTarget, step: HistoryStep, parsed: Step) -> Iterable[CheckFinding]:
        cmds = package_commands(parsed)
        upgrades = [c for c in cmds if is_system_upgrade(c)]
        if upgrades:
            said = "; ".join(" ".join(c.words) for c in upgrades)
            yield PACKAGE_UPGRADE.finding(f"the build upgrades every installed package: {_evidence(said)}",
                                          location=_location(target, step), target=step_target(step),
                                          evidence=_evidence(step.created_by))
        updates = [c for c in cmds if is_index_update(c)]
        if updates and not any(is_install(c) or is_upgrade(c) for c in cmds):
            said = "; ".join(" ".join(c.words) for c in updates)
            yield UPDATE_ALONE.finding(f"package indexes are refreshed but nothing is installed in this step: "
                                       f"{_evidence(said)}", location=_location(target, step),
                                       target=step_target(step), evidence=_evidence(step.created_by))
