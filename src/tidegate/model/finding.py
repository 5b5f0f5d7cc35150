"""Things tidegate could not do, reported instead of dropped (syft's "unknowns").

    Unknown(location=loc, reason="rpmdb in BerkeleyDB format is present but not supported yet", source="rpm-db")
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from tidegate.model.location import Location


@dataclass(frozen=True, slots=True)
class Unknown:
    """A located failure: a file we could not parse, a format we do not support yet."""

    location: Location | None
    """Where; None for image-level problems."""
    reason: str
    """One line saying what could not be done."""
    source: str
    """The cataloger or component that hit it."""


class Severity(str, Enum):
    """Severity of a finding, ordered: ``Severity.HIGH > Severity.MEDIUM``.

    The names are Trivy's and Grype's (``UNKNOWN`` < ``LOW`` < ``MEDIUM`` < ``HIGH`` < ``CRITICAL``), as users
    type them on ``--severity`` and ``--fail-on``.
    """

    UNKNOWN = "UNKNOWN"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        """0 for UNKNOWN up to 4 for CRITICAL."""
        return _SEVERITY_ORDER.index(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    @classmethod
    def parse(cls, text: str) -> Severity:
        """``high`` → HIGH; also maps feed words (``important`` → HIGH, ``moderate`` → MEDIUM,
        ``negligible``/``unimportant`` → LOW); anything else is UNKNOWN."""
        word = text.strip().upper()
        if word in cls.__members__:
            return cls[word]
        return _SEVERITY_WORDS.get(word, cls.UNKNOWN)


_SEVERITY_ORDER = (Severity.UNKNOWN, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL)
_SEVERITY_WORDS = {
    "IMPORTANT": Severity.HIGH,
    "MODERATE": Severity.MEDIUM,
    "NEGLIGIBLE": Severity.LOW,
    "UNIMPORTANT": Severity.LOW,
    "MINOR": Severity.LOW,
    "MAJOR": Severity.HIGH,
}


@dataclass(frozen=True, slots=True)
class CvssScore:
    """One CVSS vector and the base score computed from it."""

    version: str
    """``2.0``, ``3.0``, ``3.1`` or ``4.0``."""
    vector: str
    """The vector string as the feed gave it."""
    base_score: float
    """Base score computed with the ``cvss`` library."""
    severity: Severity
    """The qualitative rating of `base_score` for that CVSS version."""
    source: str = ""
    """Which advisory gave it."""


@dataclass(frozen=True, slots=True)
class Suppression:
    """Why a finding is not counted: it stays in JSON output with this attached."""

    kind: str
    """``ignore-file``, ``vex`` or ``distro`` (the feed says not affected)."""
    reason: str
    """One line for humans (``not_affected: vulnerable_code_not_in_execute_path``)."""
    source: str = ""
    """The file (or feed) the suppression came from."""
    expires: str = ""
    """ISO date after which an ignore-file entry stops applying, when set."""


@dataclass(frozen=True, slots=True)
class MatchDetails:
    """How a finding was found: enough for a reader to redo the match by hand."""

    matcher: str
    """The matcher's name (``distro``, ``language``, ``go-stdlib``)."""
    ecosystem: str
    """The advisory ecosystem searched (``Debian:12``, ``PyPI``)."""
    searched_name: str
    """The name searched (for OS packages the source package)."""
    searched_version: str
    """The version compared (for OS packages the source version when it differs)."""
    indirect: bool = False
    """True when the match went through the source package rather than the binary package itself."""
    constraint: str = ""
    """The affected range in words (``>=0, <2.31.0``)."""


@dataclass(frozen=True, slots=True)
class VulnFinding:
    """One vulnerability in one package: advisories about the same vulnerability (by alias) are merged."""

    id: str
    """The id shown (a CVE when the vulnerability has one, else the first feed id)."""
    aliases: tuple[str, ...]
    """Every other id of the same vulnerability, sorted."""
    package_id: str
    """`Package.id` of the affected package (or a synthetic id for the Go stdlib)."""
    package_name: str
    """Package name as installed."""
    package_version: str
    """Installed version."""
    package_type: str
    """Package type (``deb``, ``python``, ``go-module``, …)."""
    package_purl: str
    """purl of the affected package."""
    severity: Severity
    """Severity (CVSS-derived when a vector is known, else the feed's word, else UNKNOWN)."""
    severity_source: str
    """Where `severity` came from (``CVSS:3.1 from GHSA-…``, ``feed``, ``none``)."""
    cvss: tuple[CvssScore, ...] = ()
    """Every CVSS score of the merged advisories."""
    title: str = ""
    """One-line summary."""
    description: str = ""
    """Details, when the feed gives them."""
    fixed_versions: tuple[str, ...] = ()
    """Versions that fix it (empty when no fix exists)."""
    advisories: tuple[str, ...] = ()
    """The feed records that matched (``PYSEC-…``, ``GHSA-…``), with their source."""
    data_sources: tuple[str, ...] = ()
    """The feeds of `advisories` (``osv:PyPI``)."""
    urls: tuple[str, ...] = ()
    """Reference URLs."""
    published: str = ""
    """Earliest published time of the merged advisories."""
    modified: str = ""
    """Latest modified time."""
    match: MatchDetails | None = None
    """How it was matched."""
    locations: tuple[Location, ...] = ()
    """Where the package lives (path, layer) — the Dockerfile step that brought the vulnerability."""
    suppression: Suppression | None = None
    """Set when an ignore file, VEX document or the feed suppresses it."""

    @property
    def fix_state(self) -> str:
        """``fixed`` when a fix version exists, else ``not-fixed``."""
        return "fixed" if self.fixed_versions else "not-fixed"

    @property
    def all_ids(self) -> tuple[str, ...]:
        """The id followed by its aliases."""
        return (self.id, *self.aliases)


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A place in a source file (a Dockerfile, a Kubernetes manifest): 1-based lines, 0 when unknown."""

    path: str
    """The file as the user named it (relative paths stay relative)."""
    line: int = 0
    """First line of the offending construct (1-based; 0 = the file as a whole)."""
    end_line: int = 0
    """Last line (0 = same as `line`)."""
    column: int = 0
    """1-based column when known, else 0."""


@dataclass(frozen=True, slots=True)
class CheckFinding:
    """One failed check: a baked-in secret or a misconfiguration, with the rule that found it and where.

    Image findings carry `location` (path, layer index, diff_id, the ``created_by`` step); source findings
    (Dockerfile, YAML) carry `source` (file + line). Image-config findings (``USER``, ``ENV``) carry neither
    a file nor a line: `target` names what was checked (``image config``, ``history step 4``).
    """

    rule_id: str
    """Stable rule id (``TG-SEC-001``, ``TG-IMG-003``, ``TG-DF-007``, ``TG-K8S-012``); see docs/rules.md."""
    category: str
    """``secret`` or ``misconfig``."""
    severity: Severity
    """The rule's severity (a secret rule may raise it, never lower it)."""
    title: str
    """The rule's title (one line, same for every finding of the rule)."""
    message: str
    """What exactly is wrong here, one line. Secrets appear only masked."""
    location: Location | None = None
    """For findings inside an image's files: where, in which layer and step."""
    source: SourceLocation | None = None
    """For findings in a Dockerfile or manifest: file and line."""
    target: str = ""
    """What was checked, for humans: ``image config``, ``Deployment default/web container app``."""
    evidence: str = ""
    """A short excerpt showing the problem (masked for secrets; empty when the message says it all)."""
    suppression: Suppression | None = None
    """Set when an inline ``tidegate:ignore`` comment or configuration accepted it; still reported."""

    @property
    def sort_key(self) -> tuple[int, str, str, int, int, str, str]:
        """Most severe first, then rule, file/path, line, layer, target, message: a total, stable order."""
        path = self.source.path if self.source else (self.location.path if self.location else "")
        line = self.source.line if self.source else 0
        layer = self.location.layer_index if self.location else -1
        return (-self.severity.rank, self.rule_id, path, line, layer, self.target, self.message)
