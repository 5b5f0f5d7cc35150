"""History commands over the store: ``rematch``, ``diff``, ``history`` and ``metrics``; and the recording hook that
``scan`` and ``check`` call.

    $ tidegate rematch                          # stored SBOMs × today's vulnerability DB → new findings
    $ tidegate diff oci-archive:old.tar oci-archive:new.tar
    $ tidegate diff sha256:5ae5b969… sha256:0c162fcb…
    $ tidegate history registry.example/app     # tag → digest moves; exit 1 on an immutable-tag violation
    $ tidegate metrics --store postgresql://tidegate@db/tidegate --format json

Recording (`add_record_options` + `record_run`): ``scan`` and ``check`` record into the store by default
(``--no-record`` skips, ``--store URL`` picks it; default ``$TIDEGATE_STORE`` or SQLite under
``$TIDEGATE_DATA_DIR`` / ``~/.local/share/tidegate``). Recording happens after the report is written, and a store
error is a warning on stderr only: the report is printed and the exit code is the scan's, never changed by the
store.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from tidegate.cli import exitcodes
from tidegate.errors import TidegateError, UsageError

log = logging.getLogger(__name__)

DEFAULT_MUTABLE_TAGS = ("latest",)
"""Tags expected to move; every other tag that moves is an immutable-tag violation."""


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", metavar="URL",
                   help="history store: sqlite:///PATH, a file path or postgresql://USER@HOST/DB (default "
                        "$TIDEGATE_STORE, else $TIDEGATE_DATA_DIR/history.db or ~/.local/share/tidegate/history.db)")


def add_record_options(p: argparse.ArgumentParser) -> None:
    """``--no-record`` and ``--store`` for commands that record (scan, check)."""
    g = p.add_argument_group("history")
    g.add_argument("--no-record", action="store_true", help="do not record this run in the history store")
    g.add_argument("--store", metavar="URL",
                   help="history store to record into (default $TIDEGATE_STORE, else SQLite in "
                        "$TIDEGATE_DATA_DIR or ~/.local/share/tidegate); a store error only warns")


def record_run(args: argparse.Namespace, report: Any = None, *, source: str, started: float,
               verdict: Any = None, evidence: Any = None) -> bool:
    """Record a finished scan/check unless ``--no-record``; a store error warns on stderr and returns False.
    Never raises: the caller's report is already out and its exit code stands."""
    if getattr(args, "no_record", False):
        return False
    from tidegate.store.history import record, scan_record

    try:
        rec = scan_record(report, reference=args.image, source=source,  # type: ignore[arg-type]
                          duration=time.monotonic() - started, verdict=verdict, evidence=evidence)
        record(rec, store=getattr(args, "store", None))
    except Exception as e:  # noqa: BLE001 - a store failure must never lose or change the scan result
        message = e.message if isinstance(e, TidegateError) else f"{type(e).__name__}: {str(e)[:200]}"
        print(f"tidegate: warning: not recorded in the history store: {message}", file=sys.stderr)
        return False
    return True


def register(sub: Any) -> None:
    """Add ``rematch``, ``diff``, ``history`` and ``metrics``."""
    from tidegate.cli.options import add_image_options

    p = sub.add_parser("rematch", help="re-evaluate every stored SBOM against the current vulnerability database",
                       description="Read every SBOM in the history store, match it against the local vulnerability "
                                   "database and record findings not seen before (first seen: now). No image is "
                                   "pulled.")
    _store_arg(p)
    p.add_argument("--db", metavar="DIR", help="vulnerability database directory (default $TIDEGATE_DB_DIR or "
                                               "~/.cache/tidegate/db)")
    p.set_defaults(run=run_rematch)

    p = sub.add_parser("diff", help="SBOM drift between two images (or two stored digests)",
                       description="Packages added/removed/changed, vulnerabilities introduced/fixed and config "
                                   "changes (user, exposed ports, environment variable names, never values) from A "
                                   "to B. A and B are image references, or digests stored in the history store.")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("-f", "--format", default="table", choices=("table", "json"), help="output format")
    _store_arg(p)
    p.add_argument("--db", metavar="DIR", help="vulnerability database for the findings comparison (without one, "
                                               "only packages and config are compared)")
    add_image_options(p)
    p.set_defaults(run=run_diff)

    p = sub.add_parser("history", help="how a repository's tags moved between digests",
                       description="Every tag of REPO and the digests it pointed at over time. A tag that moved "
                                   "to a different digest is an immutable-tag violation unless it is listed with "
                                   "--mutable (default: latest). Exit 1 when there is a violation.")
    p.add_argument("repository", metavar="REPO")
    p.add_argument("--mutable", action="append", metavar="TAG",
                   help=f"a tag allowed to move; repeatable (default: {', '.join(DEFAULT_MUTABLE_TAGS)})")
    p.add_argument("-f", "--format", default="table", choices=("table", "json"), help="output format")
    _store_arg(p)
    p.set_defaults(run=run_history)

    p = sub.add_parser("metrics", help="the four programme figures from the history store, with their targets",
                       description="Vulnerability density, signed images, MTTR and scan pass rate over a window.")
    p.add_argument("--window", default="30d", metavar="DURATION", help="window to measure (default 30d)")
    p.add_argument("-f", "--format", default="table", choices=("table", "json"), help="output format")
    _store_arg(p)
    p.set_defaults(run=run_metrics)


def parse_window(text: str) -> dt.timedelta:
    """``30d``, ``12h``, ``2w``… (`UsageError` otherwise; zero is refused)."""
    from tidegate.cli.scan import parse_duration

    window = parse_duration(text, "--window")
    if window.total_seconds() <= 0:
        raise UsageError(f"--window {text!r}: must be positive")
    return window


def _open(args: argparse.Namespace) -> Any:
    from tidegate.store.history import HistoryStore

    return HistoryStore.open(args.store, must_exist=True)


def run_rematch(args: argparse.Namespace) -> int:
    """Stored SBOMs × current DB → new findings."""
    from tidegate.match.engine import scan_vulnerabilities
    from tidegate.model.sbom import Sbom
    from tidegate.vulndb.store import VulnDb, default_db_dir

    db_dir = Path(args.db) if args.db else default_db_dir()
    with VulnDb.open(db_dir) as db, _open(args) as store:
        def match(sbom: Sbom) -> Any:
            return scan_vulnerabilities(sbom, db)

        result = store.rematch(match)
    for digest, message in result.errors:
        log.warning("%s: %s", digest, message)
    print(f"rematched {result.sboms} stored SBOMs: {len(result.new_findings)} new findings")
    for repo, vid, pkg in result.new_findings:
        print(f"  + {repo}: {vid} ({pkg})")
    return exitcodes.OK


def _side(args: argparse.Namespace, ref: str, store: Any, db: Any) -> Any:
    from tidegate.match.engine import scan_vulnerabilities
    from tidegate.store.history import ConfigFacts
    from tidegate.store.history_diff import DiffSide

    stored = store.image(ref) if store is not None and (ref.startswith("sha256:") or len(ref) >= 12 and all(
        c in "0123456789abcdef" for c in ref)) else None
    if stored is not None:
        sbom = store.sbom(stored.digest)
        if sbom is None:
            raise UsageError(f"{ref}: no SBOM stored for {stored.digest}")
        config = stored.config
    elif ref.startswith("sha256:"):
        raise UsageError(f"{ref}: not in the history store")
    else:
        from tidegate.cli.options import layer_cache, scan_options
        from tidegate.scan.pipeline import scan_image

        result = scan_image(ref, scan_options(args), cache=layer_cache(args))
        sbom, config = result.sbom, ConfigFacts.from_config(result.resolved.config.raw)
    report = scan_vulnerabilities(sbom, db) if db is not None else None
    return DiffSide(label=ref, sbom=sbom, report=report, config=config)


def run_diff(args: argparse.Namespace) -> int:
    """Two sides → drift → render."""
    from tidegate.store.history_diff import diff_images, render_drift_json, render_drift_table
    from tidegate.vulndb.store import VulnDb, default_db_dir

    store = None
    if any(r.startswith("sha256:") or all(c in "0123456789abcdef" for c in r) for r in (args.a, args.b)):
        store = _open(args)
    db = None
    try:
        db = VulnDb.open(Path(args.db) if args.db else default_db_dir())
    except TidegateError as e:
        log.warning("findings not compared: %s", e.message)
    try:
        drift = diff_images(_side(args, args.a, store, db), _side(args, args.b, store, db))
    finally:
        if db is not None:
            db.close()
        if store is not None:
            store.close()
    sys.stdout.write(render_drift_json(drift) if args.format == "json" else render_drift_table(drift))
    return exitcodes.OK


def run_history(args: argparse.Namespace) -> int:
    """Tag runs of a repository; exit 1 on an immutable-tag violation."""
    mutable = set(args.mutable or DEFAULT_MUTABLE_TAGS)
    with _open(args) as store:
        spans = store.tag_history(args.repository)
    violations = [s for s in spans if s.moved_from is not None and s.tag not in mutable]
    if args.format == "json":
        print(json.dumps({"repository": args.repository, "tags": [
            {"tag": s.tag, "digest": s.digest, "firstSeen": s.first_seen.isoformat(),
             "lastSeen": s.last_seen.isoformat(), "movedFrom": s.moved_from,
             "violation": s in violations} for s in spans]}, indent=2))
    else:
        if not spans:
            print(f"{args.repository}: no tags recorded")
        for s in spans:
            when = s.first_seen.strftime("%Y-%m-%d %H:%M:%SZ")
            note = ""
            if s.moved_from is not None:
                note = f"  moved from {s.moved_from[:19]}" + (
                    "  IMMUTABLE-TAG VIOLATION" if s in violations else " (mutable tag)")
            print(f"{s.tag:20} {when}  {s.digest}{note}")
    if violations:
        print(f"tidegate: {len(violations)} immutable-tag violation(s) in {args.repository}", file=sys.stderr)
        return exitcodes.POLICY_FAILURE
    return exitcodes.OK


def run_metrics(args: argparse.Namespace) -> int:
    """Compute and print the four figures."""
    from tidegate.store.metrics import compute, render_json, render_table

    window = parse_window(args.window)
    with _open(args) as store:
        figures = compute(store, window)
    sys.stdout.write(render_json(figures) if args.format == "json" else render_table(figures))
    return exitcodes.OK


__all__ = ["DEFAULT_MUTABLE_TAGS", "add_record_options", "parse_window", "record_run", "register", "run_diff",
           "run_history", "run_metrics", "run_rematch"]
