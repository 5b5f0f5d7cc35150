"""``tidegate serve metrics``: the history store's figures in Prometheus exposition format at ``/metrics``.

    $ tidegate serve metrics --listen 127.0.0.1:9464 --store postgresql://tidegate@db/tidegate

The store is read on every scrape (`tidegate.store.metrics.HistoryCollector`), so the figures are as fresh as the
last recorded scan; a store that cannot be read answers ``tidegate_store_up 0`` rather than failing the scrape.
Metric names are listed in `tidegate.store.metrics.METRIC_NAMES`; ``deploy/prometheus`` and ``deploy/grafana``
use them. Also serves ``/healthz``.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

DEFAULT_METRICS_LISTEN = "127.0.0.1:9464"
"""Default address (9464: the usual port of Prometheus exporters of this kind; loopback unless told)."""


def register(serve_sub: Any) -> None:
    """Add ``metrics`` to the ``serve`` subparsers."""
    p = serve_sub.add_parser("metrics", help="export the history store's figures for Prometheus at /metrics",
                             description="Serve vulnerability density, signed images, MTTR, scan pass rate, "
                                         "verdict counts and scan durations from the history store, computed "
                                         "on every scrape over --window.")
    p.add_argument("--listen", default=DEFAULT_METRICS_LISTEN, metavar="HOST:PORT",
                   help=f"address to listen on (default {DEFAULT_METRICS_LISTEN})")
    p.add_argument("--store", metavar="URL", help="history store (default $TIDEGATE_STORE, else the local SQLite)")
    p.add_argument("--window", default="30d", metavar="DURATION", help="window of every figure (default 30d)")
    p.set_defaults(run=run)


def metrics_registry(store: Any, window: Any = None) -> CollectorRegistry:
    """A registry holding only the history collector over `store`."""
    from tidegate.store.metrics import DEFAULT_WINDOW, HistoryCollector

    registry = CollectorRegistry(auto_describe=False)
    registry.register(HistoryCollector(store, window or DEFAULT_WINDOW))
    return registry


def metrics_app(registry: CollectorRegistry) -> Starlette:
    """The Starlette app: ``GET /metrics`` and ``GET /healthz``."""

    async def metrics(request: Request) -> Response:
        """The exposition text (computed in a worker thread: it queries the store)."""
        from starlette.concurrency import run_in_threadpool

        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    async def healthz(request: Request) -> Response:
        """Liveness."""
        return PlainTextResponse("ok\n")

    return Starlette(routes=[Route("/metrics", metrics), Route("/healthz", healthz)])


def run(args: argparse.Namespace) -> int:
    """Flags → store → app → uvicorn until interrupted."""
    import uvicorn

    from tidegate.cli.history import parse_window
    from tidegate.cli.serve import parse_listen
    from tidegate.store.history import HistoryStore

    host, port = parse_listen(args.listen)
    window = parse_window(args.window)
    with HistoryStore.open(args.store, must_exist=True) as store:
        app = metrics_app(metrics_registry(store, window))
        log.warning("tidegate metrics: http://%s:%d/metrics", host, port)
        uvicorn.Server(uvicorn.Config(app, host=host, port=port, access_log=False, log_level="warning")).run()
    return 0


__all__ = ["DEFAULT_METRICS_LISTEN", "metrics_app", "metrics_registry", "register", "run"]
