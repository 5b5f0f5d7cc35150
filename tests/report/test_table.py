"""The default table format."""

from __future__ import annotations

import dataclasses

from tidegate.model.sbom import Sbom
from tidegate.report.table import TableFormat


def test_table_has_header_rows_and_footer(sbom: Sbom) -> None:
    out = TableFormat().render(sbom).decode()
    lines = out.splitlines()
    assert lines[0] == "Image:    registry.example.com/team/app:1.4"
    assert f"Digest:   {sbom.image.manifest_digest}" in lines
    assert "Platform: linux/amd64" in lines
    assert "OS:       Debian GNU/Linux 12 (bookworm)" in lines
    header = next(line for line in lines if line.startswith("NAME"))
    assert header.split() == ["NAME", "VERSION", "TYPE", "LAYER", "PATH"]
    for pkg in sbom.packages:
        row = next(line for line in lines if line.startswith(pkg.name + " "))
        assert row.split() == [pkg.name, pkg.version, pkg.type, str(pkg.layer_index), pkg.locations[0].path]
    assert "9 packages: 1 apk, 3 deb, 2 golang, 1 npm, 1 pypi, 1 rpm" in lines
    assert any("[rpm-db] /var/lib/rpm/Packages (layer 1): rpmdb in BerkeleyDB" in line for line in lines)


def test_no_color_codes_unless_asked(sbom: Sbom) -> None:
    assert "\x1b[" not in TableFormat().render(sbom).decode()
    assert "\x1b[" in TableFormat().render(sbom, color=True).decode()


def test_long_values_are_not_wrapped_or_truncated(sbom: Sbom) -> None:
    pkg = dataclasses.replace(sbom.packages[0], name="x" * 150)
    out = TableFormat().render(dataclasses.replace(sbom, packages=(pkg,))).decode()
    assert "x" * 150 in out
    assert all(line == line.rstrip() for line in out.splitlines())


def test_empty_image_without_os(sbom: Sbom) -> None:
    out = TableFormat().render(dataclasses.replace(sbom, packages=(), unknowns=(), distro=None)).decode()
    assert "OS:       unknown" in out
    assert "0 packages" in out
    assert "NAME" not in out
