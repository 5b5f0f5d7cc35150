"""A claimed file the pass cannot read (over a size limit) is reported as a located unknown, never dropped."""

from __future__ import annotations

from pathlib import Path

from tests.support.images import OciImage, TarMember, make_tar
from tidegate.image.blob import Limits
from tidegate.scan.pipeline import ScanOptions, scan_image


def test_oversized_package_database_is_an_unknown(tmp_path: Path) -> None:
    status = b"Package: bash\nStatus: install ok installed\nVersion: 5.2\nArchitecture: amd64\n\n" * 10
    archive = OciImage(layers=[make_tar([TarMember("var/lib/dpkg/status", status)])]).build(tmp_path / "i.tar")
    sbom = scan_image(f"oci-archive:{archive}", ScanOptions(limits=Limits(max_file_spool_bytes=100))).sbom
    assert sbom.packages == ()
    reasons = [(u.location.path if u.location else None, u.reason) for u in sbom.unknowns]
    assert ("/var/lib/dpkg/status", f"file is {len(status):,} bytes, over dpkg-status's 100-byte limit") in reasons
