"""``--output``: atomic replacement of regular files only; devices, FIFOs and symlinks are written through (never
replaced), read-only files and directories are refused with a one-line usage error."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tidegate.cli.output import write_output
from tidegate.errors import UsageError


def test_regular_file_replaced_atomically_keeping_its_mode(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text("old")
    out.chmod(0o640)
    write_output(b"new\n", str(out))
    assert out.read_bytes() == b"new\n" and stat.S_IMODE(out.stat().st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"], "no temp file left behind"


def test_symlink_is_followed_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "target"
    link = tmp_path / "link"
    link.symlink_to(target)
    write_output(b"x\n", str(link))
    assert link.is_symlink() and target.read_bytes() == b"x\n"


def test_fifo_and_device_are_written_through(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    write_output(b"through\n", str(fifo))
    reader.join(10)
    assert got == [b"through\n"] and stat.S_ISFIFO(fifo.lstat().st_mode)
    write_output(b"discarded\n", os.devnull)
    assert stat.S_ISCHR(os.lstat(os.devnull).st_mode)


def test_read_only_file_and_directory_refused(tmp_path: Path) -> None:
    ro = tmp_path / "ro.json"
    ro.write_text("keep")
    ro.chmod(0o444)
    with pytest.raises(UsageError, match="read-only"):
        write_output(b"x", str(ro))
    assert ro.read_text() == "keep"
    with pytest.raises(UsageError, match="is a directory"):
        write_output(b"x", str(tmp_path))


def test_a_closed_pipe_never_turns_a_failing_gate_into_success() -> None:
    """``tidegate scan … --fail-on critical | true`` (the reader is gone before the report is written) must still exit 1 (QA: it exited 0)."""
    import subprocess
    import sys

    from tests.support.images import IMAGES

    big = IMAGES / "bookworm-app.oci.tar"
    cmd = (f"{sys.executable} -m tidegate.cli.main scan oci-archive:{big} --scanners secret --fail-on critical "
           f"-q -f json | true; exit ${{PIPESTATUS[0]}}")
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
