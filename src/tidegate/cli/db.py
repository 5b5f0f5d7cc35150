"""``tidegate db import|update|status``: build, refresh and inspect the vulnerability database.

    $ tidegate db import ../shared/vulndata/osv/*/all.zip ../shared/vulndata/alpine/*/*.json
    $ tidegate db update --ecosystem PyPI --alpine-release v3.20 --no-debian-tracker
    $ tidegate db status --format json
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tidegate.cli import exitcodes
from tidegate.cli.progress import make_db_progress
from tidegate.errors import UsageError

TOP_ITEMS = 10
"""Skipped items listed per path in the import summary (all are counted)."""


def register(sub: Any) -> None:
    """Add the ``db`` subcommand group."""
    p = sub.add_parser("db", help="import, update and inspect the vulnerability database",
                       description="Manage the local vulnerability database (default $TIDEGATE_DB_DIR, "
                                   "$XDG_CACHE_HOME/tidegate/db or ~/.cache/tidegate/db).")
    dsub = p.add_subparsers(dest="db_command", metavar="DBCOMMAND", parser_class=type(p))
    p.set_defaults(run=lambda args: _usage(p))

    imp = dsub.add_parser("import", help="import feed files (OSV zips/dirs, Alpine secdb, Debian tracker)",
                          description="Import feed files into the database, atomically and incrementally.")
    imp.add_argument("paths", nargs="+", metavar="PATH",
                     help="an OSV all.zip, a directory or git checkout of OSV records, an Alpine secdb "
                          "vX.Y/*.json, or the Debian tracker JSON")
    _db_flag(imp)
    imp.set_defaults(run=run_import)

    up = dsub.add_parser("update", help="download the public feeds and import them",
                         description="Download the public feeds (OSV, Alpine secdb, Debian tracker) and import "
                                     "them; a failed download leaves the database untouched.")
    from tidegate.vulndb.update import DEFAULT_ALPINE_RELEASES, DEFAULT_ECOSYSTEMS

    up.add_argument("--ecosystem", action="append", metavar="NAME",
                    help=f"OSV ecosystem to fetch, repeatable (default: {' '.join(DEFAULT_ECOSYSTEMS)})")
    up.add_argument("--no-osv", action="store_true", help="fetch no OSV ecosystem")
    up.add_argument("--alpine-release", action="append", metavar="vX.Y",
                    help=f"Alpine secdb release, repeatable (default: {' '.join(DEFAULT_ALPINE_RELEASES)})")
    up.add_argument("--no-alpine", action="store_true", help="fetch no Alpine secdb release")
    up.add_argument("--debian-tracker", action=argparse.BooleanOptionalAction, default=True,
                    help="fetch the Debian security tracker export (default: yes)")
    up.add_argument("--osv-url", metavar="URL", help="OSV bucket base URL (env TIDEGATE_OSV_URL)")
    up.add_argument("--alpine-url", metavar="URL", help="Alpine secdb base URL (env TIDEGATE_ALPINE_URL)")
    up.add_argument("--debian-url", metavar="URL", help="Debian tracker JSON URL (env TIDEGATE_DEBIAN_URL)")
    up.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="network timeout (default 60)")
    _db_flag(up)
    up.set_defaults(run=run_update)

    st = dsub.add_parser("status", help="show what the database holds and how old it is")
    st.add_argument("-f", "--format", choices=("table", "json"), default="table", help="output format")
    _db_flag(st)
    st.set_defaults(run=run_status)


def _db_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", metavar="DIR", help="database directory (default $TIDEGATE_DB_DIR or "
                                               "~/.cache/tidegate/db)")


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help(sys.stderr)
    return exitcodes.INPUT_ERROR


def _db_dir(args: argparse.Namespace) -> Path:
    from tidegate.vulndb.store import default_db_dir

    return Path(args.db) if args.db else default_db_dir()


def _progress(args: argparse.Namespace) -> Any:
    bar = make_db_progress(quiet=args.quiet)
    return bar if bar is not None else contextlib.nullcontext(None)


def run_import(args: argparse.Namespace) -> int:
    """Paths → import_paths → summary table; exit 2 when a path failed."""
    from tidegate.vulndb.store import import_paths

    with _progress(args) as progress:
        summary = import_paths(_db_dir(args), [Path(p) for p in args.paths], progress=progress)
    return _report(summary)


def run_update(args: argparse.Namespace) -> int:
    """Flags → UpdateOptions → update → summary table."""
    from tidegate.vulndb.update import (
        DEFAULT_ALPINE_RELEASES,
        DEFAULT_ECOSYSTEMS,
        UpdateOptions,
        resolve_urls,
    )

    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    releases = tuple(args.alpine_release or DEFAULT_ALPINE_RELEASES)
    for rel in releases:
        if not rel.startswith("v") or not rel[1:].replace(".", "").isdigit():
            raise UsageError(f"--alpine-release {rel}: expected vX.Y (e.g. v3.20)")
    ecosystems = tuple(args.ecosystem or DEFAULT_ECOSYSTEMS)
    for eco in ecosystems:
        if not eco or "/" in eco or eco.startswith("."):
            raise UsageError(f"--ecosystem {eco!r}: not an OSV ecosystem name")
    env = [(k, os.environ.get(k)) for k in ("TIDEGATE_OSV_URL", "TIDEGATE_ALPINE_URL", "TIDEGATE_DEBIAN_URL")]
    osv_url, alpine_url, debian_url = resolve_urls(args.osv_url, args.alpine_url, args.debian_url, env)
    options = UpdateOptions(ecosystems=() if args.no_osv else ecosystems,
                            alpine_releases=() if args.no_alpine else releases,
                            debian_tracker=args.debian_tracker, osv_url=osv_url, alpine_url=alpine_url,
                            debian_url=debian_url, timeout=args.timeout)
    from tidegate.vulndb.update import update

    with _progress(args) as progress:
        summary = update(_db_dir(args), options, progress=progress)
    return _report(summary)


_COLUMNS = ("added", "updated", "unchanged", "stale", "withdrawn", "skipped")


def _report(summary: Any) -> int:
    out = sys.stdout
    rows = [("PATH", "IMPORTER", "SOURCE", *(c.upper() for c in _COLUMNS))]
    for p in summary.paths:
        if p.failed:
            rows.append((p.path, p.importer or "-", "FAILED", *("-" for _ in _COLUMNS)))
        else:
            rows.append((p.path, p.importer, _short_sources(p.sources), *(f"{getattr(p, c):,}" for c in _COLUMNS)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [r[i].ljust(widths[i]) if i < 3 else r[i].rjust(widths[i]) for i in range(len(r))]
        print("  ".join(cells).rstrip(), file=out)
    for p in summary.paths:
        extra = [f"{n:,} {label}" for n, label in ((p.dropped_entries, "affected entries dropped"),
                                                   (p.notes, "notes"), (p.ignored, "non-record files ignored"))
                 if n]
        if extra:
            print(f"{p.path}: {', '.join(extra)}", file=out)
        for item in p.items[:TOP_ITEMS]:
            print(f"  {item.kind.value} {item.item}: {item.reason}", file=out)
        listed = min(len(p.items), TOP_ITEMS)
        more = p.skipped + p.dropped_entries + p.notes - listed
        if more > 0:
            print(f"  … and {more:,} more", file=out)
    total = sum(p.added + p.updated + p.withdrawn for p in summary.paths)
    state = f"{summary.db_path}: {total:,} records written in {summary.seconds:.1f} s" if summary.written else \
        f"{summary.db_path}: nothing written"
    print(state, file=out)
    for p in summary.failed:
        print(f"tidegate: error: {p.error}", file=sys.stderr)
    return exitcodes.INPUT_ERROR if summary.failed else exitcodes.OK


def _short_sources(sources: tuple[str, ...]) -> str:
    if len(sources) <= 2:
        return ", ".join(sources) or "-"
    return f"{sources[0]} (+{len(sources) - 1})"


def _age(updated_at: str, now: dt.datetime | None = None) -> str:
    try:
        when = dt.datetime.fromisoformat(updated_at)
    except ValueError:
        return "unknown"
    seconds = int(((now or dt.datetime.now(dt.UTC)) - when).total_seconds())
    if seconds >= 86400:
        return f"{seconds // 86400} days {seconds % 86400 // 3600} hours ago"
    if seconds >= 3600:
        return f"{seconds // 3600} hours {seconds % 3600 // 60} minutes ago"
    return f"{max(seconds, 0) // 60} minutes ago"


def run_status(args: argparse.Namespace) -> int:
    """Open read-only → status → table or JSON."""
    from tidegate.vulndb.store import VulnDb

    with VulnDb.open(_db_dir(args)) as db:
        status = db.status()
    if args.format == "json":
        data = dataclasses.asdict(status)
        data["age_seconds"] = _age_seconds(status.updated_at)
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
        return exitcodes.OK
    out = sys.stdout
    print(f"database  {status.path} ({status.size_bytes / 1e6:.1f} MB, schema version {status.schema_version})",
          file=out)
    print(f"updated   {status.updated_at} ({_age(status.updated_at)})", file=out)
    print(f"records   {status.records:,} ({status.withdrawn:,} withdrawn)", file=out)
    print(file=out)
    rows = [("SOURCE", "RECORDS", "WITHDRAWN", "NEWEST MODIFIED", "IMPORTED")]
    rows += [(s.source, f"{s.records:,}", f"{s.withdrawn:,}", s.newest_modified or "-", s.imported_at)
             for s in status.sources]
    _table(rows, numeric=(1, 2))
    print(file=out)
    _table([("ECOSYSTEM", "RECORDS"), *((e.ecosystem, f"{e.records:,}") for e in status.ecosystems)],
           numeric=(1,))
    return exitcodes.OK


def _age_seconds(updated_at: str) -> int | None:
    try:
        when = dt.datetime.fromisoformat(updated_at)
    except ValueError:
        return None
    return int((dt.datetime.now(dt.UTC) - when).total_seconds())


def _table(rows: Sequence[tuple[str, ...]], numeric: tuple[int, ...] = ()) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        cells = [r[i].rjust(widths[i]) if i in numeric else r[i].ljust(widths[i]) for i in range(len(r))]
        print("  ".join(cells).rstrip(), file=sys.stdout)
