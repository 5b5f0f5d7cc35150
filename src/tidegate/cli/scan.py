"""``tidegate scan IMAGE``: the known vulnerabilities of everything in an image (or an SBOM), and a CI verdict.

    $ tidegate scan oci-archive:app.oci.tar --fail-on high --format sarif --output app.sarif
    $ tidegate scan sbom:app.cdx.json --ignore-unfixed --vex app.vex.json

Four steps, as in every command: flags → options → library calls (SBOM, DB, match) → render + exit code.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import logging
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidegate.cli import exitcodes
from tidegate.cli.history import add_record_options, record_run
from tidegate.cli.options import (
    add_image_options,
    add_rule_options,
    disabled_rules,
    layer_cache,
    parse_scanners,
    scan_options,
    size_arg,
)
from tidegate.cli.output import write_output
from tidegate.cli.progress import make_progress
from tidegate.errors import UsageError
from tidegate.model.finding import CheckFinding, Severity
from tidegate.model.sbom import Sbom
from tidegate.scan.checks import SCANNER_NAMES

log = logging.getLogger(__name__)

SBOM_PREFIX = "sbom:"
"""Transport prefix for an SBOM file instead of an image (Grype's and Trivy's convention)."""

DEFAULT_IGNOREFILE = ".tidegateignore"
"""Read from the working directory when present and no ``--ignorefile`` is given (like ``.trivyignore``)."""

DEFAULT_MAX_DB_AGE = "7d"
"""A database older than this gets a warning."""

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def register(sub: Any) -> None:
    """Add the ``scan`` subcommand."""
    from tidegate.report.registry import DEFAULT_SCAN_FORMAT, scan_format_choices

    p = sub.add_parser(
        "scan", help="find the known vulnerabilities in an image or SBOM",
        description="Catalog an image (or read an SBOM), match every package against the local vulnerability "
                    "database, and exit 1 when a finding at or above --fail-on remains.",
        epilog="IMAGE: oci-archive:PATH[:REF], oci:DIR[:REF], docker-archive:PATH, "
               "[docker://][REGISTRY/]REPO[:TAG][@DIGEST], a path to an archive, or sbom:PATH (CycloneDX or "
               "SPDX JSON). Exit codes: 0 pass, 1 a finding at or above --fail-on, 2 usage or input error.")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("-f", "--format", default=DEFAULT_SCAN_FORMAT, metavar="FORMAT",
                   help=f"output format: {', '.join(scan_format_choices())} (default {DEFAULT_SCAN_FORMAT})")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    f = p.add_argument_group("findings")
    f.add_argument("--severity", metavar="LIST",
                   help="report only these severities, comma-separated (e.g. HIGH,CRITICAL)")
    f.add_argument("--ignore-unfixed", action="store_true", help="leave out vulnerabilities with no fix yet")
    f.add_argument("--fail-on", metavar="SEVERITY", type=str.upper,
                   help="exit 1 when an unsuppressed finding at or above SEVERITY remains "
                        "(UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL)")
    f.add_argument("--ignorefile", metavar="FILE",
                   help=f"ignore file (ids, optional exp:YYYY-MM-DD; .yaml for the YAML form); default "
                        f"./{DEFAULT_IGNOREFILE} when present")
    f.add_argument("--vex", action="append", default=[], metavar="FILE",
                   help="OpenVEX document whose not_affected/fixed statements suppress findings; repeatable")
    d = p.add_argument_group("vulnerability database")
    d.add_argument("--db", metavar="DIR", help="database directory (default $TIDEGATE_DB_DIR or "
                                               "~/.cache/tidegate/db)")
    d.add_argument("--max-db-age", default=DEFAULT_MAX_DB_AGE, metavar="DURATION",
                   help=f"warn when the database is older than this (e.g. 12h, 7d; default {DEFAULT_MAX_DB_AGE})")
    k = p.add_argument_group("secrets and misconfigurations")
    k.add_argument("--scanners", default="vuln,secret,misconfig", metavar="LIST",
                   help="what to look for: vuln, secret, misconfig, comma-separated (default: all)")
    add_rule_options(k)
    k.add_argument("--secret-max-file-size", type=size_arg, default=None, metavar="SIZE",
                   help="files larger than this are not searched for secrets (default 10M)")
    p.add_argument("--catalogers", metavar="ID,…", help="run only these catalogers (see `tidegate catalogers`)")
    add_image_options(p)
    add_record_options(p)
    p.set_defaults(run=run)


@dataclass(frozen=True, slots=True)
class ScanCommandOptions:
    """What ``tidegate scan`` was asked to do, validated."""

    severities: frozenset[Severity] | None
    """``--severity``."""
    fail_on: Severity | None
    """``--fail-on``."""
    max_db_age: dt.timedelta
    """``--max-db-age``."""


def parse_severity(text: str, flag: str) -> Severity:
    """A severity name as users type it; anything else is a usage error naming `flag`."""
    word = text.strip().upper()
    if word not in Severity.__members__:
        raise UsageError(f"{flag} {text!r}: not a severity (choose from {', '.join(Severity.__members__)})")
    return Severity[word]


def parse_duration(text: str, flag: str) -> dt.timedelta:
    """``90s``, ``30m``, ``12h``, ``7d``, ``2w`` (a bare number is seconds)."""
    m = _DURATION.match(text.lower())
    if not m:
        raise UsageError(f"{flag} {text!r}: not a duration (e.g. 12h, 7d)")
    return dt.timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def command_options(args: argparse.Namespace) -> ScanCommandOptions:
    """Validate the finding flags."""
    severities = None
    if args.severity:
        severities = frozenset(parse_severity(s, "--severity") for s in args.severity.split(",") if s.strip())
        if not severities:
            raise UsageError("--severity: empty list")
    fail_on = parse_severity(args.fail_on, "--fail-on") if args.fail_on else None
    return ScanCommandOptions(severities=severities, fail_on=fail_on,
                              max_db_age=parse_duration(args.max_db_age, "--max-db-age"))


def load_target(args: argparse.Namespace, scanners: frozenset[str], disabled: frozenset[str],
                ) -> tuple[Sbom, tuple[CheckFinding, ...], tuple[str, ...]]:
    """The SBOM to match (read from ``sbom:PATH`` or catalogued from the image), the image's secret and
    misconfiguration findings, and the scanners that really ran."""
    if args.image.startswith(SBOM_PREFIX):
        from tidegate.report.sbom_input import read_sbom

        path = args.image[len(SBOM_PREFIX):]
        if not path:
            raise UsageError("sbom: needs a path (sbom:PATH)")
        # The report's `created` is the time of this scan, not of the SBOM it read.
        sbom = dataclasses.replace(read_sbom(Path(path)), created=dt.datetime.now(dt.UTC).replace(
            microsecond=0).isoformat().replace("+00:00", "Z"))
        return sbom, (), ("vuln",) if "vuln" in scanners else ()
    from tidegate.scan.pipeline import scan_image

    options = dataclasses.replace(scan_options(args), scanners=scanners - {"vuln"}, disabled_rules=disabled,
                                  secret_max_file_bytes=args.secret_max_file_size)
    with make_progress(quiet=args.quiet) as progress:
        result = scan_image(args.image, options, progress=progress, cache=layer_cache(args))
    return result.sbom, result.findings, tuple(n for n in SCANNER_NAMES if n in scanners)


def _db_age(updated_at: str) -> dt.timedelta | None:
    try:
        when = dt.datetime.fromisoformat(updated_at)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC) - when


def run(args: argparse.Namespace) -> int:
    """Flags → options → SBOM + DB + match → render → exit code."""
    started = time.monotonic()
    from tidegate.match.engine import MatchOptions, coverage_warnings, scan_vulnerabilities
    from tidegate.match.suppress import load_ignore_file, load_vex
    from tidegate.model.report import VulnReport
    from tidegate.report.registry import get_scan_format
    from tidegate.vulndb.store import VulnDb, default_db_dir

    fmt = get_scan_format(args.format)
    opts = command_options(args)
    scanners = parse_scanners(args.scanners)
    disabled = disabled_rules(args)
    ignorefile = args.ignorefile or (DEFAULT_IGNOREFILE if os.path.isfile(DEFAULT_IGNOREFILE) else None)
    ignore = load_ignore_file(Path(ignorefile)) if ignorefile else None
    vex = tuple(load_vex(Path(v)) for v in args.vex)
    warnings: list[str] = []
    if args.image.startswith(SBOM_PREFIX) and scanners - {"vuln"}:
        log.info("sbom: input has no files or config: only the vuln scanner runs")
    if "vuln" not in scanners:
        sbom, checks, ran = load_target(args, scanners, disabled)
        report = VulnReport(sbom=sbom, findings=(), db=None, fail_on=opts.fail_on)
    else:
        db_dir = Path(args.db) if args.db else default_db_dir()
        # Open the database before the (possibly long) image read: no database is the commonest first-run error.
        with VulnDb.open(db_dir) as db:
            info = db.info()
            age = _db_age(info.updated_at)
            if age is not None and age > opts.max_db_age:
                warnings.append(f"the vulnerability database at {db_dir} is {_words(age)} old (more than "
                                f"--max-db-age {args.max_db_age}); run `tidegate db update` or `tidegate db import`")
            sbom, checks, ran = load_target(args, scanners, disabled)
            match_options = MatchOptions(severities=opts.severities, ignore_unfixed=args.ignore_unfixed,
                                         fail_on=opts.fail_on, ignore=ignore, vex=vex)
            report = scan_vulnerabilities(sbom, db, match_options, db_info=info)
            warnings.extend(coverage_warnings(sbom, db.ecosystems()))
    checks = tuple(c for c in checks if opts.severities is None or c.severity in opts.severities)
    if ignore is not None:
        checks = tuple(ignore.suppress_check(c) for c in checks)
    report = dataclasses.replace(report, warnings=tuple(warnings) + report.warnings, checks=checks, scanners=ran)
    for w in report.warnings:
        log.warning("%s", w)
    color = args.output in (None, "-") and sys.stdout is not None and sys.stdout.isatty()
    write_output(fmt.render(report, color=color), args.output)
    record_run(args, report, source="scan", started=started)  # after the output; a store error only warns
    return exitcodes.POLICY_FAILURE if report.failed else exitcodes.OK


def _words(age: dt.timedelta) -> str:
    if age.days >= 1:
        return f"{age.days} day{'s' if age.days != 1 else ''}"
    hours = int(age.total_seconds() // 3600)
    if hours >= 1:
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{int(age.total_seconds())} seconds"
