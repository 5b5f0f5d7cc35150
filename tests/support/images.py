"""Test images: the real ones in ../shared/images with their truth, and a factory for small hostile ones.

    truth = load_truth("bookworm-app")
    path = build_oci_archive(tmp_path / "x.tar", [[TarMember("etc/os-release", b"ID=debian\n")]])
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
IMAGES = SHARED / "images"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


def load_truth(name: str) -> dict[str, Any]:
    """The ground truth of ../shared/images/NAME.truth.json."""
    return json.loads((IMAGES / f"{name}.truth.json").read_text())


def sha256(data: bytes) -> str:
    """``sha256:<hex>`` of data."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass
class TarMember:
    """One member of a synthetic layer."""

    name: str
    data: bytes = b""
    type: bytes = tarfile.REGTYPE
    linkname: str = ""
    mode: int = 0o644


def make_tar(members: list[TarMember]) -> bytes:
    """An uncompressed tar of `members`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = m.type
            info.mode = m.mode
            info.linkname = m.linkname
            info.mtime = 1735689600
            if m.type == tarfile.REGTYPE:
                info.size = len(m.data)
                tf.addfile(info, io.BytesIO(m.data))
            else:
                tf.addfile(info)
    return buf.getvalue()


@dataclass
class Blob:
    """A blob to place in the layout."""

    data: bytes
    media_type: str
    digest: str = ""

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest or sha256(self.data), "size": len(self.data)}


@dataclass
class OciImage:
    """A tiny OCI image, with hooks to break it on purpose."""

    layers: list[bytes]
    """Uncompressed layer tars."""
    compress: Callable[[bytes], bytes] = field(default=lambda b: gzip.compress(b, mtime=0))
    layer_media_type: str = OCI_LAYER_GZIP
    config_extra: dict[str, Any] = field(default_factory=dict)

    def build(self, path: Path, *, mutate: Callable[[dict[str, Any]], None] | None = None,
              manifest_bytes: bytes | None = None, drop_blob: str | None = None,
              replace_blob: dict[str, bytes] | None = None, truncate: int | None = None) -> Path:
        """Write an OCI archive; `mutate` edits {config, manifest, blobs} before digests are final."""
        blobs: dict[str, bytes] = {}
        compressed = [self.compress(layer) for layer in self.layers]
        config = {"architecture": "amd64", "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": [sha256(layer) for layer in self.layers]},
                  "history": [{"created_by": f"step {i}"} for i in range(len(self.layers))],
                  "config": {}, **self.config_extra}
        state: dict[str, Any] = {"config": config, "layers": compressed}
        if mutate:
            mutate(state)
        cfg_bytes = json.dumps(state["config"]).encode()
        blobs[sha256(cfg_bytes)] = cfg_bytes
        layer_descs = []
        for c in state["layers"]:
            blobs[sha256(c)] = c
            layer_descs.append({"mediaType": self.layer_media_type, "digest": sha256(c), "size": len(c)})
        manifest = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                    "config": {"mediaType": OCI_CONFIG, "digest": sha256(cfg_bytes), "size": len(cfg_bytes)},
                    "layers": layer_descs}
        mbytes = manifest_bytes if manifest_bytes is not None else json.dumps(manifest).encode()
        mdigest = sha256(mbytes)
        blobs[mdigest] = mbytes
        index = {"schemaVersion": 2, "manifests": [{"mediaType": OCI_MANIFEST, "digest": mdigest,
                                                     "size": len(mbytes),
                                                     "annotations": {"org.opencontainers.image.ref.name": "1"}}]}
        for d, data in (replace_blob or {}).items():
            blobs[d] = data
        if drop_blob:
            blobs.pop(drop_blob)
        files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}', "index.json": json.dumps(index).encode()}
        files.update({f"blobs/sha256/{d.split(':')[1]}": b for d, b in blobs.items()})
        data = make_tar([TarMember(n, b) for n, b in files.items()])
        if truncate is not None:
            data = data[:truncate]
        path.write_bytes(data)
        self.manifest_digest = mdigest
        self.blob_digests = {"config": sha256(cfg_bytes), "layers": [sha256(c) for c in state["layers"]]}
        return path


def read_oci_archive(path: Path) -> dict[str, bytes]:
    """All members of an OCI archive, by name."""
    out = {}
    with tarfile.open(path) as tf:
        for m in tf:
            if m.isreg():
                f = tf.extractfile(m)
                assert f is not None
                out[m.name.removeprefix("./")] = f.read()
    return out


def build_docker25_archive(oci_archive: Path, dest: Path, repo_tag: str) -> Path:
    """The Docker 25+ ``docker save`` layout: manifest.json + repositories beside an OCI layout with
    compressed blobs (images/README.md "Formats")."""
    files = read_oci_archive(oci_archive)
    index = json.loads(files["index.json"])
    mdesc = index["manifests"][0]
    manifest = json.loads(files["blobs/sha256/" + mdesc["digest"].split(":")[1]])
    repo, tag = repo_tag.rsplit(":", 1)
    mdesc.setdefault("annotations", {})
    mdesc["annotations"]["io.containerd.image.name"] = f"docker.io/{repo_tag}"
    mdesc["annotations"]["org.opencontainers.image.ref.name"] = tag
    files["index.json"] = json.dumps(index).encode()
    files["manifest.json"] = json.dumps([{
        "Config": "blobs/sha256/" + manifest["config"]["digest"].split(":")[1],
        "RepoTags": [repo_tag],
        "Layers": ["blobs/sha256/" + layer["digest"].split(":")[1] for layer in manifest["layers"]],
        "LayerSources": {},
    }]).encode()
    files["repositories"] = json.dumps({repo: {tag: mdesc["digest"].split(":")[1]}}).encode()
    dest.write_bytes(make_tar([TarMember(n, b) for n, b in sorted(files.items())]))
    return dest
