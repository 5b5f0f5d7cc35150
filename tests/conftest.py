"""Suite-wide pytest configuration: shared fixtures are registered here as plugins."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.support.registry"]


@pytest.fixture(autouse=True)
def _private_layer_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own empty layer cache and history store, never the user's ~/.cache or ~/.local."""
    monkeypatch.setenv("TIDEGATE_CACHE_DIR", str(tmp_path / "tidegate-cache"))
    # scan/check record into the history store by default: never into the user's ~/.local/share.
    monkeypatch.setenv("TIDEGATE_DATA_DIR", str(tmp_path / "tidegate-data"))
    monkeypatch.delenv("TIDEGATE_STORE", raising=False)


@pytest.fixture(scope="session")
def vulndb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A vulnerability database imported once per run from every feed in ../shared/vulndata."""
    from tests.support.images import SHARED
    from tidegate.vulndb.store import import_paths

    vulndata = SHARED / "vulndata"
    if not vulndata.is_dir():
        pytest.skip("../shared/vulndata is not present")
    db_dir = tmp_path_factory.mktemp("vulndb")
    feeds = [*sorted((vulndata / "osv").glob("*/all.zip")), *sorted((vulndata / "alpine").glob("*/*.json"))]
    summary = import_paths(db_dir, feeds)
    assert not summary.failed, summary.failed
    return db_dir
