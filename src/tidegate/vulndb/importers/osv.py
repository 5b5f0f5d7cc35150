"""OSV records: the public bucket's ``<Ecosystem>/all.zip``, a directory of ``.json`` files, or a git checkout
of an OSV-format advisory repository (``pypa/advisory-database``'s ``vulns/**/PYSEC-*.yaml``,
``golang/vulndb``'s ``data/osv/*.json``)::

    imp = OsvImporter()
    imp.detect(Path("osv/PyPI/all.zip"))                 # True (zip magic)
    for item in imp.records(Path("osv/PyPI/all.zip")):   # Advisory | Skipped
        ...

Zips are hostile input: nothing is extracted, member names with ``..``, absolute paths or backslashes are
refused, each member is bounded (`MAX_RECORD_BYTES`, checked on the header and again while reading, because
headers can lie) and so is the member count. An ``affected`` entry whose ecosystem has no version scheme is
dropped and reported; a record left with no entry is skipped. YAML is read with PyYAML's safe loader minus
the implicit timestamp resolver (dates stay the strings they are written as, as OSV.dev's importer does)
and with anchors/aliases refused (no "billion laughs").
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from tidegate.vulndb.importers.base import (
    MAX_RECORD_BYTES,
    FeedError,
    Importer,
    SkipKind,
    Skipped,
    sniff_json,
)
from tidegate.vulndb.schema import Advisory, InvalidAdvisory

MAX_MEMBERS = 2_000_000
"""Most members an OSV zip may have (the whole public bucket's all.zip has well under a million)."""

RECORD_SUFFIXES = (".json", ".yaml", ".yml")
"""File names read as OSV records when walking a directory."""


class OsvImporter(Importer):
    """OSV JSON/YAML records from a zip, a directory or a git checkout."""

    name = "osv"

    def detect(self, path: Path) -> bool:
        """A directory, a zip (by its magic bytes), or a single JSON/YAML file holding one OSV record."""
        try:
            if path.is_dir():
                return True
            if not path.is_file():
                return False
            with open(path, "rb") as f:
                magic = f.read(4)
        except OSError:
            return False
        if magic in (b"PK\x03\x04", b"PK\x05\x06") or path.suffix.lower() == ".zip":
            return True
        if path.suffix.lower() in (".yaml", ".yml"):
            return True
        doc, head = sniff_json(path)
        if doc is not None:
            return isinstance(doc, dict) and "id" in doc and "modified" in doc
        return head.lstrip().startswith("{") and '"id"' in head and '"modified"' in head

    def records(self, path: Path) -> Iterator[Advisory | Skipped]:
        """Every record of the zip, directory or file at `path`."""
        if path.is_dir():
            yield from self._directory(path)
        elif path.suffix.lower() in (".json", ".yaml", ".yml") and not zipfile.is_zipfile(path):
            yield from self._file(path, path.name, hint=_hint(path))
        else:
            yield from self._zip(path)

    # -- zip ---------------------------------------------------------------------------------------------
    def _zip(self, path: Path) -> Iterator[Advisory | Skipped]:
        try:
            zf = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise FeedError(f"{path}: not a readable zip archive ({str(e)[:100] or type(e).__name__})") from e
        hint = _hint(path)
        with zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise FeedError(f"{path}: {len(infos):,} members, more than the limit of {MAX_MEMBERS:,}")
            for info in infos:
                name = info.filename
                if name.endswith("/"):
                    continue
                unsafe = _unsafe_member(name)
                if unsafe:
                    yield Skipped(_shown(name), f"unsafe member name ({unsafe})")
                    continue
                if not name.lower().endswith(RECORD_SUFFIXES):
                    yield Skipped(_shown(name), "not a .json/.yaml member", SkipKind.IGNORED)
                    continue
                if info.file_size > MAX_RECORD_BYTES:
                    yield Skipped(_shown(name), f"huge record: {info.file_size:,} bytes declared, more than "
                                                f"{MAX_RECORD_BYTES:,}")
                    continue
                try:
                    with zf.open(info) as f:
                        data = f.read(MAX_RECORD_BYTES + 1)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                        RuntimeError, ValueError) as e:
                    yield Skipped(_shown(name), f"corrupt member: {str(e)[:100] or type(e).__name__}")
                    continue
                if len(data) > MAX_RECORD_BYTES:
                    yield Skipped(_shown(name), f"huge record: more than {MAX_RECORD_BYTES:,} bytes")
                    continue
                yield from self._parsed(_parse(data, name), _shown(name), hint)

    # -- directory / git checkout ------------------------------------------------------------------------
    def _directory(self, root: Path) -> Iterator[Advisory | Skipped]:
        found = False
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d != ".git")
            for fname in sorted(filenames):
                if not fname.lower().endswith(RECORD_SUFFIXES):
                    continue
                full = Path(dirpath) / fname
                rel = full.relative_to(root).as_posix()
                if full.is_symlink():
                    yield Skipped(rel, "symlink not followed", SkipKind.IGNORED)
                    continue
                for item in self._file(full, rel, hint=""):
                    found = found or isinstance(item, Advisory) or item.kind is SkipKind.RECORD
                    yield item
        if not found:
            raise FeedError(f"{root}: no OSV records found in this directory")

    def _file(self, path: Path, shown: str, *, hint: str) -> Iterator[Advisory | Skipped]:
        try:
            size = path.stat().st_size
            if size > MAX_RECORD_BYTES:
                yield Skipped(shown, f"huge record: {size:,} bytes, more than {MAX_RECORD_BYTES:,}")
                return
            with open(path, "rb") as f:
                data = f.read(MAX_RECORD_BYTES + 1)
        except OSError as e:
            yield Skipped(shown, f"cannot read ({e.strerror or e})")
            return
        if len(data) > MAX_RECORD_BYTES:
            yield Skipped(shown, f"huge record: more than {MAX_RECORD_BYTES:,} bytes")
            return
        yield from self._parsed(_parse(data, path.name), shown, hint)

    # -- one record ---------------------------------------------------------------------------------------
    def _parsed(self, parsed: object, shown: str, hint: str) -> Iterator[Advisory | Skipped]:
        if isinstance(parsed, _ParseError):
            yield Skipped(shown, parsed.reason)
            return
        if not isinstance(parsed, dict) or "id" not in parsed or "modified" not in parsed:
            yield Skipped(shown, "not an OSV record (no id/modified)", SkipKind.IGNORED)
            return
        rid = parsed["id"] if isinstance(parsed["id"], str) and parsed["id"].strip() else shown
        try:
            adv = Advisory.from_osv(parsed, source="osv")
        except InvalidAdvisory as e:
            yield Skipped(rid[:200], f"invalid OSV record: {e.message}")
            return
        from tidegate.vulndb.versions import scheme_for_ecosystem

        kept = []
        for a in adv.affected:
            if scheme_for_ecosystem(a.ecosystem) is None:
                yield Skipped(adv.id, f"affected entry {a.name[:80]!r} dropped: unknown ecosystem "
                                      f"{a.ecosystem[:60]!r}", SkipKind.ENTRY)
                continue
            if not a.ranges and not a.versions:
                yield Skipped(adv.id, f"{a.ecosystem}/{a.name[:80]}: affected entry has neither ranges nor "
                                      "versions (kept)", SkipKind.NOTE)
            elif not a.versions and all(r.type == "GIT" for r in a.ranges):
                yield Skipped(adv.id, f"{a.ecosystem}/{a.name[:80]}: only GIT ranges (kept; they cannot be "
                                      "evaluated against a version)", SkipKind.NOTE)
            kept.append(a)
        if not kept and (adv.affected or not adv.withdrawn):
            yield Skipped(adv.id, "no affected entry left" if adv.affected else "no affected entry")
            return
        source = f"osv:{kept[0].ecosystem_base}" if kept else (hint or "osv")
        yield dataclasses.replace(adv, source=source, affected=tuple(kept))


@dataclasses.dataclass(frozen=True, slots=True)
class _ParseError:
    reason: str


def _parse(data: bytes, name: str) -> object:
    if name.lower().endswith((".yaml", ".yml")):
        return _parse_yaml(data)
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as e:
        return _ParseError(f"malformed JSON: {str(e)[:100]}")


def _parse_yaml(data: bytes) -> object:
    import yaml  # type: ignore[import-untyped]

    try:
        return yaml.load(data.decode("utf-8"), Loader=_osv_yaml_loader())
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError, ValueError) as e:
        first = str(e).strip().splitlines()
        return _ParseError(f"malformed YAML: {(first[0] if first else type(e).__name__)[:100]}")


_LOADER: Any = None


def _osv_yaml_loader() -> Any:
    """PyYAML's SafeLoader without the timestamp resolver and refusing aliases (built once, lazily)."""
    global _LOADER
    if _LOADER is None:
        import yaml

        class OsvYamlLoader(yaml.SafeLoader):  # type: ignore[misc]
            """SafeLoader: timestamps stay strings; anchors/aliases are an error."""

            def compose_node(self, parent: Any, index: Any) -> Any:
                if self.check_event(yaml.AliasEvent):
                    raise yaml.YAMLError("YAML aliases are not allowed in OSV records")
                return super().compose_node(parent, index)

        OsvYamlLoader.yaml_implicit_resolvers = {
            key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
            for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
        }
        _LOADER = OsvYamlLoader
    return _LOADER


def _unsafe_member(name: str) -> str:
    """Why a zip member name is unsafe ('' when it is fine)."""
    if "\x00" in name:
        return "NUL byte"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "absolute path"
    if "\\" in name:
        return "backslash in name"
    if ".." in PurePosixPath(name).parts:
        return "'..' component"
    return ""


def _shown(name: str) -> str:
    return name[:200].encode("unicode_escape").decode("ascii")


def _hint(path: Path) -> str:
    """``osv:<Ecosystem>`` from a zip's parent directory (``…/PyPI/all.zip``), used only for records that
    name no ecosystem (a withdrawn record without affected entries)."""
    parent = path.resolve().parent.name
    return f"osv:{parent}" if parent else "osv"
