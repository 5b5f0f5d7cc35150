"""SPDX 2.3: zero validation messages, a JSON round trip through spdx-tools, layer origin in annotations."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from spdx_tools.spdx.model import (
    ActorType,
    AnnotationType,
    ExternalPackageRefCategory,
    PackagePurpose,
    RelationshipType,
)
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

from tidegate.model.sbom import Sbom
from tidegate.report.spdx import SpdxJsonFormat
from tidegate.report.spdx_document import build_document, document_namespace


def test_document_validates_with_zero_messages(sbom: Sbom) -> None:
    assert validate_full_spdx_document(build_document(sbom)) == []


def test_round_trips_through_spdx_tools_parser(sbom: Sbom, tmp_path: Path) -> None:
    path = tmp_path / "sbom.spdx.json"
    path.write_bytes(SpdxJsonFormat().render(sbom))
    doc = parse_file(str(path))
    assert validate_full_spdx_document(doc) == []
    assert doc.creation_info.spdx_version == "SPDX-2.3"
    libs = [p for p in doc.packages if p.primary_package_purpose == PackagePurpose.LIBRARY]
    assert len(libs) == len(sbom.packages)
    purls = {
        ref.locator
        for p in libs
        for ref in p.external_references
        if ref.category == ExternalPackageRefCategory.PACKAGE_MANAGER and ref.reference_type == "purl"
    }
    assert purls == {p.purl for p in sbom.packages}

    (image,) = [p for p in doc.packages if p.primary_package_purpose == PackagePurpose.CONTAINER]
    assert image.version == sbom.image.manifest_digest
    assert image.checksums[0].value == sbom.image.manifest_digest.split(":")[1]
    (os_pkg,) = [p for p in doc.packages if p.primary_package_purpose == PackagePurpose.OPERATING_SYSTEM]
    assert (os_pkg.name, os_pkg.version) == ("debian", "12")

    rels = {(r.spdx_element_id, r.relationship_type, r.related_spdx_element_id) for r in doc.relationships}
    assert ("SPDXRef-DOCUMENT", RelationshipType.DESCRIBES, image.spdx_id) in rels
    for p in [*libs, os_pkg]:
        assert (image.spdx_id, RelationshipType.CONTAINS, p.spdx_id) in rels


def test_annotations_carry_layer_origin(sbom: Sbom) -> None:
    doc = build_document(sbom)
    notes: dict[str, list[dict[str, Any]]] = {}
    for a in doc.annotations:
        assert a.annotation_type == AnnotationType.OTHER
        assert a.annotator.actor_type == ActorType.TOOL and a.annotator.name == "tidegate-0.1.0"
        notes.setdefault(a.spdx_id, []).append(json.loads(a.annotation_comment))
    by_name = {p.name: p.spdx_id for p in doc.packages}
    for pkg in sbom.packages:
        (note,) = notes[by_name[pkg.name]]
        loc = note["tidegate:locations"][0]
        assert loc["layerIndex"] == pkg.locations[0].layer_index
        assert loc["diffID"] == pkg.locations[0].diff_id
        assert loc["createdBy"] == pkg.locations[0].created_by
        assert note["tidegate:cataloger"] == pkg.cataloger
    (image_note,) = notes["SPDXRef-Image"]
    assert image_note["tidegate:image"]["manifestDigest"] == sbom.image.manifest_digest
    assert image_note["tidegate:image"]["platform"] == "linux/amd64"
    assert [la["diffID"] for la in image_note["tidegate:image"]["layers"]] == [
        la.diff_id for la in sbom.image.layers
    ]
    (unknown,) = notes["SPDXRef-DOCUMENT"]
    assert unknown["tidegate:unknown"]["source"] == "rpm-db"


def test_non_spdx_licenses_become_extracted_license_refs(sbom: Sbom) -> None:
    doc = build_document(sbom)
    pkgs = {p.name: p for p in doc.packages}
    assert str(pkgs["bash"].license_declared) == "GPL-3.0-or-later"
    assert str(pkgs["libc6"].license_declared) == "LGPL-2.1-or-later AND GPL-2.0-or-later"
    assert str(pkgs["openssl-libs"].license_declared) == "LicenseRef-ASL-2.0"
    assert [e.license_id for e in doc.extracted_licensing_info] == ["LicenseRef-ASL-2.0"]


def test_namespace_is_unique_per_scan_and_deterministic(sbom: Sbom) -> None:
    ns = document_namespace(sbom)
    assert ns.startswith("https://tidegate.dev/spdxdocs/registry.example.com-team-app-")
    assert ns == document_namespace(sbom)
    assert ns != document_namespace(dataclasses.replace(sbom, created="2024-05-02T00:00:00Z"))
    other = dataclasses.replace(sbom.image, manifest_digest="sha256:" + "0" * 64)
    assert ns != document_namespace(dataclasses.replace(sbom, image=other))


def test_minimal_image_still_validates(sbom: Sbom) -> None:
    img = dataclasses.replace(sbom.image, manifest_digest=None, index_digest=None, name=None, tag=None)
    bare = dataclasses.replace(sbom, image=img, distro=None, unknowns=())
    assert validate_full_spdx_document(build_document(bare)) == []
    assert sbom.image.config_digest in SpdxJsonFormat().render(bare).decode()
