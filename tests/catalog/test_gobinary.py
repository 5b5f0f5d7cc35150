"""Go build info: the real shfmt binary of bookworm-app vs `go version -m` (truth file), the host's
Debian-built Go binaries, synthetic ELF files for both build-info formats, and corrupt inputs."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest

from tidegate.catalog.base import FileInput
from tidegate.catalog.gobinary import (
    BUILDINFO_MAGIC,
    GoModuleBinaryCataloger,
    go_unquote,
    parse_modinfo,
    read_buildinfo,
)
from tidegate.model.package import GoModule

from .conftest import claims, file_input, layer_files, location, run, truth

C = GoModuleBinaryCataloger()
START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
END = bytes.fromhex("f932433186182072008242104116d8f2")
MODINFO = (
    "path\texample.com/app/cmd/app\n"
    "mod\texample.com/app\t(devel)\t\n"
    "dep\tgolang.org/x/sys\tv0.1.0\th1:sys=\n"
    "dep\tgithub.com/old/lib\tv1.0.0\th1:old=\n"
    "=>\tgithub.com/fork/lib\tv1.0.1\th1:fork=\n"
    "dep\texample.com/local\tv0.0.0\n"
    "=>\t../local\t\n"
    "build\t-compiler=gc\n"
    'build\t-ldflags="-s -w -X main.v=1"\n'
    "build\tDefaultGODEBUG=a=1,b=0\n"
)


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


def _wrap(modinfo: str) -> bytes:
    return START + modinfo.encode() + END


def make_elf(blob_at_0x100: bytes, *, is64: bool = True, big: bool = False, vaddr: int = 0x400000) -> bytes:
    """A minimal ELF: header, one writable PT_LOAD mapping the whole file at `vaddr`, no section table."""
    e = ">" if big else "<"
    body = blob_at_0x100
    size = 0x100 + len(body)
    if is64:
        ident = b"\x7fELF" + bytes([2, 2 if big else 1, 1]) + bytes(9)
        hdr = ident + struct.pack(e + "HHIQQQIHHHHHH", 2, 62, 1, vaddr, 64, 0, 0, 64, 56, 1, 64, 0, 0)
        ph = struct.pack(e + "IIQQQQQQ", 1, 6, 0, vaddr, vaddr, size, size, 0x1000)
    else:
        ident = b"\x7fELF" + bytes([1, 2 if big else 1, 1]) + bytes(9)
        hdr = ident + struct.pack(e + "HHIIIIIHHHHHH", 2, 3, 1, vaddr, 52, 0, 0, 52, 32, 1, 40, 0, 0)
        ph = struct.pack(e + "IIIIIIII", 1, 0, vaddr, vaddr, size, size, 6, 0x1000)
    head = hdr + ph
    return head + bytes(0x100 - len(head)) + body


def inline_buildinfo(version: str, modinfo: bytes) -> bytes:
    """Go ≥ 1.18 layout: 32-byte header (flags 0x2), then varint-prefixed version and modinfo."""
    header = BUILDINFO_MAGIC + bytes([8, 2]) + bytes(16)
    v = version.encode()
    return header + _uvarint(len(v)) + v + _uvarint(len(modinfo)) + modinfo


def pointer_buildinfo(version: str, modinfo: bytes, *, ptr: int, big: bool, vaddr: int) -> bytes:
    """Go < 1.18 layout: two pointers to {data, len} string headers, resolved through the PT_LOAD."""
    e = ">" if big else "<"
    p = "Q" if ptr == 8 else "I"
    base = vaddr + 0x100  # the blob sits at file offset 0x100
    hdrs = 32
    vers_data = hdrs + 4 * ptr
    mod_data = vers_data + len(version)
    header = BUILDINFO_MAGIC + bytes([ptr, 1 if big else 0])
    header += struct.pack(e + p + p, base + hdrs, base + hdrs + 2 * ptr)
    header += bytes(32 - len(header))
    strings = struct.pack(e + p + p, base + vers_data, len(version))
    strings += struct.pack(e + p + p, base + mod_data, len(modinfo))
    return header + strings + version.encode() + modinfo


@pytest.fixture(scope="module")
def shfmt() -> tuple[int, bytes, int]:
    """(layer index, content, mode) of /usr/local/bin/shfmt, which layer 3 of bookworm-app adds."""
    files = layer_files("bookworm-app.oci.tar", 3, lambda p: p == "/usr/local/bin/shfmt")
    data, mode = files["/usr/local/bin/shfmt"]
    return 3, data, mode


def test_real_shfmt_matches_go_version_m(shfmt: tuple[int, bytes, int]) -> None:
    """Truth: `go version -m` over the rootfs (bookworm-app.truth.json images[0].go)."""
    layer, data, mode = shfmt
    assert claims(C, "/usr/local/bin/shfmt", mode, data[:4])
    (want,) = truth("bookworm-app")["go"]["binaries"]
    out = run(C, file_input(want["path"], data, mode, layer_index=layer))
    assert out.unknowns == ()
    main, *deps = out.packages
    assert isinstance(main.metadata, GoModule) and main.metadata.is_main
    assert (main.name, main.version, main.metadata.h1) == (
        want["main"]["path"],
        want["main"]["version"],
        want["main"]["sum"],
    )
    assert main.purl == "pkg:golang/mvdan.cc/sh/v3@v3.13.0"
    assert main.metadata.main_path == want["main_path"]
    assert dict(main.metadata.build_settings) == want["build"]
    assert [k for k, _ in main.metadata.build_settings] == list(want["build"])  # order kept
    got_deps = [(d.name, d.version, d.metadata.h1) for d in deps if isinstance(d.metadata, GoModule)]
    assert got_deps == [(d["path"], d["version"], d["sum"]) for d in want["deps"]]
    for p in out.packages:
        assert isinstance(p.metadata, GoModule)
        assert p.metadata.go_version == want["go_version"] and p.metadata.binary_path == want["path"]
        assert p.type == "golang" and p.name != "stdlib"
    assert len(out.packages) == truth("bookworm-app")["counts"]["go_modules"]


def test_real_shfmt_truncated_is_unknown(shfmt: tuple[int, bytes, int]) -> None:
    _layer, data, mode = shfmt
    at = data.index(BUILDINFO_MAGIC)
    out = run(C, file_input("/usr/local/bin/shfmt", data[: at + 40], mode))
    assert out.packages == () and "truncated" in out.unknowns[0].reason


@pytest.mark.parametrize("path", ["/usr/bin/skopeo", "/usr/bin/docker-registry"])
def test_host_debian_go_binaries(path: str) -> None:
    """Debian builds Go packages in GOPATH mode: build info has a Go version and main package, no modules.

    Read straight from disk through the same seekable-stream interface the engine's spool provides.
    """
    if not os.path.exists(path):  # pragma: no cover - the dev machine has both
        pytest.skip(f"{path} not installed")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        info = read_buildinfo(f, size)
        assert info is not None
        assert info.go_version.startswith("go1.") and info.main_path.endswith(("/skopeo", "/registry"))
        assert ("-compiler", "gc") in info.settings and info.malformed == ()
        assert info.main is None and info.deps == ()
        out = run(C, FileInput(location(path), f, size, 0o755))
    assert out.packages == () and out.unknowns == ()


@pytest.mark.parametrize(
    ("name", "elf"),
    [
        ("inline-64le", make_elf(inline_buildinfo("go1.22.0", _wrap(MODINFO)))),
        (
            "pointer-64le",
            make_elf(pointer_buildinfo("go1.16.5", _wrap(MODINFO), ptr=8, big=False, vaddr=0x400000)),
        ),
        (
            "pointer-32be",
            make_elf(
                pointer_buildinfo("go1.12.1", _wrap(MODINFO), ptr=4, big=True, vaddr=0x10000),
                is64=False,
                big=True,
                vaddr=0x10000,
            ),
        ),
        ("no-elf-headers", b"\x00" * 48 + inline_buildinfo("go1.22.0", _wrap(MODINFO))),
    ],
)
def test_synthetic_formats(name: str, elf: bytes) -> None:
    out = run(C, file_input("/bin/app", elf, 0o755))
    assert out.unknowns == ()
    rows = [
        (p.name, p.version, p.purl, p.metadata.module_path, p.metadata.replaced_by, p.metadata.h1)
        for p in out.packages
    ]  # type: ignore[union-attr]
    assert rows == [
        ("example.com/app", "(devel)", "pkg:golang/example.com/app", "example.com/app", "", ""),
        (
            "golang.org/x/sys",
            "v0.1.0",
            "pkg:golang/golang.org/x/sys@v0.1.0",
            "golang.org/x/sys",
            "",
            "h1:sys=",
        ),
        (
            "github.com/fork/lib",
            "v1.0.1",
            "pkg:golang/github.com/fork/lib@v1.0.1",
            "github.com/old/lib",
            "github.com/fork/lib@v1.0.1",
            "h1:fork=",
        ),
        ("example.com/local", "(devel)", "pkg:golang/example.com/local", "example.com/local", "../local", ""),
    ]
    main = out.packages[0].metadata
    assert isinstance(main, GoModule)
    assert main.build_settings == (
        ("-compiler", "gc"),
        ("-ldflags", "-s -w -X main.v=1"),
        ("DefaultGODEBUG", "a=1,b=0"),
    )


@pytest.mark.parametrize(
    ("name", "data", "phrase"),
    [
        ("header cut", make_elf(inline_buildinfo("go1.22.0", _wrap(MODINFO))[:20]), "truncated"),
        ("modinfo cut", make_elf(inline_buildinfo("go1.22.0", _wrap(MODINFO))[:60]), "truncated"),
        (
            "huge length",
            make_elf(BUILDINFO_MAGIC + bytes([8, 2]) + bytes(16) + _uvarint(1 << 40)),
            "implausibly",
        ),
        ("bad varint", make_elf(BUILDINFO_MAGIC + bytes([8, 2]) + bytes(16) + b"\xff" * 12), "varint"),
        ("no version", make_elf(inline_buildinfo("", _wrap(MODINFO))), "no Go version"),
        ("bad pointer size", make_elf(BUILDINFO_MAGIC + bytes([3, 0]) + bytes(16)), "pointer size"),
        (
            "dangling pointer",
            make_elf(BUILDINFO_MAGIC + bytes([8, 0]) + struct.pack("<QQ", 1, 2)),
            "outside the file",
        ),
    ],
)
def test_corrupt_buildinfo_is_unknown(name: str, data: bytes, phrase: str) -> None:
    out = run(C, file_input("/bin/app", data, 0o755))
    assert out.packages == ()
    assert len(out.unknowns) == 1 and phrase in out.unknowns[0].reason, out.unknowns


@pytest.mark.parametrize(
    "data",
    [
        make_elf(b"no build info here" * 100),  # non-Go ELF: nothing, not an Unknown
        b"\x7fELF",
        b"\x7fELF" + bytes(60),
        b"\x7fELF\x02\x01\x01" + b"\xff" * 200,
        b"",
        Path("/bin/sh").read_bytes() if Path("/bin/sh").exists() else b"",
        make_elf(BUILDINFO_MAGIC[:10]),
    ],
)
def test_not_go_is_empty(data: bytes) -> None:
    out = run(C, file_input("/bin/x", data, 0o755))
    assert out.packages == () and out.unknowns == ()


def test_misaligned_magic_is_ignored() -> None:
    out = run(
        C, file_input("/bin/x", make_elf(b"\x00" * 3 + inline_buildinfo("go1.22.0", _wrap(MODINFO))), 0o755)
    )
    assert out.packages == () and out.unknowns == ()


def test_malformed_modinfo_lines_are_reported() -> None:
    info = parse_modinfo(
        "go1.22.0", "mod\tx\tv1\t\ndep\tonly-path\n=>\twithout\tmod\tx\tx\nbogus\tline\nbuild\tnoequals\n"
    )
    assert info.main is not None and info.main.path == "x"
    assert len(info.malformed) == 4
    out = run(
        C,
        file_input("/bin/app", make_elf(inline_buildinfo("go1.22.0", _wrap("mod\tx\tv1\t\nbogus\n"))), 0o755),
    )
    assert [p.name for p in out.packages] == ["x"] and "malformed modinfo" in out.unknowns[0].reason


def test_sentinels_missing_means_no_modules() -> None:
    out = run(C, file_input("/bin/app", make_elf(inline_buildinfo("go1.22.0", b"mod\tx\tv1\n")), 0o755))
    assert out.packages == () and out.unknowns == ()


@pytest.mark.parametrize(
    ("quoted", "value"),
    [
        ('"a b"', "a b"),
        (r'"tab\there"', "tab\there"),
        (r'"q\"x\\"', 'q"x\\'),
        (r'"\x41\u00e9\101"', "Aé" + "A"),
    ],
)
def test_go_unquote(quoted: str, value: str) -> None:
    assert go_unquote(quoted) == (value, "")


@pytest.mark.parametrize(
    ("path", "mode", "head", "claimed"),
    [
        ("/usr/local/bin/shfmt", 0o755, b"\x7fELF", True),
        ("/opt/app/run", 0o100, b"\x7fELF", True),
        ("/usr/lib/libc.so.6", 0o644, b"\x7fELF", False),  # not executable
        ("/usr/bin/script", 0o755, b"#!/bi", False),  # not ELF
        ("/usr/bin/empty", 0o755, b"", False),
    ],
)
def test_claims(path: str, mode: int, head: bytes, claimed: bool) -> None:
    assert claims(C, path, mode, head) is claimed


def test_magic_found_across_chunks_without_elf_headers() -> None:
    blob = inline_buildinfo("go1.22.0", _wrap(MODINFO))
    data = b"\x7fELF" + bytes(3 * 1024 * 1024 + 12) + blob  # aligned at 3 MiB + 16, beyond the first chunks
    out = run(C, file_input("/bin/app", data, 0o755))
    assert out.unknowns == () and len(out.packages) == 4
