"""Matcher tests. Shared helpers: real OSV records read from ../shared at test time, a dict-backed lookup,
and small package/SBOM builders."""

from __future__ import annotations

import functools
import json
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tidegate.model.distro import Distro
from tidegate.model.location import Location
from tidegate.model.package import ApkEntry, DpkgEntry, GoModule, Package, PythonDist
from tidegate.model.sbom import ImageInfo, Sbom
from tidegate.vulndb.schema import Advisory, normalize_name

SHARED = Path(__file__).resolve().parents[3] / "shared"
OSV = SHARED / "vulndata" / "osv"
needs_shared = pytest.mark.skipif(not OSV.is_dir(), reason="../shared/vulndata is not present")
DIGEST = "sha256:" + "ab" * 32
DIFF_ID = "sha256:" + "cd" * 32


@functools.cache
def _zip(ecosystem_dir: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(OSV / ecosystem_dir / "all.zip")


def osv(ecosystem_dir: str, rid: str) -> Advisory:
    """The real record `rid` of ../shared/vulndata/osv/<ecosystem_dir>/all.zip."""
    data = json.loads(_zip(ecosystem_dir).read(f"{rid}.json"))
    return Advisory.from_osv(data, source=f"osv:{ecosystem_dir}")


def all_osv(ecosystem_dir: str) -> list[Advisory]:
    """Every record of one zip."""
    zf = _zip(ecosystem_dir)
    return [Advisory.from_osv(json.loads(zf.read(n)), source=f"osv:{ecosystem_dir}") for n in zf.namelist()]


def record(rid: str, ecosystem: str, name: str, events: Sequence[dict[str, str]] = (), *,
           source: str = "test", range_type: str = "ECOSYSTEM", **extra: Any) -> Advisory:
    """A hand-made OSV record with one affected entry (``affected_extra`` adds to that entry)."""
    affected: dict[str, Any] = {"package": {"ecosystem": ecosystem, "name": name}}
    if events:
        affected["ranges"] = [{"type": range_type, "events": list(events)}]
    affected.update(extra.pop("affected_extra", {}))
    data: dict[str, Any] = {"id": rid, "modified": "2024-01-01T00:00:00Z", "affected": [affected], **extra}
    return Advisory.from_osv(data, source=source)


class FakeDb:
    """An `AdvisoryLookup` over a list of advisories; remembers what was asked."""

    def __init__(self, advisories: Iterable[Advisory]) -> None:
        self.index: dict[tuple[str, str], list[Advisory]] = {}
        self.asked: list[tuple[str, str]] = []
        for adv in advisories:
            for key in {(a.ecosystem, normalize_name(a.ecosystem, a.name)) for a in adv.affected}:
                self.index.setdefault(key, []).append(adv)

    def advisories_for(self, ecosystem: str, name: str) -> Sequence[Advisory]:
        self.asked.append((ecosystem, name))
        return self.index.get((ecosystem, normalize_name(ecosystem, name)), [])


def loc(path: str, layer: int = 1) -> Location:
    """A location in layer `layer`."""
    return Location(path=path, layer_index=layer, diff_id=DIFF_ID, created_by=f"RUN step {layer}")


def deb(name: str, version: str, source: str | None = None, source_version: str | None = None) -> Package:
    """A dpkg package (source defaults to the binary)."""
    meta = DpkgEntry(package=name, version=version, architecture="amd64", source_name=source or name,
                     source_version=source_version or version)
    return Package(name=name, version=version, type="deb", purl=f"pkg:deb/debian/{name}@{version}?arch=amd64",
                   cataloger="dpkg-status", locations=(loc("/var/lib/dpkg/status"),), metadata=meta)


def apk(name: str, version: str, origin: str) -> Package:
    """An Alpine package."""
    meta = ApkEntry(package=name, version=version, architecture="x86_64", origin=origin)
    return Package(name=name, version=version, type="apk", purl=f"pkg:apk/alpine/{name}@{version}",
                   cataloger="apk-db", locations=(loc("/lib/apk/db/installed"),), metadata=meta)


def pypi(name: str, version: str) -> Package:
    """A Python distribution."""
    path = f"/usr/lib/python3/dist-packages/{name}-{version}.dist-info"
    return Package(name=name, version=version, type="pypi", purl=f"pkg:pypi/{name}@{version}",
                   cataloger="python-installed", locations=(loc(f"{path}/METADATA", 2),),
                   metadata=PythonDist(name=name, version=version, metadata_dir=path))


def gomod(path: str, version: str, *, binary: str = "/usr/local/bin/app", go_version: str = "go1.26.1",
          is_main: bool = False, replaced_by: str = "") -> Package:
    """A Go module of a binary."""
    meta = GoModule(module_path=path, version=version, go_version=go_version, binary_path=binary,
                    is_main=is_main, replaced_by=replaced_by)
    return Package(name=path, version=version, type="golang", purl=f"pkg:golang/{path}@{version}",
                   cataloger="go-module-binary", locations=(loc(binary, 3),), metadata=meta)


BOOKWORM = Distro(id="debian", version_id="12")
"""Debian 12, as bookworm-app's os-release says."""


def sbom(packages: Iterable[Package], distro: Distro | None = BOOKWORM) -> Sbom:
    """An SBOM of `packages` in an image whose manifest digest is `DIGEST`."""
    image = ImageInfo(reference="oci-archive:test.tar", transport="oci-archive", name="example.com/app",
                      tag="1", manifest_digest=DIGEST, index_digest=None, config_digest="sha256:" + "ef" * 32,
                      manifest_media_type="application/vnd.oci.image.manifest.v1+json", os="linux",
                      architecture="amd64", variant=None, layers=())
    return Sbom(image=image, distro=distro, packages=tuple(packages))
