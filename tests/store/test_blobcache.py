"""The persistent layer cache: exact round trip on a real image, corrupt entries are misses, CLI flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.images import IMAGES
from tidegate.cli.main import main
from tidegate.scan.pipeline import scan_image
from tidegate.store.blobcache import DirectoryCache, decode_result, encode_result

APP = f"oci-archive:{IMAGES / 'bookworm-app.oci.tar'}"


def test_round_trip_is_exact_on_a_real_image(tmp_path: Path) -> None:
    result = scan_image(APP)
    for layer in result.filesystem.layers:
        assert decode_result(encode_result(layer)) == layer


def test_second_scan_uses_the_cache_and_gives_the_same_sbom(tmp_path: Path) -> None:
    cache = DirectoryCache(tmp_path / "c")
    first = scan_image(APP, cache=cache).sbom
    assert len(list((tmp_path / "c").rglob("*.json.zst"))) == 6
    second = scan_image(APP, cache=cache).sbom
    assert (first.packages, first.distro, first.unknowns) == (second.packages, second.distro, second.unknowns)


def test_corrupt_or_foreign_entries_are_misses(tmp_path: Path) -> None:
    cache = DirectoryCache(tmp_path / "c")
    scan_image(APP, cache=cache)
    entries = sorted((tmp_path / "c").rglob("*.json.zst"))
    entries[0].write_bytes(b"garbage")
    import zstandard

    evil = {"@": "Popen", "args": ["touch", str(tmp_path / "pwned")]}
    entries[1].write_bytes(zstandard.ZstdCompressor().compress(json.dumps(evil).encode()))
    sbom = scan_image(APP, cache=cache).sbom
    assert len(sbom.packages) == 150
    assert not (tmp_path / "pwned").exists()
    assert all(e.exists() and e.read_bytes()[:4] == b"\x28\xb5\x2f\xfd" for e in entries[:2])  # rewritten


def test_cli_cache_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sbom", APP, "-q", "--cache-dir", str(tmp_path / "cd"), "-f", "json"]) == 0
    assert len(list((tmp_path / "cd").rglob("*.json.zst"))) == 6
    capsys.readouterr()
    assert main(["sbom", APP, "-q", "--no-cache", "--cache-dir", str(tmp_path / "none"), "-f", "json"]) == 0
    assert not (tmp_path / "none").exists()
