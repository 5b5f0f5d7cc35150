"""The format contract plus the small helpers every format shares.

A format is a class with a stable `id` (as users type it on ``--format``), `aliases`, a `media_type` and
a pure `render` method that turns a `Sbom` into bytes::

    class TableFormat(Format):
        id = "table"
        aliases = ()
        media_type = "text/plain"
        description = "human-readable table"

        def render(self, sbom: Sbom, *, color: bool = False) -> bytes:
            ...
"""

from __future__ import annotations

import dataclasses
import io
import re
import typing
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from tidegate.errors import TidegateError
from tidegate.model.package import (
    ApkEntry,
    DpkgEntry,
    GoModule,
    NpmPackage,
    Package,
    PackageMetadata,
    PythonDist,
    RpmEntry,
)
from tidegate.model.sbom import Sbom

if TYPE_CHECKING:
    from rich.console import Console

TOOL_NAME = "tidegate"
"""The tool name every format records as the producer."""

METADATA_TYPES: dict[type, str] = {
    DpkgEntry: "dpkg-entry",
    ApkEntry: "apk-entry",
    RpmEntry: "rpm-entry",
    PythonDist: "python-dist",
    NpmPackage: "npm-package",
    GoModule: "go-module",
}
"""Stable wire name of each metadata type (``metadataType`` in JSON, a property in CycloneDX)."""


class InvalidReport(TidegateError):
    """A report file (e.g. tidegate JSON read back in) that does not match its schema."""


class Format(ABC):
    """One output format: a stable id plus a pure `render`."""

    id: ClassVar[str]
    """The name users type on ``--format`` (``cyclonedx-json``); never rename without keeping an alias."""
    aliases: ClassVar[tuple[str, ...]] = ()
    """Other accepted names (``cyclonedx``, ``cdx-json``)."""
    media_type: ClassVar[str]
    """IANA media type of the rendered bytes."""
    description: ClassVar[str]
    """One line for ``--help``."""

    @abstractmethod
    def render(self, sbom: Sbom, *, color: bool = False) -> bytes:
        """Render `sbom`; `color` asks for terminal colour and is ignored by machine formats."""


def tool_version(sbom: Sbom) -> str:
    """The tidegate version that produced `sbom` (falls back to the running version)."""
    if sbom.tool_version:
        return sbom.tool_version
    from tidegate import __version__

    return __version__


def metadata_type(meta: PackageMetadata | None) -> str | None:
    """The wire name of `meta`'s type (``dpkg-entry``), or None without metadata."""
    return None if meta is None else METADATA_TYPES[type(meta)]


_CAMEL_OVERRIDES = {"installed_size_kib": "installedSizeKiB"}


def camel(name: str) -> str:
    """``source_name`` → ``sourceName``; ``*_id`` ends in ``ID`` (``diff_id`` → ``diffID``)."""
    if name in _CAMEL_OVERRIDES:
        return _CAMEL_OVERRIDES[name]
    head, *rest = name.split("_")
    return head + "".join("ID" if part == "id" else part[:1].upper() + part[1:] for part in rest)


def metadata_items(meta: PackageMetadata | None) -> list[tuple[str, str]]:
    """Flatten `meta` to (camelCase key, string value) pairs, skipping empty values.

    Booleans become ``true``/``false``; key/value tuples such as Go build settings become
    ``buildSettings:<key>`` entries, in recorded order.
    """
    if meta is None:
        return []
    out: list[tuple[str, str]] = []
    for f in dataclasses.fields(meta):
        value = getattr(meta, f.name)
        key = camel(f.name)
        if value is None or value == "" or value == ():
            continue
        if isinstance(value, bool):
            out.append((key, "true" if value else "false"))
        elif isinstance(value, tuple):
            out.extend((f"{key}:{k}", str(v)) for k, v in value)
        else:
            out.append((key, str(value)))
    return out


def metadata_from_items(cls: type[PackageMetadata], items: Iterable[tuple[str, str]]) -> PackageMetadata:
    """The inverse of `metadata_items`: rebuild a `cls` from its flattened (camelCase key, value) pairs.

    Unknown keys are ignored and missing ones take the field's default (``""`` for a required string);
    ``int`` fields that do not parse become None, so hostile input cannot raise here.
    """
    pairs = list(items)
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, object] = {}
    for f in dataclasses.fields(cls):
        key, hint = camel(f.name), str(hints[f.name])
        if "tuple" in hint:
            kwargs[f.name] = tuple((k.removeprefix(f"{key}:"), v) for k, v in pairs if k.startswith(f"{key}:"))
            continue
        value = next((v for k, v in pairs if k == key), None)
        if value is None:
            if f.default is dataclasses.MISSING:
                kwargs[f.name] = ""
            continue
        if hint == "<class 'bool'>":
            kwargs[f.name] = value == "true"
        elif "int" in hint:
            kwargs[f.name] = int(value) if value.lstrip("-").isdigit() else None
        else:
            kwargs[f.name] = value
    return cls(**kwargs)  # type: ignore[arg-type]


def sorted_packages(sbom: Sbom) -> list[Package]:
    """Packages in a stable order: (type, name, version, primary path, id)."""
    return sorted(
        sbom.packages,
        key=lambda p: (p.type, p.name, p.version, p.locations[0].path if p.locations else "", p.id),
    )


def os_name(sbom: Sbom) -> str:
    """A one-line OS name: the pretty name, else ``id version``, else ``unknown``."""
    d = sbom.distro
    if d is None:
        return "unknown"
    return d.pretty_name or " ".join(p for p in (d.id, d.version_id) if p)


_SAFE_RE = re.compile(r"[^A-Za-z0-9.-]+")


def safe_id(value: str) -> str:
    """`value` reduced to ``[A-Za-z0-9.-]`` (what SPDX ids and URL path segments allow)."""
    return _SAFE_RE.sub("-", value).strip("-") or "x"


def text_console(tables: Sequence[object], *, color: bool, max_width: int = 400) -> Console:
    """A string-backed rich console as wide as the widest of `tables` (80 to `max_width` columns), coloured
    only when asked; `console_text` returns what was printed."""
    from rich.console import Console

    probe = Console(file=io.StringIO(), width=max_width, color_system=None)
    widest = max([probe.measure(t).maximum for t in tables], default=80)  # type: ignore[arg-type]
    return Console(file=io.StringIO(), width=max(80, min(max_width, widest)),
                   color_system="standard" if color else None, force_terminal=color, highlight=False,
                   emoji=False, markup=False, soft_wrap=True)


def console_text(console: Console) -> bytes:
    """What `console` (from `text_console`) printed, trailing spaces stripped, newline-terminated UTF-8."""
    assert isinstance(console.file, io.StringIO)
    return ("\n".join(line.rstrip() for line in console.file.getvalue().splitlines()) + "\n").encode("utf-8")


_M = TypeVar("_M", bound=BaseModel)


def validate_document(model: type[_M], data: bytes | str, *, what: str, schema_version: str) -> _M:
    """`data` validated strictly as `model` (a document with ``schemaVersion``); `InvalidReport` naming the first
    bad field, or the unsupported version, otherwise."""
    try:
        doc = model.model_validate_json(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "document"
        raise InvalidReport(f"not a {what}: {where}: {first['msg']} ({e.error_count()} error(s))") from e
    found = getattr(doc, "schema_version", None)
    if found != schema_version:
        raise InvalidReport(f"unsupported {what} schemaVersion {found!r}; expected {schema_version!r}")
    return doc
