"""``tidegate check IMAGE --policy FILE``: everything the policy needs (scan, signatures, attestations), one verdict.

    $ tidegate check 127.0.0.1:5000/app:1 --policy policy.yaml
    $ tidegate check registry.example/app:1 --policy policy.yaml -f junit -o tidegate-check.xml

Four steps: flags → policy + options → `gather_for` + `evaluate` (the reference resolved once to a digest, every
piece of evidence about that digest) → render + exit code. Exit codes: 0 allowed, 1 denied (the reasons on stderr
and in the report), 2 usage or input error (bad flag, unreadable or invalid policy, an image that cannot be
resolved). Evidence that could not be gathered (no database, a signature store that cannot be read) is not an
input error: its rules are ``not-evaluated`` and the policy's ``onNotEvaluated`` decides.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any

from tidegate.cli import exitcodes
from tidegate.cli.history import add_record_options, record_run
from tidegate.cli.options import add_image_options, layer_cache, scan_options
from tidegate.cli.output import write_output

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add the ``check`` subcommand."""
    from tidegate.report.verdict_registry import DEFAULT_VERDICT_FORMAT, verdict_format_choices

    p = sub.add_parser(
        "check", help="judge an image against a policy (scan, signatures, attestations) and exit 0/1/2",
        description="Resolve IMAGE once to its digest, gather what the policy requires about that digest (scan, "
                    "cosign signatures, in-toto attestations), evaluate every rule and print the verdict.",
        epilog="IMAGE: [docker://][REGISTRY/]REPO[:TAG][@DIGEST], oci:DIR[:REF], oci-archive:PATH[:REF] or "
               "docker-archive:PATH (archives cannot hold signatures). Exit codes: 0 allowed, 1 denied, "
               "2 usage or input error.")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("--policy", required=True, metavar="FILE", help="policy file (apiVersion tidegate.dev/v1)")
    p.add_argument("-f", "--format", default=DEFAULT_VERDICT_FORMAT, metavar="FORMAT",
                   help=f"output format: {', '.join(verdict_format_choices())} (default {DEFAULT_VERDICT_FORMAT})")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--db", metavar="DIR", help="vulnerability database directory (default $TIDEGATE_DB_DIR or "
                                               "~/.cache/tidegate/db)")
    p.add_argument("--docker-reference", metavar="REF",
                   help="registry name to check signatures' docker-reference against when IMAGE is an oci: "
                        "layout that names none")
    add_image_options(p)
    add_record_options(p)
    p.set_defaults(run=run)


def assess_options(args: argparse.Namespace) -> Any:
    """`AssessOptions` from the flags."""
    from tidegate.policy.assess import AssessOptions

    scan = scan_options(args)
    return AssessOptions(db_dir=Path(args.db) if args.db else None, source=scan.source, cache=layer_cache(args),
                         scan=scan, docker_reference=args.docker_reference)


def run(args: argparse.Namespace) -> int:
    """Flags → policy + options → gather + evaluate → render → exit code."""
    started = time.monotonic()
    from tidegate.policy.assess import gather_for
    from tidegate.policy.evaluate import evaluate
    from tidegate.policy.load import load_policy
    from tidegate.report.verdict import VerdictReport
    from tidegate.report.verdict_registry import get_verdict_format

    fmt = get_verdict_format(args.format)
    policy = load_policy(Path(args.policy))
    options = assess_options(args)
    evidence = gather_for(args.image, policy, options)
    if evidence.manifest_digest and not evidence.pinned_by_digest:
        _err(f"resolved {args.image} to {evidence.manifest_digest}")
    for what, message in evidence.errors:
        log.warning("%s: not gathered: %s", what, message)
    verdict = evaluate(policy, evidence)
    report = VerdictReport(verdict=verdict, evidence=evidence, policy_path=args.policy)
    color = args.output in (None, "-") and sys.stdout is not None and sys.stdout.isatty()
    write_output(fmt.render(report, color=color), args.output)
    if fmt.id != "table" or args.output not in (None, "-"):
        # The report went to a machine format or a file: say the decision where a CI log shows it.
        _err(f"{report.decision}: {verdict.reference} ({verdict.manifest_digest})")
        for reason in verdict.reasons:
            _err(f"  {reason}")
    record_run(args, source="check", started=started, verdict=verdict, evidence=evidence)  # a store error warns
    return exitcodes.OK if verdict.allowed else exitcodes.POLICY_FAILURE


def _err(message: str) -> None:
    print(f"tidegate: {message}", file=sys.stderr)


__all__ = ["assess_options", "register", "run"]
