"""Every registered cataloger keeps the contract: unique kebab-case names, positive versions, compilable
patterns, docstrings, and a fixture test module of its own."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from tidegate.catalog.base import Cataloger, glob_to_regex
from tidegate.catalog.registry import CATALOGERS

from . import conftest  # noqa: F401  (src path shim)

TEST_MODULE = {
    "os-release": "test_osrelease.py",
    "dpkg-status": "test_dpkg.py",
    "apk-db": "test_apk.py",
    "rpm-db": "test_rpm.py",
    "python-installed": "test_python.py",
    "npm-package": "test_npm.py",
    "go-module-binary": "test_gobinary.py",
}


def test_names_unique_and_kebab_case() -> None:
    names = [c.name for c in CATALOGERS]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", n) for n in names)


@pytest.mark.parametrize("cls", CATALOGERS, ids=lambda c: c.name)
def test_contract(cls: type[Cataloger]) -> None:
    assert issubclass(cls, Cataloger) and not inspect.isabstract(cls)
    assert isinstance(cls.version, int) and not isinstance(cls.version, bool) and cls.version > 0
    assert cls.patterns and all(isinstance(p, str) for p in cls.patterns)
    for pattern in cls.patterns:
        glob_to_regex(pattern)
    assert cls.max_bytes > 0 and cls.head_bytes >= 0
    assert cls.__doc__ and cls.parse.__doc__
    module = inspect.getmodule(cls)
    assert module is not None and module.__doc__
    for name, obj in vars(module).items():
        if not name.startswith("_") and getattr(obj, "__module__", None) == module.__name__:
            assert obj.__doc__, f"{module.__name__}.{name} has no docstring"


@pytest.mark.parametrize("cls", CATALOGERS, ids=lambda c: c.name)
def test_each_cataloger_has_tests(cls: type[Cataloger]) -> None:
    assert (Path(__file__).parent / TEST_MODULE[cls.name]).is_file()


def test_registry_is_exhaustive() -> None:
    assert sorted(c.name for c in CATALOGERS) == sorted(TEST_MODULE)
