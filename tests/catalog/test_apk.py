"""Alpine installed-database parsing."""

from __future__ import annotations

import pytest

from tidegate.catalog.apk import ApkDbCataloger
from tidegate.model.package import ApkEntry

from .conftest import claims, file_input, fixture_input, run

C = ApkDbCataloger()


def test_installed_db() -> None:
    out = run(C, fixture_input("apk/basic", "/lib/apk/db/installed"))
    assert out.unknowns == ()
    assert [(p.name, p.version, p.purl) for p in out.packages] == [
        ("musl", "1.2.4-r2", "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64"),
        ("libcrypto3", "3.1.4-r5", "pkg:apk/alpine/libcrypto3@3.1.4-r5?arch=x86_64&upstream=openssl"),
        ("alpine-baselayout-data", "3.4.3-r2", "pkg:apk/alpine/alpine-baselayout-data@3.4.3-r2?arch=x86_64"),
    ]
    assert out.packages[0].metadata == ApkEntry(
        "musl", "1.2.4-r2", "x86_64", "musl", "Timo Teräs <timo.teras@iki.fi>", "MIT"
    )
    assert out.packages[0].licenses == ("MIT",)
    third = out.packages[2].metadata
    assert isinstance(third, ApkEntry) and third.origin == "alpine-baselayout-data"  # no o: → own name


def test_corrupt() -> None:
    out = run(C, fixture_input("apk/corrupt", "/lib/apk/db/installed"))
    assert [p.name for p in out.packages] == ["ok"]
    reasons = [u.reason for u in out.unknowns]
    assert len(reasons) == 3
    assert "no V:" in reasons[0] and "malformed line" in reasons[1] and "no P:" in reasons[2]


@pytest.mark.parametrize("data", [b"\x00\x01binary", b"", b"P:", b"P:x\nV:\n", bytes(range(256))])
def test_garbage_never_raises(data: bytes) -> None:
    out = run(C, file_input("/lib/apk/db/installed", data))
    assert all(p.name and p.version for p in out.packages)


@pytest.mark.parametrize(
    ("path", "claimed"),
    [("/lib/apk/db/installed", True), ("/lib/apk/db/lock", False), ("/usr/lib/apk/db/installed", False)],
)
def test_claims(path: str, claimed: bool) -> None:
    assert claims(C, path) is claimed
