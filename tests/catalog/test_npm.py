"""npm: installed package.json files, lockfile v1 and v3, corrupt JSON."""

from __future__ import annotations

import pytest

from tidegate.catalog.npm import NpmPackageCataloger
from tidegate.model.package import NpmPackage

from .conftest import claims, file_input, fixture_input, run

C = NpmPackageCataloger()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/app/node_modules/lodash/package.json", ("lodash", "4.17.20", "pkg:npm/lodash@4.17.20", ("MIT",))),
        (
            "/app/node_modules/@babel/core/package.json",
            ("@babel/core", "7.0.0", "pkg:npm/%40babel/core@7.0.0", ("MIT",)),
        ),
    ],
)
def test_installed(path: str, expected: tuple[object, ...]) -> None:
    out = run(C, fixture_input("npm/app", path))
    (pkg,) = out.packages
    assert (pkg.name, pkg.version, pkg.purl, pkg.licenses) == expected
    assert isinstance(pkg.metadata, NpmPackage) and not pkg.metadata.from_lockfile


def test_lockfile_v3() -> None:
    out = run(C, fixture_input("npm/app", "/app/package-lock.json"))
    assert out.unknowns == ()
    assert [(p.name, p.version, p.purl) for p in out.packages] == [
        ("lodash", "4.17.20", "pkg:npm/lodash@4.17.20"),
        ("@babel/core", "7.0.0", "pkg:npm/%40babel/core@7.0.0"),
        ("semver", "5.7.2", "pkg:npm/semver@5.7.2"),
    ]  # root "" entry, the workspace link and the workspace folder are not dependencies
    assert all(isinstance(p.metadata, NpmPackage) and p.metadata.from_lockfile for p in out.packages)


def test_lockfile_v1_nested() -> None:
    out = run(C, fixture_input("npm/lock-v1", "/app/package-lock.json"))
    assert [(p.name, p.version) for p in out.packages] == [
        ("express", "4.16.0"),
        ("debug", "2.6.9"),
        ("@types/node", "10.0.0"),
    ]


def test_corrupt() -> None:
    out = run(C, fixture_input("npm/corrupt", "/app/node_modules/bad/package.json"))
    assert out.packages == () and "invalid JSON" in out.unknowns[0].reason
    out = run(C, fixture_input("npm/corrupt", "/app2/package-lock.json"))
    assert [p.name for p in out.packages] == ["ok"]
    assert [u.reason for u in out.unknowns] == ["lock entry 'node_modules/nover' has no version"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\xff",
        b"[]",
        b'"x"',
        b'{"name": 1, "version": 2}',
        b'{"name": "x"}',
        b"[" * 100_000,
        b'{"license": []}',
    ],
)
def test_garbage_never_raises(data: bytes) -> None:
    for path in ("/node_modules/x/package.json", "/package-lock.json"):
        out = run(C, file_input(path, data))
        assert out.packages == ()


@pytest.mark.parametrize(
    ("path", "claimed"),
    [
        ("/app/node_modules/a/package.json", True),
        ("/app/node_modules/@s/a/package.json", True),
        ("/app/node_modules/a/node_modules/b/package.json", True),
        ("/usr/lib/node_modules/npm/package.json", True),
        ("/app/package-lock.json", True),
        ("/app/package.json", False),
        ("/app/node_modules/a/lib/package.json", False),
        ("/app/node_modules/.package-lock.json", False),
    ],
)
def test_claims(path: str, claimed: bool) -> None:
    assert claims(C, path) is claimed
