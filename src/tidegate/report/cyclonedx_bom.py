"""CycloneDX 1.6 documents built with cyclonedx-python-lib (imported only when a CycloneDX format renders).

The image is ``metadata.component`` (type ``container``, version and bom-ref = its digest); each package is a
``library`` component (the distro an ``operating-system`` one) whose bom-ref is `Package.id`. Everything
CycloneDX has no field for — layer origin, cataloger, ecosystem metadata, image layers, unknowns — goes into
``tidegate:``-namespaced properties (syft's convention)::

    CycloneDxJsonFormat().render(sbom)   # → bytes of a schema-valid 1.6 BOM
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model import Property
from cyclonedx.model.bom import Bom, BomMetaData
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.tool import ToolRepository
from cyclonedx.schema import SchemaVersion
from packageurl import PackageURL

from tidegate.model.location import Location
from tidegate.model.package import Package
from tidegate.model.sbom import ImageInfo, Sbom
from tidegate.report.base import (
    TOOL_NAME,
    metadata_items,
    metadata_type,
    sorted_packages,
    tool_version,
)

SCHEMA_VERSION = SchemaVersion.V1_6
"""The CycloneDX spec version every BOM is written in."""

_NS = "tidegate"
_SERIAL_NAMESPACE = uuid.UUID("5b0e6a0e-3f6c-5d7e-9a1b-7469646567b1")
"""uuid5 namespace for BOM serial numbers, so the same scan always yields the same serial."""


def _props(pairs: Iterator[tuple[str, str | None]]) -> list[Property]:
    return [Property(name=f"{_NS}:{k}", value=v) for k, v in pairs if v is not None and v != ""]


def _location_pairs(prefix: str, loc: Location) -> Iterator[tuple[str, str | None]]:
    yield f"{prefix}:path", loc.path
    yield f"{prefix}:layerIndex", str(loc.layer_index)
    yield f"{prefix}:layerDiffID", loc.diff_id
    yield f"{prefix}:createdBy", loc.created_by
    if not loc.visible:
        yield f"{prefix}:visible", "false"


def _package_pairs(pkg: Package) -> Iterator[tuple[str, str | None]]:
    yield "package:type", pkg.type
    yield "cataloger", pkg.cataloger
    yield "package:id", pkg.id
    for i, loc in enumerate(pkg.locations):
        yield from _location_pairs(f"location:{i}", loc)
    yield "metadataType", metadata_type(pkg.metadata)
    for key, value in metadata_items(pkg.metadata):
        yield f"metadata:{key}", value


def _image_pairs(sbom: Sbom) -> Iterator[tuple[str, str | None]]:
    img = sbom.image
    yield "image:reference", img.reference
    yield "image:transport", img.transport
    yield "image:name", img.name
    yield "image:tag", img.tag
    yield "image:manifestDigest", img.manifest_digest
    yield "image:indexDigest", img.index_digest
    yield "image:configDigest", img.config_digest
    yield "image:mediaType", img.manifest_media_type
    yield "image:platform", img.platform
    yield "image:os", img.os
    yield "image:architecture", img.architecture
    yield "image:variant", img.variant
    yield "image:user", img.user
    for i, tag in enumerate(img.repo_tags):
        yield f"image:repoTag:{i}", tag
    for key, value in img.labels:
        yield f"image:label:{key}", value
    for layer in img.layers:
        p = f"image:layer:{layer.index}"
        yield f"{p}:diffID", layer.diff_id
        yield f"{p}:digest", layer.layer_digest
        yield f"{p}:mediaType", layer.media_type
        yield f"{p}:size", str(layer.size)
        yield f"{p}:createdBy", layer.created_by
    for i, unk in enumerate(sbom.unknowns):
        p = f"unknown:{i}"
        yield f"{p}:source", unk.source
        yield f"{p}:reason", unk.reason
        if unk.location is not None:
            yield from _location_pairs(p, unk.location)


def image_purl(img: ImageInfo) -> str | None:
    """``pkg:oci/<name>@<digest>?repository_url=…&tag=…`` per the purl-spec ``oci`` type, when named."""
    if not img.name:
        return None
    qualifiers = {"repository_url": img.name, "arch": img.architecture}
    if img.tag:
        qualifiers["tag"] = img.tag
    return PackageURL(
        type="oci", name=img.name.rsplit("/", 1)[-1].lower(), version=img.digest, qualifiers=qualifiers
    ).to_string()


def _parse_time(value: str) -> datetime:
    if value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    return datetime.now(UTC).replace(microsecond=0)


def build_bom(sbom: Sbom) -> Bom:
    """The cyclonedx-python-lib `Bom` for `sbom` (shared by the JSON and XML formats)."""
    img = sbom.image
    licenses = LicenseFactory()
    purl = image_purl(img)
    image = Component(
        type=ComponentType.CONTAINER,
        name=img.name or img.reference,
        version=img.digest,
        bom_ref=img.digest,
        purl=PackageURL.from_string(purl) if purl else None,
    )
    tool = Component(type=ComponentType.APPLICATION, name=TOOL_NAME, version=tool_version(sbom))
    created = _parse_time(sbom.created)
    bom = Bom(
        serial_number=uuid.uuid5(_SERIAL_NAMESPACE, f"{img.digest}|{sbom.created}"),
        metadata=BomMetaData(
            tools=ToolRepository(components=[tool]),
            component=image,
            timestamp=created,
            properties=_props(_image_pairs(sbom)),
        ),
    )

    seen: set[str] = set()
    children: list[Component] = []
    if sbom.distro is not None:
        d = sbom.distro
        os_ref = f"os:{d.id}@{d.version_id}" if d.version_id else f"os:{d.id}"
        os_component = Component(
            type=ComponentType.OPERATING_SYSTEM,
            name=d.id,
            version=d.version_id or None,
            description=d.pretty_name or None,
            bom_ref=os_ref,
            properties=_props(
                iter(
                    [
                        ("distro:prettyName", d.pretty_name),
                        ("distro:codename", d.codename),
                        ("distro:idLike", " ".join(d.id_like)),
                        ("distro:path", d.path),
                    ]
                )
            ),
        )
        seen.add(os_ref)
        children.append(os_component)
        bom.components.add(os_component)

    for pkg in sorted_packages(sbom):
        ref = pkg.id
        n = 1
        while ref in seen:  # NOTE: same package recorded twice at one path; keep both, refs must be unique
            n += 1
            ref = f"{pkg.id}-{n}"
        seen.add(ref)
        component = Component(
            type=ComponentType.LIBRARY,
            name=pkg.name,
            version=pkg.version,
            purl=PackageURL.from_string(pkg.purl) if pkg.purl else None,
            bom_ref=ref,
            licenses=[licenses.make_from_string(lic) for lic in pkg.licenses],
            properties=_props(_package_pairs(pkg)),
        )
        children.append(component)
        bom.components.add(component)

    bom.register_dependency(image, children)
    return bom
