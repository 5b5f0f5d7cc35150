"""tidegate: a zero-trust gate for container images.

Public API (more arrives with later issues)::

    from tidegate import build_sbom
    result = build_sbom("oci-archive:image.oci.tar")
    for pkg in result.packages:
        print(pkg.purl)
"""

from __future__ import annotations

__version__ = "0.1.0"

from tidegate.scan.pipeline import ScanOptions, build_sbom

__all__ = ["ScanOptions", "__version__", "build_sbom"]
