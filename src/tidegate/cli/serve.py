"""``tidegate serve DOOR``: the long-running enforcement points, one sub-subcommand per door.

    $ tidegate serve webhook --policy policy.yaml --tls-cert tls.crt --tls-key tls.key --listen 0.0.0.0:8443
    $ tidegate serve gate --upstream https://registry.example --policy policy.yaml

`register` adds ``serve`` and asks each door to add itself to its sub-subparsers: ``webhook`` is registered
here (`register_webhook`); ``gate`` and ``metrics`` live in sibling modules (``tidegate.cli.serve_gate``,
``tidegate.cli.serve_metrics``), each with its own ``register(serve_sub)``, hooked in by `register_gate` and
`register_metrics`.

``serve webhook`` in four steps: flags → policy + assess options → `Webhook` → uvicorn until interrupted. The
policy is loaded and validated before the port opens, so a bad policy is one error line and exit 2, and
``/readyz`` answering means the policy is loaded.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tidegate.errors import UsageError

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    """Add ``serve`` (with its doors) to the top-level subparsers."""
    p = sub.add_parser("serve", help="run an enforcement point (admission webhook, registry gate)",
                       description="Long-running doors that enforce the policy: 'webhook' (Kubernetes admission) "
                                   "and 'gate' (registry pull gate).")
    serve_sub = p.add_subparsers(dest="door", metavar="DOOR", parser_class=type(p))
    p.set_defaults(run=lambda args: _no_door(p))
    register_webhook(serve_sub)
    register_gate(serve_sub)
    register_metrics(serve_sub)


def _no_door(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


# -- hooks for the sibling doors ------------------------------------------------------------------------------


def register_gate(serve_sub: Any) -> None:
    """HOOK (owned by the gate's engineer): ``tidegate serve gate`` registers from ``tidegate.cli.serve_gate``."""
    _register_sibling("tidegate.cli.serve_gate", serve_sub)


def register_metrics(serve_sub: Any) -> None:
    """HOOK: ``tidegate serve metrics`` registers from ``tidegate.cli.serve_metrics`` once that module exists."""
    _register_sibling("tidegate.cli.serve_metrics", serve_sub)


def _register_sibling(module: str, serve_sub: Any) -> None:
    import importlib

    try:
        door = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise
        return  # that door is not written yet
    door.register(serve_sub)


# -- serve webhook --------------------------------------------------------------------------------------------


def register_webhook(serve_sub: Any) -> None:
    """Add ``webhook`` to the ``serve`` subparsers."""
    from tidegate.cli.options import add_image_options
    from tidegate.serve.app import DEFAULT_LISTEN
    from tidegate.serve.webhook import (
        DEFAULT_RESOLVE_TTL,
        DEFAULT_TIMEOUT,
        DEFAULT_VERDICT_TTL,
        DEFAULT_WORKERS,
    )

    p = serve_sub.add_parser(
        "webhook", help="Kubernetes admission webhook (AdmissionReview v1 at /validate and /mutate)",
        description="Judge every container image of Pods and workloads (Deployment, StatefulSet, DaemonSet, "
                    "ReplicaSet, ReplicationController, Job, CronJob; init and ephemeral containers included) "
                    "under the policy. /validate allows or denies; /mutate also pins each image to the digest "
                    "that was judged (JSON patch: repo:tag → repo@sha256:…). Errors and timeouts deny "
                    "(fail-closed) unless --fail-open. Also serves /healthz, /readyz and /metrics.",
        epilog="Namespaces exempt by label: the AdmissionReview does not carry namespace labels, so label-based "
               "exemption is the webhook configuration's namespaceSelector (see deploy/kubernetes/); "
               "--exempt-namespace is the server-side list by name. Verdicts are cached per (digest, policy "
               "hash, repository) for --verdict-ttl; tag → digest lookups only for --resolve-ttl, since tags move.")
    p.add_argument("--policy", required=True, metavar="FILE", help="policy file (apiVersion tidegate.dev/v1)")
    p.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                   help=f"address to listen on (default {DEFAULT_LISTEN}; 8443 is the Service's targetPort)")
    p.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM; needs --tls-key)")
    p.add_argument("--tls-key", metavar="FILE", help="private key of --tls-cert (PEM)")
    p.add_argument("--fail-open", action="store_true",
                   help="allow (with a warning) when an image cannot be judged (error, timeout); default: deny")
    p.add_argument("--admission-timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"answer within this time (default {DEFAULT_TIMEOUT:g}: just under the API server's 10 s; "
                        "keep it below the configuration's timeoutSeconds)")
    p.add_argument("--exempt-namespace", action="append", default=[], metavar="NAME",
                   help="allow requests in this namespace unjudged; repeatable")
    p.add_argument("--verdict-ttl", type=float, default=DEFAULT_VERDICT_TTL, metavar="SECONDS",
                   help=f"reuse a verdict per digest + policy hash this long (default {DEFAULT_VERDICT_TTL:g})")
    p.add_argument("--resolve-ttl", type=float, default=DEFAULT_RESOLVE_TTL, metavar="SECONDS",
                   help=f"reuse a tag → digest lookup this long (default {DEFAULT_RESOLVE_TTL:g}; short: tags move)")
    p.add_argument("--workers", type=int, default=DEFAULT_WORKERS, metavar="N",
                   help=f"concurrent assessments (default {DEFAULT_WORKERS})")
    p.add_argument("--db", metavar="DIR", help="vulnerability database directory (default $TIDEGATE_DB_DIR or "
                                               "~/.cache/tidegate/db)")
    add_record_options(p)
    add_image_options(p)
    p.set_defaults(run=run_webhook)


def add_record_options(p: argparse.ArgumentParser) -> None:
    """``--store`` / ``--no-record``: where a door records its verdicts (the history store of issue 7)."""
    p.add_argument("--store", metavar="URL", help="history store: sqlite path/URL or postgresql://… (default "
                                                  "$TIDEGATE_STORE or ~/.local/share/tidegate/history.db)")
    p.add_argument("--no-record", action="store_true",
                   help="do not record verdicts (and do not export the store's figures on /metrics)")


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` too) → (host, port); raises `UsageError`."""
    host, sep, port = value.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--listen {value!r}: expected HOST:PORT, e.g. 127.0.0.1:8443")
    return host, int(port)


def build_webhook(args: argparse.Namespace) -> Any:
    """The `Webhook` the flags describe (policy loaded and validated, assess options built)."""
    from tidegate.cli.options import layer_cache, scan_options
    from tidegate.policy.assess import AssessOptions, assess, resolve_pin
    from tidegate.policy.load import load_policy
    from tidegate.policy.verdict import Verdict
    from tidegate.serve.webhook import Webhook, WebhookConfig

    if args.admission_timeout <= 0:
        raise UsageError("--admission-timeout must be positive")
    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    policy = load_policy(Path(args.policy))
    scan = scan_options(args)
    options = AssessOptions(db_dir=Path(args.db) if args.db else None, source=scan.source, cache=layer_cache(args),
                            scan=scan)

    def plain_assess(reference: str) -> Verdict:
        return assess(reference, policy, options)

    run_assess: Callable[[str], Verdict] = plain_assess
    if not args.no_record:
        from tidegate.serve.recording import recording_assessor

        run_assess = recording_assessor(policy, options, source="webhook", store=args.store)

    def run_resolve(reference: str) -> str:
        return str(resolve_pin(reference, options).digest)

    return Webhook(WebhookConfig(
        assess=run_assess, resolve=run_resolve, policy_hash=policy.hash, timeout=args.admission_timeout,
        fail_open=args.fail_open, exempt_namespaces=frozenset(args.exempt_namespace),
        verdict_ttl=args.verdict_ttl, resolve_ttl=args.resolve_ttl, workers=args.workers))


def run_webhook(args: argparse.Namespace) -> int:
    """Flags → webhook → serve until interrupted."""
    from tidegate.serve.app import run_webhook as serve
    from tidegate.serve.app import webhook_app

    host, port = parse_listen(args.listen)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    webhook = build_webhook(args)
    if not args.tls_cert:
        log.warning("no --tls-cert: serving plain HTTP (the Kubernetes API server only calls HTTPS webhooks)")
    if args.fail_open:
        log.warning("--fail-open: images that cannot be judged are ALLOWED")
    log.warning("tidegate webhook: %s://%s:%d (policy %s)", "https" if args.tls_cert else "http", host, port,
                webhook.config.policy_hash[:19])
    if not args.no_record:
        from tidegate.serve.recording import add_store_metrics

        add_store_metrics(webhook.metrics.registry, args.store)
    serve(webhook_app(webhook), host, port, tls_cert=args.tls_cert, tls_key=args.tls_key)
    return 0


__all__ = ["build_webhook", "parse_listen", "register", "register_gate", "register_metrics", "register_webhook",
           "run_webhook"]
