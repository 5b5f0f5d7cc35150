"""tidegate's own JSON: parses, matches the wire model, and has every field docs/json-format.md describes."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tidegate.model.package import ApkEntry, DpkgEntry, GoModule, NpmPackage, PythonDist, RpmEntry
from tidegate.model.sbom import Sbom
from tidegate.report.base import InvalidReport, camel
from tidegate.report.json import JsonFormat, parse_json_sbom

DOCS = Path(__file__).resolve().parents[2] / "docs" / "json-format.md"


def _render(sbom: Sbom) -> dict[str, Any]:
    data = JsonFormat().render(sbom)
    assert data.endswith(b"}\n")
    assert data.startswith(b'{\n  "schemaVersion": "1",')
    doc: dict[str, Any] = json.loads(data)
    assert parse_json_sbom(data) == doc
    return doc


def test_top_level_and_image(sbom: Sbom) -> None:
    doc = _render(sbom)
    assert list(doc) == ["schemaVersion", "image", "distro", "packages", "unknowns", "tool", "created"]
    img = doc["image"]
    assert img["manifestDigest"] == sbom.image.manifest_digest
    assert img["platform"] == {"os": "linux", "architecture": "amd64", "variant": None}
    assert [la["diffID"] for la in img["layers"]] == [la.diff_id for la in sbom.image.layers]
    assert img["labels"] == {"org.opencontainers.image.source": "https://github.com/example/app"}
    assert doc["distro"]["versionID"] == "12"
    assert doc["tool"] == {"name": "tidegate", "version": "0.1.0"}
    assert doc["created"] == "2024-05-01T12:00:00Z"


def test_packages_sorted_with_locations_and_metadata(sbom: Sbom) -> None:
    pkgs = _render(sbom)["packages"]
    keys = [(p["type"], p["name"], p["version"]) for p in pkgs]
    assert keys == sorted(keys)
    by_id = {p["id"]: p for p in pkgs}
    for pkg in sbom.packages:
        wire = by_id[pkg.id]
        assert wire["purl"] == pkg.purl
        assert wire["locations"][0]["layerIndex"] == pkg.locations[0].layer_index
        assert wire["locations"][0]["diffID"] == pkg.locations[0].diff_id
    by_name = {p["name"]: p for p in pkgs}
    assert by_name["libc6"]["metadataType"] == "dpkg-entry"
    assert by_name["libc6"]["metadata"]["sourceName"] == "glibc"
    assert by_name["libc6"]["metadata"]["installedSizeKiB"] == 1234
    app = by_name["github.com/example/app"]["metadata"]
    assert app["buildSettings"][2] == {"key": "vcs.revision", "value": "abc123"}
    assert by_name["musl"]["locations"][0]["visible"] is False


@pytest.mark.parametrize("meta_type", [DpkgEntry, ApkEntry, RpmEntry, PythonDist, NpmPackage, GoModule])
def test_every_metadata_field_is_on_the_wire(sbom: Sbom, meta_type: type) -> None:
    """Guards against the domain model growing a field the wire model silently lacks."""
    pkg = next(p for p in sbom.packages if type(p.metadata) is meta_type)
    wire = next(p for p in _render(sbom)["packages"] if p["id"] == pkg.id)
    assert set(wire["metadata"]) == {camel(f.name) for f in dataclasses.fields(meta_type)}


def test_parse_rejects_unknown_and_missing_fields(sbom: Sbom) -> None:
    doc = _render(sbom)
    doc["packages"][0]["surprise"] = 1
    with pytest.raises(InvalidReport, match=r"packages\.0\.surprise"):
        parse_json_sbom(json.dumps(doc))
    doc = _render(sbom)
    del doc["image"]["configDigest"]
    with pytest.raises(InvalidReport, match=r"image\.configDigest"):
        parse_json_sbom(json.dumps(doc))
    doc = _render(sbom)
    doc["schemaVersion"] = "2"
    with pytest.raises(InvalidReport, match="schemaVersion"):
        parse_json_sbom(json.dumps(doc))


def _paths(obj: Any, prefix: str = "") -> set[str]:
    out: set[str] = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            if prefix.endswith("labels"):
                continue
            p = f"{prefix}.{k}" if prefix else k
            out.add(p)
            out |= _paths(v, p)
    elif isinstance(obj, list):
        for v in obj:
            out |= _paths(v, prefix + "[]")
    return out


def test_docs_describe_every_field(sbom: Sbom) -> None:
    documented = set(re.findall(r"^\| `([^`]+)` \|", DOCS.read_text(), re.MULTILINE))
    emitted = _paths(_render(sbom))
    missing = {p for p in emitted if not p.startswith("packages[].metadata.")} - documented
    assert not missing, f"fields missing from docs/json-format.md: {sorted(missing)}"
    for meta in ("dpkg-entry", "apk-entry", "rpm-entry", "python-dist", "npm-package", "go-module"):
        assert f"`{meta}`" in DOCS.read_text()
    metadata_keys = {p.rsplit(".", 1)[1] for p in emitted if p.startswith("packages[].metadata.")}
    documented_meta = set(
        re.findall(r"^\| `([A-Za-z0-9]+)(?:\[\]\.\w+)?` \|", DOCS.read_text(), re.MULTILINE)
    )
    assert metadata_keys - {"key", "value"} <= documented_meta
