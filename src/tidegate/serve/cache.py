"""The admission webhook's memory: verdicts by digest + policy hash (long TTL), tag → digest (SHORT TTL).

    verdicts = TTLCache[VerdictKey, Verdict](ttl=300)
    verdicts.put(VerdictKey("sha256:…", policy.hash, "docker.io/library/nginx", pinned=True), verdict)
    tags = TTLCache[str, str](ttl=30)
    tags.put("docker.io/library/nginx:1.27", "sha256:…")

Why two TTLs: a verdict is about immutable bytes (a digest) under one policy (its hash), so it only goes stale
when the world around it changes (a new CVE, a revoked key, a scan getting older than ``maxScanAge``); minutes
are fine. A tag is a moving pointer: while a tag → digest entry is cached, a push that moves the tag is not seen
and pods keep being pinned to (and judged as) the previous digest. That is never *unsafe* (the pinned digest is
the one that was verified and the JSON patch pins exactly it) but it is *stale*, so that cache is kept short
(default 30 s) to bound how long a moved tag goes unnoticed, while sparing the registry a lookup per pod of a
scaled-out Deployment.

The verdict key also holds the repository and whether the reference was pinned: the same digest can live in two
repositories under two policy scopes (and signatures are checked against the repository name), and the policy's
``requireDigest`` rule depends on how the image was named. Both tables are thread-safe (assessment threads write
them, the event loop reads them), bounded (expired entries go first, then the oldest) and take an injectable
clock for tests.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

MAX_ENTRIES = 20_000
"""Default upper bound on entries per table."""

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class VerdictKey:
    """What a cached verdict is about."""

    digest: str
    """The manifest (or index) digest that was judged."""
    policy_hash: str
    """`Policy.hash` of the policy it was judged under."""
    repository: str
    """``registry/repository`` (the policy scope and the signature identity depend on it)."""
    pinned: bool
    """Whether the judged reference named the digest (``requireDigest`` depends on it)."""


class TTLCache(Generic[K, V]):
    """A thread-safe, bounded map whose entries expire `ttl` seconds after they were put."""

    def __init__(self, ttl: float, *, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        """Seconds an entry lives (0 disables the cache)."""
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._items: OrderedDict[K, tuple[V, float]] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value for `key`, or None when absent or expired."""
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[1] <= self._clock():
                del self._items[key]
                return None
            return item[0]

    def put(self, key: K, value: V) -> None:
        """Remember `value` for `key` (refreshing its TTL); a no-op when the TTL is 0."""
        if self.ttl <= 0:
            return
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (value, self._clock() + self.ttl)
            if len(self._items) > self._max:
                now = self._clock()
                for k in [k for k, (_, expires) in self._items.items() if expires <= now]:
                    del self._items[k]
                while len(self._items) > self._max:
                    self._items.popitem(last=False)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


__all__ = ["MAX_ENTRIES", "TTLCache", "VerdictKey"]
