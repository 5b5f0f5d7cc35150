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
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    assert path is not None
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"--output {path}: directory {directory} does not exist")
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)  # keep the mode of the file being replaced
    except OSError:
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
