"""SPDX 2.3 JSON output. The document is built in `spdx_document`, imported on first render (spdx-tools is slow
to import).

    SpdxJsonFormat().render(sbom)
"""

from __future__ import annotations

import io

from tidegate.model.sbom import Sbom
from tidegate.report.base import Format


class SpdxJsonFormat(Format):
    """SPDX 2.3 JSON."""

    id = "spdx-json"
    aliases = ("spdx",)
    media_type = "application/spdx+json"
    description = "SPDX 2.3 JSON SBOM"

    def render(self, sbom: Sbom, *, color: bool = False) -> bytes:
        """Validate and render `sbom` as SPDX 2.3 JSON; `color` is ignored.

        The spdx-tools writer validates the document first and raises `ValueError` on any message; that would
        be a tidegate bug (the tests validate every field we write), so it is not converted.
        """
        from spdx_tools.spdx.writer.json.json_writer import write_document_to_stream

        from tidegate.report.spdx_document import build_document

        out = io.StringIO()
        write_document_to_stream(build_document(sbom), out, validate=True)
        return (out.getvalue() + "\n").encode("utf-8")
