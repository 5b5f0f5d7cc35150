"""End to end: the real images against the real feeds in ../shared/vulndata, checked by an independent evaluation.

The independent evaluation below is written to be read, not to be fast or clever. It opens the OSV zips
itself, walks each record's events the way the OSV spec describes ("Evaluation" in the OSV schema: sort the
events, an ``introduced`` opens an affected interval, ``fixed``/``limit`` close it before the event,
``last_affected`` closes it after the event), and compares versions with an authority per ecosystem:

- PyPI: ``packaging.version.Version`` (the PEP 440 reference implementation);
- Go (SEMVER ranges): a ten-line SemVer 2.0 comparison written here from semver.org §11;
- Debian: ``dpkg --compare-versions`` itself, run as a subprocess.

The packages come from the truth files (dpkg-query, importlib.metadata, go version -m on the unpacked
rootfs), not from tidegate. tidegate must report exactly the advisories this evaluation finds, per package.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support.images import IMAGES, SHARED, load_truth

VULNDATA = SHARED / "vulndata"

pytestmark = pytest.mark.skipif(not VULNDATA.is_dir(), reason="../shared/vulndata is not present")


# -- the independent evaluation ----------------------------------------------------------------------------
def osv_records(ecosystem_dir: str) -> Iterator[dict[str, Any]]:
    """Every record of ../shared/vulndata/osv/<dir>/all.zip, skipping withdrawn ones (OSV: never match)."""
    with zipfile.ZipFile(VULNDATA / "osv" / ecosystem_dir / "all.zip") as zf:
        for name in zf.namelist():
            record = json.loads(zf.read(name))
            if not record.get("withdrawn"):
                yield record


def semver_key(v: str) -> tuple[Any, ...]:
    """SemVer 2.0 precedence (semver.org §11): numeric core, then a release sorts after its prereleases,
    prerelease identifiers compare numerically when numeric, else as ASCII, numeric < alphanumeric."""
    v = v.removeprefix("v").split("+", 1)[0]
    core, _, pre = v.partition("-")
    major, minor, patch = (int(x) for x in core.split("."))
    if not pre:
        return (major, minor, patch, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (major, minor, patch, 0, ids)


@functools.cache
def dpkg_lt(a: str, b: str) -> bool:
    """``dpkg --compare-versions a lt b``."""
    return subprocess.run(["dpkg", "--compare-versions", a, "lt", b], check=False).returncode == 0


def in_range(events: list[dict[str, str]], version: str, lt: Callable[[str, str], bool]) -> bool:
    """The OSV spec's evaluation of one range for one version, with `lt` as the ordering."""
    def compare(x: dict[str, str], y: dict[str, str]) -> int:
        a, b = next(iter(x.values())), next(iter(y.values()))
        if a == b:
            return 0
        if a == "0" or b == "0":  # "0" (only ever on introduced) sorts before every version
            return -1 if a == "0" else 1
        return -1 if lt(a, b) else 1 if lt(b, a) else 0

    affected = False
    for event in sorted(events, key=functools.cmp_to_key(compare)):
        (kind, at), = event.items()
        if kind == "introduced" and (at == "0" or not lt(version, at)):
            affected = True
        elif kind in ("fixed", "limit") and not lt(version, at):  # noqa: SIM114 - one branch per spec rule
            affected = False
        elif kind == "last_affected" and lt(at, version):
            affected = False
    return affected


def expected_advisories(truth_image: dict[str, Any]) -> dict[tuple[str, str, str], set[str]]:
    """(type, name, version) of each truth package → ids of the records that affect it."""
    out: dict[tuple[str, str, str], set[str]] = {}

    pypi = {canonicalize_name(d["name"]): d["version"] for d in truth_image["python"]["distributions"]}
    for rec in osv_records("PyPI"):
        for aff in rec["affected"]:
            name = canonicalize_name(aff["package"]["name"])
            if aff["package"]["ecosystem"] != "PyPI" or name not in pypi:
                continue
            version = pypi[name]
            hit = version in aff.get("versions", []) or any(
                in_range(r["events"], version, lambda a, b: Version(a) < Version(b))
                for r in aff.get("ranges", []) if r["type"] == "ECOSYSTEM")
            if hit:
                out.setdefault(("pypi", name, version), set()).add(rec["id"])

    modules: dict[str, str] = {}
    stdlib_versions: set[str] = set()
    for binary in truth_image["go"]["binaries"]:
        stdlib_versions.add(binary["go_version"])
        for mod in [binary["main"], *binary["deps"]]:
            modules[mod["path"]] = mod["version"]
    for rec in osv_records("Go"):
        for aff in rec["affected"]:
            name = aff["package"]["name"]
            if name == "stdlib":
                candidates = [("stdlib", v, v.removeprefix("go")) for v in stdlib_versions]
            elif name in modules:
                candidates = [(name, modules[name], modules[name])]
            else:
                continue
            for shown_name, shown_version, semver in candidates:
                if any(in_range(r["events"], semver, lambda a, b: semver_key(a) < semver_key(b))
                       for r in aff.get("ranges", []) if r["type"] == "SEMVER"):
                    out.setdefault(("golang", shown_name, shown_version), set()).add(rec["id"])

    by_source: dict[str, list[dict[str, str]]] = {}
    for p in truth_image["dpkg"]["packages"]:
        by_source.setdefault(p["source_name"], []).append(p)
    for rec in osv_records("Debian"):
        for aff in rec["affected"]:
            if aff["package"]["ecosystem"] != "Debian:12":
                continue
            for p in by_source.get(aff["package"]["name"], []):
                if any(in_range(r["events"], p["source_version"], dpkg_lt) for r in aff.get("ranges", [])):
                    out.setdefault(("deb", p["name"], p["version"]), set()).add(rec["id"])
    return out


# -- tidegate ------------------------------------------------------------------------------------------------
def tidegate_advisories(image: str, db_dir: Path) -> tuple[dict[tuple[str, str, str], set[str]], Any]:
    from tidegate.match.engine import scan_vulnerabilities
    from tidegate.scan.pipeline import build_sbom
    from tidegate.vulndb.store import VulnDb

    sbom = build_sbom(f"oci-archive:{IMAGES / image}.oci.tar")
    with VulnDb.open(db_dir) as db:
        report = scan_vulnerabilities(sbom, db)
    out: dict[tuple[str, str, str], set[str]] = {}
    for f in report.findings:
        out.setdefault((f.package_type, f.package_name, f.package_version), set()).update(f.advisories)
    return out, report


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg --compare-versions is the Debian authority")
def test_bookworm_app_findings_equal_the_independent_evaluation(vulndb: Path) -> None:
    truth = load_truth("bookworm-app")["images"][0]
    expected = expected_advisories(truth)
    found, report = tidegate_advisories("bookworm-app", vulndb)
    # Every ecosystem the issue names is exercised by this image and these feeds.
    assert {k[0] for k in expected} == {"pypi", "golang", "deb"}
    assert ("golang", "stdlib", "go1.26.1") in expected
    assert found == expected
    # One vulnerability is one finding per package: no id is shared by two findings of the same package.
    seen: dict[tuple[str, str], set[str]] = {}
    for f in report.findings:
        ids = set(f.all_ids)
        prior = seen.setdefault((f.package_name, f.package_version), set())
        assert not (prior & ids), (f.package_name, prior & ids)
        prior |= ids


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="dpkg --compare-versions is the Debian authority")
def test_bookworm_patched_has_no_debian_finding(vulndb: Path) -> None:
    truth = load_truth("bookworm-patched")["images"][0]
    expected = expected_advisories(truth)
    found, _ = tidegate_advisories("bookworm-patched", vulndb)
    assert not {k for k in expected if k[0] == "deb"}
    assert not {k for k in found if k[0] == "deb"}
    assert found == expected
