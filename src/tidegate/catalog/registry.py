"""Every cataloger, registered in one line each. Order is the order of output for ties.

    from tidegate.catalog.registry import CATALOGERS
"""

from __future__ import annotations

from tidegate.catalog.base import Cataloger

CATALOGERS: tuple[type[Cataloger], ...] = (
)
"""The registry: add a cataloger class here (and nowhere else)."""
