"""Read a policy file: YAML (with line numbers) → JSON Schema → frozen `Policy`, every error one line with file:line.

    policy = load_policy(Path("policy.yaml"))
    # PolicyFileError: policy.yaml:12: vulnerabilities.maxSeverity: 'SEVERE' is not one of 'UNKNOWN', 'LOW', …

The schema is generated from the models (`policy_schema`) and shipped as ``tidegate/policy/schema.json`` for
editors and CI (a test keeps the two equal). Referenced key and Rego files are read (and Rego compiled) at load
time, so a policy that loads can be evaluated, and `Policy.hash` covers exactly the bytes that were read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import yaml  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError as SchemaError  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match
from pydantic import ValidationError

from tidegate.errors import TidegateError
from tidegate.policy import model
from tidegate.policy.model import Policy, Rules

SCHEMA_ID = "https://tidegate.dev/schemas/policy-v1.json"
"""``$id`` of the policy JSON Schema."""
MAX_POLICY_BYTES = 4 * 1024 * 1024
"""A policy file larger than this is refused."""
MAX_REFERENCED_BYTES = 4 * 1024 * 1024
"""A key or Rego file larger than this is refused."""

_Path = tuple[str | int, ...]


class PolicyFileError(TidegateError):
    """A policy file that cannot be read, parsed or validated (the message names file:line and the field)."""


def policy_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a policy file, generated from the models."""
    schema = Policy.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def shipped_schema() -> dict[str, Any]:
    """The schema as shipped in the package (``tidegate/policy/schema.json``)."""
    text = resources.files("tidegate.policy").joinpath("schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def load_policy(path: Path) -> Policy:
    """Read, validate and return the policy at `path` (referenced files relative to its directory)."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_POLICY_BYTES + 1)
    except OSError as e:
        raise PolicyFileError(f"{path}: cannot read the policy file: {e.strerror or e}") from e
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyFileError(f"{path}: policy file larger than {MAX_POLICY_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PolicyFileError(f"{path}: policy file is not UTF-8 ({e.reason} at byte {e.start})") from e
    return parse_policy(text, source=str(path), base_dir=path.parent)


def parse_policy(text: str, *, source: str = "policy.yaml", base_dir: Path = Path(".")) -> Policy:
    """Validate policy YAML `text`; `source` names it in errors, `base_dir` anchors relative file names."""
    data, lines = _parse_yaml(text, source)

    def fail(path: _Path, message: str) -> PolicyFileError:
        return PolicyFileError(f"{source}:{_line_of(lines, path)}: {_field(path)}: {message}")

    if not isinstance(data, dict):
        raise PolicyFileError(f"{source}:1: the policy must be a YAML mapping (apiVersion, kind, metadata, …)")
    errors = [_deepest(e) for e in jsonschema.Draft202012Validator(_validator_schema()).iter_errors(data)]
    if errors:
        described = sorted((_describe(e, lines) for e in errors), key=lambda d: (_line_of(lines, d[0]), d[1]))
        path, message = described[0]
        more = f" (and {len(described) - 1} more)" if len(described) > 1 else ""
        raise fail(path, message + more)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        raise fail(tuple(first["loc"]), str(first["msg"])) from e
    files = _check_semantics(policy, base_dir, fail)
    policy.attach(base_dir, files, source)
    return policy


# -- YAML with lines ------------------------------------------------------------------------------------------


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[_Path, int]]:
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as e:
            mark = e.problem_mark or e.context_mark
            line = mark.line + 1 if mark else 1
            raise PolicyFileError(f"{source}:{line}: invalid YAML: {e.problem or e.context}") from e
        except yaml.YAMLError as e:
            raise PolicyFileError(f"{source}:1: invalid YAML: {e}") from e
        if node is None:
            raise PolicyFileError(f"{source}:1: the policy file is empty")
        lines: dict[_Path, int] = {}
        _walk(node, (), lines, set(), source)
        try:
            data = loader.construct_document(node)
        except yaml.MarkedYAMLError as e:
            line = e.problem_mark.line + 1 if e.problem_mark else 1
            raise PolicyFileError(f"{source}:{line}: invalid YAML: {e.problem}") from e
    finally:
        loader.dispose()
    return data, lines


def _walk(node: yaml.Node, path: _Path, lines: dict[_Path, int], seen: set[int], source: str) -> None:
    """Record the line of every key and item; refuse aliases (repeated nodes) and duplicate keys."""
    if id(node) in seen:
        raise PolicyFileError(f"{source}:{_line_of(lines, path)}: {_field(path)}: YAML aliases are not allowed "
                              "in a policy")
    seen.add(id(node))
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in keys:
                raise PolicyFileError(f"{source}:{key_node.start_mark.line + 1}: {_field((*path, key))}: "
                                      "duplicate key")
            keys.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*path, key), lines, seen, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lines, seen, source)


def _line_of(lines: dict[_Path, int], path: _Path) -> int:
    while path not in lines and path:
        path = path[:-1]
    return lines.get(path, 1)


def _field(path: _Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(document)"


# -- schema errors ---------------------------------------------------------------------------------------------

_PATTERN_WORDS = {
    model._DURATION: "is not a duration (e.g. 90s, 30m, 24h, 7d, 1d12h)",
    model._GLOB: "is not a registry/repository glob (lower-case letters, digits, . _ - : / and * ? [ ])",
    model._TYPE: "is not an attestation type (" + ", ".join(model.ATTESTATION_TYPES) + ", or a URI)",
    model._QUERY: "is not a Rego rule path (e.g. data.tidegate.deny)",
    r"^TG-[A-Z0-9]+-[0-9]+$": "is not a rule id (e.g. TG-IMG-001)",
}

_VALIDATOR_SCHEMA: dict[str, Any] | None = None


def _validator_schema() -> dict[str, Any]:
    global _VALIDATOR_SCHEMA
    if _VALIDATOR_SCHEMA is None:
        _VALIDATOR_SCHEMA = policy_schema()
    return _VALIDATOR_SCHEMA


def _deepest(error: SchemaError) -> SchemaError:
    """For ``anyOf`` (a section or null) the sub-error that explains the problem, not the alternative."""
    while error.context:
        relevant = [e for e in error.context if e.validator != "type" or e.validator_value != "null"]
        error = best_match(relevant or error.context)
    return error


def _describe(error: SchemaError, lines: dict[_Path, int]) -> tuple[_Path, str]:
    path: _Path = tuple(error.absolute_path)
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in allowed)
        extra_path = (*path, extra[0]) if extra else path
        return extra_path, "unknown field (expected one of: " + ", ".join(allowed) + ")"
    if error.validator == "required":
        missing = re.match(r"'([^']+)' is a required property", error.message)
        name = missing.group(1) if missing else "?"
        return path, f"required field {name!r} is missing"
    if error.validator == "pattern" and error.validator_value in _PATTERN_WORDS:
        return path, f"{instance!r} {_PATTERN_WORDS[str(error.validator_value)]}"
    if error.validator == "enum":
        return path, f"{instance!r} is not one of " + ", ".join(repr(v) for v in error.validator_value)
    if error.validator == "const":
        return path, f"{instance!r} must be {error.validator_value!r}"
    if error.validator == "propertyNames":
        return path, f"{error.message}"
    return path, error.message


# -- meaning ---------------------------------------------------------------------------------------------------


def _rules_with_paths(policy: Policy) -> Iterator[tuple[_Path, Rules, Rules]]:
    """(path, rules as written, rules merged over the defaults) for the defaults and every scope."""
    yield ("defaults",), policy.defaults, policy.defaults
    for i, scope in enumerate(policy.scopes):
        yield ("scopes", i, "rules"), scope.rules, scope.rules.merged_over(policy.defaults)


def _check_semantics(policy: Policy, base_dir: Path, fail: Any) -> dict[str, bytes]:
    """Checks the schema cannot express; returns the referenced files' content by name as written."""
    from tidegate.checks.base import Target, all_rules
    from tidegate.checks.registry import CHECKS
    from tidegate.policy import rego

    image_rules = {r.id for c in CHECKS if c.target in (Target.IMAGE, Target.LAYER_FILE) for r in all_rules((c,))}
    files: dict[str, bytes] = {}

    def read(path: _Path, name: str, what: str) -> bytes:
        if name in files:
            return files[name]
        p = Path(name) if Path(name).is_absolute() else base_dir / name
        try:
            with p.open("rb") as f:
                content = f.read(MAX_REFERENCED_BYTES + 1)
        except OSError as e:
            raise fail(path, f"cannot read {what} {name!r}: {e.strerror or e}") from e
        if len(content) > MAX_REFERENCED_BYTES:
            raise fail(path, f"{what} {name!r} is larger than {MAX_REFERENCED_BYTES} bytes")
        files[name] = content
        return content

    for prefix, rules, merged in _rules_with_paths(policy):
        if rules.signatures:
            sig = rules.signatures
            for i, key in enumerate(sig.keys):
                content = read((*prefix, "signatures", "keys", i), key, "key file")
                if b"-----BEGIN PUBLIC KEY-----" not in content:
                    raise fail((*prefix, "signatures", "keys", i), f"{key!r} is not a PEM public key "
                               "(expected '-----BEGIN PUBLIC KEY-----')")
            if sig.min_count > len(sig.keys):
                raise fail((*prefix, "signatures", "minCount"),
                           f"{sig.min_count} is more than the {len(sig.keys)} key(s) listed")
        if rules.attestations:
            for i, key in enumerate(rules.attestations.keys):
                read((*prefix, "attestations", "keys", i), key, "key file")
        if merged.attestations and not merged.attestations.keys and not merged.signatures:
            raise fail((*prefix, "attestations") if rules.attestations else prefix,
                       "attestations need keys: set attestations.keys or signatures.keys")
        if rules.misconfigurations:
            for i, rule_id in enumerate(rules.misconfigurations.must_pass):
                if rule_id not in image_rules:
                    hint = "a rule of tidegate lint, not of images" if rule_id.startswith(("TG-DF", "TG-K8S")) \
                        else "no such rule"
                    raise fail((*prefix, "misconfigurations", "mustPass", i),
                               f"{rule_id!r}: {hint} (image rules: TG-IMG-…, TG-SEC-…; see docs/rules.md)")
        for i, entry in enumerate(rules.rego or ()):
            path = (*prefix, "rego", i)
            if (entry.file is None) == (entry.inline is None):
                raise fail(path, "give exactly one of 'file' or 'inline'")
            if entry.file is not None:
                content = read((*path, "file"), entry.file, "Rego file")
                try:
                    source_text = content.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise fail((*path, "file"), f"Rego file {entry.file!r} is not UTF-8") from e
            else:
                source_text = entry.inline or ""
            problem = rego.check_module(source_text, entry.file or f"inline-{i + 1}.rego")
            if problem:
                raise fail((*path, "file" if entry.file else "inline"), f"Rego error: {problem}")
    return files
