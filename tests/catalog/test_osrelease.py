"""os-release(5) parsing: real files, quoting and escapes, garbage."""

from __future__ import annotations

import pytest

from tidegate.catalog.osrelease import OsReleaseCataloger
from tidegate.model.distro import Distro

from .conftest import claims, fixture_input, run

C = OsReleaseCataloger()


@pytest.mark.parametrize(
    ("case", "path", "expected"),
    [
        (
            "debian",
            "/usr/lib/os-release",
            Distro("debian", "12", "bookworm", "Debian GNU/Linux 12 (bookworm)", (), "/usr/lib/os-release"),
        ),
        (
            "alpine",
            "/etc/os-release",
            Distro("alpine", "3.19.1", "", "Alpine Linux v3.19", (), "/etc/os-release"),
        ),
        (
            "quoting",
            "/etc/os-release",
            Distro(
                "rocky",
                "9.3",
                "Blue Onyx",
                'Rocky "Blue Onyx" $9 \\ `x`',
                ("rhel", "centos", "fedora"),
                "/etc/os-release",
            ),
        ),
    ],
)
def test_parse(case: str, path: str, expected: Distro) -> None:
    out = run(C, fixture_input(f"osrelease/{case}", path))
    assert out.distro == expected
    assert out.packages == ()


def test_malformed_line_is_reported_not_fatal() -> None:
    out = run(C, fixture_input("osrelease/quoting", "/etc/os-release"))
    assert out.distro is not None
    assert len(out.unknowns) == 1 and "line 8" in out.unknowns[0].reason


def test_corrupt_is_unknown() -> None:
    out = run(C, fixture_input("osrelease/corrupt", "/etc/os-release"))
    assert out.distro is None and len(out.unknowns) == 1


@pytest.mark.parametrize(
    ("text", "expected_id"),
    [(b"", None), (b"NAME=x\n", "linux"), (b'ID="unterminated\n', None), (b"ID=fedora\r\n", "fedora")],
)
def test_edge_cases(text: bytes, expected_id: str | None) -> None:
    from .conftest import file_input

    out = run(C, file_input("/etc/os-release", text))
    assert (out.distro.id if out.distro else None) == expected_id


@pytest.mark.parametrize(
    ("path", "claimed"),
    [
        ("/etc/os-release", True),
        ("/usr/lib/os-release", True),
        ("/etc/os-release.bak", False),
        ("/x/etc/os-release", False),
    ],
)
def test_claims(path: str, claimed: bool) -> None:
    assert claims(C, path) is claimed
