"""CycloneDX 1.6 output formats (JSON and XML). The document itself is built in `cyclonedx_bom`, imported on
first render so that other commands do not pay for cyclonedx-python-lib's import time.

    CycloneDxJsonFormat().render(sbom)
"""

from __future__ import annotations

from tidegate.model.sbom import Sbom
from tidegate.report.base import Format


def _render(sbom: Sbom, output_format: str) -> bytes:
    from cyclonedx.output import make_outputter
    from cyclonedx.schema import OutputFormat

    from tidegate.report.cyclonedx_bom import SCHEMA_VERSION, build_bom

    text = make_outputter(build_bom(sbom), OutputFormat[output_format], SCHEMA_VERSION).output_as_string(indent=2)
    return (text + "\n").encode("utf-8")


class CycloneDxJsonFormat(Format):
    """CycloneDX 1.6 JSON."""

    id = "cyclonedx-json"
    aliases = ("cyclonedx", "cdx-json", "cdx")
    media_type = "application/vnd.cyclonedx+json; version=1.6"
    description = "CycloneDX 1.6 JSON SBOM"

    def render(self, sbom: Sbom, *, color: bool = False) -> bytes:
        """Render `sbom` as indented CycloneDX 1.6 JSON; `color` is ignored."""
        return _render(sbom, "JSON")


class CycloneDxXmlFormat(Format):
    """CycloneDX 1.6 XML."""

    id = "cyclonedx-xml"
    aliases = ("cdx-xml",)
    media_type = "application/vnd.cyclonedx+xml; version=1.6"
    description = "CycloneDX 1.6 XML SBOM"

    def render(self, sbom: Sbom, *, color: bool = False) -> bytes:
        """Render `sbom` as indented CycloneDX 1.6 XML; `color` is ignored."""
        return _render(sbom, "XML")
