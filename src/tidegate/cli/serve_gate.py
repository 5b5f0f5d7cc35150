"""``tidegate serve gate``: the registry pull gate (`tidegate.serve.gate`) on the command line.

    $ tidegate serve gate --upstream https://registry.example --policy policy.yaml
    $ tidegate serve gate --upstream http://127.0.0.1:5000 --policy policy.yaml --listen 127.0.0.1:5443 \\
          --tls-cert gate.crt --tls-key gate.key

Four steps: flags → policy + assess options → `Gate` → uvicorn until interrupted. The gate assesses with its own
upstream credentials (``--username``/``--password``, ``--docker-config``, ``TIDEGATE_REGISTRY_PASSWORD``); clients'
credentials are forwarded to the upstream for every request they make.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from tidegate.cli.serve import add_record_options, parse_listen
from tidegate.errors import UsageError

log = logging.getLogger(__name__)


def register(serve_sub: Any) -> None:
    """Add ``gate`` to the ``serve`` subparsers."""
    from tidegate.cli.options import add_image_options
    from tidegate.serve.gate import DEFAULT_LISTEN, DEFAULT_VERDICT_TTL

    p = serve_sub.add_parser(
        "gate", help="an OCI registry endpoint that serves only images the policy allows",
        description="Proxy an upstream registry for pulls: every manifest is fetched once, hashed, judged by "
                    "digest under the policy and served as exactly those bytes when allowed (403 DENIED with the "
                    "reasons otherwise); blobs are served only when an allowed manifest references them. "
                    "Signature/attestation tags (sha256-HEX.sig|.att|.sbom) pass through without a verdict.",
        epilog="Indexes: served only when every platform image they list passes (each judged as "
               "index@digest + platform). Auth: the client's Authorization is forwarded to the upstream and upstream "
               "401 challenges are relayed unchanged (clients fetch tokens from the upstream's realm).")
    p.add_argument("--upstream", required=True, metavar="URL", help="upstream registry (https://HOST[:PORT])")
    p.add_argument("--policy", required=True, metavar="FILE", help="policy file (apiVersion tidegate.dev/v1)")
    p.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                   help=f"address to listen on (default {DEFAULT_LISTEN})")
    p.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate (PEM; needs --tls-key)")
    p.add_argument("--tls-key", metavar="FILE", help="private key of --tls-cert (PEM)")
    p.add_argument("--insecure-upstream", action="store_true",
                   help="allow a plain-HTTP upstream that is not loopback (TLS is never left unverified)")
    p.add_argument("--verdict-ttl", type=float, default=DEFAULT_VERDICT_TTL, metavar="SECONDS",
                   help=f"how long a verdict per digest is cached (default {DEFAULT_VERDICT_TTL:g})")
    p.add_argument("--db", metavar="DIR", help="vulnerability database directory (default $TIDEGATE_DB_DIR or "
                                               "~/.cache/tidegate/db)")
    add_record_options(p)
    add_image_options(p)
    p.set_defaults(run=run)


def build_gate(args: argparse.Namespace) -> Any:
    """The `Gate` the flags describe (policy loaded, options built, upstream checked)."""
    import dataclasses

    from tidegate.cli.options import layer_cache, scan_options
    from tidegate.policy.assess import AssessOptions
    from tidegate.policy.load import load_policy
    from tidegate.serve.gate import Gate, GateConfig, policy_assessor, upstream_host

    host = upstream_host(args.upstream, insecure=args.insecure_upstream)
    if args.platform:
        log.warning("--platform is not used by the gate: every platform of an index is judged")
    policy = load_policy(Path(args.policy))
    scan = scan_options(args)
    source = scan.source
    if args.upstream.startswith("http://"):
        source = dataclasses.replace(source, insecure_registries=(*source.insecure_registries, host))
    scan = dataclasses.replace(scan, source=source)
    options = AssessOptions(db_dir=Path(args.db) if args.db else None, source=source, cache=layer_cache(args),
                            scan=scan)
    assessor = policy_assessor(policy, options)
    if not args.no_record:
        from tidegate.serve.recording import recording_assessor

        def assessor(reference: str, platform: str | None) -> Any:
            platformed = dataclasses.replace(options, scan=dataclasses.replace(options.scan, platform=platform))
            return recording_assessor(policy, platformed, source="gate", store=args.store)(reference)

    return Gate(GateConfig(upstream=args.upstream, policy_hash=policy.hash, assess=assessor,
                           verdict_ttl=args.verdict_ttl, insecure_upstream=args.insecure_upstream,
                           ca_file=args.ca_file, timeout=args.timeout))


def run(args: argparse.Namespace) -> int:
    """Flags → gate → serve until interrupted."""
    from tidegate.serve.gate import serve

    host, port = parse_listen(args.listen)
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    gate = build_gate(args)
    scheme = "https" if args.tls_cert else "http"
    log.warning("tidegate gate: %s://%s:%d → %s", scheme, host, port, args.upstream)
    if not args.no_record:
        from tidegate.serve.recording import add_store_metrics

        add_store_metrics(gate.metrics, args.store)
    serve(gate.app, host, port, tls_cert=args.tls_cert, tls_key=args.tls_key)
    return 0


__all__ = ["build_gate", "parse_listen", "register", "run"]
