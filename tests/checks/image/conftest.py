"""Builders for `ImageTarget`s from plain data, and a reader for the real configs in ../shared/images.

    t = image_target(config={"User": "root"}, history=steps("RUN /bin/sh -c apt-get update"),
                     files=[f("/usr/bin/su", mode=0o4755)], packages=[pkg("sudo")])

The real-image reader uses only tarfile + json (index.json → manifest → config blob), never tidegate's own
image code.
"""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.support.images import IMAGES
from tidegate.checks.base import HistoryStep, ImageFile, ImageTarget
from tidegate.model.finding import CheckFinding
from tidegate.model.location import Location
from tidegate.model.package import Package
from tidegate.model.sbom import ImageInfo, LayerInfo

N_LAYERS = 6
"""Layers of a synthetic image unless a test says otherwise."""


def diff_id(i: int) -> str:
    """A made-up, recognisable diff_id for layer `i`."""
    return "sha256:" + f"{i:02d}" * 32


def created_by(i: int) -> str:
    """The made-up step of layer `i`."""
    return f"RUN /bin/sh -c step-{i} # buildkit"


def image_info(*, layers: Iterable[tuple[str, str | None]] | None = None, reference: str = "oci-archive:x.tar:1",
               tag: str | None = "1", user: str = "", labels: Mapping[str, str] | None = None) -> ImageInfo:
    """An `ImageInfo`; `layers` are (diff_id, created_by) pairs (default: `N_LAYERS` made-up ones)."""
    pairs = list(layers) if layers is not None else [(diff_id(i), created_by(i)) for i in range(N_LAYERS)]
    return ImageInfo(reference=reference, transport="oci-archive", name=None, tag=tag, manifest_digest=None,
                     index_digest=None, config_digest="sha256:" + "cc" * 32,
                     manifest_media_type="application/vnd.oci.image.manifest.v1+json", os="linux",
                     architecture="amd64", variant=None,
                     layers=tuple(LayerInfo(index=i, diff_id=d, layer_digest=None, media_type="", size=0,
                                            created_by=c) for i, (d, c) in enumerate(pairs)),
                     user=user, labels=tuple(sorted((labels or {}).items())))


def steps(*entries: str | tuple[str, bool]) -> tuple[HistoryStep, ...]:
    """History steps: a string is a layer-producing step, ``(text, True)`` an empty-layer one."""
    out = []
    layer = 0
    for i, e in enumerate(entries):
        text, empty = (e, False) if isinstance(e, str) else e
        out.append(HistoryStep(index=i, created_by=text, empty_layer=empty, layer_index=None if empty else layer))
        layer += 0 if empty else 1
    return tuple(out)


def f(path: str, kind: str = "file", mode: int = 0o644, size: int = 0, layer: int = 0, uid: int = 0,
      gid: int = 0, linkname: str = "") -> ImageFile:
    """One squashed-view entry."""
    return ImageFile(path=path, kind=kind, mode=mode, uid=uid, gid=gid, size=size, layer_index=layer,
                     linkname=linkname)


def pkg(name: str, version: str = "1.0", type: str = "deb", path: str = "/var/lib/dpkg/status",
        layer: int = 0) -> Package:
    """An installed package located in `path` of `layer`."""
    return Package(name=name, version=version, type=type, purl=f"pkg:{type}/{name}@{version}",
                   cataloger="test", locations=(location(path, layer),))


def location(path: str, layer: int) -> Location:
    """The location `ImageTarget.location` gives for `path` in made-up layer `layer`."""
    return Location(path=path, layer_index=layer, diff_id=diff_id(layer), created_by=created_by(layer))


def image_target(*, config: Mapping[str, Any] | None = None, history: tuple[HistoryStep, ...] = (),
                 files: Iterable[ImageFile] = (), packages: Iterable[Package] = (),
                 info: ImageInfo | None = None) -> ImageTarget:
    """An `ImageTarget` over made-up layers."""
    return ImageTarget(image=info or image_info(), config=dict(config or {}), history=history,
                       files={x.path: x for x in files}, packages=tuple(packages))


def ids(findings: Iterable[CheckFinding]) -> list[str]:
    """Rule ids of `findings`, in order."""
    return [x.rule_id for x in findings]


def read_config(name: str) -> dict[str, Any]:
    """The config document of ../shared/images/NAME.oci.tar (first manifest of index.json)."""
    with tarfile.open(IMAGES / f"{name}.oci.tar") as tar:
        def blob(digest: str) -> dict[str, Any]:
            member = tar.extractfile("blobs/sha256/" + digest.split(":", 1)[1])
            assert member is not None
            data: dict[str, Any] = json.load(member)
            return data

        index_file = tar.extractfile("index.json")
        assert index_file is not None
        manifest = blob(json.load(index_file)["manifests"][0]["digest"])
        return blob(manifest["config"]["digest"])


def real_target(name: str) -> ImageTarget:
    """An `ImageTarget` of a real image's config and history (no files: those come from the scan pipeline)."""
    doc = read_config(name)
    history_doc = doc.get("history", [])
    history = steps(*((h.get("created_by", ""), bool(h.get("empty_layer"))) for h in history_doc))
    layer_steps = [s.created_by for s in history if not s.empty_layer]
    diff_ids = doc["rootfs"]["diff_ids"]
    assert len(layer_steps) == len(diff_ids)
    config = doc.get("config", {})
    info = image_info(layers=zip(diff_ids, layer_steps, strict=True), reference=f"oci-archive:{name}.oci.tar:1",
                      tag="1", user=config.get("User", ""), labels=config.get("Labels") or {})
    return ImageTarget(image=info, config=config, history=history)


def image_path(name: str) -> Path:
    """../shared/images/NAME.oci.tar."""
    return IMAGES / f"{name}.oci.tar"


def load_truth(name: str) -> dict[str, Any]:
    """../shared/images/NAME.truth.json."""
    data: dict[str, Any] = json.loads((IMAGES / f"{name}.truth.json").read_text())
    return data
