"""Routes each path of a layer to the catalogers that declared it, compiled once per scan.

    d = Dispatcher(catalogers)
    d.claimants("/var/lib/dpkg/status")  # -> [DpkgStatusCataloger()]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from tidegate.catalog.base import Cataloger, glob_to_regex


class Dispatcher:
    """Path → claimants, with one regex per cataloger (its patterns joined)."""

    def __init__(self, catalogers: Sequence[Cataloger]) -> None:
        self.catalogers = tuple(catalogers)
        """Catalogers in registry order."""
        self._rx: list[tuple[Cataloger, re.Pattern[str]]] = []
        for c in self.catalogers:
            joined = "|".join(f"(?:{glob_to_regex(p).pattern})" for p in c.patterns)
            self._rx.append((c, re.compile(joined, re.DOTALL)))

    def claimants(self, path: str) -> list[Cataloger]:
        """Catalogers whose patterns match `path` (before content-based refinement)."""
        return [c for c, rx in self._rx if rx.match(path)]
