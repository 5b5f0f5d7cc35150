"""Every cataloger, registered in one line each. Order is the order of output for ties.

from tidegate.catalog.registry import CATALOGERS
"""

from __future__ import annotations

from tidegate.catalog.apk import ApkDbCataloger
from tidegate.catalog.base import Cataloger
from tidegate.catalog.dpkg import DpkgStatusCataloger
from tidegate.catalog.gobinary import GoModuleBinaryCataloger
from tidegate.catalog.npm import NpmPackageCataloger
from tidegate.catalog.osrelease import OsReleaseCataloger
from tidegate.catalog.python import PythonInstalledCataloger
from tidegate.catalog.rpm import RpmDbCataloger

CATALOGERS: tuple[type[Cataloger], ...] = (
    OsReleaseCataloger,
    DpkgStatusCataloger,
    ApkDbCataloger,
    RpmDbCataloger,
    PythonInstalledCataloger,
    NpmPackageCataloger,
    GoModuleBinaryCataloger,
)
"""The registry: add a cataloger class here (and nowhere else)."""
