"""Load Kubernetes YAML faithfully, keeping the line of every field, into `K8sObject`s.

Handles what ``kubectl apply -f`` and ``helm template`` produce: several documents separated by ``---``, empty
documents and documents holding only comments, ``kind: List`` (and every ``*List`` kind) with ``items``, and the
``# Source: chart/templates/x.yaml`` comments Helm writes above each rendered document. Documents that are not
Kubernetes objects (no ``apiVersion`` or no ``kind``, e.g. a values file) are skipped::

    objs = load_objects(text, "deploy.yaml")
    objs[0].kind, objs[0].name                                   # ("Deployment", "web")
    objs[0].line_of("spec", "template", "spec", "containers", 0, "image")  # 1-based line of that field

Invalid YAML raises `ManifestFileError` with ``PATH:LINE:COL: what``. Input is bounded: files over `MAX_BYTES`,
more than `MAX_NODES` composed nodes, `MAX_ALIASES` aliases, `MAX_VALUES` values after alias expansion ("billion
laughs") or `MAX_DEPTH` levels of nesting are refused, never truncated. Duplicate mapping keys are refused too:
parsers disagree on which one wins, and a reviewer may read the other one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml  # type: ignore[import-untyped]

from tidegate.errors import TidegateError

MAX_BYTES = 64 * 1024 * 1024
"""Largest manifest file accepted (64 MiB)."""
MAX_NODES = 2_000_000
"""Most YAML nodes (scalars, sequences, mappings) composed from one file."""
MAX_ALIASES = 10_000
"""Most ``*alias`` references in one file."""
MAX_VALUES = 2_000_000
"""Most values built from one file, counting every expansion of an alias (stops "billion laughs")."""
MAX_DEPTH = 200
"""Deepest nesting of sequences and mappings."""

FieldPath = tuple[str | int, ...]
"""A path into an object's body: mapping keys (``str``) and sequence indexes (``int``)."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_HELM_SOURCE = re.compile(r"^#\s*Source:\s*(\S.*?)\s*$")
_API_VERSION = re.compile(r"^\s*-?\s*apiVersion\s*:", re.MULTILINE)
_KIND = re.compile(r"^\s*-?\s*kind\s*:", re.MULTILINE)


class ManifestFileError(TidegateError):
    """A manifest that is not valid YAML or exceeds a bound; the message is ``PATH:LINE:COL: what``."""


@dataclass(frozen=True, slots=True)
class K8sObject:
    """One Kubernetes object as written, with the 1-based line of each of its fields."""

    api_version: str
    """``apiVersion`` (``apps/v1``)."""
    kind: str
    """``kind`` (``Deployment``)."""
    name: str
    """``metadata.name`` (or ``generateName`` followed by ``*``); empty when absent."""
    namespace: str
    """``metadata.namespace`` as written; empty when unset (see `effective_namespace`)."""
    body: Mapping[str, Any]
    """The whole object as plain Python values (dicts, lists, str, int, float, bool, None)."""
    doc_index: int
    """0-based position of the YAML document in the file (empty documents count)."""
    path: str
    """The file as the user named it."""
    line: int
    """Line where the object starts."""
    item_index: int | None = None
    """Position in ``items`` when the object came from a ``kind: List`` document, else None."""
    helm_source: str = ""
    """The template named by Helm's ``# Source:`` comment above the document, when present."""
    lines: Mapping[FieldPath, int] = field(default_factory=dict, repr=False, compare=False)
    """Line of each field path (mapping keys at the key's line, sequence items at the item's first line)."""

    def line_of(self, *keys: str | int) -> int:
        """1-based line of the field at `keys`, falling back to its closest parent that exists (or `line`)."""
        path: FieldPath = tuple(keys)
        while path:
            found = self.lines.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return self.line

    @property
    def effective_namespace(self) -> str:
        """The namespace the object lands in when applied without ``-n``: ``default`` when unset."""
        return self.namespace or "default"

    @property
    def display(self) -> str:
        """``Deployment prod/web`` (namespace ``default`` when unset)."""
        return f"{self.kind} {self.effective_namespace}/{self.name or '<unnamed>'}"


def is_k8s_yaml(path: str, text: str) -> bool:
    """True when `path` ends in ``.yaml``/``.yml`` and `text` has both an ``apiVersion:`` and a ``kind:`` key."""
    if not str(path).lower().endswith((".yaml", ".yml")):
        return False
    return bool(_API_VERSION.search(text)) and bool(_KIND.search(text))


def load_objects(text: str, path: str) -> list[K8sObject]:
    """Every Kubernetes object in `text` (the contents of `path`), in file order; List items are flattened."""
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ManifestFileError(f"{path}:1:1: manifest is larger than {MAX_BYTES:,} bytes; refusing to parse it")
    sources = _helm_sources(text)
    builder = _Builder(path)
    out: list[K8sObject] = []
    loader: _BoundedLoader | None = None
    try:
        loader = _BoundedLoader(text)
        doc_index = 0
        prev_end = 0
        while loader.check_node():
            node = loader.get_node()
            if node is not None:
                start = node.start_mark.line + 1
                helm = _source_between(sources, prev_end, start)
                prev_end = node.end_mark.line + 1
                if isinstance(node, yaml.MappingNode):
                    out.extend(_objects_of(builder, loader, node, doc_index, path, helm))
            doc_index += 1
    except _LimitExceeded as e:
        raise ManifestFileError(f"{path}:{e.line}:{e.column}: {e.what}") from None
    except yaml.MarkedYAMLError as e:
        raise ManifestFileError(_yaml_error_message(path, e)) from e
    except yaml.YAMLError as e:
        raise ManifestFileError(f"{path}:{_position(e, text)}: invalid YAML: {_one_line(str(e))}") from e
    except RecursionError:
        raise ManifestFileError(f"{path}:1:1: YAML nested too deeply to parse") from None
    finally:
        if loader is not None:
            loader.dispose()
    return out


# --- internals --------------------------------------------------------------------------------------------


class _LimitExceeded(Exception):
    """Raised inside the loader when a bound is crossed; turned into `ManifestFileError`."""

    def __init__(self, what: str, mark: Any) -> None:
        super().__init__(what)
        self.what = what
        self.line = (mark.line + 1) if mark is not None else 1
        self.column = (mark.column + 1) if mark is not None else 1


class _BoundedLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader's composer, counting nodes, aliases and depth as it goes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.tg_nodes = 0
        self.tg_aliases = 0
        self.tg_depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            self.tg_aliases += 1
            if self.tg_aliases > MAX_ALIASES:
                raise _LimitExceeded(f"more than {MAX_ALIASES:,} YAML aliases; refusing to expand them",
                                     event.start_mark)
        else:
            self.tg_nodes += 1
            if self.tg_nodes > MAX_NODES:
                raise _LimitExceeded(f"more than {MAX_NODES:,} YAML nodes; refusing to parse further",
                                     event.start_mark)
        self.tg_depth += 1
        try:
            if self.tg_depth > MAX_DEPTH:
                raise _LimitExceeded(f"YAML nested deeper than {MAX_DEPTH} levels", event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self.tg_depth -= 1


class _Builder:
    """Turns composed nodes into plain values plus a path → line map, with one expansion budget per file."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.values = 0

    def build(self, loader: Any, node: Any) -> tuple[Any, dict[FieldPath, int]]:
        lines: dict[FieldPath, int] = {(): node.start_mark.line + 1}
        value = self._value(loader, node, (), lines, set())
        return value, lines

    def _count(self, node: Any) -> None:
        self.values += 1
        if self.values > MAX_VALUES:
            raise _LimitExceeded(f"YAML expands to more than {MAX_VALUES:,} values (alias bomb?); refusing it",
                                 node.start_mark)

    def _value(self, loader: Any, node: Any, at: FieldPath, lines: dict[FieldPath, int], active: set[int]) -> Any:
        self._count(node)
        if isinstance(node, yaml.ScalarNode):
            return _scalar(loader, node)
        if id(node) in active:
            raise _LimitExceeded("recursive YAML alias", node.start_mark)
        if len(active) >= MAX_DEPTH:
            raise _LimitExceeded(f"YAML nested deeper than {MAX_DEPTH} levels", node.start_mark)
        active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = []
                for i, item in enumerate(node.value):
                    lines[(*at, i)] = item.start_mark.line + 1
                    items.append(self._value(loader, item, (*at, i), lines, active))
                return items
            if isinstance(node, yaml.MappingNode):
                return self._mapping(loader, node, at, lines, active)
        finally:
            active.discard(id(node))
        raise _LimitExceeded(f"unsupported YAML node {type(node).__name__}", node.start_mark)

    def _mapping(self, loader: Any, node: Any, at: FieldPath, lines: dict[FieldPath, int],
                 active: set[int]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merges: list[Any] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _LimitExceeded("unsupported YAML key: a mapping key must be a scalar", key_node.start_mark)
            key = str(key_node.value)
            if key in out:
                raise _LimitExceeded(f"duplicate mapping key {key!r}", key_node.start_mark)
            lines[(*at, key)] = key_node.start_mark.line + 1
            out[key] = self._value(loader, value_node, (*at, key), lines, active)
        # YAML merge keys (``<<: *base``): explicit keys win, then earlier merged mappings win over later ones.
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for src in sources:
                if not isinstance(src, yaml.MappingNode):
                    raise _LimitExceeded("a YAML merge key must refer to a mapping", src.start_mark)
                scratch: dict[FieldPath, int] = {}
                merged = self._mapping(loader, src, at, scratch, active)
                for key, value in merged.items():
                    if key not in out:
                        out[key] = value
                        for p, ln in scratch.items():
                            if p[len(at):len(at) + 1] == (key,):
                                lines.setdefault(p, ln)
        return out


def _scalar(loader: Any, node: Any) -> Any:
    """The scalar's value under YAML 1.1 core tags (as Kubernetes' YAML reader sees it); str for the rest."""
    tag = node.tag
    if tag in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary") or not tag.startswith("tag:yaml.org"):
        return str(node.value)
    try:
        return loader.construct_object(node)
    except (yaml.YAMLError, ValueError):
        return str(node.value)


def _objects_of(builder: _Builder, loader: Any, node: Any, doc_index: int, path: str,
                helm: str) -> list[K8sObject]:
    body, lines = builder.build(loader, node)
    loader.constructed_objects.clear()
    if not _is_object(body):
        return []
    kind = body["kind"]
    items = body.get("items")
    if kind.endswith("List") and isinstance(items, list):
        buckets: dict[int, dict[FieldPath, int]] = {}
        for p, ln in lines.items():
            if len(p) >= 2 and p[0] == "items" and isinstance(p[1], int):
                buckets.setdefault(p[1], {})[p[2:]] = ln
        out = []
        for i, item in enumerate(items):
            if _is_object(item):
                item_lines = buckets.get(i, {})
                out.append(_make(item, item_lines, doc_index, path, helm, i))
        return out
    return [_make(body, lines, doc_index, path, helm, None)]


def _is_object(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("apiVersion"), str)
            and isinstance(value.get("kind"), str) and bool(value["kind"]))


def _make(body: dict[str, Any], lines: dict[FieldPath, int], doc_index: int, path: str, helm: str,
          item_index: int | None) -> K8sObject:
    meta = body.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        gen = meta.get("generateName")
        name = f"{gen}*" if isinstance(gen, str) and gen else ""
    namespace = meta.get("namespace")
    return K8sObject(api_version=body["apiVersion"], kind=body["kind"], name=name,
                     namespace=namespace if isinstance(namespace, str) else "", body=body, doc_index=doc_index,
                     path=path, line=lines.get((), 1), item_index=item_index, helm_source=helm, lines=lines)


def _helm_sources(text: str) -> list[tuple[int, str]]:
    if "Source:" not in text:
        return []
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        m = _HELM_SOURCE.match(line)
        if m:
            out.append((n, m.group(1)))
    return out


def _source_between(sources: list[tuple[int, str]], after: int, before: int) -> str:
    found = ""
    for n, src in sources:
        if after <= n < before:
            found = src
        elif n >= before:
            break
    return found


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _position(e: Exception, text: str) -> str:
    # ReaderError (a character YAML forbids) carries a character offset, not a mark.
    pos = getattr(e, "position", None)
    if isinstance(pos, int) and 0 <= pos <= len(text):
        line_start = text.rfind("\n", 0, pos) + 1
        return f"{text.count(chr(10), 0, pos) + 1}:{pos - line_start + 1}"
    return "1:1"


def _yaml_error_message(path: str, e: Any) -> str:
    mark = e.problem_mark or e.context_mark
    where = f"{mark.line + 1}:{mark.column + 1}" if mark is not None else "1:1"
    what = _one_line(" ".join(p for p in (e.context, e.problem) if p)) or "invalid YAML"
    return f"{path}:{where}: invalid YAML: {what}"
