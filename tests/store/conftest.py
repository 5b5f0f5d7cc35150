"""History store fixtures: a real PostgreSQL server (Debian ``postgresql``) on 127.0.0.1, and a store per backend.

The server is started once per module from ``/usr/lib/postgresql/*/bin`` (initdb into a fresh directory, unix
sockets there too, trust auth on loopback only) and stopped in teardown. PostgreSQL refuses to run as root, so
as root it runs as ``nobody``. Without the package the tests skip locally and FAIL in CI (env CI set), where
``./dev test`` installs it.
"""

from __future__ import annotations

import datetime as dt
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tidegate.store.history import HistoryStore

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
"""Start of every simulated timeline."""


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def set(self, **delta: float) -> None:
        """Move to T0 + delta (minutes=, hours=, days=)."""
        self.now = T0 + dt.timedelta(**delta)


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """``postgresql://tidegate@127.0.0.1:PORT/postgres`` of a server started for this module."""
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL (Debian package postgresql) is not installed; ./dev setup installs it")
        pytest.skip("PostgreSQL (Debian package postgresql) is not installed")
    # Not under pytest's tmp_path: its parents are 0700 root and the server may run as nobody.
    base = Path(tempfile.mkdtemp(prefix="tidegate-pg-"))
    base.chmod(0o755)
    data, sockets = base / "data", base / "sock"
    prefix: list[str] = []
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "nobody", "--"]
        sockets.mkdir()
        data.mkdir()
        shutil.chown(sockets, "nobody")
        shutil.chown(data, "nobody")
        data.chmod(0o700)
    port = _free_port()
    log = base / "server.log"
    if prefix:
        log.touch()
        shutil.chown(log, "nobody")
    try:
        subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "tidegate", "-A", "trust",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
        sockets.mkdir(exist_ok=True)
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                        "-o", f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                       check=True, capture_output=True)
    except subprocess.CalledProcessError as e:
        text = log.read_text() if log.exists() else ""
        shutil.rmtree(base, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {e.stderr!r} {text[-2000:]}")
    try:
        yield f"postgresql://tidegate@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


_db_counter = iter(range(1, 1_000_000))


def _fresh_pg_database(server_url: str) -> str:
    import psycopg

    name = f"tidegate_test_{next(_db_counter)}"
    with psycopg.connect(server_url.replace("postgresql://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store URL on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    return _fresh_pg_database(request.getfixturevalue("postgres_url"))


@pytest.fixture
def clock() -> FakeClock:
    """A simulated clock at T0."""
    return FakeClock()


@pytest.fixture
def open_store(store_url: str, clock: FakeClock) -> Iterator[Callable[[], HistoryStore]]:
    """Opens the store under test on the simulated clock (several opens run the migrations again: idempotent)."""
    opened: list[HistoryStore] = []

    def _open() -> HistoryStore:
        s = HistoryStore.open(store_url, clock=clock)
        opened.append(s)
        return s

    yield _open
    for s in opened:
        s.close()
