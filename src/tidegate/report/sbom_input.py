"""Read a CycloneDX or SPDX JSON SBOM back into a `Sbom`, for ``tidegate scan sbom:PATH``.

SBOMs written by tidegate round-trip exactly: the ``tidegate:`` properties (CycloneDX) and annotations (SPDX)
carry every package's metadata, locations and layer, the image and its layers, and the unknowns. SBOMs from
other tools (Syft, Trivy, cdxgen…) are read from what the standards define — purls and the operating-system
component — plus the well-known producer hints that matching needs: the source package of an OS package (purl
``upstream`` qualifier, Trivy's ``aquasecurity:trivy:SrcName``/``SrcVersion``), the distro from a
``distro=`` qualifier, and the Go toolchain of a binary (Syft's ``goCompiledVersion``)::

    sbom = read_sbom(Path("app.cdx.json"))
    scan_vulnerabilities(sbom, db)

A component without a usable purl cannot be matched; it becomes an `Unknown` naming it, never a silent drop.
An input that is not JSON, or neither CycloneDX nor SPDX, is an `InvalidReport` naming the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packageurl import PackageURL
from packaging.utils import canonicalize_name

from tidegate.model.distro import Distro
from tidegate.model.finding import Unknown
from tidegate.model.location import Location
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
from tidegate.model.sbom import ImageInfo, LayerInfo, Sbom
from tidegate.report.base import METADATA_TYPES, InvalidReport, metadata_from_items

MAX_SBOM_BYTES = 512 * 1024 * 1024
"""Largest SBOM file read (a hostile file must not exhaust memory)."""

SOURCE = "sbom-input"
"""`Unknown.source` and `Package.cataloger` for what an SBOM from another tool declares."""

_GO_STDLIB = "stdlib"
_NO_LICENSE = ("NOASSERTION", "NONE")
_METADATA_BY_NAME = {v: k for k, v in METADATA_TYPES.items()}


def read_sbom(path: Path) -> Sbom:
    """Read and parse the SBOM at `path` (`InvalidReport` / `UsageError`-style one-line errors naming it)."""
    try:
        size = path.stat().st_size
        if size > MAX_SBOM_BYTES:
            raise InvalidReport(f"{path}: SBOM is {size:,} bytes, more than the {MAX_SBOM_BYTES:,}-byte limit")
        data = path.read_bytes()
    except OSError as e:
        raise InvalidReport(f"{path}: cannot read SBOM: {e.strerror or e}") from e
    return parse_sbom(data, str(path))


def parse_sbom(data: bytes, source: str) -> Sbom:
    """Parse CycloneDX JSON (1.2–1.6) or SPDX 2.x JSON bytes; `source` names the input in errors."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidReport(f"{source}: not a JSON SBOM: {e}") from e
    if not isinstance(doc, dict):
        raise InvalidReport(f"{source}: not a JSON SBOM: the top level is not an object")
    try:
        if doc.get("bomFormat") == "CycloneDX":
            return _from_cyclonedx(doc, source)
        if str(doc.get("spdxVersion", "")).startswith("SPDX-2"):
            return _from_spdx(doc, source)
    except (TypeError, AttributeError, ValueError, KeyError) as e:
        # NOTE: the documents are foreign input; a field of the wrong shape is an input error, not a crash.
        raise InvalidReport(f"{source}: malformed SBOM: {type(e).__name__}: {e}") from e
    raise InvalidReport(f"{source}: neither a CycloneDX JSON nor an SPDX 2.x JSON document",
                        hint="write one with `tidegate sbom IMAGE -f cyclonedx-json` or `-f spdx-json`")


# --- shared ------------------------------------------------------------------------------------------------


@dataclass
class _Component:
    """One package as a standard describes it, before conversion."""

    name: str
    version: str
    purl: str
    props: dict[str, str]
    """``tidegate:``/``syft:``/``aquasecurity:trivy:`` properties, flattened (first value wins)."""
    tidegate: dict[str, Any] | None = None
    """SPDX: the tidegate annotation payload of this package."""
    licenses: tuple[str, ...] = ()
    """Declared licenses as the document states them."""


def _props(items: Iterable[Mapping[str, Any]] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in items or ():
        name, value = p.get("name"), p.get("value")
        if isinstance(name, str) and isinstance(value, str) and name not in out:
            out[name] = value
    return out


def _distro_from_qualifier(value: str) -> Distro | None:
    """``debian-12`` / ``alpine-3.18.4`` / ``ubuntu-22.04`` (Syft and Trivy's ``distro=`` qualifier)."""
    m = re.fullmatch(r"([a-z][a-z0-9._]*?)-(\d[\w.]*)", value)
    if m:
        return Distro(id=m.group(1), version_id=m.group(2))
    return Distro(id=value) if value else None


def _location(pairs: Mapping[str, str], prefix: str) -> Location | None:
    path = pairs.get(f"{prefix}:path")
    if not path:
        return None
    try:
        index = int(pairs.get(f"{prefix}:layerIndex", ""))
    except ValueError:
        return None
    return Location(path=path, layer_index=index, diff_id=pairs.get(f"{prefix}:layerDiffID", ""),
                    created_by=pairs.get(f"{prefix}:createdBy"), visible=pairs.get(f"{prefix}:visible") != "false")


def _foreign_metadata(purl: PackageURL, version: str, props: Mapping[str, str]) -> PackageMetadata | None:
    """Metadata matching needs, from the purl and producers' well-known properties."""
    q = purl.qualifiers if isinstance(purl.qualifiers, dict) else {}
    upstream = q.get("upstream", "")
    up_name, _, up_version = upstream.partition("@")
    up_name = props.get("aquasecurity:trivy:SrcName") or props.get("syft:metadata:source") or up_name
    up_version = props.get("aquasecurity:trivy:SrcVersion") or up_version
    arch = q.get("arch", "")
    match purl.type:
        case "deb":
            return DpkgEntry(package=purl.name, version=version, architecture=arch,
                             source_name=up_name or purl.name, source_version=up_version or version)
        case "apk":
            return ApkEntry(package=purl.name, version=version, architecture=arch, origin=up_name or purl.name)
        case "rpm":
            ver, _, rel = version.rpartition("-")
            epoch_text = q.get("epoch", "")
            if ":" in ver:
                epoch_text, _, ver = ver.partition(":")
            return RpmEntry(name=purl.name, version=ver or version, release=rel if ver else "",
                            epoch=int(epoch_text) if epoch_text.isdigit() else None, architecture=arch,
                            source_rpm=upstream if upstream.endswith(".rpm") else "")
        case "pypi":
            return PythonDist(name=canonicalize_name(purl.name), version=version, metadata_dir="")
        case "npm":
            return NpmPackage(name=f"{purl.namespace}/{purl.name}" if purl.namespace else purl.name,
                              version=version)
        case "golang":
            module = f"{purl.namespace}/{purl.name}" if purl.namespace else purl.name
            go_version = props.get("syft:metadata:goCompiledVersion", "")
            if module == _GO_STDLIB:
                # Syft writes "go1.22.1", Trivy "v1.22.1", a bare purl "1.22.1": all name toolchain go1.22.1.
                go_version = go_version or (version if version.startswith("go") else f"go{version.removeprefix('v')}")
            binary = props.get("syft:location:0:path", "")
            return GoModule(module_path=module, version=version, go_version=go_version,
                            binary_path=binary or (f"{SOURCE}:{go_version}" if module == _GO_STDLIB else ""),
                            is_main=props.get("syft:metadata:mainModule") == module)
    return None


def _package(c: _Component) -> Package | Unknown:
    """A `Package` from a component, or why it cannot be matched."""
    what = f"component {c.name!r}" + (f" {c.version}" if c.version else "")
    if not c.purl:
        return Unknown(None, f"{what} has no purl; not matched", SOURCE)
    try:
        purl = PackageURL.from_string(c.purl)
    except ValueError as e:
        return Unknown(None, f"{what}: purl {c.purl!r} does not parse ({e}); not matched", SOURCE)
    version = c.version or purl.version or ""
    if c.tidegate is not None:  # SPDX annotation written by tidegate
        pairs = {f"metadata:{k}": str(v) for k, v in (c.tidegate.get("tidegate:metadata") or {}).items()}
        pairs["metadataType"] = str(c.tidegate.get("tidegate:metadataType") or "")
        pairs["cataloger"] = str(c.tidegate.get("tidegate:cataloger") or "")
        for i, loc in enumerate(c.tidegate.get("tidegate:locations") or ()):
            for k, v in loc.items():
                if v is not None:
                    key = "layerDiffID" if k == "diffID" else k
                    pairs[f"location:{i}:{key}"] = str(v).lower() if isinstance(v, bool) else str(v)
    else:
        pairs = {k.removeprefix("tidegate:"): v for k, v in c.props.items() if k.startswith("tidegate:")}
    cataloger = pairs.get("cataloger") or SOURCE
    locations = []
    for i in range(10_000):
        loc = _location(pairs, f"location:{i}")
        if loc is None:
            break
        locations.append(loc)
    meta_cls = _METADATA_BY_NAME.get(pairs.get("metadataType", ""))
    metadata: PackageMetadata | None
    if meta_cls is not None:
        items = [(k.removeprefix("metadata:"), v) for k, v in pairs.items() if k.startswith("metadata:")]
        metadata = metadata_from_items(meta_cls, items)
    else:
        metadata = _foreign_metadata(purl, version, c.props)
    name = c.name or purl.name
    if purl.type == "pypi":
        name = canonicalize_name(name)
    licenses = c.licenses
    if c.tidegate is not None and isinstance(c.tidegate.get("tidegate:licenses"), list):
        licenses = tuple(str(x) for x in c.tidegate["tidegate:licenses"])
    return Package(name=name, version=version, type=purl.type, purl=c.purl, cataloger=cataloger,
                   locations=tuple(locations), metadata=metadata, licenses=licenses)


def _image(props: Mapping[str, str], *, source: str, name: str | None, version: str | None) -> ImageInfo:
    """The image from tidegate's ``image:*`` pairs, or as much as a foreign SBOM says."""
    layers = []
    for i in range(100_000):
        p = f"image:layer:{i}"
        if f"{p}:diffID" not in props:
            break
        layers.append(LayerInfo(index=i, diff_id=props[f"{p}:diffID"], layer_digest=props.get(f"{p}:digest"),
                                media_type=props.get(f"{p}:mediaType", ""),
                                size=int(props.get(f"{p}:size", "0") or 0),
                                created_by=props.get(f"{p}:createdBy")))
    platform = props.get("image:platform", "").split("/")
    digest = version if version and version.startswith("sha256:") else None
    return ImageInfo(
        reference=props.get("image:reference") or f"sbom:{source}",
        transport=props.get("image:transport") or "sbom",
        name=props.get("image:name") or name,
        tag=props.get("image:tag"),
        manifest_digest=props.get("image:manifestDigest") or (digest if "image:reference" not in props else None),
        index_digest=props.get("image:indexDigest"),
        config_digest=props.get("image:configDigest", ""),
        manifest_media_type=props.get("image:mediaType", ""),
        os=props.get("image:os") or (platform[0] if platform[0] else ""),
        architecture=props.get("image:architecture") or (platform[1] if len(platform) > 1 else ""),
        variant=props.get("image:variant"),
        layers=tuple(layers),
        repo_tags=tuple(v for k, v in sorted(props.items()) if k.startswith("image:repoTag:")),
        user=props.get("image:user", ""),
        labels=tuple(sorted((k.removeprefix("image:label:"), v) for k, v in props.items()
                            if k.startswith("image:label:"))),
    )


def _unknowns(props: Mapping[str, str]) -> list[Unknown]:
    out = []
    for i in range(1_000_000):
        p = f"unknown:{i}"
        if f"{p}:reason" not in props:
            break
        out.append(Unknown(_location(props, p), props[f"{p}:reason"], props.get(f"{p}:source", "")))
    return out


def _assemble(components: list[_Component], distro: Distro | None, image: ImageInfo,
              unknowns: list[Unknown], tool_version: str, created: str) -> Sbom:
    packages: list[Package] = []
    for c in components:
        made = _package(c)
        if isinstance(made, Unknown):
            unknowns.append(made)
            continue
        packages.append(made)
        if distro is None:
            q = PackageURL.from_string(made.purl).qualifiers
            if isinstance(q, dict) and q.get("distro"):
                distro = _distro_from_qualifier(q["distro"])
    # A Go binary's toolchain is matched once per binary (GoStdlibMatcher); another tool's explicit "stdlib"
    # component is only kept when no module of the SBOM names its toolchain.
    if any(isinstance(p.metadata, GoModule) and p.metadata.go_version and p.metadata.module_path != _GO_STDLIB
           for p in packages):
        packages = [p for p in packages if not (isinstance(p.metadata, GoModule)
                                                and p.metadata.module_path == _GO_STDLIB and p.cataloger == SOURCE)]
    packages.sort(key=lambda p: (p.type, p.name, p.version, p.locations[0].path if p.locations else "", p.id))
    return Sbom(image=image, distro=distro, packages=tuple(packages), unknowns=tuple(unknowns),
                tool_version=tool_version, created=created)


def _cdx_licenses(entries: Iterable[Mapping[str, Any]] | None) -> tuple[str, ...]:
    """``[{"license": {"id"|"name"}} | {"expression"}]`` → the declared strings."""
    out = []
    for e in entries or ():
        lic = e.get("license") or {}
        value = e.get("expression") or lic.get("id") or lic.get("name")
        if value:
            out.append(str(value))
    return tuple(out)


# --- CycloneDX ---------------------------------------------------------------------------------------------


def _walk(components: Iterable[Mapping[str, Any]]) -> Iterable[Mapping[str, Any]]:
    """Every component, nested ones included (CycloneDX allows a component tree)."""
    stack = list(components)[::-1]
    while stack:
        c = stack.pop()
        yield c
        stack.extend(list(c.get("components") or ())[::-1])


def _from_cyclonedx(doc: Mapping[str, Any], source: str) -> Sbom:
    meta = doc.get("metadata") or {}
    image_props = {k.removeprefix("tidegate:"): v for k, v in _props(meta.get("properties")).items()
                   if k.startswith("tidegate:")}
    subject = meta.get("component") or {}
    distro: Distro | None = None
    components: list[_Component] = []
    for c in _walk(doc.get("components") or ()):
        if c.get("type") == "operating-system":
            p = _props(c.get("properties"))
            distro = Distro(
                id=str(c.get("name", "")).lower(), version_id=str(c.get("version") or ""),
                codename=p.get("tidegate:distro:codename") or p.get("syft:distro:versionCodename", ""),
                pretty_name=c.get("description") or p.get("syft:distro:prettyName", ""),
                id_like=tuple((p.get("tidegate:distro:idLike") or "").split()),
                path=p.get("tidegate:distro:path", ""))
            continue
        if not c.get("purl") and (c.get("components") or "aquasecurity:trivy:Class" in _props(c.get("properties"))):
            # A grouping component (Trivy's per-binary or per-lockfile "application", whose packages it lists
            # through ``dependencies``): not a package itself.
            continue
        components.append(_Component(name=str(c.get("name", "")), version=str(c.get("version") or ""),
                                     purl=str(c.get("purl") or ""), props=_props(c.get("properties")),
                                     licenses=_cdx_licenses(c.get("licenses"))))
    tools = meta.get("tools") or {}
    tool_list = tools.get("components", []) if isinstance(tools, dict) else tools
    tool_version = next((str(t.get("version", "")) for t in tool_list if t.get("name") == "tidegate"), "")
    image = _image(image_props, source=source, name=subject.get("name"), version=subject.get("version"))
    return _assemble(components, distro, image, _unknowns(image_props), tool_version,
                     str(meta.get("timestamp") or ""))


# --- SPDX --------------------------------------------------------------------------------------------------


def _from_spdx(doc: Mapping[str, Any], source: str) -> Sbom:
    notes: dict[str, list[dict[str, Any]]] = {}
    for holder in [doc, *(doc.get("packages") or ())]:
        for a in holder.get("annotations") or ():
            try:
                payload = json.loads(a.get("comment", ""))
            except ValueError:
                continue
            if isinstance(payload, dict):
                notes.setdefault(str(holder.get("SPDXID", "")), []).append(payload)
    described = set(doc.get("documentDescribes") or ())
    for r in doc.get("relationships") or ():
        if r.get("relationshipType") == "DESCRIBES":
            described.add(r.get("relatedSpdxElement"))
    image_props: dict[str, str] = {}
    unknowns: list[Unknown] = []
    for payload in notes.get(str(doc.get("SPDXID", "")), []):
        if "tidegate:unknown" in payload:
            u = payload["tidegate:unknown"]
            loc = u.get("location") or {}
            pairs = {f"l:{'layerDiffID' if k == 'diffID' else k}": str(v).lower() if isinstance(v, bool) else str(v)
                     for k, v in loc.items()}
            unknowns.append(Unknown(_location(pairs, "l"), str(u.get("reason", "")), str(u.get("source", ""))))
    extracted = {str(e.get("licenseId")): str(e.get("name") or e.get("extractedText") or e.get("licenseId"))
                 for e in doc.get("hasExtractedLicensingInfos") or ()}
    distro: Distro | None = None
    subject: Mapping[str, Any] = {}
    components: list[_Component] = []
    for p in doc.get("packages") or ():
        spdx_id = str(p.get("SPDXID", ""))
        purpose = str(p.get("primaryPackagePurpose") or "").replace("_", "-")
        if spdx_id in described or purpose == "CONTAINER":
            subject = p
            for payload in notes.get(spdx_id, []):
                info = payload.get("tidegate:image")
                if isinstance(info, dict):
                    image_props.update(_spdx_image_props(info))
            continue
        if purpose == "OPERATING-SYSTEM":
            distro = Distro(id=str(p.get("name", "")).lower(), version_id=str(p.get("versionInfo") or ""),
                            pretty_name=str(p.get("description") or ""))
            continue
        purl = next((r.get("referenceLocator", "") for r in p.get("externalRefs") or ()
                     if r.get("referenceType") == "purl"), "")
        tidegate = next((n for n in notes.get(spdx_id, []) if "tidegate:cataloger" in n), None)
        declared = str(p.get("licenseDeclared") or "")
        declared = extracted.get(declared, declared)
        components.append(_Component(name=str(p.get("name", "")), version=str(p.get("versionInfo") or ""),
                                     purl=str(purl), props={}, tidegate=tidegate,
                                     licenses=(declared,) if declared and declared not in _NO_LICENSE else ()))
    creators = (doc.get("creationInfo") or {}).get("creators") or ()
    tool_version = next((c.removeprefix("Tool: tidegate-") for c in creators
                         if isinstance(c, str) and c.startswith("Tool: tidegate-")), "")
    image = _image(image_props, source=source, name=subject.get("name"), version=subject.get("versionInfo"))
    return _assemble(components, distro, image, unknowns, tool_version,
                     str((doc.get("creationInfo") or {}).get("created") or ""))


def _spdx_image_props(info: Mapping[str, Any]) -> dict[str, str]:
    """tidegate's SPDX image annotation → the same ``image:*`` pairs the CycloneDX properties use."""
    out = {f"image:{k}": str(v) for k, v in info.items() if isinstance(v, str) and v}
    for layer in info.get("layers") or ():
        p = f"image:layer:{layer.get('index')}"
        for key, wire in (("diffID", "diffID"), ("digest", "digest"), ("createdBy", "createdBy")):
            if layer.get(wire):
                out[f"{p}:{key}"] = str(layer[wire])
    return out
