"""dpkg status parsing: fixtures, distroless status.d, corrupt stanzas, and the real test images vs truth."""

from __future__ import annotations

import pytest

from tidegate.catalog.dpkg import DpkgStatusCataloger
from tidegate.model.package import DpkgEntry

from .conftest import claims, file_input, fixture_input, last_layer_with, layer_files, run, truth

C = DpkgStatusCataloger()


def test_status_file() -> None:
    out = run(C, fixture_input("dpkg/status", "/var/lib/dpkg/status"))
    assert out.unknowns == ()
    got = {p.name: p for p in out.packages}
    # config-files, not-installed and half-installed stanzas are not installed packages.
    assert sorted(got) == ["bash", "libc6", "libgcrypt20", "tzdata"]
    libc = got["libc6"]
    assert libc.version == "2.36-9+deb12u4" and libc.type == "deb"
    assert libc.metadata == DpkgEntry(
        package="libc6",
        version="2.36-9+deb12u4",
        architecture="amd64",
        source_name="glibc",
        source_version="2.36-9+deb12u4",
        maintainer="GNU Libc Maintainers <debian-glibc@lists.debian.org>",
        installed_size_kib=12986,
    )
    assert libc.purl == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64&upstream=glibc"
    # "Source: name (version)" gives a binNMU its source version.
    gcrypt = got["libgcrypt20"].metadata
    assert isinstance(gcrypt, DpkgEntry)
    assert (gcrypt.source_name, gcrypt.source_version) == ("libgcrypt20", "1.10.1-3")
    assert got["libgcrypt20"].purl == (
        "pkg:deb/debian/libgcrypt20@1.10.1-3%2Bb1?arch=amd64&upstream=libgcrypt20%401.10.1-3"
    )
    # hold ok installed counts; a Source equal to the binary gets no upstream qualifier.
    assert got["bash"].purl == "pkg:deb/debian/bash@5.2.15-2%2Bb2?arch=amd64"
    assert got["tzdata"].purl == "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all"


def test_distroless_stanza_without_status_is_installed() -> None:
    out = run(C, fixture_input("dpkg/distroless", "/var/lib/dpkg/status.d/libbz2-1.0"))
    assert [(p.name, p.version) for p in out.packages] == [("libbz2-1.0", "1.0.8-5+b1")]
    meta = out.packages[0].metadata
    assert isinstance(meta, DpkgEntry) and (meta.source_name, meta.source_version) == ("bzip2", "1.0.8-5")


def test_corrupt_stanzas_become_unknowns() -> None:
    out = run(C, fixture_input("dpkg/corrupt", "/var/lib/dpkg/status"))
    assert [p.name for p in out.packages] == ["good"]
    reasons = " | ".join(u.reason for u in out.unknowns)
    assert len(out.unknowns) == 4, reasons
    for phrase in ("continuation line", "'no-version' has no Version", "malformed Source", "malformed line"):
        assert phrase in reasons


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\xff\xfe garbage \x00",
        bytes(range(256)) * 4,
        b"",
        b"\n\n\n",
        "Package: ü\nVersion: 1\n".encode("latin-1"),
    ],
)
def test_garbage_never_raises(data: bytes) -> None:
    out = run(C, file_input("/var/lib/dpkg/status", data))
    assert all(p.name and p.version for p in out.packages)


@pytest.mark.parametrize(
    ("path", "claimed"),
    [
        ("/var/lib/dpkg/status", True),
        ("/var/lib/dpkg/status.d/libc6", True),
        ("/var/lib/dpkg/status.d/libbz2-1.0", True),
        ("/var/lib/dpkg/status.d/libpython3.11-minimal", True),
        ("/var/lib/dpkg/status.d/libc6.md5sums", False),
        ("/var/lib/dpkg/status.d/libc6.list", False),
        ("/var/lib/dpkg/status-old", False),
        ("/var/lib/dpkg/info/libc6.list", False),
        ("/opt/var/lib/dpkg/status", False),
    ],
)
def test_claims(path: str, claimed: bool) -> None:
    assert claims(C, path) is claimed


def _rows(packages: object) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for p in packages:  # type: ignore[attr-defined]
        m = p.metadata
        rows.append((m.package, m.version, m.source_name, m.source_version, m.architecture))
    return sorted(rows)


def _truth_rows(image: str) -> list[tuple[str, str, str, str, str]]:
    pkgs = truth(image)["dpkg"]["packages"]
    return sorted((p["name"], p["version"], p["source_name"], p["source_version"], p["arch"]) for p in pkgs)


def test_real_bookworm_app_status_matches_dpkg_query() -> None:
    """Truth: dpkg-query -W over the image's merged rootfs (bookworm-app.truth.json)."""
    index, data = last_layer_with("bookworm-app.oci.tar", "/var/lib/dpkg/status")
    out = run(C, file_input("/var/lib/dpkg/status", data, layer_index=index))
    assert out.unknowns == ()
    assert _rows(out.packages) == _truth_rows("bookworm-app")
    assert len(out.packages) == truth("bookworm-app")["dpkg"]["count"]


def test_real_distroless_status_d_matches_dpkg_query() -> None:
    """Truth: dpkg-query -W over the concatenated status.d stanzas (distroless-py.truth.json)."""
    image = "distroless-py.oci.tar"
    packages = []
    for index in range(4):
        files = layer_files(image, index, lambda p: p.startswith("/var/lib/dpkg/status.d/"))
        for path, (data, mode) in sorted(files.items()):
            if not claims(C, path, mode):
                assert path.endswith(".md5sums")
                continue
            out = run(C, file_input(path, data, mode, layer_index=index))
            assert out.unknowns == ()
            packages.extend(out.packages)
    assert _rows(packages) == _truth_rows("distroless-py")


def test_hostile_package_count_is_bounded() -> None:
    """More stanzas than any real system has: one Unknown, decided on the raw bytes in bounded time."""
    import time

    from tidegate.catalog.base import MAX_PACKAGES_PER_FILE
    from tidegate.catalog.dpkg import DpkgStatusCataloger

    data = b"".join(b"Package: p%d\nStatus: install ok installed\nVersion: 1\n\n" % i
                    for i in range(MAX_PACKAGES_PER_FILE + 1))
    t0 = time.monotonic()
    out = run(DpkgStatusCataloger(), file_input("/var/lib/dpkg/status", data))
    assert time.monotonic() - t0 < 2
    assert out.packages == () and "100,001 entries" in out.unknowns[0].reason


def test_hostile_field_length_is_bounded() -> None:
    from tidegate.catalog.dpkg import DpkgStatusCataloger

    data = b"Package: a\nStatus: install ok installed\nVersion: " + b"1" * 10_000_000 + b"\n\n" + \
        b"Package: b\nStatus: install ok installed\nVersion: 2\nDescription: x\n" + b" more\n" * 200_000 + b"\n"
    out = run(DpkgStatusCataloger(), file_input("/var/lib/dpkg/status", data))
    assert [(p.name, p.version) for p in out.packages] == [("b", "2")]
    assert "longer than" in out.unknowns[0].reason
