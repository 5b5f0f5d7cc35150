"""Secrets and misconfigurations in the scan: which file scanners join the layer pass, and the image checks
that run on the merged result (trivy's post-analysis step).

    scanners = file_scanners_for(options)                       # handed to every `scan_layer`
    findings = run_image_checks(options, sbom=sbom, filesystem=fs, config=resolved.config.raw)

Secrets found in a layer's files are kept whatever later layers do — a file deleted by a later layer is still
in the image, and anyone who pulls it has it (trivy's ``mergeSecrets``) — with ``visible=False`` on their
location when the squashed view no longer shows that file.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from tidegate.checks.base import SECRET, HistoryStep, ImageFile, ImageTarget, Target
from tidegate.model.finding import CheckFinding
from tidegate.model.sbom import Sbom
from tidegate.scan.apply import ImageFilesystem
from tidegate.scan.layer_pass import FileScanner

log = logging.getLogger(__name__)

SCANNER_NAMES = ("vuln", "secret", "misconfig")
"""What ``--scanners`` accepts (Trivy's names)."""


def file_scanners_for(options: Any) -> list[FileScanner]:
    """The content scanners of the layer pass for `options` (the secret scanner when ``secret`` is on)."""
    if SECRET not in options.scanners:
        return []
    from tidegate.checks.secrets.layer import SecretFileScanner

    return [SecretFileScanner(max_file_bytes=options.secret_max_file_bytes)]


def history_steps(config: Mapping[str, Any]) -> tuple[HistoryStep, ...]:
    """``history`` of a verified config as `HistoryStep`s, each non-empty step tied to its layer."""
    steps: list[HistoryStep] = []
    layer = 0
    for i, h in enumerate(config.get("history") or ()):
        if not isinstance(h, Mapping):
            continue
        empty = bool(h.get("empty_layer"))
        steps.append(HistoryStep(index=i, created_by=str(h.get("created_by") or ""), empty_layer=empty,
                                 layer_index=None if empty else layer))
        if not empty:
            layer += 1
    return tuple(steps)


def image_target(sbom: Sbom, filesystem: ImageFilesystem, config: Mapping[str, Any]) -> ImageTarget:
    """The `ImageTarget` image checks evaluate."""
    files = {path: ImageFile(path=path, kind=r.entry.kind, mode=r.entry.mode, uid=r.entry.uid, gid=r.entry.gid,
                             size=r.entry.size, layer_index=r.layer_index, linkname=r.entry.linkname)
             for path, r in filesystem.squashed.items()}
    inner = config.get("config")
    return ImageTarget(image=sbom.image, config=inner if isinstance(inner, Mapping) else {},
                       history=history_steps(config), files=files, packages=sbom.packages, distro=sbom.distro)


def layer_findings(filesystem: ImageFilesystem) -> list[CheckFinding]:
    """Every layer's file-scanner findings, with ``visible`` telling whether the squashed view still shows it."""
    out = []
    for layer in filesystem.layers:
        for f in layer.findings:
            loc = f.location
            if loc is not None and loc.visible and not filesystem.is_visible(loc.path, loc.layer_index):
                f = dataclasses.replace(f, location=dataclasses.replace(loc, visible=False))
            out.append(f)
    return out


def run_image_checks(options: Any, *, sbom: Sbom, filesystem: ImageFilesystem,
                     config: Mapping[str, Any]) -> tuple[CheckFinding, ...]:
    """Layer findings plus the image checks of the enabled categories, minus disabled rules, sorted."""
    from tidegate.checks.registry import checks_for

    enabled = set(options.scanners)
    findings = layer_findings(filesystem)
    target = image_target(sbom, filesystem, config)
    for check in checks_for(Target.IMAGE):
        if not {r.category for r in check.rules} & enabled:
            continue
        try:
            findings.extend(check().evaluate(target))
        except Exception:
            # NOTE: checks are pure functions over verified data; a crash is a bug, reported loudly in the log.
            log.exception("check %s failed", check.id)
    kept = [f for f in findings if f.category in enabled and f.rule_id not in options.disabled_rules]
    return tuple(sorted(kept, key=lambda f: f.sort_key))
