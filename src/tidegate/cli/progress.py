"""A rich progress bar on stderr when it is a terminal; nothing otherwise. The only module importing rich.progress.

    progress = make_progress(quiet=False)
    with progress:
        build_sbom(ref, progress=progress)
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any, Self

from tidegate.scan.progress import NullProgress


class RichProgress(NullProgress):
    """Shows one bar per layer (bytes read) on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._p = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                           TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self._tasks: dict[int, Any] = {}

    def __enter__(self) -> Self:
        self._p.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._p.stop()

    def layer_started(self, index: int, total: int, size: int, what: str) -> None:
        """Start a bar for the layer."""
        self._tasks[index] = self._p.add_task(what, total=size or None)

    def advance(self, index: int, nbytes: int) -> None:
        """Advance the layer's bar (rich's Progress is thread-safe)."""
        task = self._tasks.get(index)
        if task is not None:
            self._p.advance(task, nbytes)

    def layer_done(self, index: int, cached: bool) -> None:
        """Finish and hide the layer's bar."""
        task = self._tasks.pop(index, None)
        if task is not None:
            self._p.remove_task(task)


class _Quiet(NullProgress):
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def make_progress(*, quiet: bool) -> Any:
    """A context-managed progress sink: rich on a TTY stderr, silent otherwise or when `quiet`."""
    if quiet or not sys.stderr.isatty():
        return _Quiet()
    return RichProgress()


class DbImportBar:
    """A ``tidegate db import/update`` bar per feed path (records read) on stderr; implements
    ``vulndb.store.ImportProgress`` (duck-typed, so the library never imports rich)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._p = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                           TimeElapsedColumn(), console=Console(stderr=True), transient=True)
        self._tasks: dict[int, Any] = {}

    def __enter__(self) -> Self:
        self._p.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._p.stop()

    def path_started(self, index: int, total: int, path: str) -> None:
        """Start a bar for the path."""
        self._tasks[index] = self._p.add_task(f"[{index + 1}/{total}] {path[-50:]}", total=None)

    def advance(self, index: int, items: int) -> None:
        """Count more records."""
        task = self._tasks.get(index)
        if task is not None:
            self._p.advance(task, items)

    def path_done(self, index: int, summary: object) -> None:
        """Hide the path's bar."""
        task = self._tasks.pop(index, None)
        if task is not None:
            self._p.remove_task(task)


def make_db_progress(*, quiet: bool) -> Any:
    """A context-managed import progress sink: a rich bar on a TTY stderr, None (silent) otherwise."""
    if quiet or not sys.stderr.isatty():
        return None
    return DbImportBar()
