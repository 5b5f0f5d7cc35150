"""tidegate's own JSON SBOM: a stable, documented schema (``schemaVersion: "1"``, see docs/json-format.md).

The wire model is a set of frozen pydantic models kept private to this module, converted from the domain
in one place (`_to_wire`)::

    data = JsonFormat().render(sbom)
    doc = parse_json_sbom(data)        # validates and returns the plain dict
"""

from __future__ import annotations

from typing import Any

from tidegate.model.finding import Unknown
from tidegate.model.package import (
    ApkEntry,
    DpkgEntry,
    GoModule,
    NpmPackage,
    Package,
    PackageMetadata,
    PythonDist,
    RpmEntry,
)
from tidegate.model.sbom import Sbom
from tidegate.report.base import (
    TOOL_NAME,
    Format,
    metadata_type,
    sorted_packages,
    tool_version,
    validate_document,
)
from tidegate.report.wire import DistroWire, ImageWire, LocationWire, ToolWire, Wire

SCHEMA_VERSION = "1"
"""Bumped on any incompatible change to the JSON schema (adding optional fields is compatible)."""


class _DpkgMeta(Wire):
    """Wire form of metadata of type ``dpkg-entry`` (docs/json-format.md)."""

    package: str
    version: str
    architecture: str
    source_name: str
    source_version: str
    maintainer: str
    installed_size_kib: int | None


class _ApkMeta(Wire):
    """Wire form of metadata of type ``apk-entry`` (docs/json-format.md)."""

    package: str
    version: str
    architecture: str
    origin: str
    maintainer: str
    license: str


class _RpmMeta(Wire):
    """Wire form of metadata of type ``rpm-entry`` (docs/json-format.md)."""

    name: str
    version: str
    release: str
    epoch: int | None
    architecture: str
    source_rpm: str
    license: str


class _PythonMeta(Wire):
    """Wire form of metadata of type ``python-dist`` (docs/json-format.md)."""

    name: str
    version: str
    metadata_dir: str
    installer: str
    license: str


class _NpmMeta(Wire):
    """Wire form of metadata of type ``npm-package`` (docs/json-format.md)."""

    name: str
    version: str
    from_lockfile: bool
    license: str


class _BuildSetting(Wire):
    """Wire form of one Go ``build`` line (docs/json-format.md)."""

    key: str
    value: str


class _GoMeta(Wire):
    """Wire form of metadata of type ``go-module`` (docs/json-format.md)."""

    module_path: str
    version: str
    go_version: str
    binary_path: str
    is_main: bool
    h1: str
    replaced_by: str
    main_path: str
    build_settings: list[_BuildSetting]


_Metadata = _DpkgMeta | _ApkMeta | _RpmMeta | _PythonMeta | _NpmMeta | _GoMeta


class _Package(Wire):
    """Wire form of ``packages[]`` (docs/json-format.md)."""

    id: str
    name: str
    version: str
    type: str
    purl: str
    cataloger: str
    licenses: list[str]
    locations: list[LocationWire]
    metadata_type: str | None
    metadata: _Metadata | None


class _Unknown(Wire):
    """Wire form of ``unknowns[]`` (docs/json-format.md)."""

    source: str
    reason: str
    location: LocationWire | None


class _Document(Wire):
    """Wire form of the whole document (docs/json-format.md)."""

    schema_version: str
    image: ImageWire
    distro: DistroWire | None
    packages: list[_Package]
    unknowns: list[_Unknown]
    tool: ToolWire
    created: str


_META_MODELS: dict[type, type[Wire]] = {
    DpkgEntry: _DpkgMeta,
    ApkEntry: _ApkMeta,
    RpmEntry: _RpmMeta,
    PythonDist: _PythonMeta,
    NpmPackage: _NpmMeta,
    GoModule: _GoMeta,
}


def _metadata(meta: PackageMetadata | None) -> _Metadata | None:
    if meta is None:
        return None
    values: dict[str, Any] = {name: getattr(meta, name) for name in meta.__dataclass_fields__}
    if isinstance(meta, GoModule):
        values["build_settings"] = [_BuildSetting(key=k, value=v) for k, v in meta.build_settings]
    model = _META_MODELS[type(meta)].model_validate(values)
    assert isinstance(model, _Metadata)  # the map above only holds members of the union
    return model


def _package(pkg: Package) -> _Package:
    return _Package(
        id=pkg.id,
        name=pkg.name,
        version=pkg.version,
        type=pkg.type,
        purl=pkg.purl,
        cataloger=pkg.cataloger,
        licenses=list(pkg.licenses),
        locations=[LocationWire.of(loc) for loc in pkg.locations],
        metadata_type=metadata_type(pkg.metadata),
        metadata=_metadata(pkg.metadata),
    )


def _unknown(unk: Unknown) -> _Unknown:
    return _Unknown(
        source=unk.source,
        reason=unk.reason,
        location=None if unk.location is None else LocationWire.of(unk.location),
    )


def _to_wire(sbom: Sbom) -> _Document:
    """The one domain → wire conversion."""
    return _Document(
        schema_version=SCHEMA_VERSION,
        image=ImageWire.of(sbom.image),
        distro=DistroWire.of(sbom.distro),
        packages=[_package(p) for p in sorted_packages(sbom)],
        unknowns=[
            _unknown(u)
            for u in sorted(
                sbom.unknowns,
                key=lambda u: (u.location.path if u.location else "", u.source, u.reason),
            )
        ],
        tool=ToolWire(name=TOOL_NAME, version=tool_version(sbom)),
        created=sbom.created,
    )


def parse_json_sbom(data: bytes | str) -> dict[str, Any]:
    """Validate a tidegate JSON SBOM against the schema and return it as a plain dict.

    Raises `InvalidReport` (one line naming the first bad field) when it does not match.
    """
    doc = validate_document(_Document, data, what="tidegate JSON SBOM", schema_version=SCHEMA_VERSION)
    return doc.model_dump(mode="json", by_alias=True)


class JsonFormat(Format):
    """tidegate's own lossless JSON SBOM."""

    id = "json"
    aliases = ("tidegate-json",)
    media_type = "application/vnd.tidegate.sbom+json"
    description = "tidegate's own JSON SBOM (schemaVersion 1, documented in docs/json-format.md)"

    def render(self, sbom: Sbom, *, color: bool = False) -> bytes:
        """Render `sbom` as indented JSON with a trailing newline; `color` is ignored."""
        return (_to_wire(sbom).model_dump_json(by_alias=True, indent=2) + "\n").encode("utf-8")
