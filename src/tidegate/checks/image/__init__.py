"""Image configuration checks (Dockle / CIS Docker Benchmark equivalents) over an `ImageTarget`.

One module per area, the rules as data in `rules`::

    from tidegate.checks.image import IMAGE_CHECKS
    findings = [f for check in IMAGE_CHECKS for f in check().evaluate(image_target)]

- `config`: root user, HEALTHCHECK, exposed SSH/privileged ports, base-image label and ``:latest`` tag;
- `history`: ADD of URLs, ADD vs COPY, whole-system upgrades, lone index updates;
- `files`: SSH server, setuid/setgid, sudo, package-manager caches, world-writable system paths;
- `minimalism`: full OS base (shell + package manager) with a files/packages/size score.
"""

from __future__ import annotations

from tidegate.checks.base import Check
from tidegate.checks.image.config import ImageConfigCheck
from tidegate.checks.image.files import ImageFilesCheck
from tidegate.checks.image.history import ImageHistoryCheck
from tidegate.checks.image.minimalism import ImageMinimalismCheck

IMAGE_CHECKS: tuple[type[Check], ...] = (ImageConfigCheck, ImageHistoryCheck, ImageFilesCheck,
                                         ImageMinimalismCheck)
"""The image checks, in the order to register them."""

__all__ = ["IMAGE_CHECKS", "ImageConfigCheck", "ImageFilesCheck", "ImageHistoryCheck", "ImageMinimalismCheck"]
