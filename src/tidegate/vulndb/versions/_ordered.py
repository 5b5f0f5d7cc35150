"""A sortable, hashable key around a library version object that only offers comparisons."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any


class OrderedKey:
    """Orders by `cmp` on the wrapped objects; equal keys are guaranteed to hash alike via `coarse`.

    `coarse` must be a projection on which equal versions always agree (it may be coarser than equality).
    """

    __slots__ = ("_cmp", "_coarse", "obj")

    def __init__(self, obj: Any, coarse: Hashable, cmp: Callable[[Any, Any], int]) -> None:
        self.obj = obj
        self._coarse = coarse
        self._cmp = cmp

    def __lt__(self, other: OrderedKey) -> bool:
        return self._cmp(self.obj, other.obj) < 0

    def __le__(self, other: OrderedKey) -> bool:
        return self._cmp(self.obj, other.obj) <= 0

    def __gt__(self, other: OrderedKey) -> bool:
        return self._cmp(self.obj, other.obj) > 0

    def __ge__(self, other: OrderedKey) -> bool:
        return self._cmp(self.obj, other.obj) >= 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OrderedKey) and self._cmp(self.obj, other.obj) == 0

    def __hash__(self) -> int:
        return hash(self._coarse)

    def __repr__(self) -> str:
        return f"OrderedKey({self.obj!r})"
