"""A small, realistic hand-built `Sbom` for the format tests: 2 layers, Debian, one package per metadata type."""

from __future__ import annotations

import pytest

from tidegate.model.distro import Distro
from tidegate.model.finding import Unknown
from tidegate.model.location import Location
from tidegate.model.package import (
    ApkEntry,
    DpkgEntry,
    GoModule,
    NpmPackage,
    Package,
    PythonDist,
    RpmEntry,
)
from tidegate.model.sbom import ImageInfo, LayerInfo, Sbom

DIFF0 = "sha256:" + "a0" * 32
DIFF1 = "sha256:" + "b1" * 32
BLOB0 = "sha256:" + "c2" * 32
BLOB1 = "sha256:" + "d3" * 32
MANIFEST = "sha256:" + "e4" * 32
INDEX = "sha256:" + "f5" * 32
CONFIG = "sha256:" + "16" * 32
STEP0 = "/bin/sh -c #(nop) ADD file:3b1d in / "
STEP1 = "RUN /bin/sh -c apt-get update && apt-get install -y curl && pip install requests # buildkit"


def _loc(path: str, layer: int, *, visible: bool = True) -> Location:
    return Location(
        path=path,
        layer_index=layer,
        diff_id=(DIFF0, DIFF1)[layer],
        created_by=(STEP0, STEP1)[layer],
        visible=visible,
    )


def _deb(name: str, version: str, layer: int, *, source: str = "", lic: tuple[str, ...] = ()) -> Package:
    src = source or name
    return Package(
        name=name,
        version=version,
        type="deb",
        purl=f"pkg:deb/debian/{name}@{version.replace('+', '%2B')}?arch=amd64&distro=debian-12"
        + (f"&upstream={src}" if source else ""),
        cataloger="dpkg-status",
        locations=(_loc("/var/lib/dpkg/status", layer),),
        metadata=DpkgEntry(
            package=name,
            version=version,
            architecture="amd64",
            source_name=src,
            source_version=version,
            maintainer="Debian Maintainers <debian@example.org>",
            installed_size_kib=1234,
        ),
        licenses=lic,
    )


def make_sbom() -> Sbom:
    """The fixture SBOM (a function too, so tests can derive variants with `dataclasses.replace`)."""
    packages = (
        _deb("bash", "5.2.15-2+b7", 0, lic=("GPL-3.0-or-later",)),
        _deb("libc6", "2.36-9+deb12u4", 0, source="glibc", lic=("LGPL-2.1-or-later", "GPL-2.0-or-later")),
        _deb("curl", "7.88.1-10+deb12u5", 1, lic=("curl",)),
        Package(
            name="musl",
            version="1.2.4-r2",
            type="apk",
            purl="pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19",
            cataloger="apk-db",
            locations=(_loc("/lib/apk/db/installed", 0, visible=False),),
            metadata=ApkEntry(
                package="musl", version="1.2.4-r2", architecture="x86_64", origin="musl", license="MIT"
            ),
            licenses=("MIT",),
        ),
        Package(
            name="openssl-libs",
            version="3.0.7-25.el9",
            type="rpm",
            purl="pkg:rpm/redhat/openssl-libs@3.0.7-25.el9?arch=x86_64&epoch=1",
            cataloger="rpm-db",
            locations=(_loc("/var/lib/rpm/rpmdb.sqlite", 1),),
            metadata=RpmEntry(
                name="openssl-libs",
                version="3.0.7",
                release="25.el9",
                epoch=1,
                architecture="x86_64",
                source_rpm="openssl-3.0.7-25.el9.src.rpm",
                license="ASL 2.0",
            ),
            licenses=("ASL 2.0",),
        ),
        Package(
            name="requests",
            version="2.31.0",
            type="pypi",
            purl="pkg:pypi/requests@2.31.0",
            cataloger="python-dist",
            locations=(_loc("/usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", 1),),
            metadata=PythonDist(
                name="requests",
                version="2.31.0",
                metadata_dir="/usr/lib/python3/dist-packages/requests-2.31.0.dist-info",
                installer="pip",
                license="Apache-2.0",
            ),
            licenses=("Apache-2.0",),
        ),
        Package(
            name="@babel/core",
            version="7.24.0",
            type="npm",
            purl="pkg:npm/%40babel/core@7.24.0",
            cataloger="npm-package",
            locations=(_loc("/app/node_modules/@babel/core/package.json", 1),),
            metadata=NpmPackage(name="@babel/core", version="7.24.0", license="MIT"),
            licenses=("MIT",),
        ),
        Package(
            name="github.com/example/app",
            version="(devel)",
            type="golang",
            purl="pkg:golang/github.com/example/app@%28devel%29",
            cataloger="go-binary",
            locations=(_loc("/usr/local/bin/app", 1),),
            metadata=GoModule(
                module_path="github.com/example/app",
                version="(devel)",
                go_version="go1.22.1",
                binary_path="/usr/local/bin/app",
                is_main=True,
                main_path="github.com/example/app/cmd/app",
                build_settings=(("-trimpath", "true"), ("GOOS", "linux"), ("vcs.revision", "abc123")),
            ),
        ),
        Package(
            name="golang.org/x/sys",
            version="v0.18.0",
            type="golang",
            purl="pkg:golang/golang.org/x/sys@v0.18.0",
            cataloger="go-binary",
            locations=(_loc("/usr/local/bin/app", 1),),
            metadata=GoModule(
                module_path="golang.org/x/sys",
                version="v0.18.0",
                go_version="go1.22.1",
                binary_path="/usr/local/bin/app",
                h1="h1:DBdB3niSjOA/O0blCZBqDefyWNYveAYMNF1Wum0DYQ4=",
            ),
        ),
    )
    image = ImageInfo(
        reference="registry.example.com/team/app:1.4",
        transport="registry",
        name="registry.example.com/team/app",
        tag="1.4",
        manifest_digest=MANIFEST,
        index_digest=INDEX,
        config_digest=CONFIG,
        manifest_media_type="application/vnd.oci.image.manifest.v1+json",
        os="linux",
        architecture="amd64",
        variant=None,
        layers=(
            LayerInfo(0, DIFF0, BLOB0, "application/vnd.oci.image.layer.v1.tar+gzip", 29_123_456, STEP0),
            LayerInfo(1, DIFF1, BLOB1, "application/vnd.oci.image.layer.v1.tar+gzip", 8_765_432, STEP1),
        ),
        repo_tags=("registry.example.com/team/app:1.4",),
        user="app",
        labels=(("org.opencontainers.image.source", "https://github.com/example/app"),),
    )
    return Sbom(
        image=image,
        distro=Distro(
            id="debian",
            version_id="12",
            codename="bookworm",
            pretty_name="Debian GNU/Linux 12 (bookworm)",
            path="/usr/lib/os-release",
        ),
        packages=packages,
        unknowns=(
            Unknown(
                location=_loc("/var/lib/rpm/Packages", 1),
                reason="rpmdb in BerkeleyDB format is present but not supported yet",
                source="rpm-db",
            ),
        ),
        tool_version="0.1.0",
        created="2024-05-01T12:00:00Z",
    )


@pytest.fixture
def sbom() -> Sbom:
    """The fixture SBOM."""
    return make_sbom()
