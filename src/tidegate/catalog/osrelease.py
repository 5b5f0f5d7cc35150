"""The ``os-release`` cataloger: which distribution an image is built on.

Parses os-release(5): ``KEY=value`` lines, ``#`` comments, values in shell-style single or double quotes with
backslash escapes. ``/etc/os-release`` is usually a symlink to ``../usr/lib/os-release``; the engine resolves
symlinks and hands us regular files only::

    OsReleaseCataloger().parse(file).distro
    # Distro(id="debian", version_id="12", codename="bookworm", pretty_name="Debian GNU/Linux 12 (bookworm)")
"""

from __future__ import annotations

import re

from tidegate.catalog.base import Cataloger, CatalogOutput, FileInput
from tidegate.model.distro import Distro
from tidegate.model.finding import Unknown

_KEY_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MAX_BYTES = 64 * 1024


def _unquote(raw: str) -> str | None:
    """Decode one shell-style value (os-release(5): quotes, and ``\\`` before ``$ " \\ ` ``); None if unbalanced."""
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == "'":
            end = raw.find("'", i + 1)
            if end < 0:
                return None
            out.append(raw[i + 1 : end])
            i = end + 1
        elif c == '"':
            i += 1
            while True:
                if i >= n:
                    return None
                c = raw[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and raw[i + 1] in '$"\\`':
                    out.append(raw[i + 1])
                    i += 2
                    continue
                out.append(c)
                i += 1
        elif c == "\\" and i + 1 < n:
            out.append(raw[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse_os_release(text: str) -> tuple[dict[str, str], list[str]]:
    """All assignments in an os-release file, plus a description of each line that could not be parsed."""
    fields: dict[str, str] = {}
    bad: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, raw = line.partition("=")
        key = key.strip()
        value = _unquote(raw.strip()) if sep else None
        if not sep or not _KEY_RE.match(key) or value is None:
            bad.append(f"line {lineno}")
            continue
        fields[key] = value
    return fields, bad


class OsReleaseCataloger(Cataloger):
    """Reads os-release(5) into a `Distro`."""

    name = "os-release"
    version = 1
    patterns = ("/etc/os-release", "/usr/lib/os-release")
    max_bytes = _MAX_BYTES

    def parse(self, file: FileInput) -> CatalogOutput:
        """One `Distro` from the file, or an `Unknown` when it holds no usable assignment."""
        data = file.read_all()
        if b"\x00" in data:
            return self._unknown(file, "os-release is not a text file")
        fields, bad = parse_os_release(data.decode("utf-8", errors="replace"))
        if not fields:
            return self._unknown(file, "os-release has no KEY=value assignments")
        # os-release(5): "If not set, a default of ID=linux may be used."
        distro = Distro(
            id=fields.get("ID", "linux").strip() or "linux",
            version_id=fields.get("VERSION_ID", "").strip(),
            codename=fields.get("VERSION_CODENAME", "").strip(),
            pretty_name=fields.get("PRETTY_NAME", "").strip(),
            id_like=tuple(fields.get("ID_LIKE", "").split()),
            path=file.location.path,
        )
        unknowns: tuple[Unknown, ...] = ()
        if bad:
            unknowns = (
                Unknown(file.location, f"os-release: ignored malformed {', '.join(bad[:5])}", self.name),
            )
        return CatalogOutput(distro=distro, unknowns=unknowns)

    def _unknown(self, file: FileInput, reason: str) -> CatalogOutput:
        return CatalogOutput(unknowns=(Unknown(file.location, reason, self.name),))
