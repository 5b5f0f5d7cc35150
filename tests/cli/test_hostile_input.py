"""Hostile and broken input: one line on stderr, exit code 2, no traceback, nothing lost."""

from __future__ import annotations

import gzip
import json
import os
import tarfile
import zlib
from pathlib import Path

import pytest

from tests.support.images import IMAGES, OciImage, TarMember, make_tar, sha256
from tidegate.cli.main import main

GOOD_LAYER = make_tar([TarMember("etc/os-release", b"ID=debian\nVERSION_ID=\"12\"\n"),
                       TarMember("var/lib/dpkg/status", b"Package: a\nStatus: install ok installed\nVersion: 1\n"
                                                        b"Architecture: all\n\n")])


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    lines = [line for line in err.splitlines() if not line.startswith("tidegate: hint:")]
    assert len(lines) == 1, err
    assert lines[0].startswith("tidegate: error: ")
    assert "Traceback" not in err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def test_good_synthetic_image_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = OciImage([GOOD_LAYER]).build(tmp_path / "ok.tar")
    code, out, err = run_cli(capsys, "sbom", f"oci-archive:{img}", "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert [p["name"] for p in doc["packages"]] == ["a"]


def test_layer_bytes_do_not_match_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = OciImage([GOOD_LAYER])
    img.build(tmp_path / "x.tar")
    layer_digest = img.blob_digests["layers"][0]
    good = gzip.compress(GOOD_LAYER, mtime=0)
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF  # same size, one flipped byte
    img.build(tmp_path / "x.tar", replace_blob={layer_digest: bytes(bad)})
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{tmp_path / 'x.tar'}")
    assert_one_line_error(code, err, "layer 0", layer_digest)


def test_layer_content_does_not_match_diff_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def lie(state: dict) -> None:
        state["config"]["rootfs"]["diff_ids"][0] = sha256(b"something else")

    img = OciImage([GOOD_LAYER]).build(tmp_path / "x.tar", mutate=lie)
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{img}")
    assert_one_line_error(code, err, "diff_id", sha256(b"something else"))


def test_config_does_not_match_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = OciImage([GOOD_LAYER])
    img.build(tmp_path / "x.tar")
    img.build(tmp_path / "x.tar", replace_blob={img.blob_digests["config"]: b'{"evil": true}'})
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{tmp_path / 'x.tar'}")
    assert_one_line_error(code, err, "config")


@pytest.mark.parametrize("where", ["layer-middle", "manifest-middle", "after-last-header"])
def test_truncated_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str) -> None:
    img = OciImage([GOOD_LAYER, make_tar([TarMember("big", os.urandom(200_000))])])
    full = img.build(tmp_path / "full.tar")
    with tarfile.open(full) as tf:
        members = {m.name: m for m in tf}
    big = members["blobs/sha256/" + img.blob_digests["layers"][1].split(":")[1]]
    manifest = members["blobs/sha256/" + img.manifest_digest.split(":")[1]]
    last = max(members.values(), key=lambda m: m.offset)
    cut = {"layer-middle": big.offset_data + big.size // 2,
           "manifest-middle": manifest.offset_data + manifest.size // 2,
           "after-last-header": last.offset_data}[where]
    (tmp_path / "cut.tar").write_bytes(full.read_bytes()[:cut])
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{tmp_path / 'cut.tar'}")
    assert_one_line_error(code, err)


def test_truncated_real_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = IMAGES / "distroless-py.oci.tar"
    with src.open("rb") as f:
        (tmp_path / "cut.tar").write_bytes(f.read(src.stat().st_size - 300_000))
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{tmp_path / 'cut.tar'}")
    assert_one_line_error(code, err)


def test_missing_blob(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = OciImage([GOOD_LAYER])
    img.build(tmp_path / "x.tar")
    img.build(tmp_path / "x.tar", drop_blob=img.blob_digests["layers"][0])
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{tmp_path / 'x.tar'}")
    assert_one_line_error(code, err, "missing", img.blob_digests["layers"][0].split(":")[1])


def test_manifest_is_not_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = OciImage([GOOD_LAYER]).build(tmp_path / "x.tar", manifest_bytes=b"{this is not json")
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{img}")
    assert_one_line_error(code, err, "not valid JSON")


@pytest.mark.parametrize("manifest, needle", [
    ({"schemaVersion": 2, "mediaType": "application/vnd.example.thing+json", "layers": []}, "unsupported manifest"),
    ({"schemaVersion": 1, "name": "x", "tag": "y", "fsLayers": []}, "schema 1"),
    ({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}, "config"),
])
def test_malformed_or_unknown_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str], manifest: dict,
                                       needle: str) -> None:
    img = OciImage([GOOD_LAYER]).build(tmp_path / "x.tar", manifest_bytes=json.dumps(manifest).encode())
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{img}")
    assert_one_line_error(code, err, needle)


def test_unknown_layer_media_type(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = OciImage([GOOD_LAYER], layer_media_type="application/vnd.example.blob").build(tmp_path / "x.tar")
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{img}")
    assert_one_line_error(code, err, "unsupported media type", "application/vnd.example.blob")


@pytest.mark.parametrize("member", [
    TarMember("../../etc/evil", b"x"),
    TarMember("usr/../../etc/evil", b"x"),
    TarMember("etc/evil", type=tarfile.SYMTYPE, linkname="../../../../etc/shadow"),
    TarMember("etc/evil", type=tarfile.SYMTYPE, linkname="/../../etc/shadow"),
    TarMember("etc/evil", type=tarfile.LNKTYPE, linkname="../../etc/shadow"),
])
def test_path_traversal_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], member: TarMember) -> None:
    img = OciImage([make_tar([TarMember("etc/ok", b"ok"), member])]).build(tmp_path / "x.tar")
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{img}")
    assert_one_line_error(code, err, "layer 0")
    assert "outside the image root" in err or "'..'" in err


def test_absolute_symlink_inside_root_is_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layer = make_tar([TarMember("usr/lib/os-release", b"ID=debian\n"),
                      TarMember("etc/os-release", type=tarfile.SYMTYPE, linkname="/usr/lib/os-release")])
    img = OciImage([layer]).build(tmp_path / "x.tar")
    code, out, err = run_cli(capsys, "sbom", f"oci-archive:{img}", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["distro"]["id"] == "debian"


def _zeros_gzip(total: int) -> bytes:
    """A gzip member of a tar holding one file of `total` zero bytes, built without holding it in memory."""
    header = tarfile.TarInfo("zeros")
    header.size = total
    head = header.tobuf(format=tarfile.PAX_FORMAT)
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [co.compress(head)]
    chunk = bytes(1024 * 1024)
    for _ in range(total // len(chunk)):
        out.append(co.compress(chunk))
    out.append(co.compress(bytes(1024)))  # end-of-archive blocks
    out.append(co.flush())
    return b"".join(out)


def test_gzip_bomb_default_limits(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bomb = _zeros_gzip(320 * 1024 * 1024)
    assert len(bomb) < 1024 * 1024  # a small layer…
    img = OciImage([b"placeholder"], compress=lambda _: bomb)

    def fix(state: dict) -> None:
        state["config"]["rootfs"]["diff_ids"] = [sha256(b"unknown")]

    img.build(tmp_path / "bomb.tar", mutate=fix)
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{tmp_path / 'bomb.tar'}")
    assert_one_line_error(code, err, "ratio", "decompression bomb")


def test_layer_size_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layer = make_tar([TarMember("big", bytes(8 * 1024 * 1024))])
    img = OciImage([layer]).build(tmp_path / "x.tar")
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{img}", "--max-layer-size", "4M")
    assert_one_line_error(code, err, "layer limit")


def test_not_an_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "junk.tar").write_bytes(b"\x00garbage" * 1000)
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{tmp_path / 'junk.tar'}")
    assert_one_line_error(code, err)
    code, _, err = run_cli(capsys, "sbom", f"docker-archive:{tmp_path / 'missing.tar'}")
    assert_one_line_error(code, err, "no such file")


def test_index_json_garbage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "x.tar").write_bytes(make_tar([TarMember("oci-layout", b"{}"), TarMember("index.json", b"[1,2")]))
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{tmp_path / 'x.tar'}")
    assert_one_line_error(code, err, "index.json")


@pytest.mark.parametrize("argv, needle", [
    (["sbom", "oci-archive:x.tar", "--format", "nope"], "unknown output format"),
    (["sbom", "oci-archive:x.tar", "--platform", "linux"], "--platform"),
    (["sbom", "Bad_Name:tag!"], "invalid image reference"),
    (["sbom", "containers-storage:foo"], "not supported"),
    (["sbom", "x", "--max-layer-size", "lots"], "not a size"),
    (["sbom"], "required"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_usage(capsys: pytest.CaptureFixture[str], argv: list[str], needle: str) -> None:
    with pytest.raises(SystemExit) as e:
        code = main(argv)
        raise SystemExit(code)
    _, err = capsys.readouterr()
    assert_one_line_error(int(e.value.code or 0), err, needle)


def test_failed_scan_does_not_clobber_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sbom.json"
    out.write_text("previous report\n")
    img = OciImage([GOOD_LAYER]).build(tmp_path / "x.tar", manifest_bytes=b"nope")
    code, _, _err = run_cli(capsys, "sbom", f"oci-archive:{img}", "--output", str(out))
    assert code == 2
    assert out.read_text() == "previous report\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tidegate-")] == []


def test_huge_pax_header_is_refused_without_buffering(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A PAX header that declares 64 MiB: refused at a bound instead of being read into memory."""
    size = 64 * 1024 * 1024
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = tarfile.XHDTYPE
    info.size = size
    co = zlib.compressobj(6, zlib.DEFLATED, 31)
    blob = co.compress(info.tobuf(format=tarfile.USTAR_FORMAT))
    filler = (b"x" * 1000 + b"\n") * 1024
    left = size
    while left > 0:
        chunk = filler[: min(left, len(filler))]
        blob += co.compress(chunk)
        left -= len(chunk)
    blob += co.compress(bytes(1024)) + co.flush()
    img = OciImage([b"placeholder"], compress=lambda _: blob)

    def fix(state: dict) -> None:
        state["config"]["rootfs"]["diff_ids"] = [sha256(b"unknown")]

    img.build(tmp_path / "x.tar", mutate=fix)
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{tmp_path / 'x.tar'}")
    assert_one_line_error(code, err, "extended header")


@pytest.mark.parametrize("name", [".wh.", "usr/.wh."])
def test_whiteout_naming_nothing_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str) -> None:
    img = OciImage([GOOD_LAYER, make_tar([TarMember(name)])]).build(tmp_path / "x.tar")
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{img}")
    assert_one_line_error(code, err, "invalid whiteout")


def test_corrupt_header_inside_a_layer_cannot_hide_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tar = bytearray(make_tar([TarMember("etc/a", b"a"), TarMember("var/lib/dpkg/status", b"Package: x\n")]))
    tar[1024 + 148:1024 + 156] = b"garbage!"  # break the second header's checksum; digests are then computed
    img = OciImage([bytes(tar)]).build(tmp_path / "x.tar")
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{img}")
    assert_one_line_error(code, err, "corrupt tar header at offset 1,024")


def test_corrupt_header_inside_the_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = OciImage([GOOD_LAYER]).build(tmp_path / "x.tar")
    data = bytearray(img.read_bytes())
    data[512 + 512 + 148:512 + 512 + 156] = b"garbage!"  # the header after oci-layout's one data block
    img.write_bytes(bytes(data))
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{img}")
    assert_one_line_error(code, err, "corrupt or truncated tar header")


def test_empty_layer_stream_is_an_empty_layer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = OciImage([GOOD_LAYER, b""]).build(tmp_path / "x.tar")
    code, out, err = run_cli(capsys, "sbom", f"oci-archive:{img}", "-f", "json")
    assert code == 0, err
    assert len(json.loads(out)["image"]["layers"]) == 2


def test_fifo_is_not_an_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{fifo}")
    assert_one_line_error(code, err, "not a regular file")
    layout = tmp_path / "layout"
    OciImage([GOOD_LAYER]).build(tmp_path / "x.tar")
    with tarfile.open(tmp_path / "x.tar") as tf:
        tf.extractall(layout, filter="data")
    blob = next(p for p in (layout / "blobs" / "sha256").iterdir() if p.stat().st_size > 200)
    blob.unlink()
    os.mkfifo(blob)
    code, _, err = run_cli(capsys, "sbom", f"oci:{layout}")
    assert_one_line_error(code, err)


def test_layer_entry_limit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    layer = make_tar([TarMember(f"f{i}", b"") for i in range(50)])
    img = OciImage([layer]).build(tmp_path / "x.tar")
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{img}", "--max-layer-entries", "20")
    assert_one_line_error(code, err, "more than 20 entries")
    code, _, err = run_cli(capsys, "sbom", f"oci-archive:{img}", "--max-layer-entries", "50", "-q")
    assert code == 0, err
