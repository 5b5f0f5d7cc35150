"""tidegate: a zero-trust gate for container images.

Public API (more arrives with later issues)::

    from tidegate import build_sbom
    sbom = build_sbom("oci-archive:image.oci.tar")
    for pkg in sbom.packages:
        print(pkg.purl)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from tidegate.scan.pipeline import ScanOptions, ScanResult, build_sbom, scan_image

__all__ = ["ScanOptions", "ScanResult", "__version__", "build_sbom", "scan_image"]


def __getattr__(name: str) -> Any:
    # NOTE: imported on first use, so `tidegate --version` and light commands start fast.
    if name in ("ScanOptions", "ScanResult", "build_sbom", "scan_image"):
        from tidegate.scan import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'tidegate' has no attribute {name!r}")
