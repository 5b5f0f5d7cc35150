"""Feed importers, one module per feed, listed once in `IMPORTERS` (nothing registers itself on import)::

    from tidegate.vulndb.importers import detect_importer
    imp = detect_importer(Path("osv/PyPI/all.zip"))    # OsvImporter, chosen by content/shape
"""

from __future__ import annotations

from pathlib import Path

from tidegate.vulndb.importers.alpine import AlpineSecdbImporter
from tidegate.vulndb.importers.base import FeedError, Importer, SkipKind, Skipped
from tidegate.vulndb.importers.debian_tracker import DebianTrackerImporter
from tidegate.vulndb.importers.osv import OsvImporter

__all__ = ["IMPORTERS", "FeedError", "Importer", "SkipKind", "Skipped", "detect_importer"]

IMPORTERS: tuple[type[Importer], ...] = (
    AlpineSecdbImporter,
    DebianTrackerImporter,
    OsvImporter,
)
"""Every importer, in detection order (the specific single-document feeds before OSV, which also claims
directories and zips)."""


def detect_importer(path: Path) -> Importer | None:
    """The first importer whose `Importer.detect` claims `path`, or None."""
    for cls in IMPORTERS:
        imp = cls()
        if imp.detect(path):
            return imp
    return None
