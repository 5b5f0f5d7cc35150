"""``tidegate report IMAGE-OR-DIGEST``: the self-contained HTML report of a stored image, from the history store.

    $ tidegate report docker.io/team/app -o app.html          # the repository's latest recorded image
    $ tidegate report sha256:5ae5b969… -o app.html            # a stored digest (a 12+ hex prefix works)

The stored SBOM is matched against the current vulnerability database (as ``tidegate rematch`` does) and the
page carries the repository's scan history as a trend table. Secrets and misconfigurations are not stored, so
they appear only in ``tidegate scan --format html``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tidegate.cli import exitcodes
from tidegate.cli.output import write_output
from tidegate.errors import UsageError


def register(sub: Any) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser("report", help="HTML report of a recorded image from the history store",
                       description="Render the self-contained HTML report of an image recorded by scan/check "
                                   "(by repository: its latest image; or by digest), matched against the current "
                                   "vulnerability database, with the repository's scan history.")
    p.add_argument("target", metavar="REPOSITORY|DIGEST")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--store", metavar="URL", help="history store (default $TIDEGATE_STORE or the data dir)")
    p.add_argument("--db", metavar="DIR", help="vulnerability database directory")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Store → stored SBOM → match → HTML."""
    from tidegate.match.engine import scan_vulnerabilities
    from tidegate.model.finding import Severity
    from tidegate.report.html import HistoryRow, render_html
    from tidegate.store.history import HistoryStore
    from tidegate.vulndb.store import VulnDb, default_db_dir

    with HistoryStore.open(args.store, must_exist=True) as store:
        target = args.target
        if "@sha256:" in target:  # a pinned reference: the digest names the image
            target = target.partition("@")[2]
        image = store.image(target)
        if image is None:
            current = store.current_digests()
            repository, colon, tag = target.rpartition(":")
            if target not in current and colon and "/" not in tag:
                target = repository  # REPO:TAG → that repository's latest recorded image
            digest = current.get(target)
            image = store.image(digest) if digest else None
        if image is None:
            raise UsageError(f"{target}: no recorded image with that digest or repository in the history store",
                             hint="record one with `tidegate scan IMAGE` (recording is on by default)")
        sbom = store.sbom(image.digest)
        if sbom is None:
            raise UsageError(f"{image.digest}: recorded without an SBOM (a check that did not scan)")
        rows = store.scan_rows(image.repository)
    db_dir = Path(args.db) if args.db else default_db_dir()
    with VulnDb.open(db_dir) as db:
        report = scan_vulnerabilities(sbom, db, db_info=db.info())
    history = [HistoryRow(scanned_at=r["scanned_at"].isoformat().replace("+00:00", "Z"),
                          manifest_digest=str(r["digest"]),
                          counts=tuple((s, int(r[s.value.lower()])) for s in Severity),
                          failed=not r["passed"]) for r in rows]
    write_output(render_html(report, history=history).encode("utf-8"), args.output)
    return exitcodes.OK
