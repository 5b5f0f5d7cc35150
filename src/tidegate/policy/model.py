"""The policy file as validated, frozen models (``apiVersion: tidegate.dev/v1``, ``kind: Policy``); see docs/policy.md.

    policy = load_policy(Path("policy.yaml"))            # tidegate.policy.load: YAML → schema → these models
    scope, rules = policy.scope_for("registry.example.com/team/app:1")
    needs = policy.requirements("registry.example.com/team/app:1")
    policy.hash                                          # "sha256:…" of the model + referenced key/rego files
    print("\\n".join(policy.explain()))

Rules are per image scope: ``defaults`` apply to every image, and the most specific ``scopes`` entry whose
``match`` glob covers ``registry/repository`` replaces them section by section (a section the scope names, even
as ``null``, replaces the default one; a section it leaves out is inherited). Every section is optional; an
absent section requires nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr
from pydantic.alias_generators import to_camel

from tidegate.errors import InvalidReference
from tidegate.model.finding import Severity
from tidegate.policy.evidence import Requirements

API_VERSION = "tidegate.dev/v1"
"""The only ``apiVersion`` this release reads."""

ATTESTATION_TYPES: dict[str, str] = {
    "cyclonedx": "https://cyclonedx.org/bom",
    "spdx": "https://spdx.dev/Document",
    "spdxjson": "https://spdx.dev/Document",
    "vuln": "https://cosign.sigstore.dev/attestation/vuln/v1",
    "slsaprovenance": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance02": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance1": "https://slsa.dev/provenance/v1",
    "openvex": "https://openvex.dev/ns",
    "link": "https://in-toto.io/Link/v1",
    "custom": "https://cosign.sigstore.dev/attestation/v1",
}
"""cosign ``--type`` names → in-toto predicate type URIs (any other URI may be given as is)."""

_GLOB = r"^[a-z0-9*?\[\]._:/-]+$"
_DURATION = r"^([0-9]+[smhdw])+$"
_TYPE = "^(" + "|".join(ATTESTATION_TYPES) + r"|[a-z][a-z0-9+.-]*://\S+)$"
_QUERY = r"^data(\.[A-Za-z_][A-Za-z0-9_]*)+$"

Glob = Annotated[str, Field(pattern=_GLOB, min_length=1,
                            description="glob over registry/repository: * within a path component, ** across, ?")]
"""A ``registry/repository`` glob (``registry.example.com/team/*``, ``docker.io/library/**``)."""
Duration = Annotated[str, Field(pattern=_DURATION, description="a duration: 90s, 30m, 24h, 7d, 2w, 1d12h")]
"""A duration as ``24h``, ``7d``, ``1d12h``."""
KeyPath = Annotated[str, Field(min_length=1, description="public key file (PEM), relative to the policy file")]
"""A public key file, relative to the policy file."""


class _Model(BaseModel):
    """Frozen, strict, camelCase on the wire."""

    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)


class SignatureRule(_Model):
    """``signatures``: the image's manifest digest must carry valid cosign signatures by these keys."""

    keys: list[KeyPath] = Field(min_length=1)
    """Public key files (each verified separately)."""
    min_count: int = Field(default=1, ge=1)
    """How many of `keys` must each have at least one valid signature."""
    identity: Literal["repository", "exact", "digest-only"] = "repository"
    """How the signed ``docker-reference`` must match the image (the digest always must)."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Annotations a signature must carry (``cosign sign -a k=v``)."""


class AttestationRule(_Model):
    """``attestations``: in-toto attestations of these predicate types must exist and verify."""

    types: list[Annotated[str, Field(pattern=_TYPE)]] = Field(min_length=1)
    """cosign ``--type`` names (``cyclonedx``, ``spdxjson``, ``vuln``, ``slsaprovenance``, ``custom``, …) or URIs."""
    keys: list[KeyPath] = Field(default_factory=list)
    """Public key files the attestations must verify against (default: ``signatures.keys``)."""


class VulnerabilityRule(_Model):
    """``vulnerabilities``: limits on active (unsuppressed) vulnerability findings."""

    max_severity: Severity | None = None
    """Any finding above this severity fails (``HIGH``: CRITICAL findings fail)."""
    ignore_unfixed: bool = False
    """Findings without a fixed version do not count."""
    max_count: dict[Severity, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """At most this many findings of exactly that severity (``{CRITICAL: 0, HIGH: 5}``)."""
    ignore: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    """Vulnerability ids (or aliases: a GHSA id ignores its CVE) that do not count."""
    max_scan_age: Duration | None = None
    """The scan must be at most this old."""
    max_db_age: Duration | None = None
    """The vulnerability database the scan used must have been updated at most this long before the scan."""


class SecretRule(_Model):
    """``secrets``: baked-in secrets (any layer, even deleted later)."""

    allowed: bool = False
    """False (zero trust): any active secret finding fails."""


class MisconfigRule(_Model):
    """``misconfigurations``: image check rules that must not report an active finding."""

    must_pass: list[Annotated[str, Field(pattern=r"^TG-[A-Z0-9]+-[0-9]+$")]] = Field(min_length=1)
    """Rule ids (``TG-IMG-001``…; see docs/rules.md) of image checks."""


class BaseImageRule(_Model):
    """``baseImages``: the ``org.opencontainers.image.base.name`` label must match an allowed glob."""

    allowed: list[Glob] = Field(min_length=1)
    """Globs over the base image's ``registry/repository``."""


class RegoRule(_Model):
    """One custom Rego module: every ``deny``/``violation`` message becomes a failing rule."""

    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    """Rule name in verdicts (``rego:NAME``); default the file name, or ``inline-N``."""
    file: str | None = Field(default=None, min_length=1)
    """A ``.rego`` file relative to the policy file."""
    inline: str | None = Field(default=None, min_length=1)
    """The module source itself."""
    query: str | None = Field(default=None, pattern=_QUERY)
    """The rule to read (``data.tidegate.deny``); default ``deny`` and ``violation`` of the module's package."""


class Rules(_Model):
    """What one scope requires; every section is optional (absent: not required)."""

    signatures: SignatureRule | None = None
    """Required signatures."""
    attestations: AttestationRule | None = None
    """Required, verified attestations."""
    vulnerabilities: VulnerabilityRule | None = None
    """Vulnerability limits."""
    secrets: SecretRule | None = None
    """Secrets."""
    misconfigurations: MisconfigRule | None = None
    """Misconfiguration rules that must pass."""
    non_root: bool | None = None
    """True: the image's ``config.User`` must name a non-root user."""
    allowed_registries: list[Glob] | None = None
    """Globs over the registry host (``registry.example.com``, ``*.corp.example``)."""
    require_digest: bool | None = None
    """True: the reference must name the digest (``repo@sha256:…``), not only a tag."""
    base_images: BaseImageRule | None = None
    """Allowed base images."""
    rego: list[RegoRule] | None = None
    """Custom Rego rules."""

    def merged_over(self, base: Rules) -> Rules:
        """This scope's sections over `base`: a section set here (even to null) replaces the base's."""
        data = {name: getattr(base, name) for name in type(self).model_fields}
        data.update({name: getattr(self, name) for name in self.model_fields_set})
        return Rules(**data)


class Scope(_Model):
    """Rules for images whose ``registry/repository`` matches one of `match`."""

    name: str | None = Field(default=None, min_length=1)
    """Shown in verdicts; default the matching glob."""
    match: list[Glob] = Field(min_length=1)
    """Globs over ``registry/repository`` (``registry.example.com/team/*``, ``docker.io/library/*``)."""
    rules: Rules
    """Sections replacing the defaults' (absent sections are inherited)."""


class Metadata(_Model):
    """Who the policy is."""

    name: str = Field(min_length=1)
    """Policy name."""
    description: str = ""
    """Free text."""


class Policy(_Model):
    """A whole policy file. Build it with `tidegate.policy.load.load_policy` (that also reads referenced files)."""

    api_version: Literal["tidegate.dev/v1"]
    """Always ``tidegate.dev/v1``."""
    kind: Literal["Policy"]
    """Always ``Policy``."""
    metadata: Metadata
    """Name and description."""
    on_not_evaluated: Literal["deny", "allow"] = "deny"
    """Whether a rule that could not be evaluated blocks (``deny``: zero trust)."""
    defaults: Rules = Field(default_factory=Rules)
    """Rules for every image no scope matches (and the base scopes replace section by section)."""
    scopes: list[Scope] = Field(default_factory=list)
    """Per-image-scope rules; the most specific matching glob wins."""

    _base_dir: Path = PrivateAttr(default_factory=lambda: Path("."))
    _files: dict[str, bytes] = PrivateAttr(default_factory=dict)
    _source: str = PrivateAttr(default="")

    # -- files -------------------------------------------------------------------------------------------------

    def attach(self, base_dir: Path, files: dict[str, bytes], source: str) -> None:
        """Record where the policy lives and the referenced files' content read when it was loaded."""
        self._base_dir = base_dir
        self._files = dict(files)
        self._source = source

    @property
    def source(self) -> str:
        """The policy file as named when loading (empty when built in code)."""
        return self._source

    def resolve(self, relative: str) -> str:
        """A path from the policy (key, rego file) made relative to the working directory / absolute."""
        p = Path(relative)
        return str(p if p.is_absolute() else self._base_dir / p)

    def file_content(self, relative: str) -> bytes:
        """A referenced file's bytes as read at load time (read now if the policy was built in code)."""
        if relative in self._files:
            return self._files[relative]
        return Path(self.resolve(relative)).read_bytes()

    def referenced_files(self) -> list[str]:
        """Every key and rego file the policy names, as written, sorted and unique."""
        out: set[str] = set()
        for rules in self.all_rules():
            if rules.signatures:
                out.update(rules.signatures.keys)
            if rules.attestations:
                out.update(rules.attestations.keys)
            for r in rules.rego or ():
                if r.file:
                    out.add(r.file)
        return sorted(out)

    def all_rules(self) -> Iterator[Rules]:
        """The defaults, then every scope's rules (as written, not merged)."""
        yield self.defaults
        for s in self.scopes:
            yield s.rules

    @property
    def hash(self) -> str:
        """``sha256:`` over the canonical JSON of the model and the content of every referenced file."""
        h = hashlib.sha256()
        doc = self.model_dump(mode="json", by_alias=True)
        h.update(json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())
        for name in self.referenced_files():
            try:
                content = self.file_content(name)
            except OSError:
                content = b"\0missing"
            h.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(content).digest())
        return "sha256:" + h.hexdigest()

    # -- scopes ------------------------------------------------------------------------------------------------

    def scope_for_name(self, name: str) -> tuple[str, Rules]:
        """(scope name, merged rules) for a ``registry/repository`` (empty: not from a registry → defaults)."""
        best: tuple[tuple[int, int, int, int], Scope, str] | None = None
        if name:
            for index, scope in enumerate(self.scopes):
                for pattern in scope.match:
                    if glob_match(pattern, name):
                        key = (*specificity(pattern), -index)
                        if best is None or key > best[0]:
                            best = (key, scope, pattern)
        if best is None:
            return "", self.defaults
        _, scope, pattern = best
        return scope.name or pattern, scope.rules.merged_over(self.defaults)

    def scope_for(self, reference: str) -> tuple[str, Rules]:
        """(scope name, rules) for an image reference; local layouts and archives get the defaults."""
        return self.scope_for_name(reference_name(reference))

    def requirements(self, reference: str) -> Requirements:
        """What must be gathered to evaluate `reference` under its scope."""
        return requirements_of(self, self.scope_for(reference)[1])

    def explain(self) -> list[str]:
        """What the policy requires, in words, one line each."""
        from tidegate.policy.explain import explain_policy

        return explain_policy(self)


def requirements_of(policy: Policy, rules: Rules) -> Requirements:
    """The `Requirements` of one scope's merged rules (key paths resolved against the policy's directory)."""
    scanners: set[str] = set()
    if rules.vulnerabilities:
        scanners.add("vuln")
    if rules.secrets and not rules.secrets.allowed:
        scanners.add("secret")
    if rules.misconfigurations:
        scanners.add("misconfig")
    if rules.rego:
        scanners.update(("vuln", "secret", "misconfig"))
    sig_keys = tuple(policy.resolve(k) for k in rules.signatures.keys) if rules.signatures else ()
    att_types: tuple[str, ...] = ()
    att_keys: tuple[str, ...] = ()
    if rules.attestations:
        att_types = tuple(rules.attestations.types)
        att_keys = tuple(policy.resolve(k) for k in rules.attestations.keys) or sig_keys
    return Requirements(
        scan=bool(scanners),
        scanners=frozenset(scanners) if scanners else frozenset({"vuln"}),
        signature_keys=sig_keys,
        signature_identity=rules.signatures.identity if rules.signatures else "repository",
        signature_annotations=tuple(sorted(rules.signatures.annotations.items())) if rules.signatures else (),
        attestation_types=att_types,
        attestation_keys=att_keys,
    )


# -- globs ----------------------------------------------------------------------------------------------------

_TRANSPORT_PREFIXES = ("oci:", "oci-archive:", "docker-archive:")


def reference_name(reference: str) -> str:
    """``registry/repository`` of a registry reference; empty for layouts, archives and unparsable input."""
    from tidegate.image.reference import parse_docker_reference

    value = reference.removeprefix("docker://")
    if value.startswith(_TRANSPORT_PREFIXES) or value.startswith(("/", ".")):
        return ""
    try:
        ref = parse_docker_reference(value)
    except InvalidReference:
        return ""
    return ref.name or ""


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:end]
                neg = body.startswith("!")
                out.append("[" + ("^" if neg else "") + (body[1:] if neg else body).replace("\\", "") + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(pattern: str, name: str) -> bool:
    """Whether `name` matches `pattern`: ``*`` and ``?`` stay inside a ``/`` component, ``**`` crosses them."""
    return _glob_regex(pattern).match(name) is not None


def specificity(pattern: str) -> tuple[int, int, int]:
    """How specific a glob is, larger wins (connaisseur's ``Match.compare``): literal prefix length, then fewer
    wildcards, then more literal characters."""
    first = min((i for i, c in enumerate(pattern) if c in "*?["), default=len(pattern))
    wildcards = sum(pattern.count(c) for c in "*?[") - pattern.count("**")
    literal = len(re.sub(r"\*+|\?|\[[^\]]*\]", "", pattern))
    return first, -wildcards, literal


def duration_seconds(text: str) -> int:
    """``1d12h`` → 129600."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    return sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)([smhdw])", text))
