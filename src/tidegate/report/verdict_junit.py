"""``tidegate check -f junit``: JUnit XML for CI dashboards (GitHub test reporters, GitLab, Jenkins).

    ET.fromstring(VerdictJunitFormat().render(report))  # <testsuites><testsuite name=IMAGE><testcase name=RULE>…

The shape is the common one of the Jenkins/Ant JUnit XSD that GitLab and the GitHub reporters read: one
``<testsuite>`` per image (properties: digest, policy hash, scope, decision), one ``<testcase>`` per rule with
``classname`` ``tidegate.policy.<policy file stem>``. A failed rule has a ``<failure>`` (message + evidence); a
rule that could not be evaluated is ``<skipped>`` when the policy lets it pass (``onNotEvaluated: allow``) and an
``<error>`` when it blocks, so a denied image never shows up as a green test report.
"""

from __future__ import annotations

import datetime as dt
from pathlib import PurePath
from xml.etree import ElementTree as ET

from tidegate.report.verdict import VerdictFormat, VerdictReport

CLASSNAME_PREFIX = "tidegate.policy"
"""``classname`` of every test case: this plus the policy file's stem."""


def _classname(report: VerdictReport) -> str:
    stem = PurePath(report.policy_path).stem if report.policy_path else "policy"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem) or "policy"
    return f"{CLASSNAME_PREFIX}.{safe}"


def _text(value: str) -> str:
    """XML 1.0 can't hold most control characters even escaped: drop them."""
    return "".join(c for c in value if c in "\t\n\r" or ord(c) >= 0x20)


def build_junit(report: VerdictReport) -> ET.Element:
    """The ``<testsuites>`` element of `report`."""
    v = report.verdict
    counts = report.counts()
    errors = sum(1 for r in v.results if r.status == "not-evaluated" and report.blocks(r))
    skipped = counts["not-evaluated"] - errors
    totals = {"tests": str(len(v.results)), "failures": str(counts["fail"]), "errors": str(errors),
              "skipped": str(skipped), "time": "0"}
    suites = ET.Element("testsuites", {"name": "tidegate check", **totals})
    when = report.evidence.scanned_at if report.evidence is not None and report.evidence.scanned_at else None
    attrs = {"name": _text(v.reference), **totals, "hostname": "tidegate", "id": "0", "package": _classname(report)}
    if when is not None:
        attrs["timestamp"] = when.astimezone(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat()
    suite = ET.SubElement(suites, "testsuite", attrs)
    props = ET.SubElement(suite, "properties")
    for name, value in (("manifestDigest", v.manifest_digest), ("policy", report.policy_path),
                        ("policyHash", v.policy_hash), ("scope", v.scope), ("decision", report.decision)):
        ET.SubElement(props, "property", {"name": name, "value": _text(value)})
    classname = _classname(report)
    for r in v.results:
        case = ET.SubElement(suite, "testcase", {"name": _text(r.rule), "classname": classname, "time": "0"})
        body = "\n".join([r.message, *r.evidence])
        if r.status == "fail":
            el = ET.SubElement(case, "failure", {"message": _text(r.message), "type": "policy-violation"})
            el.text = _text(body)
        elif r.status == "not-evaluated" and report.blocks(r):
            el = ET.SubElement(case, "error", {"message": _text(f"not evaluated: {r.message}"),
                                               "type": "not-evaluated"})
            el.text = _text(body)
        elif r.status == "not-evaluated":
            ET.SubElement(case, "skipped", {"message": _text(f"not evaluated: {r.message}")})
        elif r.evidence:
            out = ET.SubElement(case, "system-out")
            out.text = _text(body)
    lines = [f"{v.reference} ({v.manifest_digest}): {report.decision.upper()}", *v.reasons]
    if report.evidence is not None:
        lines += [f"evidence not gathered: {what}: {message}" for what, message in report.evidence.errors]
    ET.SubElement(suite, "system-out").text = _text("\n".join(lines))
    return suites


class VerdictJunitFormat(VerdictFormat):
    """JUnit XML: one test suite per image, one test case per rule."""

    id = "junit"
    aliases = ("junit-xml", "xml")
    media_type = "application/xml"
    description = "JUnit XML for CI test dashboards"

    def render(self, report: VerdictReport, *, color: bool = False) -> bytes:
        """Render as indented UTF-8 XML with a declaration; `color` is ignored."""
        root = build_junit(report)
        ET.indent(root)
        data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        return data + b"\n"


__all__ = ["CLASSNAME_PREFIX", "VerdictJunitFormat", "build_junit"]
