"""The ``python-installed`` cataloger: installed Python distributions.

Reads the core metadata (``Name``, ``Version``, ``License-Expression``/``License``) of ``*.dist-info/METADATA``,
``*.egg-info/PKG-INFO`` and single-file ``*.egg-info``. Only the header block is parsed; the long description
body that follows it is never decoded::

    pkg = PythonInstalledCataloger().parse(file).packages[0]
    pkg.name, pkg.metadata.name, pkg.purl   # ("markupsafe", "MarkupSafe", "pkg:pypi/markupsafe@1.1.1")
"""

from __future__ import annotations

import dataclasses
import email.message
import email.parser
import email.policy
import posixpath
from collections.abc import Sequence

from packaging.utils import canonicalize_name

from tidegate.catalog.base import Cataloger, CatalogOutput, FileInput, MiB
from tidegate.catalog.purls import make_purl
from tidegate.model.finding import Unknown
from tidegate.model.package import Package, PythonDist

_MAX_HEADER_BYTES = 1 * MiB
_CHUNK = 64 * 1024


def read_header_block(file: FileInput) -> bytes:
    """The bytes up to the first blank line (the RFC 822 header block), bounded by 1 MiB."""
    file.data.seek(0)
    buf = b""
    while len(buf) < _MAX_HEADER_BYTES:
        chunk = file.data.read(_CHUNK)
        if not chunk:
            break
        scan_from = max(0, len(buf) - 3)
        buf += chunk
        for sep in (b"\n\n", b"\r\n\r\n"):
            end = buf.find(sep, scan_from)
            if end >= 0:
                return buf[: end + len(sep)]
    return buf[:_MAX_HEADER_BYTES]


def _license(headers: email.message.Message) -> str:
    """``License-Expression`` (PEP 639), else a one-line ``License`` that is not the ``UNKNOWN`` placeholder."""
    expr = str(headers.get("License-Expression", "") or "").strip()
    if expr:
        return expr
    lic = str(headers.get("License", "") or "").strip()
    if lic and "\n" not in lic and len(lic) <= 200 and lic.upper() != "UNKNOWN":
        return lic
    return ""


class PythonInstalledCataloger(Cataloger):
    """Installed Python distributions (wheel ``.dist-info`` and setuptools ``.egg-info``)."""

    name = "python-installed"
    version = 2
    patterns = ("**/*.dist-info/METADATA", "**/*.egg-info/PKG-INFO", "**/*.egg-info", "**/*.dist-info/INSTALLER")
    max_bytes = 16 * MiB
    needs_all_claimed = True

    def parse_all(self, files: Sequence[FileInput]) -> CatalogOutput:
        """Metadata files, with the ``INSTALLER`` (PEP 376: pip, uv, conda…) of the same dist-info when present."""
        installers: dict[str, str] = {}
        for f in files:
            if f.location.path.endswith("/INSTALLER"):
                text = f.read_all()[:200].decode("utf-8", errors="replace").strip()
                installers[posixpath.dirname(f.location.path)] = text.splitlines()[0].strip() if text else ""
        packages: list[Package] = []
        unknowns: list[Unknown] = []
        for f in files:
            if f.location.path.endswith("/INSTALLER"):
                continue
            out = self.parse(f)
            unknowns.extend(out.unknowns)
            for p in out.packages:
                if isinstance(p.metadata, PythonDist) and p.metadata.metadata_dir in installers:
                    p = dataclasses.replace(p, metadata=dataclasses.replace(
                        p.metadata, installer=installers[p.metadata.metadata_dir]))
                packages.append(p)
        return CatalogOutput(packages=tuple(packages), unknowns=tuple(unknowns))

    def parse(self, file: FileInput) -> CatalogOutput:
        """One package per metadata file, or an `Unknown` when Name or Version is missing."""
        loc = file.location
        if loc.path.endswith("/INSTALLER"):
            return CatalogOutput()
        head = read_header_block(file)
        if b"\x00" in head:
            return CatalogOutput(unknowns=(Unknown(loc, "python metadata is not a text file", self.name),))
        text = head.decode("utf-8", errors="replace")
        headers = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text, headersonly=True)
        dist_name = str(headers.get("Name", "") or "").strip()
        version = str(headers.get("Version", "") or "").strip()
        if not dist_name or not version:
            missing = "Name" if not dist_name else "Version"
            return CatalogOutput(unknowns=(Unknown(loc, f"python metadata has no {missing}", self.name),))
        path = loc.path
        metadata_dir = path if path.endswith(".egg-info") else posixpath.dirname(path)
        lic = _license(headers)
        dist = PythonDist(name=dist_name, version=version, metadata_dir=metadata_dir, license=lic)
        normalised = canonicalize_name(dist_name)
        pkg = Package(
            name=normalised,
            version=version,
            type="pypi",
            purl=make_purl("pypi", normalised, version),
            cataloger=self.name,
            locations=(loc,),
            metadata=dist,
            licenses=(lic,) if lic else (),
        )
        return CatalogOutput(packages=(pkg,))
