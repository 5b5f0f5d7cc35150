"""SPDX 2.3 JSON via spdx-tools.

The document DESCRIBES one image package (purpose CONTAINER, version and SHA-256 checksum = its digest), which
CONTAINS the operating system and every package. Each package carries its purl as a PACKAGE-MANAGER external
ref; its layer origin (path, layer index, diff_id, created_by) goes into `sourceInfo` and into an OTHER
annotation by ``Tool: tidegate-<version>`` whose comment is a small JSON object, so tools can read it back::

    SpdxJsonFormat().render(sbom)   # → bytes of a document that validates with zero messages
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from license_expression import ExpressionError, LicenseExpression
from spdx_tools.common.spdx_licensing import spdx_licensing
from spdx_tools.spdx.model import (
    Actor,
    ActorType,
    Annotation,
    AnnotationType,
    Checksum,
    ChecksumAlgorithm,
    CreationInfo,
    Document,
    ExternalPackageRef,
    ExternalPackageRefCategory,
    ExtractedLicensingInfo,
    Package,
    PackagePurpose,
    Relationship,
    RelationshipType,
    SpdxNoAssertion,
)

from tidegate.model.location import Location
from tidegate.model.package import Package as TgPackage
from tidegate.model.sbom import Sbom
from tidegate.report.base import (
    TOOL_NAME,
    metadata_items,
    metadata_type,
    safe_id,
    sorted_packages,
    tool_version,
)
from tidegate.report.cyclonedx_bom import image_purl

SPDX_VERSION = "SPDX-2.3"
"""The spec version every document is written in."""

NAMESPACE_BASE = "https://tidegate.dev/spdxdocs"
"""Prefix of document namespaces: ``<base>/<image name>-<uuid5(digest, created)>``."""

_DOC_ID = "SPDXRef-DOCUMENT"
_IMAGE_ID = "SPDXRef-Image"
_NAMESPACE_UUID = uuid.UUID("9d2c3f44-1c1e-5b8a-8f0e-7469646567b2")


def _parse_time(value: str) -> datetime:
    if value:
        try:
            return datetime.fromisoformat(value).replace(microsecond=0)
        except ValueError:
            pass
    return datetime.now(UTC).replace(microsecond=0)


def document_namespace(sbom: Sbom) -> str:
    """Unique per document yet deterministic: the same image digest and scan time give the same namespace."""
    name = safe_id(sbom.image.name or sbom.image.reference)
    return f"{NAMESPACE_BASE}/{name}-{uuid.uuid5(_NAMESPACE_UUID, f'{sbom.image.digest}|{sbom.created}')}"


def _location_json(loc: Location) -> dict[str, object]:
    out: dict[str, object] = {"path": loc.path, "layerIndex": loc.layer_index, "diffID": loc.diff_id}
    if loc.created_by:
        out["createdBy"] = loc.created_by
    if not loc.visible:
        out["visible"] = False
    return out


class _Licenses:
    """Turns declared license strings into SPDX expressions, minting LicenseRefs for the rest."""

    def __init__(self) -> None:
        self.extracted: dict[str, ExtractedLicensingInfo] = {}

    def declared(self, licenses: tuple[str, ...]) -> LicenseExpression | SpdxNoAssertion:
        """The ``licenseDeclared`` value for a package's declared licenses."""
        if not licenses:
            return SpdxNoAssertion()
        parts: list[str] = []
        for raw in licenses:
            try:
                expr = spdx_licensing.parse(raw)
                valid = expr is not None and not spdx_licensing.validate(expr).invalid_symbols
            except ExpressionError:
                valid = False
            if valid:
                parts.append(f"({raw})" if len(licenses) > 1 else raw)
            else:
                ref = f"LicenseRef-{safe_id(raw)}"
                self.extracted.setdefault(
                    ref, ExtractedLicensingInfo(license_id=ref, extracted_text=raw, license_name=raw)
                )
                parts.append(ref)
        combined: LicenseExpression = spdx_licensing.parse(" AND ".join(parts))
        return combined


def _package(pkg: TgPackage, spdx_id: str, licenses: _Licenses) -> Package:
    origin = ", ".join(f"{loc.path} (layer {loc.layer_index}, {loc.diff_id})" for loc in pkg.locations)
    return Package(
        spdx_id=spdx_id,
        name=pkg.name,
        version=pkg.version,
        download_location=SpdxNoAssertion(),
        supplier=SpdxNoAssertion(),
        files_analyzed=False,
        license_concluded=SpdxNoAssertion(),
        license_declared=licenses.declared(pkg.licenses),
        copyright_text=SpdxNoAssertion(),
        source_info=f"found by tidegate cataloger {pkg.cataloger} in {origin}" if origin else None,
        external_references=[ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", pkg.purl)]
        if pkg.purl
        else [],
        primary_package_purpose=PackagePurpose.LIBRARY,
    )


def build_document(sbom: Sbom) -> Document:
    """The spdx-tools `Document` for `sbom`."""
    img = sbom.image
    created = _parse_time(sbom.created)
    tool = Actor(ActorType.TOOL, f"{TOOL_NAME}-{tool_version(sbom)}")
    algo, _, hexpart = img.digest.partition(":")
    checksum_algo = {"sha256": ChecksumAlgorithm.SHA256, "sha512": ChecksumAlgorithm.SHA512}.get(algo)
    purl = image_purl(img)
    image = Package(
        spdx_id=_IMAGE_ID,
        name=img.name or img.reference,
        version=img.digest,
        download_location=SpdxNoAssertion(),
        supplier=SpdxNoAssertion(),
        files_analyzed=False,
        license_concluded=SpdxNoAssertion(),
        license_declared=SpdxNoAssertion(),
        copyright_text=SpdxNoAssertion(),
        checksums=[Checksum(checksum_algo, hexpart)] if checksum_algo else [],
        external_references=[ExternalPackageRef(ExternalPackageRefCategory.PACKAGE_MANAGER, "purl", purl)]
        if purl
        else [],
        primary_package_purpose=PackagePurpose.CONTAINER,
        comment=f"image {img.reference} ({img.transport}), platform {img.platform}",
    )
    image_info = {
        "reference": img.reference,
        "manifestDigest": img.manifest_digest,
        "indexDigest": img.index_digest,
        "configDigest": img.config_digest,
        "platform": img.platform,
        "layers": [
            {"index": la.index, "diffID": la.diff_id, "digest": la.layer_digest, "createdBy": la.created_by}
            for la in img.layers
        ],
    }

    def note(spdx_id: str, payload: dict[str, object]) -> Annotation:
        return Annotation(
            spdx_id,
            AnnotationType.OTHER,
            tool,
            created,
            json.dumps(payload, sort_keys=True, separators=(",", ":")),
        )

    packages = [image]
    annotations = [note(_IMAGE_ID, {"tidegate:image": image_info})]
    relationships = [Relationship(_DOC_ID, RelationshipType.DESCRIBES, _IMAGE_ID)]

    if sbom.distro is not None:
        d = sbom.distro
        os_id = f"SPDXRef-OperatingSystem-{safe_id(d.id)}"
        packages.append(
            Package(
                spdx_id=os_id,
                name=d.id,
                version=d.version_id or None,
                download_location=SpdxNoAssertion(),
                supplier=SpdxNoAssertion(),
                files_analyzed=False,
                license_concluded=SpdxNoAssertion(),
                license_declared=SpdxNoAssertion(),
                copyright_text=SpdxNoAssertion(),
                description=d.pretty_name or None,
                primary_package_purpose=PackagePurpose.OPERATING_SYSTEM,
            )
        )
        relationships.append(Relationship(_IMAGE_ID, RelationshipType.CONTAINS, os_id))

    licenses = _Licenses()
    used: set[str] = set()
    for pkg in sorted_packages(sbom):
        spdx_id = f"SPDXRef-Package-{safe_id(pkg.type)}-{safe_id(pkg.name)}-{pkg.id}"
        n = 1
        base = spdx_id
        while spdx_id in used:  # NOTE: same package twice at one path; SPDX ids must stay unique
            n += 1
            spdx_id = f"{base}-{n}"
        used.add(spdx_id)
        packages.append(_package(pkg, spdx_id, licenses))
        relationships.append(Relationship(_IMAGE_ID, RelationshipType.CONTAINS, spdx_id))
        payload: dict[str, object] = {
            "tidegate:cataloger": pkg.cataloger,
            "tidegate:locations": [_location_json(loc) for loc in pkg.locations],
        }
        if pkg.licenses:
            payload["tidegate:licenses"] = list(pkg.licenses)
        if pkg.metadata is not None:
            payload["tidegate:metadataType"] = metadata_type(pkg.metadata)
            payload["tidegate:metadata"] = dict(metadata_items(pkg.metadata))
        annotations.append(note(spdx_id, payload))

    for unk in sbom.unknowns:
        annotations.append(
            note(
                _DOC_ID,
                {
                    "tidegate:unknown": {
                        "source": unk.source,
                        "reason": unk.reason,
                        "location": None if unk.location is None else _location_json(unk.location),
                    }
                },
            )
        )

    return Document(
        creation_info=CreationInfo(
            spdx_version=SPDX_VERSION,
            spdx_id=_DOC_ID,
            name=img.name or img.reference,
            document_namespace=document_namespace(sbom),
            creators=[tool],
            created=created,
        ),
        packages=packages,
        annotations=annotations,
        relationships=relationships,
        extracted_licensing_info=sorted(licenses.extracted.values(), key=lambda e: e.license_id or ""),
    )
