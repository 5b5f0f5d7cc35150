"""The ``go-module-binary`` cataloger: Go modules recorded in an executable's build info.

Go (≥ 1.13) links a build-info blob into every binary, in the ``.go.buildinfo`` section of ELF files. It
starts at a 16-byte aligned offset with a 32-byte header (cmd/go's ``debug/buildinfo``)::

    "\\xff Go buildinf:"  14 bytes of magic
    ptr_size, flags      1 byte each; flags 0x1 = big-endian, 0x2 = strings inline (Go ≥ 1.18)
    inline (Go ≥ 1.18):  at +32, uvarint length + Go version, then uvarint length + modinfo
    pointers (older):    at +16, two pointers to Go string headers {data, len} for version and modinfo

modinfo is the text of ``runtime/debug.BuildInfo`` between two 16-byte sentinels: ``path``, ``mod``, ``dep``,
``=>`` (replaces the preceding mod/dep) and ``build`` lines. One `Package` is emitted per module: the main
module (``is_main``) and every dependency; the toolchain version lives in `GoModule.go_version` and no
``stdlib`` pseudo-package is emitted::

    out = GoModuleBinaryCataloger().parse(file)
    [(p.name, p.version) for p in out.packages]   # [("mvdan.cc/sh/v3", "v3.13.0"), ("golang.org/x/sys", …)]

Binaries can be large and are spooled to disk: the file is read in bounded chunks, never whole.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

from tidegate.catalog.base import Cataloger, CatalogOutput, FileInput, MiB
from tidegate.catalog.purls import golang_purl
from tidegate.model.finding import Unknown
from tidegate.model.location import Location
from tidegate.model.package import GoModule, Package

BUILDINFO_MAGIC = b"\xff Go buildinf:"
"""The first 14 bytes of Go's build-info header."""
ELF_MAGIC = b"\x7fELF"
"""The first 4 bytes of an ELF file."""

_HEADER_SIZE = 32
_ALIGN = 16
_CHUNK = 1 * MiB
_MAX_STRING = 4 * MiB  # modinfo of very large module graphs stays far below this
_FLAG_BIG_ENDIAN = 0x1
_FLAG_INLINE = 0x2
_PT_LOAD = 1
_PF_X, _PF_W = 0x1, 0x2
# Sentinels around modinfo (cmd/go/internal/modload/build.go: infoStart, infoEnd).
_INFO_START = bytes.fromhex("3077af0c9274080241e1c107e6d618e6")
_INFO_END = bytes.fromhex("f932433186182072008242104116d8f2")


class BuildInfoError(ValueError):
    """Build info that was found but could not be decoded."""


@dataclass(frozen=True, slots=True)
class Module:
    """One ``mod``/``dep`` line of modinfo, with its ``=>`` replacement when present."""

    path: str
    """Module path."""
    version: str
    """Module version."""
    sum: str = ""
    """``h1:`` checksum, when recorded."""
    replace: Module | None = None
    """The replacement module (a local directory has an empty version)."""


@dataclass(frozen=True, slots=True)
class BuildInfo:
    """Decoded build info of one binary."""

    go_version: str
    """Toolchain version (``go1.26.1``)."""
    main_path: str = ""
    """``path`` line: the main package's import path."""
    main: Module | None = None
    """``mod`` line: the main module."""
    deps: tuple[Module, ...] = ()
    """``dep`` lines, in order."""
    settings: tuple[tuple[str, str], ...] = ()
    """``build`` lines as (key, value)."""
    malformed: tuple[str, ...] = ()
    """modinfo lines that could not be parsed (reported, not fatal)."""


# --- ELF ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Elf:
    is64: bool
    endian: str  # "<" or ">"
    loads: tuple[tuple[int, int, int, int], ...]  # PT_LOAD: (vaddr, offset, filesz, flags)
    buildinfo_section: tuple[int, int] | None  # (file offset, size) of .go.buildinfo
    has_sections: bool  # a readable section table was present


def _read_at(f: BinaryIO, offset: int, n: int) -> bytes:
    if offset < 0 or n <= 0:
        return b""
    f.seek(offset)
    return f.read(n)


def _parse_elf(f: BinaryIO, size: int) -> _Elf | None:
    """Program headers and the ``.go.buildinfo`` section, tolerating a missing or bogus section table."""
    ident = _read_at(f, 0, 64)
    if len(ident) < 52 or ident[:4] != ELF_MAGIC or ident[4] not in (1, 2) or ident[5] not in (1, 2):
        return None
    is64 = ident[4] == 2
    e = "<" if ident[5] == 1 else ">"
    if is64:
        if len(ident) < 64:
            return None
        phoff, shoff = struct.unpack_from(e + "QQ", ident, 0x20)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", ident, 0x36)
    else:
        phoff, shoff = struct.unpack_from(e + "II", ident, 0x1C)
        phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from(e + "HHHHH", ident, 0x2A)

    loads: list[tuple[int, int, int, int]] = []
    if phnum and phentsize >= (56 if is64 else 32) and phoff + phnum * phentsize <= size:
        table = _read_at(f, phoff, phnum * phentsize)
        for i in range(len(table) // phentsize):
            base = i * phentsize
            if is64:
                ptype, flags, off, vaddr, _pa, filesz = struct.unpack_from(e + "IIQQQQ", table, base)
            else:
                ptype, off, vaddr, _pa, filesz, _mem, flags = struct.unpack_from(e + "IIIIIII", table, base)
            if ptype == _PT_LOAD:
                loads.append((vaddr, off, filesz, flags))

    section: tuple[int, int] | None = None
    has_sections = False
    shmin = 64 if is64 else 40
    if shnum and shentsize >= shmin and shoff + shnum * shentsize <= size and shstrndx < shnum:
        table = _read_at(f, shoff, shnum * shentsize)

        def sh(i: int) -> tuple[int, int, int, int]:
            fmt = e + ("IIQQQQ" if is64 else "IIIIII")
            name, stype, _fl, _addr, off, sz = struct.unpack_from(fmt, table, i * shentsize)
            return name, stype, off, sz

        _n, _t, stroff, strsz = sh(shstrndx)
        strtab = _read_at(f, stroff, min(strsz, 1 * MiB))
        if not strtab or len(strtab) < min(strsz, 1 * MiB):
            # Section names lie past the end of the file (truncated binary): fall back to segments.
            return _Elf(is64, e, tuple(loads), None, False)
        for i in range(shnum):
            name_off, stype, off, sz = sh(i)
            end = strtab.find(b"\x00", name_off)
            if end > name_off and strtab[name_off:end] == b".go.buildinfo" and stype != 8:  # 8 = SHT_NOBITS
                section = (off, sz)
                break
        has_sections = True
    return _Elf(is64, e, tuple(loads), section, has_sections)


def _vaddr_to_offset(elf: _Elf, addr: int) -> int | None:
    for vaddr, off, filesz, _flags in elf.loads:
        if vaddr <= addr < vaddr + filesz:
            return off + (addr - vaddr)
    return None


# --- finding and decoding build info ------------------------------------------------------------------


def _find_magic(f: BinaryIO, start: int, end: int) -> list[int]:
    """Offsets of the magic at 16-byte alignment (relative to `start`) within [start, end), in order."""
    hits: list[int] = []
    pos = start
    while pos < end and len(hits) < 8:
        chunk = _read_at(f, pos, min(_CHUNK, end - pos))
        if not chunk:
            break
        i = chunk.find(BUILDINFO_MAGIC)
        while i >= 0:
            if (pos + i - start) % _ALIGN == 0:
                hits.append(pos + i)
            i = chunk.find(BUILDINFO_MAGIC, i + 1)
        # _CHUNK is a multiple of the alignment, so an aligned magic never straddles two chunks.
        pos += len(chunk)
    return hits


def _uvarint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    for _ in range(10):
        if pos >= len(buf):
            raise BuildInfoError("truncated build info (varint)")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, pos
        shift += 7
    raise BuildInfoError("malformed varint in build info")


def _inline_strings(f: BinaryIO, offset: int) -> tuple[bytes, bytes]:
    buf = _read_at(f, offset + _HEADER_SIZE, 64 * 1024)
    out: list[bytes] = []
    pos = 0
    for _ in range(2):
        n, pos = _uvarint(buf, pos)
        if n > _MAX_STRING:
            raise BuildInfoError(f"build-info string of {n} bytes is implausibly large")
        if pos + n > len(buf):
            buf += _read_at(f, offset + _HEADER_SIZE + len(buf), pos + n - len(buf))
            if pos + n > len(buf):
                raise BuildInfoError("truncated build info (string past end of file)")
        out.append(buf[pos : pos + n])
        pos += n
    return out[0], out[1]


def _pointer_strings(f: BinaryIO, header: bytes, elf: _Elf | None) -> tuple[bytes, bytes]:
    ptr_size = header[14]
    if ptr_size not in (4, 8):
        raise BuildInfoError(f"unsupported pointer size {ptr_size}")
    if elf is None or not elf.loads:
        raise BuildInfoError("pointer-format build info without ELF program headers to resolve it")
    e = ">" if header[15] & _FLAG_BIG_ENDIAN else "<"
    fmt = e + ("Q" if ptr_size == 8 else "I")

    def read_string(addr: int) -> bytes:
        off = _vaddr_to_offset(elf, addr)
        hdr = _read_at(f, off, 2 * ptr_size) if off is not None else b""
        if len(hdr) < 2 * ptr_size:
            raise BuildInfoError(f"string header at {addr:#x} is outside the file")
        data_addr, n = struct.unpack_from(fmt, hdr, 0)[0], struct.unpack_from(fmt, hdr, ptr_size)[0]
        if n == 0:
            return b""
        if n > _MAX_STRING:
            raise BuildInfoError(f"build-info string of {n} bytes is implausibly large")
        data_off = _vaddr_to_offset(elf, data_addr)
        data = _read_at(f, data_off, n) if data_off is not None else b""
        if len(data) < n:
            raise BuildInfoError(f"string data at {data_addr:#x} is outside the file")
        return data

    vers_ptr = struct.unpack_from(fmt, header, 16)[0]
    mod_ptr = struct.unpack_from(fmt, header, 16 + ptr_size)[0]
    return read_string(vers_ptr), read_string(mod_ptr)


def read_buildinfo(f: BinaryIO, size: int) -> BuildInfo | None:
    """Locate and decode the build info of an ELF binary; None when it has none (not a Go binary).

    Raises `BuildInfoError` when build info is present but cannot be decoded (e.g. a truncated file).
    """
    elf = _parse_elf(f, size)
    # Where to look, as debug/buildinfo does: the .go.buildinfo section; else the first writable,
    # non-executable PT_LOAD segment; else (no usable ELF headers) the whole file.
    # NOTE: the Go linker has emitted .go.buildinfo since Go 1.13, so an ELF with a readable section table
    # and no such section is not a (module-aware) Go binary: skipping the scan keeps non-Go ELFs cheap.
    if elf is not None and elf.buildinfo_section is not None:
        off, length = elf.buildinfo_section
        if off + length > size:
            raise BuildInfoError("truncated file: .go.buildinfo lies past the end")
        hits = _find_magic(f, off, min(size, off + length))
    elif elf is not None and elf.has_sections:
        return None
    else:
        hits = []
        writable = [(o, n) for _v, o, n, fl in (elf.loads if elf else ()) if fl & (_PF_X | _PF_W) == _PF_W]
        if writable:
            off, length = writable[0]
            hits = _find_magic(f, off, min(size, off + length))
        if not hits:
            hits = _find_magic(f, 0, size)
    if not hits:
        return None
    first_error: BuildInfoError | None = None
    for offset in hits:
        try:
            return _decode_at(f, offset, elf)
        except BuildInfoError as e:
            first_error = first_error or e
    assert first_error is not None
    raise first_error


def _decode_at(f: BinaryIO, offset: int, elf: _Elf | None) -> BuildInfo:
    header = _read_at(f, offset, _HEADER_SIZE)
    if len(header) < _HEADER_SIZE:
        raise BuildInfoError("truncated build info (header)")
    if header[15] & _FLAG_INLINE:
        vers, mod = _inline_strings(f, offset)
    else:
        vers, mod = _pointer_strings(f, header, elf)
    if not vers:
        raise BuildInfoError("build info has no Go version")
    return parse_modinfo(vers.decode("utf-8", errors="replace"), strip_sentinels(mod))


def strip_sentinels(mod: bytes) -> str:
    """modinfo without its 16-byte start/end sentinels (debug/buildinfo: checks the ``\\n`` before the end)."""
    if len(mod) >= 33 and mod[-17:-16] == b"\n":
        return mod[16:-16].decode("utf-8", errors="replace")
    return ""


# --- modinfo text ---------------------------------------------------------------------------------------

_ESCAPES = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92, "'": 39, '"': 34}


def go_unquote(s: str) -> tuple[str, str]:
    """Decode a leading Go double-quoted string (strconv.Quote form); returns (value, rest after the quote)."""
    if not s.startswith('"'):
        raise ValueError("not a quoted string")
    out = bytearray()
    i = 1
    while i < len(s):
        c = s[i]
        if c == '"':
            return out.decode("utf-8", errors="replace"), s[i + 1 :]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        if i + 1 >= len(s):
            break
        k = s[i + 1]
        if k in _ESCAPES:
            out.append(_ESCAPES[k])
            i += 2
        elif k == "x":
            out.append(int(s[i + 2 : i + 4], 16))
            i += 4
        elif k in "uU":
            width = 4 if k == "u" else 8
            out += chr(int(s[i + 2 : i + 2 + width], 16)).encode()
            i += 2 + width
        elif k in "01234567":
            out.append(int(s[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            raise ValueError(f"bad escape \\{k}")
    raise ValueError("unterminated quoted string")


def _build_setting(text: str) -> tuple[str, str]:
    """``key=value`` of a ``build`` line; key and value are strconv-quoted when they hold special characters."""
    if text.startswith('"'):
        key, rest = go_unquote(text)
        if not rest.startswith("="):
            raise ValueError("missing '=' after quoted key")
        value = rest[1:]
    else:
        key, sep, value = text.partition("=")
        if not sep or not key:
            raise ValueError("missing '='")
    if value.startswith('"'):
        value, tail = go_unquote(value)
        if tail:
            raise ValueError("text after quoted value")
    return key, value


def _module(fields: list[str]) -> Module:
    if len(fields) not in (2, 3) or not fields[0]:
        raise ValueError("expected path, version[, sum]")
    return Module(fields[0], fields[1], fields[2] if len(fields) == 3 else "")


def parse_modinfo(go_version: str, modinfo: str) -> BuildInfo:
    """Parse modinfo text (runtime/debug.ParseBuildInfo's grammar); bad lines are collected, not fatal."""
    main_path = ""
    main: Module | None = None
    deps: list[Module] = []
    settings: list[tuple[str, str]] = []
    malformed: list[str] = []
    last: str = ""  # "mod" or "dep": what a "=>" line replaces
    for line in modinfo.splitlines():
        if not line:
            continue
        kind, _, rest = line.partition("\t")
        try:
            if kind == "go":
                go_version = go_version or rest
            elif kind == "path":
                main_path = rest
            elif kind == "mod":
                main, last = _module(rest.split("\t")), "mod"
            elif kind == "dep":
                deps.append(_module(rest.split("\t")))
                last = "dep"
            elif kind == "=>":
                repl = _module(rest.split("\t")) if rest.count("\t") else Module(rest, "")
                if last == "mod" and main is not None:
                    main = Module(main.path, main.version, main.sum, repl)
                elif last == "dep" and deps:
                    d = deps[-1]
                    deps[-1] = Module(d.path, d.version, d.sum, repl)
                else:
                    raise ValueError("replacement without a module")
                last = ""
            elif kind == "build":
                settings.append(_build_setting(rest))
            else:
                raise ValueError("unknown line kind")
        except (ValueError, IndexError, OverflowError):
            malformed.append(line[:120])
    return BuildInfo(go_version, main_path, main, tuple(deps), tuple(settings), tuple(malformed))


# --- the cataloger ---------------------------------------------------------------------------------------


def _effective(mod: Module) -> tuple[str, str, str]:
    """(path, version, sum) of the code actually linked: a module replacement wins; a directory one does not."""
    if mod.replace is not None and mod.replace.version:
        return mod.replace.path, mod.replace.version, mod.replace.sum
    if mod.replace is not None:
        return mod.path, "(devel)", ""
    return mod.path, mod.version, mod.sum


class GoModuleBinaryCataloger(Cataloger):
    """Go modules from the build info of ELF executables."""

    name = "go-module-binary"
    version = 1
    patterns = ("**",)
    max_bytes = 1024 * MiB
    head_bytes = 4

    def wants(self, path: str, mode: int, size: int, head: bytes) -> bool:
        """Executable (any x bit) ELF files only."""
        return bool(mode & 0o111) and head[:4] == ELF_MAGIC

    def parse(self, file: FileInput) -> CatalogOutput:
        """One package per module; a non-Go ELF yields nothing, undecodable build info an `Unknown`."""
        loc = file.location
        try:
            info = read_buildinfo(file.data, file.size)
        except (BuildInfoError, struct.error) as e:
            return CatalogOutput(unknowns=(Unknown(loc, f"Go build info: {e}", self.name),))
        if info is None:
            return CatalogOutput()
        packages: list[Package] = []
        if info.main is not None:
            packages.append(self._package(info.main, info, loc, is_main=True))
        packages.extend(self._package(d, info, loc, is_main=False) for d in info.deps)
        unknowns: tuple[Unknown, ...] = ()
        if info.malformed:
            lines = "; ".join(repr(x) for x in info.malformed[:3])
            reason = f"Go build info: {len(info.malformed)} malformed modinfo line(s): {lines}"
            unknowns = (Unknown(loc, reason, self.name),)
        return CatalogOutput(packages=tuple(packages), unknowns=unknowns)

    def _package(self, mod: Module, info: BuildInfo, loc: Location, *, is_main: bool) -> Package:
        path, version, h1 = _effective(mod)
        replaced_by = ""
        if mod.replace is not None:
            r = mod.replace
            replaced_by = f"{r.path}@{r.version}" if r.version else r.path
        meta = GoModule(
            module_path=mod.path,
            version=mod.version,
            go_version=info.go_version,
            binary_path=loc.path,
            is_main=is_main,
            h1=h1,
            replaced_by=replaced_by,
            main_path=info.main_path if is_main else "",
            build_settings=info.settings if is_main else (),
        )
        # "(devel)" is not a version a matcher can use: leave it out of the purl.
        return Package(
            name=path,
            version=version,
            type="golang",
            purl=golang_purl(path, None if version == "(devel)" else version),
            cataloger=self.name,
            locations=(loc,),
            metadata=meta,
        )
