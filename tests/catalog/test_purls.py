"""purl helpers: OS purls get the distro namespace and qualifier once the OS is known."""

from __future__ import annotations

import pytest

from tidegate.catalog.purls import golang_purl, make_purl, qualify_os_purl
from tidegate.model.distro import Distro

from .conftest import file_input  # noqa: F401  (imports the src path shim)

DEBIAN = Distro(id="debian", version_id="12", codename="bookworm")


@pytest.mark.parametrize(
    ("purl", "distro", "expected"),
    [
        (
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&upstream=glibc",
            DEBIAN,
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&distro=debian-12&upstream=glibc",
        ),
        (
            "pkg:deb/debian/bash@5.2?arch=amd64",
            Distro(id="ubuntu", version_id="22.04"),
            "pkg:deb/ubuntu/bash@5.2?arch=amd64&distro=ubuntu-22.04",
        ),
        (
            "pkg:rpm/redhat/bash@5.1.8-9.el9?arch=x86_64&epoch=1",
            Distro(id="rocky", version_id="9.3"),
            "pkg:rpm/rocky/bash@5.1.8-9.el9?arch=x86_64&distro=rocky-9.3&epoch=1",
        ),
        (
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64",
            Distro(id="alpine"),
            "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine",
        ),
        ("pkg:pypi/flask@1.0", DEBIAN, "pkg:pypi/flask@1.0"),  # not an OS package: unchanged
        ("not a purl", DEBIAN, "not a purl"),
        ("pkg:deb/debian/bash@5.2", Distro(id=""), "pkg:deb/debian/bash@5.2"),
    ],
)
def test_qualify_os_purl(purl: str, distro: Distro, expected: str) -> None:
    assert qualify_os_purl(purl, distro) == expected


def test_qualify_is_idempotent() -> None:
    once = qualify_os_purl("pkg:deb/debian/bash@5.2?arch=amd64", DEBIAN)
    assert qualify_os_purl(once, DEBIAN) == once


@pytest.mark.parametrize(
    ("module", "version", "expected"),
    [
        ("github.com/google/renameio/v2", "v2.0.2", "pkg:golang/github.com/google/renameio/v2@v2.0.2"),
        ("mvdan.cc/sh/v3", "v3.13.0", "pkg:golang/mvdan.cc/sh/v3@v3.13.0"),
        ("example", None, "pkg:golang/example"),
    ],
)
def test_golang_purl(module: str, version: str | None, expected: str) -> None:
    assert golang_purl(module, version) == expected


def test_make_purl_drops_empty_qualifiers() -> None:
    assert make_purl("deb", "x", "1", namespace="debian", qualifiers={"arch": ""}) == "pkg:deb/debian/x@1"
