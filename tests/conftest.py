"""Suite-wide pytest configuration: shared fixtures are registered here as plugins."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["tests.support.registry"]


@pytest.fixture(autouse=True)
def _private_layer_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own empty layer cache, never the user's ~/.cache."""
    monkeypatch.setenv("TIDEGATE_CACHE_DIR", str(tmp_path / "tidegate-cache"))
