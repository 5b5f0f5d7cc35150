"""``tidegate sbom IMAGE``: catalog an image and print its SBOM."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tidegate.cli.options import add_image_options, layer_cache, scan_options
from tidegate.cli.output import write_output
from tidegate.cli.progress import make_progress
from tidegate.report.registry import DEFAULT_FORMAT, format_choices, get_format
from tidegate.scan.pipeline import build_sbom


def register(sub: Any) -> None:
    """Add the ``sbom`` subcommand."""
    p = sub.add_parser("sbom", help="list what is installed in an image (SBOM)",
                       description="Read an image without a daemon, verify every byte, and print its SBOM.",
                       epilog="IMAGE: oci-archive:PATH[:REF], oci:DIR[:REF], docker-archive:PATH, "
                              "[docker://][REGISTRY/]REPO[:TAG][@DIGEST], or a path to an archive.")
    p.add_argument("image", metavar="IMAGE")
    p.add_argument("-f", "--format", default=DEFAULT_FORMAT, metavar="FORMAT",
                   help=f"output format: {', '.join(format_choices())} (default {DEFAULT_FORMAT})")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    p.add_argument("--catalogers", metavar="ID,…", help="run only these catalogers (see `tidegate catalogers`)")
    add_image_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Parse → options → build_sbom → render → write."""
    fmt = get_format(args.format)
    options = scan_options(args)
    with make_progress(quiet=args.quiet) as progress:
        sbom = build_sbom(args.image, options, progress=progress, cache=layer_cache(args))
    color = args.output in (None, "-") and sys.stdout is not None and sys.stdout.isatty()
    write_output(fmt.render(sbom, color=color), args.output)
    return 0
