"""The feed-importer contract: a path in, advisories (and the reasons for what was left out) out.

    class AlpineSecdbImporter(Importer):
        name = "alpine-secdb"
        def detect(self, path): ...          # by content/shape, not only by file name
        def records(self, path): ...         # yields Advisory | Skipped

Importers are pure readers: they never write anything, never extract archives to disk and bound every read.
A path that cannot be read at all (not a zip, unreadable JSON, unknown layout) raises `FeedError`; one bad
record inside a good file is a `Skipped` item and the rest of the file still imports.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import ClassVar

from tidegate.errors import TidegateError
from tidegate.vulndb.schema import Advisory

MAX_RECORD_BYTES = 8 * 1024 * 1024
"""Largest single record (zip member or file) an importer reads; larger ones are skipped as huge."""

MAX_FEED_FILE_BYTES = 1024 * 1024 * 1024
"""Largest single-document feed file (Alpine secdb, Debian tracker JSON) read into memory."""

SNIFF_BYTES = 64 * 1024
"""How much of a large file `detect` looks at."""


class FeedError(TidegateError):
    """A feed path that cannot be imported at all (not a zip, truncated, unreadable JSON, unknown layout)."""


class SkipKind(str, Enum):
    """What a `Skipped` item stands for."""

    RECORD = "record"
    """A whole record was not imported (malformed, huge, unsafe name, nothing left after dropping entries)."""
    ENTRY = "entry"
    """Part of a record was dropped (an ``affected`` entry of an unknown ecosystem, a bad secfix id); the rest
    of the record was imported."""
    NOTE = "note"
    """Something unusual that was kept as it is (an affected entry with neither ranges nor versions)."""
    IGNORED = "ignored"
    """A file that is not a feed record at all (a README.json in a git checkout); counted, not listed."""


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something an importer did not import (or imported only in part), with a one-line reason."""

    item: str
    """The record id, or the member/file name when there is no id."""
    reason: str
    """Why, in one line."""
    kind: SkipKind = SkipKind.RECORD
    """Whether the record was dropped, only part of it, or it is just a note."""


class Importer(ABC):
    """Reads one kind of feed."""

    name: ClassVar[str]
    """Stable id shown in import summaries (``osv``, ``alpine-secdb``, ``debian-tracker``)."""
    schema_version: ClassVar[int] = 1
    """Bumped whenever the advisories produced from the same bytes change."""

    @abstractmethod
    def detect(self, path: Path) -> bool:
        """True when `path` looks like this feed (by content and shape); never raises for unreadable paths."""

    @abstractmethod
    def records(self, path: Path) -> Iterator[Advisory | Skipped]:
        """Every advisory of the feed at `path`, plus a `Skipped` item for each thing left out.

        Raises `FeedError` when the path as a whole cannot be read."""


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of `path`, raising `FeedError` past `limit` (the size is checked while reading too)."""
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise FeedError(f"{path}: cannot read ({e.strerror or e})") from e
    if len(data) > limit:
        raise FeedError(f"{path}: larger than {limit:,} bytes")
    return data


def load_json_document(path: Path, limit: int = MAX_FEED_FILE_BYTES) -> object:
    """Parse a whole JSON feed file, with a one-line `FeedError` when it is not JSON."""
    data = read_bounded(path, limit)
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:
        raise FeedError(f"{path}: not valid JSON ({str(e)[:120]})") from e


def sniff_json(path: Path) -> tuple[object | None, str]:
    """(the parsed document when the file is small, else None; the first `SNIFF_BYTES` as text).

    Never raises: an unreadable file gives ``(None, "")``."""
    try:
        if not path.is_file():
            return None, ""
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(SNIFF_BYTES)
            if size <= 4 * 1024 * 1024:
                rest = f.read()
                try:
                    return json.loads(head + rest), head.decode("utf-8", "replace")
                except (ValueError, RecursionError):
                    return None, head.decode("utf-8", "replace")
    except OSError:
        return None, ""
    return None, head.decode("utf-8", "replace")


def file_size(path: Path) -> int:
    """Size of `path` in bytes (0 when it cannot be stat'ed)."""
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
