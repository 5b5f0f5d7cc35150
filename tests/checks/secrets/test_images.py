"""The scanner on the real images of ../shared/images against their truth files."""

from __future__ import annotations

import gzip
import json
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.images import IMAGES, load_truth
from tidegate.checks.base import HistoryStep, ImageTarget
from tidegate.checks.secrets import ConfigSecretsCheck, SecretScanner
from tidegate.checks.secrets.scanner import HEAD_BYTES
from tidegate.model.sbom import ImageInfo, LayerInfo

KIND_TO_RULE = {"aws-access-key-id": "TG-SEC-001", "aws-secret-access-key": "TG-SEC-002", "github-pat": "TG-SEC-003",
                "config-env": "TG-SEC-024"}
"""How the truth file's kinds map to our rule ids."""


def _oci(name: str) -> tuple[tarfile.TarFile, dict[str, Any], dict[str, Any]]:
    archive = IMAGES / f"{name}.oci.tar"
    if not archive.is_file():
        pytest.skip(f"{archive} is not present")
    tf = tarfile.open(archive)  # noqa: SIM115 - the caller reads blobs from it; closed with the process
    index = json.loads(tf.extractfile("index.json").read())  # type: ignore[union-attr]
    manifest = json.loads(_blob(tf, index["manifests"][0]["digest"]))
    return tf, manifest, json.loads(_blob(tf, manifest["config"]["digest"]))


def _blob(tf: tarfile.TarFile, digest: str) -> bytes:
    return tf.extractfile("blobs/sha256/" + digest.split(":", 1)[1]).read()  # type: ignore[union-attr]


def _layer_matches(name: str) -> Iterator[tuple[int, str, str, str]]:
    """(layer, path, rule id, masked match) of every regular file of every layer, streamed as the layer pass will."""
    tf, manifest, _ = _oci(name)
    scanner = SecretScanner()
    for i, layer in enumerate(manifest["layers"]):
        f = tf.extractfile("blobs/sha256/" + layer["digest"].split(":", 1)[1])
        assert f is not None
        with gzip.open(f) as raw, tarfile.open(fileobj=raw, mode="r|") as lt:
            for m in lt:
                if not m.isfile():
                    continue
                data = lt.extractfile(m)
                assert data is not None
                head = data.read(HEAD_BYTES)
                if not scanner.wants(m.name, m.size, head):
                    continue
                stream = _Rejoin(head, data)
                for x in scanner.scan_stream("/" + m.name, stream, m.size):  # type: ignore[arg-type]
                    yield i, "/" + m.name, x.rule_id, x.match


class _Rejoin:
    """The head already read, then the rest of the member (as the layer pass hands files over)."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head, self._rest = head, rest

    def read(self, n: int = -1) -> bytes:
        if self._head:
            out, self._head = self._head, b""
            return out
        return bytes(self._rest.read(n))


def _target(name: str) -> ImageTarget:
    _, manifest, config = _oci(name)
    layers = tuple(LayerInfo(i, d, None, "", 0) for i, d in enumerate(config["rootfs"]["diff_ids"]))
    info = ImageInfo(reference=name, transport="oci-archive", name=None, tag=None, manifest_digest=None,
                     index_digest=None, config_digest=manifest["config"]["digest"], manifest_media_type="",
                     os="linux", architecture="amd64", variant=None, layers=layers)
    history = tuple(HistoryStep(i, h.get("created_by", ""), bool(h.get("empty_layer")), None)
                    for i, h in enumerate(config.get("history", [])))
    return ImageTarget(image=info, config=config["config"], history=history)


def test_bookworm_app_layers_have_exactly_the_planted_secrets() -> None:
    truth = load_truth("bookworm-app")["images"][0]["secrets"]
    expected = sorted((p["layer_index"], p["path"], KIND_TO_RULE[p["kind"]]) for p in truth["planted"] if p["path"])
    found = sorted(_layer_matches("bookworm-app"))
    assert [(i, p, r) for i, p, r, _ in found] == expected
    values = [p["match"] for p in truth["planted"]]
    for _, _, _, masked in found:
        assert not any(v in masked or v[4:] in masked for v in values)
    incidental = {x["path"] for x in truth["incidental"]}
    assert not incidental & {p for _, p, _, _ in found}


def test_bookworm_app_config_has_the_env_password() -> None:
    truth = load_truth("bookworm-app")["images"][0]["secrets"]
    [planted] = [p for p in truth["planted"] if p["path"] is None]
    findings = list(ConfigSecretsCheck().evaluate(_target("bookworm-app")))
    assert [(f.rule_id, f.target) for f in findings] == [(KIND_TO_RULE[planted["kind"]], planted["location"])]
    value = planted["match"].split("=", 1)[1]
    assert value not in findings[0].message + findings[0].evidence
    assert findings[0].evidence == planted["match"].split("=", 1)[0] + "=" + "*" * len(value)


def test_distroless_has_no_secrets() -> None:
    assert list(_layer_matches("distroless-py")) == []
    assert list(ConfigSecretsCheck().evaluate(_target("distroless-py"))) == []
