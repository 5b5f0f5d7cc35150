"""The format registry: unique ids, aliases resolve, unknown names are usage errors, every entry renders."""

from __future__ import annotations

import pytest

from tidegate.errors import UsageError
from tidegate.model.sbom import Sbom
from tidegate.report import FORMATS, Format, format_choices, get_format


def test_ids_and_aliases_are_unique() -> None:
    names = [n for f in FORMATS for n in (f.id, *f.aliases)]
    assert len(names) == len(set(names))
    assert all(n == n.lower() for n in names)


def test_choices_are_ids_default_first() -> None:
    assert format_choices() == tuple(f.id for f in FORMATS)
    assert format_choices()[0] == "table"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("table", "table"),
        ("json", "json"),
        ("cyclonedx-json", "cyclonedx-json"),
        ("cyclonedx", "cyclonedx-json"),
        ("cdx-json", "cyclonedx-json"),
        ("CycloneDX", "cyclonedx-json"),
        ("cyclonedx-xml", "cyclonedx-xml"),
        ("spdx-json", "spdx-json"),
        ("spdx", "spdx-json"),
    ],
)
def test_names_resolve(name: str, expected: str) -> None:
    fmt = get_format(name)
    assert isinstance(fmt, Format)
    assert fmt.id == expected


def test_unknown_name_is_a_one_line_usage_error() -> None:
    with pytest.raises(UsageError, match=r"unknown output format 'sarif'; choose one of: table, json") as exc:
        get_format("sarif")
    assert "\n" not in str(exc.value)
    assert exc.value.exit_code == 2


@pytest.mark.parametrize("cls", FORMATS, ids=lambda c: c.id)
def test_every_format_is_documented_and_shows_digest_os_and_layers(cls: type[Format], sbom: Sbom) -> None:
    assert cls.__doc__ and cls.description and cls.media_type
    out = cls().render(sbom).decode("utf-8")
    assert out.endswith("\n")
    assert sbom.image.digest in out
    assert "debian" in out.lower()
    for layer in sbom.image.layers:
        assert layer.diff_id in out
    assert out == cls().render(sbom).decode("utf-8"), "rendering must be deterministic"
