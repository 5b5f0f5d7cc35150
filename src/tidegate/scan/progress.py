"""Progress events the engine emits; the CLI injects a rich implementation, libraries get `NullProgress`.

    class Printer(NullProgress):
        def layer_started(self, index, total, size, what): print(what)
"""

from __future__ import annotations


class NullProgress:
    """Receives progress events and ignores them. Subclass and override what you need."""

    def layer_started(self, index: int, total: int, size: int, what: str) -> None:
        """Layer `index` of `total` (stored `size` bytes) begins."""

    def advance(self, index: int, nbytes: int) -> None:
        """`nbytes` more stored bytes of layer `index` were read (may be called from worker threads)."""

    def layer_done(self, index: int, cached: bool) -> None:
        """Layer `index` is finished (`cached` when its result came from the cache)."""
