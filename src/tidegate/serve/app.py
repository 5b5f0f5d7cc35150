"""The webhook's HTTP face: a Starlette app over a `Webhook`, and the uvicorn runner (TLS).

    app = webhook_app(Webhook(config))
    run_webhook(app, "0.0.0.0", 8443, tls_cert="tls.crt", tls_key="tls.key")

Routes: ``POST /validate`` and ``POST /mutate`` (AdmissionReview v1), ``GET /healthz`` (the process answers),
``GET /readyz`` (200 once the policy is loaded and the webhook can judge, 503 while stopping) and ``GET /metrics``
(Prometheus text). The probes and ``/metrics`` are not counted in the admission metrics.

The default port is 8443 (`DEFAULT_LISTEN`): HTTPS, unprivileged, and the port the Service in
``deploy/kubernetes/`` targets. The API server only calls webhooks over HTTPS, so ``--tls-cert``/``--tls-key``
are required outside tests and loopback experiments.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tidegate.serve.webhook import Webhook

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:8443"
"""Default ``--listen`` of ``tidegate serve webhook`` (HTTPS on 8443; use 0.0.0.0:8443 in a pod)."""

MAX_BODY_BYTES = 8 * 1024 * 1024
"""Largest AdmissionReview read (the API server's own request limit is 3 MiB; objects double in a review)."""


def webhook_app(webhook: Webhook) -> Starlette:
    """The ASGI application serving `webhook`."""

    async def review(request: Request, *, mutate: bool) -> Response:
        """Read a bounded body, answer the AdmissionReview."""
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                webhook.metrics.requests.labels(operation="unknown", decision="error").inc()
                return JSONResponse({"error": f"request body over {MAX_BODY_BYTES} bytes"}, status_code=413)
        status, doc = await webhook.admit(bytes(body), mutate=mutate)
        return Response(json.dumps(doc, separators=(",", ":")), status_code=status,
                        media_type="application/json")

    async def validate(request: Request) -> Response:
        """``POST /validate``."""
        return await review(request, mutate=False)

    async def mutate(request: Request) -> Response:
        """``POST /mutate``."""
        return await review(request, mutate=True)

    async def healthz(request: Request) -> Response:
        """``GET /healthz``: the process answers."""
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        """``GET /readyz``: 200 while the webhook can judge."""
        if webhook.ready:
            return PlainTextResponse("ready")
        return PlainTextResponse("not ready", status_code=503)

    async def metrics(request: Request) -> Response:
        """``GET /metrics``: Prometheus text."""
        body, content_type = webhook.metrics.render()
        return Response(body, media_type=content_type)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """Stop the assessment pool on shutdown."""
        try:
            yield
        finally:
            webhook.close()

    return Starlette(routes=[
        Route("/validate", validate, methods=["POST"]),
        Route("/mutate", mutate, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ], lifespan=lifespan)


def uvicorn_config(app: Starlette, host: str, port: int, *, tls_cert: str | None = None,
                   tls_key: str | None = None, **extra: Any) -> Any:
    """A ``uvicorn.Config`` for `app` (TLS when a certificate and key are given; quiet access log)."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, ssl_certfile=tls_cert, ssl_keyfile=tls_key,
                          log_level="warning", access_log=False, lifespan="on", **extra)


def run_webhook(app: Starlette, host: str, port: int, *, tls_cert: str | None = None,
                tls_key: str | None = None) -> None:
    """Serve `app` with uvicorn until interrupted."""
    import uvicorn

    uvicorn.Server(uvicorn_config(app, host, port, tls_cert=tls_cert, tls_key=tls_key)).run()


__all__ = ["DEFAULT_LISTEN", "MAX_BODY_BYTES", "run_webhook", "uvicorn_config", "webhook_app"]
