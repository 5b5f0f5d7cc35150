"""The single-pass engine on synthetic layers: compression kinds, whiteouts, links, bounded memory."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import zstandard

from tests.support.images import OciImage, TarMember, make_tar
from tidegate.scan.pipeline import scan_image

OS_RELEASE = TarMember("usr/lib/os-release", b'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n')
LINK = TarMember("etc/os-release", type=tarfile.SYMTYPE, linkname="../usr/lib/os-release")


def dpkg(*names: str) -> TarMember:
    body = "".join(f"Package: {n}\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n" for n in names)
    return TarMember("var/lib/dpkg/status", body.encode())


@pytest.mark.parametrize("media_type, compress", [
    ("application/vnd.oci.image.layer.v1.tar+gzip", lambda b: gzip.compress(b, mtime=0)),
    ("application/vnd.oci.image.layer.v1.tar+gzip",  # multi-member gzip, as pigz/parallel writers produce
     lambda b: gzip.compress(b[: len(b) // 2], mtime=0) + gzip.compress(b[len(b) // 2:], mtime=0)),
    ("application/vnd.oci.image.layer.v1.tar+zstd", lambda b: zstandard.ZstdCompressor().compress(b)),
    ("application/vnd.oci.image.layer.v1.tar+zstd",  # two zstd frames
     lambda b: zstandard.ZstdCompressor().compress(b[:700]) + zstandard.ZstdCompressor().compress(b[700:])),
    ("application/vnd.oci.image.layer.v1.tar", lambda b: b),
    ("application/vnd.docker.image.rootfs.diff.tar.gzip", lambda b: gzip.compress(b, mtime=0)),
])
def test_compression_kinds(tmp_path: Path, media_type: str, compress) -> None:
    layers = [make_tar([OS_RELEASE, LINK, dpkg("a", "b")]), make_tar([TarMember("usr/bin/x", b"x" * 5000)])]
    img = OciImage(layers, compress=compress, layer_media_type=media_type).build(tmp_path / "x.tar")
    sbom = scan_image(f"oci-archive:{img}").sbom
    assert [p.name for p in sbom.packages] == ["a", "b"]
    assert sbom.distro is not None and sbom.distro.codename == "bookworm"


def test_whiteouts_opaque_dirs_and_replacement(tmp_path: Path) -> None:
    base = make_tar([OS_RELEASE, LINK, dpkg("a", "b"),
                     TarMember("opt/app/lib/site-packages/foo-1.0.dist-info/METADATA",
                               b"Metadata-Version: 2.1\nName: Foo\nVersion: 1.0\n"),
                     TarMember("srv/data/bar-2.0.dist-info/METADATA", b"Name: bar\nVersion: 2.0\n")])
    upper = make_tar([
        TarMember("opt/app/lib/site-packages/.wh.foo-1.0.dist-info"),      # whiteout of a whole directory
        TarMember("srv/data/.wh..wh..opq"),                               # opaque: hides bar, keeps new files
        TarMember("srv/data/baz-3.0.dist-info/METADATA", b"Name: baz\nVersion: 3.0\n"),
        dpkg("a"),                                                         # replaces the status file
    ])
    result = scan_image(f"oci-archive:{OciImage([base, upper]).build(tmp_path / 'x.tar')}")
    names = sorted((p.type, p.name, p.layer_index) for p in result.sbom.packages)
    assert names == [("deb", "a", 1), ("pypi", "baz", 1)]
    fs = result.filesystem
    assert not fs.exists("/opt/app/lib/site-packages/foo-1.0.dist-info/METADATA")
    assert fs.history("/srv/data/bar-2.0.dist-info/METADATA") == [(0, "file"), (1, "opaque-hidden")]
    assert ("/var/lib/dpkg/status", 0) in fs.hidden_files()


def test_symlink_loops_and_chains(tmp_path: Path) -> None:
    layer = make_tar([
        TarMember("a", type=tarfile.SYMTYPE, linkname="b"),
        TarMember("b", type=tarfile.SYMTYPE, linkname="a"),
        TarMember("usr/lib/real", b"ID=alpine\n"),
        TarMember("x", type=tarfile.SYMTYPE, linkname="/usr/lib"),
        TarMember("etc/os-release", type=tarfile.SYMTYPE, linkname="../x/real"),
        TarMember("self", type=tarfile.SYMTYPE, linkname="self"),
    ])
    result = scan_image(f"oci-archive:{OciImage([layer]).build(tmp_path / 'x.tar')}")
    fs = result.filesystem
    assert fs.resolve("/a") is None and fs.resolve("/self/x") is None
    assert fs.resolve("/etc/os-release") == "/usr/lib/real"
    # os-release is only read at its fixed paths; a file elsewhere reached through links is not cataloged there.
    assert result.sbom.distro is None


def test_hardlinked_metadata_is_found_at_both_paths(tmp_path: Path) -> None:
    meta = b"Metadata-Version: 2.1\nName: Foo\nVersion: 1.0\n"
    layer = make_tar([TarMember("a/foo-1.0.dist-info/METADATA", meta),
                      TarMember("b/foo-1.0.dist-info/METADATA", type=tarfile.LNKTYPE,
                                linkname="a/foo-1.0.dist-info/METADATA")])
    sbom = scan_image(f"oci-archive:{OciImage([layer]).build(tmp_path / 'x.tar')}").sbom
    assert sorted(p.locations[0].path for p in sbom.packages) == [
        "/a/foo-1.0.dist-info/METADATA", "/b/foo-1.0.dist-info/METADATA"]


def _big_uncompressed_image(path: Path, size: int) -> None:
    """An OCI archive whose single uncompressed layer holds one `size`-byte file of zeros, built in O(1) memory."""
    info = tarfile.TarInfo("data/huge.bin")
    info.size = size
    header = info.tobuf(format=tarfile.PAX_FORMAT)
    pad = (512 - size % 512) % 512
    layer_len = len(header) + size + pad + 1024
    h = hashlib.sha256(header)
    zeros = bytes(1 << 20)
    left = size + pad + 1024
    while left:
        n = min(left, len(zeros))
        h.update(zeros[:n])
        left -= n
    diff_id = "sha256:" + h.hexdigest()
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    cfg_d = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_d,
                                      "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": diff_id,
                                       "size": layer_len}]}).encode()
    man_d = "sha256:" + hashlib.sha256(manifest).hexdigest()
    index = json.dumps({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                           "digest": man_d, "size": len(manifest)}]}).encode()
    with path.open("wb") as f:
        def member(name: str, data: bytes | None, length: int) -> None:
            ti = tarfile.TarInfo(name)
            ti.size = length
            f.write(ti.tobuf(format=tarfile.GNU_FORMAT))
            if data is not None:
                f.write(data)
            else:  # the layer: its header, then zeros written as a hole
                f.write(header)
                f.seek(size + pad + 1024, os.SEEK_CUR)
            f.write(bytes((512 - length % 512) % 512))
        member("oci-layout", b'{"imageLayoutVersion":"1.0.0"}', 30)
        member("index.json", index, len(index))
        member(f"blobs/sha256/{man_d[7:]}", manifest, len(manifest))
        member(f"blobs/sha256/{cfg_d[7:]}", config, len(config))
        member(f"blobs/sha256/{diff_id[7:]}", None, layer_len)
        f.write(bytes(1024))


def test_memory_stays_bounded_on_a_large_layer(tmp_path: Path) -> None:
    size = 768 * 1024 * 1024
    img = tmp_path / "big.tar"
    _big_uncompressed_image(img, size)
    # A fresh parent whose only child is tidegate, so RUSAGE_CHILDREN's peak is tidegate's alone.
    probe = ("import resource, subprocess, sys; "
             "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
             "sys.stderr.write(p.stderr); sys.stdout.write(p.stdout); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(p.returncode)")
    proc = subprocess.run([sys.executable, "-c", probe, sys.executable, "-m", "tidegate", "sbom",
                           f"oci-archive:{img}", "-f", "json", "-q"], check=False, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    peak_kib = int(proc.stderr.strip().splitlines()[-1])
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib} KiB while reading a {size >> 20} MiB layer"
    doc = json.loads(proc.stdout)
    assert doc["image"]["layers"][0]["size"] > size


def test_layer_results_are_cacheable(tmp_path: Path) -> None:
    """A cache hit (same diff_id, same cataloger versions) means the layer is not read at all."""
    from tidegate.errors import BlobNotFound
    from tidegate.scan.cache import MemoryCache

    layers = [make_tar([OS_RELEASE, LINK, dpkg("a")])]
    cache = MemoryCache()
    first = scan_image(f"oci-archive:{OciImage(layers).build(tmp_path / 'x.tar')}", cache=cache).sbom
    img = OciImage(layers)
    img.build(tmp_path / "y.tar")
    img.build(tmp_path / "y.tar", drop_blob=img.blob_digests["layers"][0])
    with pytest.raises(BlobNotFound):
        scan_image(f"oci-archive:{tmp_path / 'y.tar'}")
    second = scan_image(f"oci-archive:{tmp_path / 'y.tar'}", cache=cache).sbom
    assert [p.purl for p in first.packages] == [p.purl for p in second.packages] != []


def test_a_later_duplicate_in_the_same_layer_wins(tmp_path: Path) -> None:
    layer = make_tar([OS_RELEASE, LINK, dpkg("old"), dpkg("new"),
                      TarMember("x/a-1.dist-info/METADATA", b"Name: a\nVersion: 1\n"),
                      TarMember("x/a-1.dist-info/METADATA", b"Name: a\nVersion: 2\n")])
    sbom = scan_image(f"oci-archive:{OciImage([layer]).build(tmp_path / 'x.tar')}").sbom
    assert sorted((p.name, p.version) for p in sbom.packages) == [("a", "2"), ("new", "1.0")]


def test_file_replaced_by_a_directory_in_the_same_layer(tmp_path: Path) -> None:
    layer = make_tar([OS_RELEASE, dpkg("a"), TarMember("var/lib/dpkg/status", type=tarfile.DIRTYPE, mode=0o755)])
    sbom = scan_image(f"oci-archive:{OciImage([layer]).build(tmp_path / 'x.tar')}").sbom
    assert sbom.packages == ()


def test_implicit_parent_replaced_by_a_symlink(tmp_path: Path) -> None:
    lower = make_tar([OS_RELEASE, dpkg("a")])  # no explicit /var/lib directory entries
    upper = make_tar([TarMember("var/lib", type=tarfile.SYMTYPE, linkname="/nowhere")])
    result = scan_image(f"oci-archive:{OciImage([lower, upper]).build(tmp_path / 'x.tar')}")
    assert result.sbom.packages == ()
    assert not result.filesystem.exists("/var/lib/dpkg/status")


@pytest.mark.parametrize("links", [
    [TarMember("var/lib/dpkg/status", type=tarfile.SYMTYPE, linkname="/opt/real/status")],
    [TarMember("var/lib/dpkg", type=tarfile.SYMTYPE, linkname="/opt/real")],
])
def test_package_database_behind_a_symlink_is_reported(tmp_path: Path, links: list[TarMember]) -> None:
    real = TarMember("opt/real/status", dpkg("a").data)
    layer = make_tar([OS_RELEASE, real, *links])
    sbom = scan_image(f"oci-archive:{OciImage([layer]).build(tmp_path / 'x.tar')}").sbom
    assert sbom.packages == ()
    assert [(u.source, u.location.path if u.location else None) for u in sbom.unknowns] == [
        ("dpkg-status", "/var/lib/dpkg/status")]
    assert "/opt/real/status" in sbom.unknowns[0].reason
