"""Shared builders for policy tests: real report, finding and verification objects, and policy files on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

PUB = """-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE0dJzmDUOvTwHc0mw8RjDq1BtpV6Q
Y2QX3pKcUjYdvE8Qp0aXb+Z1p6Pj2TlQ3j6F4Hh2Vw0aN2Hk9XzJQp8xGw==
-----END PUBLIC KEY-----
"""


@pytest.fixture
def write_policy(tmp_path: Path) -> Callable[[str], Path]:
    """Write a policy (and a release.pub key beside it) and return its path."""

    def write(text: str) -> Path:
        (tmp_path / "release.pub").write_text(PUB)
        path = tmp_path / "policy.yaml"
        path.write_text(text)
        return path

    return write
