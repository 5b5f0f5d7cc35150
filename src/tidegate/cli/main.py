"""Entry point: ``tidegate COMMAND …``. Catches `TidegateError` once and turns it into one line + exit code.

    $ tidegate sbom oci-archive:app.oci.tar --format cyclonedx-json --output app.cdx.json
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from tidegate import __version__
from tidegate.cli import exitcodes
from tidegate.errors import TidegateError


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(exitcodes.INPUT_ERROR, f"tidegate: error: {message} (see '{self.prog} --help')\n")


def _catalogers(args: argparse.Namespace) -> int:
    from tidegate.catalog.registry import CATALOGERS

    for c in CATALOGERS:
        print(f"{c.name:20} v{c.version}  {', '.join(c.patterns)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The full parser (one `register` per subcommand module)."""
    from tidegate.cli import check, db, history, lint, policy, report, sbom, scan, serve, trust

    parser = _Parser(prog="tidegate", description="tidegate: a zero-trust gate for container images.")
    parser.add_argument("--version", action="version", version=f"tidegate {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more logging on stderr (-vv: debug)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sbom.register(sub)
    scan.register(sub)
    db.register(sub)
    lint.register(sub)
    trust.register(sub)
    policy.register(sub)
    check.register(sub)
    serve.register(sub)
    history.register(sub)
    report.register(sub)
    cat = sub.add_parser("catalogers", help="list the catalogers and the paths they read")
    cat.set_defaults(run=_catalogers)
    return parser


def _configure_logging(verbose: int) -> None:
    level = os.environ.get("TIDEGATE_LOGLEVEL", "").upper() or (
        "DEBUG" if verbose > 1 else "INFO" if verbose == 1 else "WARNING")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("tidegate: %(levelname)s: %(message)s"))
    log = logging.getLogger("tidegate")
    log.addHandler(handler)
    log.setLevel(level if level in ("DEBUG", "INFO", "WARNING", "ERROR") else "WARNING")


_GLOBAL_FLAGS = ("-q", "--quiet", "--debug", "-v", "-vv", "-vvv", "--verbose")


class Terminated(BaseException):
    """SIGTERM arrived (``timeout``, Kubernetes): unwind so temp dirs are removed, then exit 143."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code (the console script exits with it)."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("tidegate: interrupted", file=sys.stderr)
        return exitcodes.INTERRUPTED
    except Terminated:
        print("tidegate: terminated", file=sys.stderr)
        return 143


def _main(argv: Sequence[str] | None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    parser = build_parser()
    # Global flags may come after the subcommand too (tidegate sbom X -q -v).
    argv = list(sys.argv[1:] if argv is None else argv)
    globals_ = [a for a in argv if a in _GLOBAL_FLAGS]
    rest = [a for a in argv if a not in _GLOBAL_FLAGS]
    args = parser.parse_args(globals_ + rest)
    _configure_logging(args.verbose)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        return exitcodes.INPUT_ERROR
    try:
        return int(args.run(args))
    except TidegateError as e:
        print(f"tidegate: error: {e.message}", file=sys.stderr)
        if e.hint:
            print(f"tidegate: hint: {e.hint}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:
        # Output was cut before the command finished: no verdict was delivered, so never report success.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return exitcodes.POLICY_FAILURE
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        print(f"tidegate: error: {e.strerror or e}{where}", file=sys.stderr)
        return exitcodes.INPUT_ERROR
    except RecursionError:
        # Only hostile input nests this deep (JSON/YAML with ~1,000 levels): an input error, not a crash.
        if args.debug:
            raise
        print("tidegate: error: input nested too deeply to parse (a JSON or YAML document with more than ~1,000 "
              "levels): refused as hostile", file=sys.stderr)
        return exitcodes.INPUT_ERROR
    except Exception as e:
        if args.debug:
            raise
        print(f"tidegate: error: internal error: {type(e).__name__}: {str(e)[:300]} (run with --debug for a "
              "traceback, and please report it)", file=sys.stderr)
        return exitcodes.INPUT_ERROR


def entry() -> NoReturn:
    """Console-script wrapper."""
    try:
        code = main()
    except KeyboardInterrupt:  # pragma: no cover - a second Ctrl-C while unwinding
        code = exitcodes.INTERRUPTED
    sys.exit(code)


if __name__ == "__main__":
    entry()
