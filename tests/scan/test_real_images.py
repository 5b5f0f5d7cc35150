"""End to end on the real images in ../shared/images: package sets, OS, layers and deletions vs *.truth.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from packageurl import PackageURL
from packaging.utils import canonicalize_name

from tests.support.images import IMAGES, build_docker25_archive, load_truth
from tidegate.model.package import DpkgEntry, GoModule, PythonDist
from tidegate.scan.pipeline import ScanOptions, ScanResult, scan_image

_cache: dict[tuple[str, str | None], ScanResult] = {}


def scan(ref: str, platform: str | None = None) -> ScanResult:
    key = (ref, platform)
    if key not in _cache:
        _cache[key] = scan_image(ref, ScanOptions(platform=platform))
    return _cache[key]


def dpkg_set(result: ScanResult) -> set[tuple[str, str, str, str, str]]:
    out = set()
    for p in result.sbom.packages:
        if p.type == "deb":
            m = p.metadata
            assert isinstance(m, DpkgEntry)
            out.add((p.name, p.version, m.source_name, m.source_version, m.architecture))
    return out


def truth_dpkg(image: dict[str, Any]) -> set[tuple[str, str, str, str, str]]:
    return {(p["name"], p["version"], p["source_name"], p["source_version"], p["arch"])
            for p in image["dpkg"]["packages"]}


def python_set(result: ScanResult) -> set[tuple[str, str, str, str]]:
    out = set()
    for p in result.sbom.packages:
        if p.type == "pypi":
            assert isinstance(p.metadata, PythonDist)
            out.add((p.name, p.version, p.metadata.metadata_dir, p.metadata.installer))
    return out


def truth_python(image: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(canonicalize_name(d["name"]), d["version"], d["metadata_dir"], d["installer"] or "")
            for d in image["python"]["distributions"]}


def go_set(result: ScanResult) -> set[tuple[str, str, str]]:
    out = set()
    for p in result.sbom.packages:
        if p.type == "golang":
            assert isinstance(p.metadata, GoModule)
            out.add((p.metadata.binary_path, p.metadata.module_path, p.version))
    return out


def truth_go(image: dict[str, Any]) -> set[tuple[str, str, str]]:
    out = set()
    for b in image["go"]["binaries"]:
        out.add((b["path"], b["main"]["path"], b["main"]["version"] or "(devel)"))
        out.update((b["path"], d["path"], d["version"]) for d in b["deps"])
    return out


def npm_set(result: ScanResult) -> set[tuple[str, str]]:
    return {(p.name, p.version) for p in result.sbom.packages if p.type == "npm"}


def assert_matches_truth(result: ScanResult, image: dict[str, Any]) -> None:
    sbom = result.sbom
    assert dpkg_set(result) == truth_dpkg(image)
    assert python_set(result) == truth_python(image)
    assert go_set(result) == truth_go(image)
    assert npm_set(result) == {(p["name"], p["version"]) for p in image["npm"]["packages"]}
    counts = image["counts"]
    assert sum(p.type == "deb" for p in sbom.packages) == counts["dpkg"]
    assert sum(p.type == "pypi" for p in sbom.packages) == counts["python"]
    assert sum(p.type == "golang" for p in sbom.packages) == counts["go_modules"]
    # The OS
    assert sbom.distro is not None
    assert (sbom.distro.id, sbom.distro.version_id, sbom.distro.codename) == (
        image["os"]["ID"], image["os"]["VERSION_ID"], image["os"]["VERSION_CODENAME"])
    # Layers and history
    assert [layer.diff_id for layer in sbom.image.layers] == [layer["diff_id"] for layer in image["layers"]]
    assert sbom.image.config_digest == image["config_digest"]
    assert sbom.image.user == (image["config"]["User"] or "")
    # Every package knows the layer it came from, and that layer's diff_id.
    diff_ids = [layer["diff_id"] for layer in image["layers"]]
    for p in sbom.packages:
        loc = p.locations[0]
        assert loc.diff_id == diff_ids[loc.layer_index]
        assert result.filesystem.is_visible(loc.path, loc.layer_index)
    # OS purls carry the distro
    for p in sbom.packages:
        if p.type == "deb":
            purl = PackageURL.from_string(p.purl)
            assert (purl.type, purl.namespace, purl.name, purl.version) == ("deb", "debian", p.name, p.version)
            assert purl.qualifiers["distro"] == f"debian-{image['os']['VERSION_ID']}"


def assert_layer_facts(result: ScanResult, image: dict[str, Any]) -> None:
    fs = result.filesystem
    for facts in image["layer_facts"]:
        i = facts["index"]
        assert sorted(result.filesystem.layers[i].whiteouts) == sorted(facts["whiteouts"])
        assert sorted(result.filesystem.layers[i].opaque_dirs) == sorted(facts["opaque_whiteouts"])
        paths = fs.layer_paths(i)
        for link in facts["hardlinks"]:
            assert paths[link["path"]].kind == "hardlink" and paths[link["path"]].linkname == link["target"]
    for f in image["setuid_setgid_files"]:
        rec = fs.get(f["path"])
        assert rec is not None and oct(rec.entry.mode & 0o7777) == f["mode"], f["path"]
        assert (rec.entry.uid, rec.entry.gid) == (f["uid"], f["gid"])
    assert fs.resolve("/etc/os-release") == "/usr/lib/os-release"


@pytest.mark.parametrize("name", ["bookworm-app", "bookworm-patched", "distroless-py"])
def test_oci_archive_matches_truth(name: str) -> None:
    truth = load_truth(name)
    image = truth["images"][0]
    result = scan(f"oci-archive:{IMAGES / (name + '.oci.tar')}")
    assert result.sbom.image.manifest_digest == image["manifest_digest"]
    assert_matches_truth(result, image)
    assert_layer_facts(result, image)


def test_classic_docker_archive_matches_truth() -> None:
    truth = load_truth("distroless-py")
    image = truth["images"][0]
    result = scan(f"docker-archive:{IMAGES / 'distroless-py.docker.tar'}")
    assert_matches_truth(result, image)
    assert result.sbom.image.manifest_digest is None  # classic docker save has no registry manifest
    assert result.sbom.image.config_digest == truth["docker_archive"]["image_id"]
    assert result.sbom.image.repo_tags == ("corpus/distroless-py:1",)
    # Same packages as from the OCI archive of the same image.
    oci = scan(f"oci-archive:{IMAGES / 'distroless-py.oci.tar'}")
    assert [(p.purl, p.locations[0].path) for p in oci.sbom.packages] == \
        [(p.purl, p.locations[0].path) for p in result.sbom.packages]


def test_bare_path_is_sniffed() -> None:
    a = scan(str(IMAGES / "distroless-py.docker.tar"))
    assert a.sbom.image.transport == "docker-archive"
    b = scan(str(IMAGES / "distroless-py.oci.tar"))
    assert b.sbom.image.transport == "oci-archive"


def test_docker25_layout_gives_the_same_results(tmp_path: Path) -> None:
    truth = load_truth("bookworm-app")
    image = truth["images"][0]
    archive = build_docker25_archive(IMAGES / "bookworm-app.oci.tar", tmp_path / "d25.tar", "corpus/bookworm-app:1")
    result = scan_image(f"docker-archive:{archive}")
    assert result.sbom.image.manifest_digest == image["manifest_digest"]
    assert result.sbom.image.repo_tags == ("corpus/bookworm-app:1",)
    assert_matches_truth(result, image)
    oci = scan(f"oci-archive:{IMAGES / 'bookworm-app.oci.tar'}")
    assert [p.purl for p in oci.sbom.packages] == [p.purl for p in result.sbom.packages]


def test_deleted_secret_is_in_its_layer_but_not_squashed() -> None:
    truth = load_truth("bookworm-app")
    image = truth["images"][0]
    result = scan(f"oci-archive:{IMAGES / 'bookworm-app.oci.tar'}")
    fs = result.filesystem
    planted = [s for s in image["secrets"]["planted"] if s.get("deleted_later")]
    assert planted
    for s in planted:
        assert not fs.exists(s["path"])
        assert s["path"] in fs.layer_paths(s["layer_index"])
        assert fs.history(s["path"]) == [(s["layer_index"], "file")] + [(i, "whiteout") for i in s["deleted_in_layers"]]
        assert (s["path"], s["layer_index"]) in fs.hidden_files()
    kept = [s for s in image["secrets"]["planted"] if s.get("present_in_final_rootfs")]
    for s in kept:
        assert fs.exists(s["path"])


@pytest.mark.parametrize("platform, index", [(None, 0), ("linux/amd64", 0), ("linux/arm64", 1),
                                             ("linux/arm64/v8", 1)])
def test_index_platform_selection(platform: str | None, index: int) -> None:
    truth = load_truth("bookworm-app-index")
    image = truth["images"][index]
    result = scan(f"oci-archive:{IMAGES / 'bookworm-app-index.oci.tar'}", platform)
    assert result.sbom.image.manifest_digest == image["manifest_digest"]
    assert result.sbom.image.index_digest == truth["index"]["digest"]
    assert result.sbom.image.architecture == image["platform"]["architecture"]
    assert_matches_truth(result, image)


def test_index_unknown_platform_is_an_error() -> None:
    from tidegate.errors import PlatformNotFound

    with pytest.raises(PlatformNotFound, match="linux/s390x.*linux/amd64"):
        scan_image(f"oci-archive:{IMAGES / 'bookworm-app-index.oci.tar'}", ScanOptions(platform="linux/s390x"))
