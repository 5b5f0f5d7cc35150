"""The default, human-readable format: image header, one row per package, then counts and unknowns.

Usage::

    print(TableFormat().render(sbom).decode())
"""

from __future__ import annotations

from collections import Counter

from rich import box
from rich.table import Table

from tidegate.model.sbom import Sbom
from tidegate.report.base import Format, console_text, os_name, sorted_packages, text_console

_MAX_WIDTH = 400
"""Upper bound on the rendered width; rows are never wrapped below their natural width up to this."""


class TableFormat(Format):
    """A plain-text table (colour optional) for terminals and logs."""

    id = "table"
    aliases = ("text",)
    media_type = "text/plain; charset=utf-8"
    description = "human-readable table of packages with their layer of origin (default)"

    def render(self, sbom: Sbom, *, color: bool = False) -> bytes:
        """Render the header, the package table and the footer as UTF-8 text."""
        img = sbom.image
        header = [
            ("Image", img.reference),
            ("Digest", img.digest),
            ("Platform", img.platform or "unknown"),
            ("OS", os_name(sbom)),
        ]
        if img.index_digest:
            header.insert(2, ("Index", img.index_digest))

        table = Table(
            box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold" if color else ""
        )
        for col in ("NAME", "VERSION", "TYPE", "LAYER", "PATH"):
            table.add_column(col, no_wrap=True, justify="right" if col == "LAYER" else "left")
        for pkg in sorted_packages(sbom):
            loc = pkg.locations[0] if pkg.locations else None
            table.add_row(
                pkg.name,
                pkg.version,
                pkg.type,
                "" if loc is None else str(loc.layer_index),
                "" if loc is None else loc.path,
            )

        counts = Counter(p.type for p in sbom.packages)
        summary = f"{len(sbom.packages)} package{'s' if len(sbom.packages) != 1 else ''}"
        if counts:
            summary += ": " + ", ".join(f"{n} {t}" for t, n in sorted(counts.items()))

        console = text_console([table], color=color, max_width=_MAX_WIDTH)
        label = "bold" if color else None
        for key, value in header:
            console.print(f"{key + ':':<10}", end="", style=label)
            console.print(value)
        console.print("Layers:", style=label)
        for layer in img.layers:
            console.print(f"  {layer.index:>3}  {layer.diff_id}  {layer.created_by or ''}".rstrip())
        console.print()
        if sbom.packages:
            console.print(table, soft_wrap=False)
            console.print()
        console.print(summary)
        if sbom.unknowns:
            console.print(
                f"{len(sbom.unknowns)} unknown{'s' if len(sbom.unknowns) != 1 else ''}:", style=label
            )
            for unk in sbom.unknowns:
                where = ""
                if unk.location is not None:
                    where = f" {unk.location.path} (layer {unk.location.layer_index})"
                console.print(f"  [{unk.source}]{where}: {unk.reason}")
        return console_text(console)
