"""The ignore file (plain and YAML) and OpenVEX documents, parsed from files and applied to findings."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from tests.match import DIGEST, loc
from tidegate.match.suppress import (
    SuppressionFileError,
    load_ignore_file,
    load_vex,
    purl_matches,
    vex_suppression,
)
from tidegate.model.finding import Severity, VulnFinding

TODAY = dt.date(2025, 6, 1)


def finding(vid: str = "CVE-2023-43804", aliases: tuple[str, ...] = ("GHSA-v845-jxx5-vc9f", "PYSEC-2023-192"),
            purl: str = "pkg:pypi/urllib3@1.23", path: str = "/usr/lib/python3/urllib3-1.23.dist-info/METADATA",
            ) -> VulnFinding:
    return VulnFinding(id=vid, aliases=aliases, package_id="p1", package_name="urllib3", package_version="1.23",
                       package_type="pypi", package_purl=purl, severity=Severity.HIGH, severity_source="none",
                       locations=(loc(path),))


# -- plain ignore file -------------------------------------------------------------------------------------
def test_plain_ignore_file(tmp_path: Path) -> None:
    f = tmp_path / ".tidegateignore"
    f.write_text("# accepted risks\n\nGHSA-v845-jxx5-vc9f   # no redirects in our use\n"
                 "CVE-2020-0001 exp:2025-01-01\nCVE-2030-0002 exp:2099-12-31 # until the upgrade\n")
    rules = load_ignore_file(f)
    assert [(e.id, e.line, e.expires, e.reason) for e in rules.entries] == [
        ("GHSA-v845-jxx5-vc9f", 3, None, "no redirects in our use"),
        ("CVE-2020-0001", 4, dt.date(2025, 1, 1), ""),
        ("CVE-2030-0002", 5, dt.date(2099, 12, 31), "until the upgrade"),
    ]
    # An alias matches: the finding is shown as CVE-2023-43804 but GHSA-v845-jxx5-vc9f is one of its ids.
    sup = rules.suppression_for(finding(), TODAY)
    assert sup is not None
    assert (sup.kind, sup.reason, sup.source) == ("ignore-file", "no redirects in our use", str(f))
    assert [e.id for e in rules.expired(TODAY)] == ["CVE-2020-0001"]
    assert rules.suppression_for(finding("CVE-2020-0001", ()), TODAY) is None  # expired: no longer applies
    assert rules.suppression_for(finding("CVE-2020-0001", ()), dt.date(2024, 12, 31)) is not None


@pytest.mark.parametrize(("text", "line", "phrase"), [
    ("CVE-2020-0001\n\nCVE-2020-0002 extra\n", 3, "unexpected 'extra'"),
    ("# c\nCVE-2020-0001 exp:2020-13-01\n", 2, "not a YYYY-MM-DD date"),
    ("CVE-2020-0001\n'quoted'\n", 2, "is not a vulnerability id"),
])
def test_plain_ignore_file_errors_name_file_and_line(tmp_path: Path, text: str, line: int, phrase: str) -> None:
    f = tmp_path / ".tidegateignore"
    f.write_text(text)
    with pytest.raises(SuppressionFileError, match=phrase) as exc:
        load_ignore_file(f)
    assert str(exc.value).startswith(f"{f}:{line}: ")
    assert "\n" not in str(exc.value)


# -- YAML ignore file --------------------------------------------------------------------------------------
YAML = """\
vulnerabilities:
  - id: CVE-2023-43804
    purls:
      - pkg:pypi/urllib3
    statement: Accepted until the urllib3 2 migration
  - id: CVE-2023-45803
    paths:
      - "usr/lib/python3/*.dist-info/METADATA"
  - id: CVE-2019-0001
    expired_at: 2024-01-01
misconfigurations:
  - id: TG-IMG-001
"""


def test_yaml_ignore_file_with_scopes(tmp_path: Path) -> None:
    f = tmp_path / ".tidegateignore.yaml"
    f.write_text(YAML)
    rules = load_ignore_file(f)
    assert [(e.id, e.line, e.purls, e.paths, e.expires) for e in rules.entries] == [
        ("CVE-2023-43804", 2, ("pkg:pypi/urllib3",), (), None),
        ("CVE-2023-45803", 6, (), ("usr/lib/python3/*.dist-info/METADATA",), None),
        ("CVE-2019-0001", 9, (), (), dt.date(2024, 1, 1)),
    ]
    sup = rules.suppression_for(finding(), TODAY)
    assert sup is not None and sup.reason == "Accepted until the urllib3 2 migration"
    # The purl scope covers every version of urllib3, and nothing else.
    assert rules.suppression_for(finding(purl="pkg:pypi/requests@2.19.1"), TODAY) is None
    # The path scope is a glob; the leading "/" of the location does not matter.
    assert rules.suppression_for(finding("CVE-2023-45803", ()), TODAY) is not None
    assert rules.suppression_for(finding("CVE-2023-45803", (), path="/opt/app/x.dist-info/METADATA"), TODAY) is None
    assert [e.id for e in rules.expired(TODAY)] == ["CVE-2019-0001"]


@pytest.mark.parametrize(("text", "line", "phrase"), [
    ("vulnerabilities:\n  - id: CVE-2020-0001\n    purl: pkg:pypi/x\n", 3, "unknown key 'purl'"),
    ("vulnerabilities:\n  - statement: no id\n", 2, "entry without an 'id'"),
    ("vulnerabilities:\n  - id: CVE-2020-0001\n    expired_at: soon\n", 3, "not a YYYY-MM-DD date"),
    ("vulnerabilities:\n  - id: CVE-2020-0001\n    purls: [not-a-purl]\n", 3, "is not a purl"),
    ("vulnerabilities:\n  - id: [a\n", 3, "expected"),
    ("ignores:\n  - id: CVE-2020-0001\n", 1, "unknown key 'ignores'"),
])
def test_yaml_ignore_file_errors_name_file_and_line(tmp_path: Path, text: str, line: int, phrase: str) -> None:
    f = tmp_path / "ignore.yml"
    f.write_text(text)
    with pytest.raises(SuppressionFileError, match=phrase) as exc:
        load_ignore_file(f)
    assert str(exc.value).startswith(f"{f}:{line}: ")


@pytest.mark.parametrize(("pattern", "purl", "expected"), [
    ("pkg:deb/debian/openssl", "pkg:deb/debian/openssl@3.0.20-1~deb12u2?arch=amd64&distro=debian-12", True),
    ("pkg:deb/debian/openssl?arch=arm64", "pkg:deb/debian/openssl@3.0.20?arch=amd64", False),
    ("pkg:deb/debian/openssl@3.0.19", "pkg:deb/debian/openssl@3.0.20", False),
    ("pkg:pypi/Zope.Interface", "pkg:pypi/zope-interface@5.0", True),   # PEP 503
    ("pkg:npm/%40babel/core", "pkg:npm/%40babel/core@7.0.0", True),
    ("pkg:npm/core", "pkg:npm/%40babel/core@7.0.0", False),
    ("not a purl", "pkg:npm/x@1", False),
])
def test_purl_matches(pattern: str, purl: str, expected: bool) -> None:
    assert purl_matches(pattern, purl) is expected


# -- OpenVEX -----------------------------------------------------------------------------------------------
def vex_doc(tmp_path: Path, statements: list[dict[str, Any]], name: str = "app.openvex.json") -> Path:
    doc = {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.com/vex/1",
           "author": "Security Team", "timestamp": "2024-01-01T00:00:00Z", "version": 1,
           "statements": statements}
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2))
    return path


def stmt(status: str, products: list[Any], ts: str | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"vulnerability": {"name": "CVE-2023-43804", "aliases": ["GHSA-v845-jxx5-vc9f"]},
                           "products": products, "status": status, **extra}
    if ts:
        out["timestamp"] = ts
    return out


URLLIB3 = {"@id": "pkg:pypi/urllib3@1.23"}


def test_vex_not_affected_suppresses_with_justification(tmp_path: Path) -> None:
    path = vex_doc(tmp_path, [stmt("not_affected", [URLLIB3], justification="vulnerable_code_not_in_execute_path")])
    doc = load_vex(path)
    sup = vex_suppression((doc,), finding(), {DIGEST})
    assert sup is not None
    assert (sup.kind, sup.reason, sup.source) == ("vex", "not_affected: vulnerable_code_not_in_execute_path",
                                                  str(path))
    # Another package, or another vulnerability, is not covered.
    assert vex_suppression((doc,), finding(purl="pkg:pypi/requests@2.19.1"), {DIGEST}) is None
    assert vex_suppression((doc,), finding("CVE-2099-1", ()), {DIGEST}) is None


def test_vex_affected_and_under_investigation_do_not_suppress(tmp_path: Path) -> None:
    for status in ("affected", "under_investigation"):
        doc = load_vex(vex_doc(tmp_path, [stmt(status, [URLLIB3], action_statement="upgrade")]))
        assert vex_suppression((doc,), finding(), {DIGEST}) is None


def test_vex_fixed_suppresses(tmp_path: Path) -> None:
    doc = load_vex(vex_doc(tmp_path, [stmt("fixed", [URLLIB3])]))
    sup = vex_suppression((doc,), finding(), {DIGEST})
    assert sup is not None and sup.reason == "fixed"


def test_vex_latest_statement_wins(tmp_path: Path) -> None:
    earlier = stmt("not_affected", [URLLIB3], "2024-02-01T00:00:00Z", justification="component_not_present")
    later = stmt("affected", [URLLIB3], "2024-03-01T00:00:00Z", action_statement="upgrade to 1.26.17")
    # File order is the opposite of time order: time decides.
    doc = load_vex(vex_doc(tmp_path, [later, earlier]))
    assert vex_suppression((doc,), finding(), {DIGEST}) is None
    doc2 = load_vex(vex_doc(tmp_path, [earlier, {**later, "timestamp": "2024-01-15T00:00:00Z"}], "b.json"))
    sup = vex_suppression((doc2,), finding(), {DIGEST})
    assert sup is not None and sup.reason == "not_affected: component_not_present"


def test_vex_image_product(tmp_path: Path) -> None:
    image = f"pkg:oci/app@{DIGEST.replace(':', '%3A')}?repository_url=example.com/app"
    whole = load_vex(vex_doc(tmp_path, [stmt("not_affected", [{"@id": image}],
                                             justification="vulnerable_code_not_present")]))
    assert vex_suppression((whole,), finding(), {DIGEST}) is not None
    # Another image's digest, or an oci purl without any digest, never applies to this image.
    assert vex_suppression((whole,), finding(), {"sha256:" + "00" * 32}) is None
    nodigest = load_vex(vex_doc(tmp_path, [stmt("not_affected", [{"@id": "pkg:oci/app"}],
                                                justification="vulnerable_code_not_present")], "n.json"))
    assert vex_suppression((nodigest,), finding(), {DIGEST}) is None
    # With subcomponents, only those packages of the image are covered.
    sub = load_vex(vex_doc(tmp_path, [stmt("not_affected", [{"@id": image, "subcomponents": [
        {"@id": "pkg:pypi/requests"}]}], justification="vulnerable_code_not_present")], "s.json"))
    assert vex_suppression((sub,), finding(), {DIGEST}) is None
    assert vex_suppression((sub,), finding(purl="pkg:pypi/requests@2.19.1"), {DIGEST}) is not None


@pytest.mark.parametrize(("statement", "phrase"), [
    (stmt("not_affected", [URLLIB3]), "without justification or impact_statement"),
    (stmt("maybe", [URLLIB3]), "status 'maybe' is not one of"),
    (stmt("fixed", []), "without products"),
    ({"products": [URLLIB3], "status": "fixed"}, "without vulnerability.name"),
])
def test_vex_errors_name_file_and_statement_line(tmp_path: Path, statement: dict[str, Any], phrase: str) -> None:
    ok = stmt("fixed", [URLLIB3])
    path = vex_doc(tmp_path, [ok, statement])
    # The second statement's "{" is on the line after the first statement ends (json.dumps indent=2).
    lines = path.read_text().splitlines()
    second = [i for i, text in enumerate(lines, 1) if text == "    {"][1]
    with pytest.raises(SuppressionFileError, match=phrase) as exc:
        load_vex(path)
    assert str(exc.value).startswith(f"{path}:{second}: ")


def test_vex_bad_json_and_wrong_context(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "@context": "https://openvex.dev/ns/v0.2.0",\n  "statements": [,]\n}')
    with pytest.raises(SuppressionFileError, match=rf"^{bad}:3: not valid JSON"):
        load_vex(bad)
    other = tmp_path / "cdx.json"
    other.write_text('{"bomFormat": "CycloneDX"}')
    with pytest.raises(SuppressionFileError, match="not an OpenVEX context"):
        load_vex(other)
