"""Writing rendered reports: stdout, or a file replaced atomically so a failure never leaves half a report."""

from __future__ import annotations

import os
import stat
import sys
import tempfile

from tidegate.errors import UsageError


def write_output(data: bytes, path: str | None) -> None:
    """Write `data` to `path` (atomically) or to stdout when `path` is None or ``-``."""
    if path in (None, "-"):
        if sys.stdout is None:
            raise UsageError("standard output is closed; use --output FILE")
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader went away (``| head``): the verdict still decides the exit code, so carry on silently.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return
    assert path is not None
    try:
        existing: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        existing = None
    except OSError as e:
        raise UsageError(f"--output {path}: cannot write ({e.strerror})") from e
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        # NOTE: never rename over a device, FIFO, socket or symlink (``-o /dev/stdout``, ``-o /dev/null``): write
        # through to it, as a shell redirection would; atomic replacement only makes sense for regular files.
        if stat.S_ISDIR(existing.st_mode):
            raise UsageError(f"--output {path}: is a directory")
        _write_through(data, path)
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"--output {path}: directory {directory} does not exist")
    if existing is not None:
        if not os.access(path, os.W_OK) or (os.geteuid() == 0 and not existing.st_mode & 0o222):
            # Root may write anything; a read-only file is still a statement of intent, so refuse like cp -i.
            raise UsageError(f"--output {path}: file is read-only")
        mode = stat.S_IMODE(existing.st_mode)  # keep the mode of the file being replaced
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=".tidegate-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UsageError(f"--output {path}: cannot write ({e.strerror})") from e


def _write_through(data: bytes, path: str) -> None:
    try:
        with open(path, "wb") as f:  # follows a symlink to its target, like ``> path``
            f.write(data)
    except OSError as e:
        raise UsageError(f"--output {path}: cannot write ({e.strerror})") from e
