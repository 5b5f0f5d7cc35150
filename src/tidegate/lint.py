"""``lint_paths``: Dockerfiles and Kubernetes YAML checked against the rules, as ``tidegate lint`` does.

    report = lint_paths(["Dockerfile", "deploy/"], disabled=frozenset({"TG-DF-012"}), fail_on=Severity.LOW)

Directories are walked (hidden directories and ``node_modules`` skipped); files are recognised by name
(``Dockerfile``, ``*.Dockerfile``, ``Containerfile``…) or, for ``.yaml``/``.yml``, by holding Kubernetes objects
(``apiVersion`` + ``kind``). All Kubernetes objects of one run are evaluated together, so cross-object rules
(a namespace without a NetworkPolicy) see the whole input. A file that cannot be read or parsed is recorded as
an error (the CLI exits 2) and the others are still checked: nothing is lost.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from tidegate.checks.base import Target, apply_ignores, inline_ignores
from tidegate.errors import TidegateError, UsageError
from tidegate.model.finding import CheckFinding, Severity
from tidegate.model.report import LintReport

MAX_SOURCE_BYTES = 64 * 1024 * 1024
"""Larger files are refused (a manifest is a few KiB; Helm output of a whole platform a few MiB)."""
MAX_DOCKERFILE_BYTES = 4 * 1024 * 1024
"""Larger Dockerfiles are refused: real ones are KiBs, and shell splitting is linear but not free."""

_SKIP_DIRS = frozenset({"node_modules", "__pycache__", "vendor"})


def _walk(root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        for name in sorted(filenames):
            yield Path(dirpath) / name


def _kind(path: Path, text: str | None) -> str | None:
    from tidegate.checks.dockerfile.parser import is_dockerfile
    from tidegate.checks.k8s.loader import is_k8s_yaml

    if is_dockerfile(path):
        return "dockerfile"
    if path.suffix.lower() in (".yaml", ".yml") and text is not None and is_k8s_yaml(str(path), text):
        return "k8s"
    return None


def _read(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_SOURCE_BYTES:
        raise UsageError(f"{path}: {size:,} bytes, more than the {MAX_SOURCE_BYTES:,}-byte limit for a source file")
    return path.read_text(encoding="utf-8", errors="replace")


def collect(paths: Sequence[str]) -> tuple[list[tuple[Path, str, str]], list[str]]:
    """(path, kind, text) of every lintable file under `paths`, and errors for what could not be read."""
    found: list[tuple[Path, str, str]] = []
    errors: list[str] = []
    for given in paths:
        root = Path(given)
        if not root.exists():
            raise UsageError(f"{given}: no such file or directory")
        explicit = root.is_file()
        for path in [root] if explicit else _walk(root):
            try:
                maybe_yaml = path.suffix.lower() in (".yaml", ".yml")
                text = _read(path) if explicit or maybe_yaml or _kind(path, None) else None
                kind = _kind(path, text)
                if kind is None:
                    if explicit:
                        raise UsageError(f"{path}: neither a Dockerfile nor Kubernetes YAML (apiVersion + kind)")
                    continue
                content = text if text is not None else _read(path)
                if kind == "dockerfile" and len(content) > MAX_DOCKERFILE_BYTES:
                    errors.append(f"{path}: {len(content):,} characters, more than the {MAX_DOCKERFILE_BYTES:,} a "
                                  f"Dockerfile may have; not checked")
                    continue
                found.append((path, kind, content))
            except UsageError:
                raise
            except OSError as e:
                errors.append(f"{path}: cannot read: {e.strerror or e}")
    return found, errors


def lint_paths(paths: Sequence[str], *, disabled: frozenset[str] = frozenset(),
               severities: frozenset[Severity] | None = None, fail_on: Severity | None = Severity.LOW,
               ignore: object | None = None) -> LintReport:
    """Lint every Dockerfile and Kubernetes YAML file under `paths` (see the module docstring)."""
    from tidegate.checks.dockerfile.parser import parse_dockerfile
    from tidegate.checks.k8s.loader import load_objects
    from tidegate.checks.registry import checks_for

    files, errors = collect(paths)
    if not files and not errors:
        # NOTE: a gate that checked nothing must not pass (e.g. a CI path typo).
        raise UsageError(f"no Dockerfile or Kubernetes YAML found in {', '.join(paths)}",
                         hint="Dockerfiles are named Dockerfile, Containerfile or *.Dockerfile; manifests are "
                              ".yaml/.yml files with apiVersion and kind")
    findings: list[CheckFinding] = []
    ignores: dict[str, dict[int, frozenset[str]]] = {}
    k8s_objects = []
    for path, kind, text in files:
        ignores[str(path)] = inline_ignores(text)
        try:
            if kind == "dockerfile":
                parsed = parse_dockerfile(text, str(path))
                for check in checks_for(Target.DOCKERFILE):
                    findings.extend(check().evaluate(parsed))
            else:
                k8s_objects.extend(load_objects(text, str(path)))
        except TidegateError as e:
            errors.append(e.message)
    if k8s_objects:
        for check in checks_for(Target.K8S):
            findings.extend(check().evaluate(k8s_objects))
    kept: list[CheckFinding] = []
    for path_str, per_file in _by_file(findings):
        kept.extend(apply_ignores(per_file, ignores.get(path_str, {}), disabled=disabled))
    if severities is not None:
        kept = [f for f in kept if f.severity in severities]
    if ignore is not None:
        kept = [ignore.suppress_check(f) for f in kept]  # type: ignore[attr-defined]
    kept.sort(key=lambda f: f.sort_key)
    return LintReport(files=tuple(str(p) for p, _, _ in files), findings=tuple(kept), errors=tuple(errors),
                      fail_on=fail_on)


def _by_file(findings: Iterable[CheckFinding]) -> list[tuple[str, list[CheckFinding]]]:
    groups: dict[str, list[CheckFinding]] = {}
    for f in findings:
        groups.setdefault(f.source.path if f.source else "", []).append(f)
    return list(groups.items())
