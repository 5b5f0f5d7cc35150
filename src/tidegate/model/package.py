"""Packages found in an image, with typed per-ecosystem metadata and a purl.

    pkg = Package(name="bash", version="5.2.15-2+b13", type="deb", purl="pkg:deb/debian/bash@…",
                  cataloger="dpkg-status", locations=(loc,), metadata=DpkgEntry(...))
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from tidegate.model.location import Location


@dataclass(frozen=True, slots=True)
class DpkgEntry:
    """A stanza of a dpkg status database."""

    package: str
    """``Package:`` field."""
    version: str
    """``Version:`` field (with epoch when present)."""
    architecture: str
    """``Architecture:`` field (``amd64``, ``all``, …)."""
    source_name: str
    """Source package name (``Source:`` or, when absent, the binary name)."""
    source_version: str
    """Source version (the parenthesised part of ``Source:``, else the binary version)."""
    maintainer: str = ""
    """``Maintainer:`` field."""
    installed_size_kib: int | None = None
    """``Installed-Size:`` in KiB."""


@dataclass(frozen=True, slots=True)
class ApkEntry:
    """A record of Alpine's ``/lib/apk/db/installed``."""

    package: str
    """``P:`` package name."""
    version: str
    """``V:`` version (``1.2.3-r4``)."""
    architecture: str
    """``A:`` architecture."""
    origin: str
    """``o:`` origin (source) package, falling back to the package name."""
    maintainer: str = ""
    """``m:`` maintainer."""
    license: str = ""
    """``L:`` license expression."""


@dataclass(frozen=True, slots=True)
class RpmEntry:
    """A header of the SQLite rpmdb."""

    name: str
    """RPM name."""
    version: str
    """Version (without release)."""
    release: str
    """Release."""
    epoch: int | None
    """Epoch, when set."""
    architecture: str
    """Architecture (``x86_64``, ``noarch``)."""
    source_rpm: str = ""
    """``SOURCERPM`` tag (``foo-1.0-1.src.rpm``)."""
    license: str = ""
    """License tag."""


@dataclass(frozen=True, slots=True)
class PythonDist:
    """An installed Python distribution (``*.dist-info`` or ``*.egg-info``)."""

    name: str
    """The ``Name:`` from the metadata, as written."""
    version: str
    """The ``Version:`` from the metadata."""
    metadata_dir: str
    """Path of the ``.dist-info``/``.egg-info`` directory (or file)."""
    installer: str = ""
    """Content of ``INSTALLER`` when known."""
    license: str = ""
    """``License-Expression``/``License`` field."""


@dataclass(frozen=True, slots=True)
class NpmPackage:
    """A package.json inside ``node_modules`` or an entry of package-lock.json."""

    name: str
    """``name`` field."""
    version: str
    """``version`` field."""
    from_lockfile: bool = False
    """True when the package came from package-lock.json rather than an installed package.json."""
    license: str = ""
    """``license`` field."""


@dataclass(frozen=True, slots=True)
class GoModule:
    """A Go module recorded in a binary's build info."""

    module_path: str
    """Module path (``golang.org/x/sys``)."""
    version: str
    """Module version (``v0.42.0``, ``(devel)``)."""
    go_version: str
    """Toolchain that built the binary (``go1.26.1``)."""
    binary_path: str
    """Path of the binary inside the image."""
    is_main: bool = False
    """True for the binary's main module."""
    h1: str = ""
    """The ``h1:`` checksum from go.sum, when recorded."""
    replaced_by: str = ""
    """``path@version`` of a ``=>`` replacement, when present."""
    main_path: str = ""
    """The package path of the main package (``path`` line), for the main module."""
    build_settings: tuple[tuple[str, str], ...] = ()
    """``build`` lines (key, value), for the main module."""


PackageMetadata = DpkgEntry | ApkEntry | RpmEntry | PythonDist | NpmPackage | GoModule
"""The typed union of per-ecosystem metadata."""


@dataclass(frozen=True, slots=True)
class Package:
    """One package in an image."""

    name: str
    """Name as the ecosystem spells it (PyPI names normalised per PEP 503)."""
    version: str
    """Version string as the ecosystem records it."""
    type: str
    """purl type: ``deb``, ``apk``, ``rpm``, ``pypi``, ``npm``, ``golang``."""
    purl: str
    """Package URL (packageurl-python)."""
    cataloger: str
    """ID of the cataloger that found it (``dpkg-status``)."""
    locations: tuple[Location, ...]
    """Where it was found; the first is the primary evidence."""
    metadata: PackageMetadata | None = None
    """Ecosystem-specific details."""
    licenses: tuple[str, ...] = field(default=())
    """Declared licenses."""

    @property
    def id(self) -> str:
        """Stable content ID: a hash of the identifying fields (type, name, version, purl, primary path)."""
        ident = [self.type, self.name, self.version, self.purl, self.locations[0].path if self.locations else ""]
        return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:16]

    @property
    def layer_index(self) -> int | None:
        """The layer the package came from (its primary location's layer)."""
        return self.locations[0].layer_index if self.locations else None
