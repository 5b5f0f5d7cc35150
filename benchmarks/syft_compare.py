#!/usr/bin/env python3
"""Cross-check tidegate against Syft on the shared test images.

Runs ``syft scan … -o syft-json`` and ``tidegate sbom … --format json`` on the same archives and prints, per
image and per ecosystem (deb, python, go, npm, rpm, apk, other):

* the package count each tool reports,
* the packages only one of them reports, compared by (ecosystem, normalised name, version) — PEP 503 names
  for Python, module path + version for Go — as multisets, so a package reported twice by one tool and
  once by the other shows up once as a difference,
* the wall time of each tool (best of N runs, each a fresh subprocess, time.perf_counter) and the ratio
  tidegate/syft,
* the peak RSS of each tool (maximum resident set size of the process tree as reported by GNU
  ``/usr/bin/time -f %M``; if that is missing, VmHWM polled from /proc/<pid>/status).

Usage (from the repository root)::

    .venv/bin/python benchmarks/syft_compare.py [--repeat N] [--images NAME …] [--markdown]

Nothing here touches the network: Syft's update check, remote-licence lookups and network enrichment are
switched off through its environment, and Syft scans with ``--scope squashed`` (its default) so that it
looks at the same squashed filesystem as tidegate.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGES_DIR = (REPO_ROOT / ".." / "shared" / "images").resolve()
BIN_DIR = Path(sys.executable).parent  # the venv's bin: tidegate and syft live next to its python

# name -> (transport, archive file name). The same transport string works for both tools.
IMAGES: dict[str, tuple[str, str]] = {
    "bookworm-app": ("oci-archive", "bookworm-app.oci.tar"),
    "bookworm-patched": ("oci-archive", "bookworm-patched.oci.tar"),
    "distroless-py": ("oci-archive", "distroless-py.oci.tar"),
    "distroless-py.docker": ("docker-archive", "distroless-py.docker.tar"),
}

ECOSYSTEMS = ("deb", "python", "go", "npm", "rpm", "apk", "other")

SYFT_TYPE_TO_ECO = {
    "deb": "deb",
    "python": "python",
    "go-module": "go",
    "npm": "npm",
    "rpm": "rpm",
    "apk": "apk",
}
TIDEGATE_TYPE_TO_ECO = {
    "deb": "deb",
    "pypi": "python",
    "golang": "go",
    "npm": "npm",
    "rpm": "rpm",
    "apk": "apk",
}

# Syft must stay offline and scan the squashed view. Its defaults already do no network I/O in 1.18
# except the application update check; the rest pins that explicitly so a user config cannot turn it on.
SYFT_ENV = {
    "SYFT_CHECK_FOR_APP_UPDATE": "false",
    "SYFT_SCOPE": "squashed",
    "SYFT_GOLANG_SEARCH_REMOTE_LICENSES": "false",
    "SYFT_GOLANG_SEARCH_LOCAL_MOD_CACHE_LICENSES": "false",
    "SYFT_GOLANG_PROXY": "off",
    "SYFT_JAVA_USE_NETWORK": "false",
    "SYFT_JAVA_USE_MAVEN_LOCAL_REPOSITORY": "false",
    "SYFT_JAVASCRIPT_SEARCH_REMOTE_LICENSES": "false",
    "SYFT_PYTHON_GUESS_UNPINNED_REQUIREMENTS": "false",
    "GOPROXY": "off",
}


def pep503(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def norm_key(eco: str, name: str, version: str) -> tuple[str, str, str]:
    if eco == "python":
        name = pep503(name)
    # deb/rpm/apk/npm names are compared as written (dpkg/apk/rpm names are lower-case by policy, npm names
    # are case-sensitive); Go compares module path + version; "other" is whatever the cataloger called it.
    return (eco, name, version)


@dataclass
class Pkg:
    eco: str
    name: str
    version: str
    kind: str  # the tool's own type (syft `type`, tidegate `type`)
    found_by: str
    paths: list[str]

    @property
    def key(self) -> tuple[str, str, str]:
        return norm_key(self.eco, self.name, self.version)


def load_syft(doc: dict) -> list[Pkg]:
    out = []
    for a in doc.get("artifacts", []):
        t = a.get("type", "")
        out.append(
            Pkg(
                eco=SYFT_TYPE_TO_ECO.get(t, "other"),
                name=a.get("name", ""),
                version=a.get("version", ""),
                kind=t,
                found_by=a.get("foundBy", ""),
                paths=[loc.get("path", "") for loc in a.get("locations", [])],
            )
        )
    return out


def load_tidegate(doc: dict) -> list[Pkg]:
    out = []
    for p in doc.get("packages", []):
        t = p.get("type", "")
        eco = TIDEGATE_TYPE_TO_ECO.get(t, "other")
        name = p.get("name", "")
        version = p.get("version", "")
        if eco == "go" and p.get("metadataType") == "go-module":
            md = p.get("metadata") or {}
            name = md.get("modulePath") or name
            version = md.get("version") or version
        out.append(
            Pkg(
                eco=eco,
                name=name,
                version=version,
                kind=t,
                found_by=p.get("cataloger", ""),
                paths=[loc.get("path", "") for loc in p.get("locations", [])],
            )
        )
    return out


def load_truth(name: str) -> Counter | None:
    """Ground truth (dpkg-query, importlib.metadata, npm ls, go version -m) as a multiset of keys."""
    path = IMAGES_DIR / f"{name.split('.')[0]}.truth.json"
    if not path.exists():
        return None
    img = json.loads(path.read_text())["images"][0]
    keys: Counter = Counter()
    for p in img.get("dpkg", {}).get("packages", []):
        keys[norm_key("deb", p["name"], p["version"])] += 1
    for d in img.get("python", {}).get("distributions", []):
        keys[norm_key("python", d["name"], d["version"])] += 1
    for p in img.get("npm", {}).get("packages", []):
        if isinstance(p, dict) and "name" in p:
            keys[norm_key("npm", p["name"], p.get("version", ""))] += 1
    for b in img.get("go", {}).get("binaries", []):
        for m in [b["main"], *b.get("deps", [])]:
            keys[norm_key("go", m["path"], m["version"])] += 1
    return keys


TRUTH_ECOSYSTEMS = ("deb", "python", "go", "npm")


# --------------------------------------------------------------------------------------------- running


@dataclass
class RunResult:
    wall: float
    rss_kib: int | None
    stdout_path: Path


def _poll_vmhwm(proc: subprocess.Popen, box: list[int]) -> None:
    """Fallback when GNU time is absent: poll VmHWM of the child (not of its descendants)."""
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    box[0] = max(box[0], int(line.split()[1]))
                    break
        except (OSError, ValueError):
            pass
        time.sleep(0.01)


GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None


def run_measured(cmd: list[str], env: dict[str, str], out_path: Path, workdir: Path) -> RunResult:
    rss_file = workdir / "rss.txt"
    full = [GNU_TIME, "-f", "%M", "-o", str(rss_file), *cmd] if GNU_TIME else cmd
    with open(out_path, "wb") as out, open(workdir / "stderr.txt", "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, env=env, cwd=REPO_ROOT)
        box = [0]
        poller = None
        if not GNU_TIME:
            poller = threading.Thread(target=_poll_vmhwm, args=(proc, box), daemon=True)
            poller.start()
        rc = proc.wait()
        wall = time.perf_counter() - t0
        if poller:
            poller.join()
    if rc != 0:
        msg = (workdir / "stderr.txt").read_text(errors="replace")[-2000:]
        raise SystemExit(f"command failed (exit {rc}): {' '.join(cmd)}\n{msg}")
    rss: int | None = None
    if GNU_TIME:
        try:
            # the last line holds %M (earlier lines may be "Command exited with …")
            rss = int(rss_file.read_text().strip().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            rss = None
    else:
        rss = box[0] or None
    return RunResult(wall, rss, out_path)


@dataclass
class ToolResult:
    best_wall: float
    walls: list[float]
    peak_rss_kib: int | None
    doc: dict


def bench(cmd: list[str], env: dict[str, str], repeat: int, workdir: Path, before_each=None) -> ToolResult:
    # one untimed warm-up run (page cache, Python bytecode, Go runtime); its output is what we compare
    if before_each:
        before_each()
    warm = run_measured(cmd, env, workdir / "warm.json", workdir)
    doc = json.loads(warm.stdout_path.read_text())
    walls, rss = [], []
    for i in range(repeat):
        if before_each:
            before_each()
        r = run_measured(cmd, env, workdir / f"run{i}.json", workdir)
        walls.append(r.wall)
        if r.rss_kib:
            rss.append(r.rss_kib)
    return ToolResult(min(walls), walls, max(rss) if rss else None, doc)


def syft_cmd(transport: str, path: Path) -> list[str]:
    syft = shutil.which("syft", path=str(BIN_DIR)) or shutil.which("syft") or "syft"
    return [syft, "scan", f"{transport}:{path}", "-o", "syft-json", "--scope", "squashed", "-q"]


def tidegate_cmd(transport: str, path: Path, cache: str | Path | None = None) -> list[str]:
    """tidegate's command; ``cache=None`` means no layer cache (``--no-cache``, when this tidegate has one)."""
    tg = shutil.which("tidegate", path=str(BIN_DIR)) or shutil.which("tidegate") or "tidegate"
    cmd = [tg, "sbom", f"{transport}:{path}", "--format", "json"]
    if TIDEGATE_HAS_CACHE:
        cmd += ["--no-cache"] if cache is None else ["--cache-dir", str(cache)]
    return cmd


def _tidegate_has_cache() -> bool:
    tg = shutil.which("tidegate", path=str(BIN_DIR)) or shutil.which("tidegate") or "tidegate"
    try:
        out = subprocess.run([tg, "sbom", "--help"], check=False, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return False
    return "--no-cache" in out.stdout


TIDEGATE_HAS_CACHE = _tidegate_has_cache()


def tool_version(cmd: list[str], env: dict[str, str]) -> str:
    try:
        out = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    for line in out.splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    first = out.strip().splitlines()[0] if out.strip() else "?"
    return first.split()[-1]


def git_head() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty"],
            check=False,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        out = ""
    return out or "unknown commit"


# --------------------------------------------------------------------------------------------- output


class Out:
    def __init__(self, markdown: bool):
        self.md = markdown

    def h(self, level: int, text: str) -> None:
        if self.md:
            print(f"{'#' * level} {text}\n")
        else:
            print(text)
            print(("=" if level <= 2 else "-") * len(text))

    def p(self, text: str = "") -> None:
        print(text)
        if self.md and text:
            print()

    def table(self, header: list[str], rows: list[list[str]], align: str | None = None) -> None:
        align = align or "l" * len(header)
        if self.md:
            print("| " + " | ".join(header) + " |")
            print("|" + "|".join("---:" if a == "r" else "---" for a in align) + "|")
            for r in rows:
                print("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |")
            print()
            return
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]

        def fmt(r: list[str]) -> str:
            return "  ".join(
                c.rjust(w) if a == "r" else c.ljust(w) for c, w, a in zip(r, widths, align)
            ).rstrip()

        print(fmt(header))
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print(fmt(r))
        print()


def fmt_key(k: tuple[str, str, str]) -> str:
    return f"{k[1]} {k[2]}" if k[2] else k[1]


def describe(pkgs: list[Pkg], key: tuple[str, str, str]) -> str:
    hits = [p for p in pkgs if p.key == key]
    kinds = sorted({f"{p.kind}/{p.found_by}" for p in hits})
    paths = sorted({p.paths[0] for p in hits if p.paths})
    shown = ", ".join(paths[:3]) + (f", … (+{len(paths) - 3})" if len(paths) > 3 else "")
    return f"{', '.join(kinds)} @ {shown}" if shown else ", ".join(kinds)


def mib(kib: int | None) -> str:
    return f"{kib / 1024:.0f}" if kib else "n/a"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--repeat", type=int, default=3, help="timed runs per tool and image (best is kept; default 3)"
    )
    ap.add_argument("--images", nargs="+", metavar="NAME", choices=sorted(IMAGES), help="subset of images")
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    names = args.images or list(IMAGES)

    base_env = dict(os.environ)
    syft_env = {**base_env, **SYFT_ENV}
    tg_env = dict(base_env)
    out = Out(args.markdown)

    syft_bin = syft_cmd("x", Path("y"))[0]
    tg_bin = tidegate_cmd("x", Path("y"))[0]
    out.h(2, "Syft cross-check")
    out.p(
        f"syft {tool_version([syft_bin, 'version'], syft_env)}, tidegate {tool_version([tg_bin, '--version'], tg_env)}"
        f" (tree at {git_head()}); "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}; "
        f"best of {args.repeat} timed runs after 1 warm-up; peak RSS via "
        f"{'GNU /usr/bin/time %M' if GNU_TIME else '/proc/<pid>/status VmHWM polling'}."
    )

    timing_rows: list[list[str]] = []
    cache_mismatch: list[str] = []
    with tempfile.TemporaryDirectory(prefix="syft-compare-") as tmp:
        for name in names:
            transport, fname = IMAGES[name]
            path = IMAGES_DIR / fname
            if not path.exists():
                print(f"skipping {name}: {path} not found", file=sys.stderr)
                continue
            wd_s = Path(tmp) / name / "syft"
            wd_t = Path(tmp) / name / "tidegate"
            wd_s.mkdir(parents=True)
            wd_t.mkdir(parents=True)
            # Syft keeps a small cache (SYFT_CACHE_DIR, ~/.cache/syft: remote Go licence lookups, off here);
            # give it a fresh empty one for every run so nothing carries over.
            syft_cache = wd_s / "cache"
            s = bench(
                syft_cmd(transport, path),
                {**syft_env, "SYFT_CACHE_DIR": str(syft_cache)},
                args.repeat,
                wd_s,
                before_each=lambda d=syft_cache: shutil.rmtree(d, ignore_errors=True),
            )
            # tidegate cold (no layer cache) is the like-for-like comparison with Syft ...
            t = bench(tidegate_cmd(transport, path), tg_env, args.repeat, wd_t)
            # ... and, if this tidegate has a layer cache, a warm-cache run too (the warm-up fills a private
            # cache directory; ~/.cache/tidegate is never touched)
            tw = None
            if TIDEGATE_HAS_CACHE:
                wd_w = Path(tmp) / name / "tidegate-warm"
                wd_w.mkdir(parents=True)
                tw = bench(tidegate_cmd(transport, path, cache=wd_w / "cache"), tg_env, args.repeat, wd_w)
                cold_keys = Counter(p.key for p in load_tidegate(t.doc))
                for f in sorted(wd_w.glob("run*.json")):
                    if Counter(p.key for p in load_tidegate(json.loads(f.read_text()))) != cold_keys:
                        cache_mismatch.append(f"{name}: {f.name}")

            sp, tp = load_syft(s.doc), load_tidegate(t.doc)
            sc, tc = Counter(p.key for p in sp), Counter(p.key for p in tp)
            only_s, only_t = sc - tc, tc - sc

            out.h(3, f"{name} ({transport}:{fname})")
            rows = []
            for eco in ECOSYSTEMS:
                ns = sum(1 for p in sp if p.eco == eco)
                nt = sum(1 for p in tp if p.eco == eco)
                os_ = sum(n for k, n in only_s.items() if k[0] == eco)
                ot = sum(n for k, n in only_t.items() if k[0] == eco)
                if ns or nt:
                    rows.append([eco, str(ns), str(nt), str(os_), str(ot)])
            rows.append(
                ["total", str(len(sp)), str(len(tp)), str(sum(only_s.values())), str(sum(only_t.values()))]
            )
            out.table(["ecosystem", "syft", "tidegate", "only syft", "only tidegate"], rows, "lrrrr")

            diff_rows = []
            for side, diff, pkgs in (("syft", only_s, sp), ("tidegate", only_t, tp)):
                for k in sorted(diff):
                    n = diff[k]
                    diff_rows.append(
                        [f"only {side}", k[0], fmt_key(k) + (f" ×{n}" if n > 1 else ""), describe(pkgs, k)]
                    )
            if diff_rows:
                out.table(["side", "ecosystem", "package", "type/cataloger @ first location"], diff_rows)
            else:
                out.p("No differences.")

            truth = load_truth(name)
            if truth is not None:
                out.p(f"Against {name.split('.')[0]}.truth.json (deb, python, go modules, npm only):")
                trows = []
                for tool, pkgs in (("syft", sp), ("tidegate", tp)):
                    got = Counter(p.key for p in pkgs if p.eco in TRUTH_ECOSYSTEMS)
                    missed, extra = truth - got, got - truth
                    trows.append(
                        [
                            tool,
                            str(sum(truth.values())),
                            str(sum(got.values())),
                            str(sum(missed.values())),
                            ", ".join(fmt_key(k) for k in sorted(missed)) or "-",
                            str(sum(extra.values())),
                            ", ".join(fmt_key(k) for k in sorted(extra)) or "-",
                        ]
                    )
                out.table(
                    ["tool", "truth", "reported", "missed", "missed packages", "extra", "extra packages"],
                    trows,
                    "lrrrlrl",
                )

            ratio = t.best_wall / s.best_wall if s.best_wall else float("nan")
            rss_ratio = (t.peak_rss_kib / s.peak_rss_kib) if s.peak_rss_kib and t.peak_rss_kib else None
            timing_rows.append(
                [
                    name,
                    f"{s.best_wall:.2f}",
                    f"{t.best_wall:.2f}",
                    f"{ratio:.2f}",
                    mib(s.peak_rss_kib),
                    mib(t.peak_rss_kib),
                    f"{rss_ratio:.2f}" if rss_ratio else "n/a",
                ]
                + (
                    [f"{tw.best_wall:.2f}", f"{tw.best_wall / s.best_wall:.2f}", mib(tw.peak_rss_kib)]
                    if tw
                    else []
                )
            )

    out.h(3, "Time and memory")
    header = [
        "image",
        "syft s",
        "tidegate s",
        "time tidegate/syft",
        "syft peak RSS MiB",
        "tidegate peak RSS MiB",
        "RSS tidegate/syft",
    ]
    if TIDEGATE_HAS_CACHE:
        header += ["tidegate warm-cache s", "warm tidegate/syft", "warm peak RSS MiB"]
    out.table(header, timing_rows, "l" + "r" * (len(header) - 1))
    if TIDEGATE_HAS_CACHE:
        out.p(
            "tidegate s / RSS: cold, `--no-cache` (like-for-like with Syft, which caches nothing). "
            "Warm-cache: `--cache-dir` pre-filled by the warm-up run, i.e. a rescan of the same layers."
        )
        out.p(
            "Warm-cache output vs cold output (package keys): "
            + (
                "identical in every run."
                if not cache_mismatch
                else "DIFFERENT in " + ", ".join(cache_mismatch)
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
