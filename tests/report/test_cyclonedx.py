"""CycloneDX 1.6: schema-valid, every purl present, layer origin and image identity as properties."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from tidegate.model.sbom import Sbom
from tidegate.report.cyclonedx import CycloneDxJsonFormat, CycloneDxXmlFormat


def _props(obj: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in obj.get("properties", [])}


def _render(sbom: Sbom) -> dict[str, Any]:
    text = CycloneDxJsonFormat().render(sbom).decode()
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    assert errors is None, (
        list(errors) if errors is not None and not isinstance(errors, Exception) else errors
    )
    doc: dict[str, Any] = json.loads(text)
    return doc


def test_validates_against_1_6_schema(sbom: Sbom) -> None:
    doc = _render(sbom)
    assert doc["specVersion"] == "1.6"
    assert doc["bomFormat"] == "CycloneDX"


def test_image_is_the_metadata_component(sbom: Sbom) -> None:
    meta = _render(sbom)["metadata"]
    img = meta["component"]
    assert img["type"] == "container"
    assert img["version"] == img["bom-ref"] == sbom.image.manifest_digest
    assert img["purl"].startswith("pkg:oci/app@sha256")
    assert "repository_url=registry.example.com/team/app" in img["purl"]
    assert meta["tools"]["components"][0]["name"] == "tidegate"
    assert meta["timestamp"].startswith("2024-05-01T12:00:00")
    props = _props(meta)
    assert props["tidegate:image:manifestDigest"] == sbom.image.manifest_digest
    assert props["tidegate:image:configDigest"] == sbom.image.config_digest
    assert props["tidegate:image:platform"] == "linux/amd64"
    for layer in sbom.image.layers:
        assert props[f"tidegate:image:layer:{layer.index}:diffID"] == layer.diff_id
        assert props[f"tidegate:image:layer:{layer.index}:digest"] == layer.layer_digest
        assert props[f"tidegate:image:layer:{layer.index}:createdBy"] == layer.created_by
    assert props["tidegate:unknown:0:source"] == "rpm-db"
    assert props["tidegate:unknown:0:path"] == "/var/lib/rpm/Packages"


def test_one_component_per_package_with_purl_and_layer_properties(sbom: Sbom) -> None:
    doc = _render(sbom)
    by_ref = {c["bom-ref"]: c for c in doc["components"]}
    for pkg in sbom.packages:
        c = by_ref[pkg.id]
        assert c["type"] == "library"
        assert (c["name"], c["version"], c["purl"]) == (pkg.name, pkg.version, pkg.purl)
        props = _props(c)
        loc = pkg.locations[0]
        assert props["tidegate:package:type"] == pkg.type
        assert props["tidegate:cataloger"] == pkg.cataloger
        assert props["tidegate:location:0:path"] == loc.path
        assert props["tidegate:location:0:layerIndex"] == str(loc.layer_index)
        assert props["tidegate:location:0:layerDiffID"] == loc.diff_id
        assert props["tidegate:location:0:createdBy"] == loc.created_by
    assert {c["purl"] for c in doc["components"] if "purl" in c} == {p.purl for p in sbom.packages}
    # the image depends on the OS and every package
    deps = {d["ref"]: d.get("dependsOn", []) for d in doc["dependencies"]}
    assert len(deps[sbom.image.manifest_digest]) == len(sbom.packages) + 1


def test_metadata_properties(sbom: Sbom) -> None:
    doc = _render(sbom)
    props = {c["name"]: _props(c) for c in doc["components"]}
    assert props["libc6"]["tidegate:metadata:sourceName"] == "glibc"
    assert props["libc6"]["tidegate:metadata:architecture"] == "amd64"
    assert props["libc6"]["tidegate:metadata:installedSizeKiB"] == "1234"
    assert props["libc6"]["tidegate:metadataType"] == "dpkg-entry"
    assert props["github.com/example/app"]["tidegate:metadata:goVersion"] == "go1.22.1"
    assert props["github.com/example/app"]["tidegate:metadata:buildSettings:vcs.revision"] == "abc123"
    assert props["musl"]["tidegate:location:0:visible"] == "false"
    assert props["openssl-libs"]["tidegate:metadata:epoch"] == "1"


def test_operating_system_component(sbom: Sbom) -> None:
    os_c = [c for c in _render(sbom)["components"] if c["type"] == "operating-system"]
    assert len(os_c) == 1
    assert (os_c[0]["name"], os_c[0]["version"]) == ("debian", "12")
    assert os_c[0]["description"] == "Debian GNU/Linux 12 (bookworm)"


def test_licenses(sbom: Sbom) -> None:
    comps = {c["name"]: c for c in _render(sbom)["components"]}
    assert comps["bash"]["licenses"] == [{"license": {"id": "GPL-3.0-or-later"}}]
    assert comps["openssl-libs"]["licenses"] == [{"license": {"name": "ASL 2.0"}}]
    assert "licenses" not in comps["golang.org/x/sys"]


def test_serial_is_deterministic_per_scan(sbom: Sbom) -> None:
    a = _render(sbom)["serialNumber"]
    assert a == _render(sbom)["serialNumber"]
    assert a != _render(dataclasses.replace(sbom, created="2024-05-02T12:00:00Z"))["serialNumber"]


def test_duplicate_package_ids_get_distinct_refs(sbom: Sbom) -> None:
    doc = _render(dataclasses.replace(sbom, packages=(*sbom.packages, sbom.packages[0])))
    refs = [c["bom-ref"] for c in doc["components"]]
    assert len(refs) == len(set(refs)) == len(sbom.packages) + 2


def test_docker_archive_without_manifest_digest_uses_config_digest(sbom: Sbom) -> None:
    img = dataclasses.replace(sbom.image, manifest_digest=None, index_digest=None, name=None, tag=None)
    doc = _render(dataclasses.replace(sbom, image=img))
    assert doc["metadata"]["component"]["version"] == sbom.image.config_digest
    assert doc["metadata"]["component"]["name"] == sbom.image.reference


def test_xml_renders_and_validates(sbom: Sbom) -> None:
    text = CycloneDxXmlFormat().render(sbom).decode()
    assert 'xmlns="http://cyclonedx.org/schema/bom/1.6"' in text
    for pkg in sbom.packages:
        assert pkg.id in text
    pytest.importorskip("lxml")
    from cyclonedx.validation.xml import XmlValidator

    assert XmlValidator(SchemaVersion.V1_6).validate_str(text) is None
