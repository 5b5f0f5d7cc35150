"""The HTML report without a browser: registration, no remote resources, hostile strings escaped, embedded data.

Authorities: the HTML parsing rules for raw-text ``<script>`` elements (WHATWG HTML §13.2.5.4: only ``</script``
ends one, and ``<!--`` switches to the escaped states, so the embedded JSON must contain neither) and tidegate's own
JSON scan report, which the page must carry unchanged.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from tidegate.model.distro import Distro
from tidegate.model.finding import CheckFinding, Severity, VulnFinding
from tidegate.model.location import Location
from tidegate.model.package import Package
from tidegate.model.report import DbInfo, VulnReport
from tidegate.model.sbom import ImageInfo, LayerInfo, Sbom
from tidegate.policy.verdict import RuleResult, Verdict
from tidegate.report.html import HistoryRow, HtmlFormat, embedded_data, render_html
from tidegate.report.registry import get_scan_format

EVIL = "<script>alert(1)</script>"
EVIL_STEP = '"><script>alert(2)</script><!-- </script><img src=x onerror=alert(3)>'
DIFF0 = "sha256:" + "a0" * 32
DIFF1 = "sha256:" + "b1" * 32


def hostile_report() -> VulnReport:
    """A two-layer report whose package, step, finding and secret texts all try to break out of the page."""
    loc = Location(path=f"/usr/lib/{EVIL}", layer_index=1, diff_id=DIFF1, created_by=EVIL_STEP)
    pkg = Package(name=EVIL, version="1.0<b>", type="pypi", purl=f"pkg:pypi/{EVIL}@1.0", cataloger="python",
                  locations=(loc,))
    image = ImageInfo(
        reference=f"registry.example/{EVIL}:1", transport="registry", name=None, tag="1",
        manifest_digest="sha256:" + "e4" * 32, index_digest=None, config_digest="sha256:" + "16" * 32,
        manifest_media_type="application/vnd.oci.image.manifest.v1+json", os="linux", architecture="amd64",
        variant=None,
        layers=(LayerInfo(0, DIFF0, None, "application/vnd.oci.image.layer.v1.tar", 10, "ADD rootfs /"),
                LayerInfo(1, DIFF1, None, "application/vnd.oci.image.layer.v1.tar", 10, EVIL_STEP)),
    )
    sbom = Sbom(image=image, distro=Distro(id="debian", version_id="12", codename="bookworm",
                                           pretty_name=EVIL), packages=(pkg,), created="2025-01-02T03:04:05Z")
    finding = VulnFinding(id="CVE-2099-0001", aliases=(), package_id=pkg.id, package_name=EVIL,
                          package_version="1.0<b>", package_type="pypi", package_purl=pkg.purl,
                          severity=Severity.HIGH, severity_source="feed", title=EVIL,
                          urls=("https://example.test/advisory",), locations=(loc,))
    secret = CheckFinding(rule_id="TG-SEC-001", category="secret", severity=Severity.CRITICAL, title="AWS key",
                          message=f"key in {EVIL}: AKIA************", location=loc, evidence=EVIL)
    return VulnReport(sbom=sbom, findings=(finding,), db=DbInfo("db", "2025-01-01T03:04:05Z", ("osv:PyPI",), 1),
                      fail_on=Severity.HIGH, checks=(secret,), scanners=("vuln", "secret"))


class _Tags(HTMLParser):
    """Every start tag with its attributes, and the text of each ``<script>``."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def parse(page: str) -> _Tags:
    p = _Tags()
    p.feed(page)
    p.close()
    return p


def test_registered_deterministic_and_bytes() -> None:
    fmt = get_scan_format("html")
    assert isinstance(fmt, HtmlFormat) and fmt.media_type == "text/html"
    report = hostile_report()
    out = fmt.render(report)
    assert out == fmt.render(report) and out.endswith(b"</html>\n") and out.startswith(b"<!DOCTYPE html>")


REMOTE_ATTR = re.compile(r"""\b(?:src|href|action|srcset|poster|data|formaction|xlink:href)\s*=\s*["']?\s*"""
                         r"""(?:https?:|//|ftp:)""", re.IGNORECASE)


def test_no_remote_resources_and_a_locked_down_csp() -> None:
    page = render_html(hostile_report())
    assert not REMOTE_ATTR.search(page)
    assert "url(" not in page.split('id="tidegate-data"')[0] and "@import" not in page
    tags = parse(page).tags
    assert not [t for t, a in tags if t in ("link", "iframe", "img", "object", "embed", "base")]
    assert all(a.get("src") is None for t, a in tags if t == "script")
    csp = next(a["content"] for t, a in tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None and csp.startswith("default-src 'none';") and "unsafe" not in csp
    # The only http(s) strings are data (advisory URLs) inside the JSON block, never markup.
    markup = page.split('<script type="application/json"')[0]
    assert "http://" not in markup and "https://" not in markup


def test_hostile_strings_are_escaped_everywhere() -> None:
    page = render_html(hostile_report())
    p = parse(page)
    # Exactly our two scripts (data + code); no injected element of any kind.
    assert [(t, a.get("type")) for t, a in p.tags if t == "script"] == [("script", "application/json"),
                                                                        ("script", None)]
    assert not [t for t, a in p.tags if t == "img" or any(k.startswith("on") for k in a)]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;script&gt;alert(2)" in page
    markup = page.split('<script type="application/json"')[0]
    assert "<script>alert" not in markup and "<img" not in markup
    # The JSON block cannot end early, and decodes back to the hostile strings exactly.
    data_text = p.scripts[0]
    assert "</" not in data_text and "<!--" not in data_text
    data = json.loads(data_text)
    assert data["report"]["results"][0]["package"]["name"] == EVIL
    assert data["report"]["image"]["layers"][1]["createdBy"] == EVIL_STEP
    assert data["layers"][1]["packages"][0]["name"] == EVIL


def test_embedded_data_is_the_json_report() -> None:
    report = hostile_report()
    page = render_html(report)
    data = json.loads(parse(page).scripts[0])
    assert data["report"] == json.loads(get_scan_format("json").render(report))
    assert data == json.loads(json.dumps(embedded_data(report)))
    assert data["verdict"] is None and data["history"] == []


def test_scan_only_report_says_not_checked() -> None:
    tags = parse(render_html(hostile_report())).tags
    status = {a["data-check"]: None for t, a in tags if t == "tr" and "data-check" in a}
    marks = [a["data-status"] for t, a in tags if t == "span" and "data-status" in a]
    assert list(status) == ["signature", "attestations", "policy"]
    assert marks == ["not-checked", "not-checked", "not-evaluated"]
    assert [a["data-verdict"] for t, a in tags if "data-verdict" in a] == ["fail"]


@pytest.mark.parametrize(("results", "want"), [
    ((RuleResult("signatures", "pass", "signed by keys/release.pub"),), ["pass", "not-checked", "pass"]),
    ((RuleResult("signatures", "fail", "no valid signature"), RuleResult("vulnerabilities", "pass", "ok")),
     ["fail", "not-checked", "fail"]),
    ((RuleResult("attestations", "not-evaluated", "no SBOM attestation"),), ["not-checked", "not-evaluated",
                                                                             "fail"]),
])
def test_a_verdict_fills_the_trust_section(results: tuple[RuleResult, ...], want: list[str]) -> None:
    verdict = Verdict(reference="r", manifest_digest="sha256:" + "e4" * 32, policy_hash="sha256:" + "00" * 32,
                      results=results)
    page = render_html(hostile_report(), verdict=verdict)
    tags = parse(page).tags
    assert [a["data-status"] for t, a in tags if t == "span" and "data-status" in a] == want
    assert [a["data-rule"] for t, a in tags if "data-rule" in a] == [r.rule for r in results]
    assert json.loads(parse(page).scripts[0])["verdict"]["allowed"] is (want[-1] == "pass")


def test_history_rows_render_oldest_first() -> None:
    rows = (HistoryRow("2025-02-01T00:00:00Z", "sha256:" + "02" * 32, ((Severity.HIGH, 1),), failed=True),
            HistoryRow("2025-01-01T00:00:00Z", "sha256:" + "01" * 32, ((Severity.HIGH, 3),), failed=False,
                       tags=(EVIL,)))
    page = render_html(hostile_report(), history=rows)
    section = page.split('<section id="history">')[1].split("</section>")[0]
    assert section.index("2025-01-01") < section.index("2025-02-01") and EVIL not in section
    hist = json.loads(parse(page).scripts[0])["history"]
    assert [h["bySeverity"] for h in hist] == [{"HIGH": 3}, {"HIGH": 1}]
