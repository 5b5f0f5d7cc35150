"""Suppressions users write: an ignore file (Trivy's ``.trivyignore`` conventions) and OpenVEX documents.

    rules = load_ignore_file(Path(".tidegateignore"))        # or .tidegateignore.yaml
    rules.suppression_for(finding, today)                     # Suppression(kind="ignore-file", …) or None
    vex = load_vex(Path("app.openvex.json"))
    vex_suppression((vex,), finding, image_digests={"sha256:…"})

Both formats are described for users in ``docs/ignore-and-vex.md``. A file that does not parse raises
`SuppressionFileError` naming the file and line; nothing in it is half-applied.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import fnmatch
import json
import json.decoder
import json.scanner
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]
from packageurl import PackageURL

from tidegate.errors import TidegateError
from tidegate.model.finding import CheckFinding, Suppression, VulnFinding
from tidegate.vulndb.schema import normalize_name


class SuppressionFileError(TidegateError):
    """An ignore file or VEX document that cannot be read or does not follow its format."""


# --- purls --------------------------------------------------------------------------------------------

_PURL_ECOSYSTEM = {"pypi": "PyPI", "npm": "npm", "deb": "Debian", "apk": "Alpine", "gem": "RubyGems"}


def purl_matches(pattern: str, purl: str) -> bool:
    """True when `purl` is the package `pattern` names.

    Type, namespace and name must be equal (names compared as their ecosystem compares them: PEP 503 for
    PyPI, case-insensitive for npm/deb/apk); the version only when `pattern` has one; qualifiers only those
    `pattern` gives (so ``pkg:deb/debian/openssl`` covers every arch and distro). Subpaths are ignored.
    """
    try:
        want, have = PackageURL.from_string(pattern), PackageURL.from_string(purl)
    except ValueError:
        return False
    if want.type.lower() != have.type.lower():
        return False
    eco = _PURL_ECOSYSTEM.get(want.type.lower(), "")

    def norm(value: str | None) -> str:
        return normalize_name(eco, value or "") if eco else (value or "")

    if norm(want.namespace) != norm(have.namespace) or norm(want.name) != norm(have.name):
        return False
    if want.version and want.version != have.version:
        return False
    wq = want.qualifiers if isinstance(want.qualifiers, dict) else {}
    hq = have.qualifiers if isinstance(have.qualifiers, dict) else {}
    return all(hq.get(k) == v for k, v in wq.items())


# --- the ignore file ----------------------------------------------------------------------------------

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]*$")


@dataclass(frozen=True, slots=True)
class IgnoreEntry:
    """One entry of an ignore file."""

    id: str
    """The vulnerability id; matches a finding when it is any of the finding's ids (CVE, GHSA, PYSEC, …)."""
    file: str
    """The ignore file it was read from."""
    line: int
    """1-based line of the entry in `file`."""
    purls: tuple[str, ...] = ()
    """When given: only packages matching one of these purls (see `purl_matches`)."""
    paths: tuple[str, ...] = ()
    """When given: only packages located at one of these paths (globs, leading ``/`` optional)."""
    expires: dt.date | None = None
    """From this date on the entry no longer applies (Trivy's ``exp:``/``expired_at``)."""
    reason: str = ""
    """Why it is ignored (trailing comment, or ``statement``)."""

    def expired(self, today: dt.date) -> bool:
        """True when `today` is on or after `expires` (Trivy's rule: the date itself is already expired)."""
        return self.expires is not None and today >= self.expires

    def applies_to(self, finding: VulnFinding) -> bool:
        """True when the id and the purl/path scopes cover `finding` (expiry not considered)."""
        if self.id.upper() not in {i.upper() for i in finding.all_ids}:
            return False
        if self.purls and not any(purl_matches(p, finding.package_purl) for p in self.purls):
            return False
        if self.paths:
            paths = [loc.path.lstrip("/") for loc in finding.locations]
            if not any(fnmatch.fnmatchcase(p, pat.lstrip("/")) for p in paths for pat in self.paths):
                return False
        return True


@dataclass(frozen=True, slots=True)
class IgnoreRules:
    """The entries of one ignore file."""

    source: str
    """The file they came from."""
    entries: tuple[IgnoreEntry, ...] = ()
    """Entries in file order."""

    def suppression_for(self, finding: VulnFinding, today: dt.date) -> Suppression | None:
        """The suppression of the first unexpired entry that applies to `finding`, if any."""
        for e in self.entries:
            if not e.expired(today) and e.applies_to(finding):
                reason = e.reason or f"{e.id} listed in the ignore file"
                return Suppression(kind="ignore-file", reason=reason, source=e.file,
                                   expires=e.expires.isoformat() if e.expires else "")
        return None

    def suppress_check(self, finding: CheckFinding, today: dt.date | None = None) -> CheckFinding:
        """`finding` (a secret or misconfiguration) suppressed by the first unexpired entry naming its rule id
        (and covering its path when the entry has ``paths``); unchanged when none does (Trivy's rule ids in
        ``.trivyignore`` work the same way)."""
        today = today or dt.date.today()
        path = (finding.location.path if finding.location else finding.source.path if finding.source else "")
        for e in self.entries:
            if e.expired(today) or e.id.upper() != finding.rule_id.upper():
                continue
            if e.paths and not any(fnmatch.fnmatchcase(path.lstrip("/"), pat.lstrip("/")) for pat in e.paths):
                continue
            reason = e.reason or f"{e.id} listed in the ignore file"
            return dataclasses.replace(finding, suppression=Suppression(
                kind="ignore-file", reason=reason, source=e.file, expires=e.expires.isoformat() if e.expires else ""))
        return finding

    def expired(self, today: dt.date) -> tuple[IgnoreEntry, ...]:
        """Entries that no longer apply on `today` (the engine warns about each)."""
        return tuple(e for e in self.entries if e.expired(today))


def _parse_date(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise SuppressionFileError(f"{where}: expiry {text.strip()[:40]!r} is not a YYYY-MM-DD date") from None


def _check_id(value: str, where: str) -> str:
    if not _ID.match(value):
        raise SuppressionFileError(f"{where}: {value[:60]!r} is not a vulnerability id")
    return value


def parse_ignore_text(text: str, file: str) -> IgnoreRules:
    """Parse the plain form: one id per line, ``#`` comments, optional ``exp:YYYY-MM-DD``, reason as comment."""
    entries: list[IgnoreEntry] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        body, _, comment = raw.partition("#")
        tokens = body.split()
        if not tokens:
            continue
        where = f"{file}:{n}"
        vid = _check_id(tokens[0], where)
        expires: dt.date | None = None
        for tok in tokens[1:]:
            if tok.startswith("exp:") and expires is None:
                expires = _parse_date(tok[4:], where)
            else:
                raise SuppressionFileError(f"{where}: unexpected {tok[:40]!r} (expected: ID [exp:YYYY-MM-DD] [# reason])")
        entries.append(IgnoreEntry(id=vid, file=file, line=n, expires=expires, reason=comment.strip()))
    return IgnoreRules(source=file, entries=tuple(entries))


_OTHER_SECTIONS = ("misconfigurations", "secrets", "licenses")
_ENTRY_KEYS = ("id", "purls", "paths", "expired_at", "statement")


def _scalar(node: yaml.Node, where: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise SuppressionFileError(f"{where}: {what} must be a single value")
    return str(node.value)


def _scalar_list(node: yaml.Node, where: str, what: str) -> tuple[str, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise SuppressionFileError(f"{where}: {what} must be a list")
    return tuple(_scalar(item, f"{where.rsplit(':', 1)[0]}:{item.start_mark.line + 1}", what) for item in node.value)


def parse_ignore_yaml(text: str, file: str) -> IgnoreRules:
    """Parse the YAML form (``.trivyignore.yaml``): ``vulnerabilities: [{id, purls, paths, expired_at, statement}]``."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "not valid YAML"
        raise SuppressionFileError(f"{file}{line}: {problem}") from None
    if root is None:
        return IgnoreRules(source=file)
    if not isinstance(root, yaml.MappingNode):
        raise SuppressionFileError(f"{file}:{root.start_mark.line + 1}: expected a mapping with 'vulnerabilities'")
    entries: list[IgnoreEntry] = []
    for key_node, value in root.value:
        key = _scalar(key_node, f"{file}:{key_node.start_mark.line + 1}", "a key")
        if key in _OTHER_SECTIONS:
            continue  # Trivy's other sections: not vulnerabilities, nothing for tidegate to suppress.
        if key != "vulnerabilities":
            raise SuppressionFileError(f"{file}:{key_node.start_mark.line + 1}: unknown key {key[:40]!r}")
        if not isinstance(value, yaml.SequenceNode):
            raise SuppressionFileError(f"{file}:{value.start_mark.line + 1}: 'vulnerabilities' must be a list")
        for item in value.value:
            entries.append(_yaml_entry(item, file))
    return IgnoreRules(source=file, entries=tuple(entries))


def _yaml_entry(item: yaml.Node, file: str) -> IgnoreEntry:
    line = item.start_mark.line + 1
    if not isinstance(item, yaml.MappingNode):
        raise SuppressionFileError(f"{file}:{line}: each vulnerability must be a mapping with an 'id'")
    fields: dict[str, yaml.Node] = {}
    for k, v in item.value:
        kw = f"{file}:{k.start_mark.line + 1}"
        key = _scalar(k, kw, "a key")
        if key not in _ENTRY_KEYS:
            raise SuppressionFileError(f"{kw}: unknown key {key[:40]!r} (expected one of {', '.join(_ENTRY_KEYS)})")
        fields[key] = v

    def where(key: str) -> str:
        return f"{file}:{fields[key].start_mark.line + 1}"

    if "id" not in fields:
        raise SuppressionFileError(f"{file}:{line}: entry without an 'id'")
    vid = _check_id(_scalar(fields["id"], where("id"), "id"), where("id"))
    purls = _scalar_list(fields["purls"], where("purls"), "purls") if "purls" in fields else ()
    for p in purls:
        try:
            PackageURL.from_string(p)
        except ValueError as e:
            raise SuppressionFileError(f"{where('purls')}: {p[:60]!r} is not a purl ({e})") from None
    paths = _scalar_list(fields["paths"], where("paths"), "paths") if "paths" in fields else ()
    expires = None
    if "expired_at" in fields:
        expires = _parse_date(_scalar(fields["expired_at"], where("expired_at"), "expired_at"), where("expired_at"))
    reason = _scalar(fields["statement"], where("statement"), "statement") if "statement" in fields else ""
    return IgnoreEntry(id=vid, file=file, line=line, purls=purls, paths=paths, expires=expires, reason=reason)


def load_ignore_file(path: Path) -> IgnoreRules:
    """Read an ignore file: YAML when the name ends in ``.yaml``/``.yml``, else the plain line form."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SuppressionFileError(f"{path}: cannot read ignore file ({e})") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        return parse_ignore_yaml(text, str(path))
    return parse_ignore_text(text, str(path))


# --- OpenVEX ------------------------------------------------------------------------------------------

VEX_STATUSES = ("not_affected", "affected", "fixed", "under_investigation")
"""OpenVEX statuses (spec v0.2.0, "Status Labels")."""

SUPPRESSING_STATUSES = ("not_affected", "fixed")
"""Statuses that suppress a finding; ``affected`` and ``under_investigation`` do not."""

_EPOCH = dt.datetime.min.replace(tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class VexProduct:
    """A product of a statement, with the subcomponents the statement is about."""

    id: str
    """The product's ``@id`` (or ``identifiers.purl``), normally a purl."""
    subcomponents: tuple[str, ...] = ()
    """Subcomponent ids (purls) inside the product."""


@dataclass(frozen=True, slots=True)
class VexStatement:
    """One OpenVEX statement."""

    vulnerability: str
    """``vulnerability.name`` (a CVE, GHSA, …)."""
    status: str
    """One of `VEX_STATUSES`."""
    line: int
    """1-based line of the statement in its file."""
    aliases: tuple[str, ...] = ()
    """``vulnerability.aliases``."""
    products: tuple[VexProduct, ...] = ()
    """The products it covers."""
    justification: str = ""
    """``justification`` label for ``not_affected``."""
    impact_statement: str = ""
    """``impact_statement``."""
    timestamp: dt.datetime | None = None
    """``last_updated``, else ``timestamp``, else the document's timestamp (timezone-aware)."""

    @property
    def ids(self) -> frozenset[str]:
        """The vulnerability name and aliases, upper-cased."""
        return frozenset(i.upper() for i in (self.vulnerability, *self.aliases))

    def covers(self, purl: str, image_digests: frozenset[str]) -> bool:
        """True when a product (or one of its subcomponents) is the package `purl`, or the product is the
        scanned image itself (``pkg:oci/…@<digest>``) with no subcomponents named."""
        for product in self.products:
            if _is_image(product.id, image_digests):
                if not product.subcomponents or any(purl_matches(s, purl) for s in product.subcomponents):
                    return True
            elif purl_matches(product.id, purl):
                return True
        return False

    def reason(self) -> str:
        """``not_affected: vulnerable_code_not_in_execute_path`` and the like."""
        detail = self.justification or self.impact_statement
        return f"{self.status}: {detail}" if detail else self.status


def _is_image(product_id: str, image_digests: frozenset[str]) -> bool:
    try:
        purl = PackageURL.from_string(product_id)
    except ValueError:
        return False
    # NOTE: an oci purl without a digest could be any build of that repository: it never matches (zero trust).
    return purl.type == "oci" and bool(purl.version) and purl.version in image_digests


@dataclass(frozen=True, slots=True)
class VexDocument:
    """One OpenVEX document."""

    path: str
    """The file it was read from."""
    statements: tuple[VexStatement, ...]
    """Its statements, in file order."""


class _Obj(dict[str, Any]):
    """A JSON object that remembers the line it started on."""

    line: int = 0


def _json_with_lines(text: str) -> Any:
    """`json.loads`, but every object is an `_Obj` carrying its line (for error messages)."""
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    decoder = json.JSONDecoder()
    # NOTE: the stdlib's pure-Python scanner calls `decoder.parse_object` for each object; typeshed does not
    # declare these internals, hence `vars`.
    parse_object: Callable[..., tuple[dict[str, Any], int]] = vars(json.decoder)["JSONObject"]

    def on_object(s_and_end: tuple[str, int], *args: Any) -> tuple[_Obj, int]:
        obj, end = parse_object(s_and_end, *args)
        out = _Obj(obj)
        out.line = bisect.bisect_right(starts, s_and_end[1])
        return out, end

    vars(decoder)["parse_object"] = on_object
    vars(decoder)["scan_once"] = vars(json.scanner)["py_make_scanner"](decoder)  # the C one ignores parse_object
    return decoder.decode(text)


def _ts(value: object, where: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SuppressionFileError(f"{where}: timestamp must be a string")
    try:
        t = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise SuppressionFileError(f"{where}: timestamp {value[:40]!r} is not RFC 3339") from None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def _str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key, "")
    if not isinstance(value, str):
        raise SuppressionFileError(f"{where}: {key} must be a string")
    return value.strip()


def _component_id(item: object, where: str) -> str:
    if isinstance(item, str):
        return item
    if not isinstance(item, Mapping):
        raise SuppressionFileError(f"{where}: a product must be an object with an @id")
    ident = item.get("identifiers")
    purl = ident.get("purl") if isinstance(ident, Mapping) else None
    value = item.get("@id") or purl
    if not isinstance(value, str) or not value:
        raise SuppressionFileError(f"{where}: product without @id or identifiers.purl")
    return value


def _statement(st: object, file: str, default_ts: dt.datetime | None) -> VexStatement:
    line = st.line if isinstance(st, _Obj) else 0
    where = f"{file}:{line}"
    if not isinstance(st, Mapping):
        raise SuppressionFileError(f"{where}: a statement must be an object")
    vuln = st.get("vulnerability")
    aliases: tuple[str, ...] = ()
    if isinstance(vuln, str):  # OpenVEX 0.0.x wrote the id as a plain string
        name = vuln.strip()
    elif isinstance(vuln, Mapping):
        name = _str(vuln, "name", where) or _str(vuln, "@id", where)
        raw_aliases = vuln.get("aliases", [])
        if not isinstance(raw_aliases, list) or not all(isinstance(a, str) for a in raw_aliases):
            raise SuppressionFileError(f"{where}: vulnerability.aliases must be a list of strings")
        aliases = tuple(raw_aliases)
    else:
        name = ""
    if not name:
        raise SuppressionFileError(f"{where}: statement without vulnerability.name")
    status = _str(st, "status", where)
    if status not in VEX_STATUSES:
        raise SuppressionFileError(f"{where}: status {status[:40]!r} is not one of {', '.join(VEX_STATUSES)}")
    justification, impact = _str(st, "justification", where), _str(st, "impact_statement", where)
    if status == "not_affected" and not (justification or impact):
        # OpenVEX v0.2.0: a not_affected statement MUST have a justification or an impact statement.
        raise SuppressionFileError(f"{where}: not_affected statement for {name} without justification or "
                                   "impact_statement")
    raw_products = st.get("products", [])
    if not isinstance(raw_products, list) or not raw_products:
        raise SuppressionFileError(f"{where}: statement for {name} without products")
    products = []
    for p in raw_products:
        pw = f"{file}:{p.line if isinstance(p, _Obj) else line}"
        subs = p.get("subcomponents", []) if isinstance(p, Mapping) else []
        if not isinstance(subs, list):
            raise SuppressionFileError(f"{pw}: subcomponents must be a list")
        products.append(VexProduct(id=_component_id(p, pw), subcomponents=tuple(_component_id(s, pw) for s in subs)))
    stamp = _ts(st.get("last_updated"), where) or _ts(st.get("timestamp"), where) or default_ts
    return VexStatement(vulnerability=name, status=status, line=line, aliases=aliases, products=tuple(products),
                        justification=justification, impact_statement=impact, timestamp=stamp)


def parse_vex(text: str, file: str) -> VexDocument:
    """Parse an OpenVEX document (spec v0.2.0; 0.0.x string ``vulnerability`` accepted)."""
    try:
        doc = _json_with_lines(text)
    except json.JSONDecodeError as e:
        raise SuppressionFileError(f"{file}:{e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(doc, Mapping):
        raise SuppressionFileError(f"{file}:1: an OpenVEX document must be a JSON object")
    context = doc.get("@context")
    if not isinstance(context, str) or "openvex" not in context:
        raise SuppressionFileError(f"{file}:1: @context {str(context)[:60]!r} is not an OpenVEX context")
    statements = doc.get("statements")
    if not isinstance(statements, list):
        raise SuppressionFileError(f"{file}:1: 'statements' missing or not a list")
    default_ts = _ts(doc.get("timestamp"), f"{file}:1")
    return VexDocument(path=file, statements=tuple(_statement(s, file, default_ts) for s in statements))


def load_vex(path: Path) -> VexDocument:
    """Read an OpenVEX JSON document."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SuppressionFileError(f"{path}: cannot read VEX document ({e})") from None
    return parse_vex(text, str(path))


def vex_suppression(docs: Sequence[VexDocument], finding: VulnFinding,
                    image_digests: Iterable[str]) -> Suppression | None:
    """The VEX verdict for `finding`: the latest applicable statement decides; it suppresses when it says
    ``not_affected`` or ``fixed``. Ties in time go to the later document, then the later statement."""
    ids = {i.upper() for i in finding.all_ids}
    digests = frozenset(image_digests)
    best: tuple[tuple[dt.datetime, int, int], VexStatement, VexDocument] | None = None
    for d_index, doc in enumerate(docs):
        for s_index, st in enumerate(doc.statements):
            if st.ids & ids and st.covers(finding.package_purl, digests):
                key = (st.timestamp or _EPOCH, d_index, s_index)
                if best is None or key > best[0]:
                    best = (key, st, doc)
    if best is None or best[1].status not in SUPPRESSING_STATUSES:
        return None
    _, st, doc = best
    return Suppression(kind="vex", reason=st.reason(), source=doc.path)
