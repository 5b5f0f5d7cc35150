"""Installed Python distributions: dist-info, egg-info (dir and file), corrupt metadata, real image vs truth."""

from __future__ import annotations

import pytest

from tidegate.catalog.python import PythonInstalledCataloger
from tidegate.model.package import PythonDist

from .conftest import claims, file_input, fixture_input, layer_files, run, truth

C = PythonInstalledCataloger()
SITE = "/usr/lib/python3/dist-packages"


@pytest.mark.parametrize(
    ("path", "name", "dist", "purl", "licenses"),
    [
        (
            f"{SITE}/Foo_Bar-1.0.dist-info/METADATA",
            "foo-bar",
            PythonDist("Foo_Bar", "1.0", f"{SITE}/Foo_Bar-1.0.dist-info", license="MIT OR Apache-2.0"),
            "pkg:pypi/foo-bar@1.0",
            ("MIT OR Apache-2.0",),
        ),
        (
            f"{SITE}/old_pkg-0.9-py3.11.egg-info/PKG-INFO",
            "old-pkg",
            PythonDist("old.pkg", "0.9", f"{SITE}/old_pkg-0.9-py3.11.egg-info"),
            "pkg:pypi/old-pkg@0.9",
            (),  # "UNKNOWN" is a placeholder, not a license
        ),
        (
            f"{SITE}/Single_File-2.0.egg-info",
            "single-file",
            PythonDist("Single_File", "2.0", f"{SITE}/Single_File-2.0.egg-info", license="BSD"),
            "pkg:pypi/single-file@2.0",
            ("BSD",),
        ),
    ],
)
def test_parse(path: str, name: str, dist: PythonDist, purl: str, licenses: tuple[str, ...]) -> None:
    out = run(C, fixture_input("python/site", path))
    assert out.unknowns == ()
    (pkg,) = out.packages
    assert (pkg.name, pkg.version, pkg.type, pkg.purl, pkg.licenses) == (
        name,
        dist.version,
        "pypi",
        purl,
        licenses,
    )
    assert pkg.metadata == dist


def test_missing_version_is_unknown() -> None:
    out = run(C, fixture_input("python/corrupt", f"{SITE}/broken-1.0.dist-info/METADATA"))
    assert out.packages == () and "no Version" in out.unknowns[0].reason


@pytest.mark.parametrize("data", [b"\x00\x00garbage", b"", b"\xff\xfe\n\n", b"Name: x\n" * 200_000])
def test_garbage_never_raises(data: bytes) -> None:
    run(C, file_input(f"{SITE}/x-1.dist-info/METADATA", data))


@pytest.mark.parametrize(
    ("path", "claimed"),
    [
        (f"{SITE}/a-1.dist-info/METADATA", True),
        ("/usr/local/lib/python3.11/site-packages/a-1.egg-info/PKG-INFO", True),
        (f"{SITE}/a-1.egg-info", True),
        (f"{SITE}/a-1.dist-info/RECORD", False),
        (f"{SITE}/a-1.dist-info/METADATA.bak", False),
    ],
)
def test_claims(path: str, claimed: bool) -> None:
    assert claims(C, path) is claimed


def test_real_bookworm_app_matches_importlib_metadata() -> None:
    """Truth: importlib.metadata over every dist-info/egg-info of the rootfs (bookworm-app.truth.json)."""
    image = "bookworm-app.oci.tar"
    got = []
    for index in range(6):
        files = layer_files(image, index, lambda p: claims(C, p))
        for path, (data, mode) in sorted(files.items()):
            out = run(C, file_input(path, data, mode, layer_index=index))
            assert out.unknowns == ()
            for p in out.packages:
                assert isinstance(p.metadata, PythonDist)
                got.append((p.metadata.name, p.version, p.metadata.metadata_dir))
    expected = [
        (d["name"], d["version"], d["metadata_dir"]) for d in truth("bookworm-app")["python"]["distributions"]
    ]
    assert sorted(got) == sorted(expected)
