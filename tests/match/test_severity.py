"""Severity: CVSS base scores (checked against the spec's formulas), version preference, feed word, UNKNOWN."""

from __future__ import annotations

from tests.match import needs_shared, osv, record
from tidegate.match.severity import cvss_score, rate
from tidegate.model.finding import Severity
from tidegate.vulndb.schema import SeverityScore


@needs_shared
def test_real_pysec_cvss31_vector() -> None:
    # PYSEC-2023-192 (urllib3, CVE-2023-43804): CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:N.
    # By the CVSS 3.1 spec (section 7.1): ISS = 1 - (1-0.56)(1-0.56)(1-0) = 0.8064; Impact = 6.42 * 0.8064 = 5.177;
    # Exploitability = 8.22 * 0.85 * 0.77 * 0.62 * 0.85 = 2.835; Base = Roundup(5.177 + 2.835) = 8.1 → High.
    adv = osv("PyPI", "PYSEC-2023-192")
    rating = rate([(adv, adv.affected[0])])
    (score,) = rating.scores
    assert (score.version, score.base_score, score.severity, score.source) == ("3.1", 8.1, Severity.HIGH,
                                                                                "PYSEC-2023-192")
    assert (rating.severity, rating.source) == (Severity.HIGH, "CVSS:3.1 (PYSEC-2023-192)")


def test_cvss2_vector_without_prefix() -> None:
    # NVD's classic AV:N/AC:L/Au:N/C:P/I:P/A:P = 7.5 (CVSS v2 guide, section 3.2.1), High in NVD's v2 ranges.
    score = cvss_score(SeverityScore("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P"), "X-1")
    assert score is not None and (score.version, score.base_score, score.severity) == ("2.0", 7.5, Severity.HIGH)


def test_newest_cvss_version_wins_over_a_higher_older_score() -> None:
    # v3.0 9.8 CRITICAL (the well-known AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H) vs v4.0 HIGH: v4.0 decides.
    v3 = record("PYSEC-2099-1", "PyPI", "demo", severity=[
        {"type": "CVSS_V3", "score": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}])
    v4 = record("GHSA-aaaa-bbbb-cccc", "PyPI", "demo", severity=[
        {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N"}])
    rating = rate([(v3, v3.affected[0]), (v4, v4.affected[0])])
    assert rating.source == "CVSS:4.0 (GHSA-aaaa-bbbb-cccc)"
    assert rating.severity is Severity.HIGH
    assert [s.version for s in rating.scores] == ["4.0", "3.0"]
    assert rating.scores[1].base_score == 9.8


def test_affected_level_severity_counts() -> None:
    adv = record("GHSA-1111-2222-3333", "PyPI", "demo", affected_extra={"severity": [
        {"type": "CVSS_V3", "score": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]})
    assert rate([(adv, adv.affected[0])]).severity is Severity.CRITICAL


def test_feed_word_when_no_vector() -> None:
    adv = record("GHSA-4444-5555-6666", "PyPI", "demo", source="osv:GHSA",
                 database_specific={"severity": "MODERATE"})
    rating = rate([(adv, adv.affected[0])])
    assert (rating.severity, rating.source) == (Severity.MEDIUM, "feed (osv:GHSA)")


def test_debian_urgency_word_on_the_affected_entry() -> None:
    adv = record("DEBIAN-CVE-2099-1", "Debian:12", "zlib", source="debian-tracker",
                 affected_extra={"ecosystem_specific": {"severity": "unimportant"}})
    assert (rate([(adv, adv.affected[0])]).severity, rate([(adv, adv.affected[0])]).source) == (
        Severity.LOW, "feed (debian-tracker)")


def test_unknown_when_nothing_is_given() -> None:
    adv = record("PYSEC-2099-2", "PyPI", "demo")
    rating = rate([(adv, adv.affected[0])])
    assert (rating.severity, rating.source, rating.scores) == (Severity.UNKNOWN, "none", ())


def test_malformed_vector_is_a_warning_and_falls_back() -> None:
    adv = record("PYSEC-2099-3", "PyPI", "demo", severity=[{"type": "CVSS_V3", "score": "CVSS:3.1/AV:X"}],
                 database_specific={"severity": "HIGH"})
    rating = rate([(adv, adv.affected[0])])
    assert rating.severity is Severity.HIGH and rating.source == "feed (test)"
    (warning,) = rating.warnings
    assert "PYSEC-2099-3" in warning and "CVSS:3.1/AV:X" in warning
