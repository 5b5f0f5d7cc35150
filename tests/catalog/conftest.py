"""Shared helpers for the cataloger tests: `FileInput` builders and readers for the real test images.

The image readers use only tarfile + gzip over ``../shared/images/*.oci.tar`` (index.json → manifest →
layers), so the tests never depend on tidegate's own image code and nothing is copied into the repo.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.support.images import IMAGES as _IMAGES
from tidegate.catalog.base import Cataloger, CatalogOutput, FileInput
from tidegate.model.location import Location

TESTDATA = Path(__file__).parent / "testdata"
"""Fixture trees that mirror real image paths (``testdata/<case>/var/lib/dpkg/status``)."""
IMAGES = _IMAGES
"""The shared real test images and their ``*.truth.json``."""
DIFF_ID = "sha256:" + "ab" * 32
"""A made-up diff_id for locations in parser tests."""


def location(path: str, layer_index: int = 0) -> Location:
    """A Location for a parser test."""
    return Location(path=path, layer_index=layer_index, diff_id=DIFF_ID, created_by="RUN test")


def file_input(path: str, data: bytes, mode: int = 0o644, layer_index: int = 0) -> FileInput:
    """A `FileInput` over in-memory bytes, as the layer pass would hand it over."""
    return FileInput(location=location(path, layer_index), data=io.BytesIO(data), size=len(data), mode=mode)


def fixture_input(case: str, image_path: str, mode: int = 0o644) -> FileInput:
    """A `FileInput` for ``testdata/<case><image_path>``, located at `image_path`."""
    data = (TESTDATA / case / image_path.lstrip("/")).read_bytes()
    return file_input(image_path, data, mode)


def claims(cataloger: Cataloger, path: str, mode: int = 0o644, head: bytes = b"") -> bool:
    """Whether `cataloger` claims `path` (pattern match, then `wants`), as the dispatcher decides."""
    from tidegate.catalog.base import glob_to_regex

    matched = any(glob_to_regex(p).match(path) for p in cataloger.patterns)
    return matched and cataloger.wants(path, mode, 0, head[: cataloger.head_bytes])


def run(cataloger: Cataloger, file: FileInput) -> CatalogOutput:
    """Parse and check the invariants every cataloger keeps (locations, cataloger name)."""
    out = cataloger.parse(file)
    for pkg in out.packages:
        assert pkg.locations == (file.location,)
        assert pkg.cataloger == cataloger.name
    for unk in out.unknowns:
        assert unk.location == file.location and unk.source == cataloger.name and unk.reason
    return out


# --- real images ----------------------------------------------------------------------------------------


def _blob(outer: tarfile.TarFile, digest: str) -> bytes:
    member = outer.extractfile("blobs/sha256/" + digest.split(":", 1)[1])
    assert member is not None
    return member.read()


@functools.lru_cache(maxsize=8)
def image_layers(archive: str) -> tuple[str, ...]:
    """Layer blob digests (bottom first) of the single image in an oci-archive."""
    with tarfile.open(IMAGES / archive) as outer:
        index = json.loads(_blob_by_name(outer, "index.json"))
        manifest = json.loads(_blob(outer, index["manifests"][0]["digest"]))
        return tuple(layer["digest"] for layer in manifest["layers"])


def _blob_by_name(outer: tarfile.TarFile, name: str) -> bytes:
    member = outer.extractfile(name)
    assert member is not None
    return member.read()


def layer_files(archive: str, layer_index: int, want: Callable[[str], bool]) -> dict[str, tuple[bytes, int]]:
    """``{"/abs/path": (content, mode)}`` of the regular files in one layer for which `want(path)` holds."""
    digest = image_layers(archive)[layer_index]
    out: dict[str, tuple[bytes, int]] = {}
    with tarfile.open(IMAGES / archive) as outer:
        blob = outer.extractfile("blobs/sha256/" + digest.split(":", 1)[1])
        assert blob is not None
        with gzip.GzipFile(fileobj=blob) as gz, tarfile.open(fileobj=gz, mode="r|") as layer:
            for member in layer:
                name = member.name.removeprefix("./")
                path = "/" + name.lstrip("/")
                if member.isfile() and want(path):
                    f = layer.extractfile(member)
                    assert f is not None
                    out[path] = (f.read(), member.mode)
    return out


def last_layer_with(archive: str, path: str) -> tuple[int, bytes]:
    """(layer index, content) of the topmost layer that carries `path` as a regular file."""
    for index in reversed(range(len(image_layers(archive)))):
        files = layer_files(archive, index, lambda p: p == path)
        if path in files:
            return index, files[path][0]
    raise AssertionError(f"{path} is in no layer of {archive}")


@functools.lru_cache(maxsize=8)
def truth(name: str) -> dict[str, Any]:
    """``images[0]`` of ``<name>.truth.json``."""
    image: dict[str, Any] = json.loads((IMAGES / f"{name}.truth.json").read_text())["images"][0]
    return image
