#!/usr/bin/env python3
"""Load test of ``tidegate serve webhook`` with cached verdicts: a fixed request rate over TLS on loopback.

    .venv/bin/python benchmarks/webhook_load.py                       # 200 requests/s for 20 s
    .venv/bin/python benchmarks/webhook_load.py --rate 400 --duration 10 --json

The webhook (the real Starlette app under the real uvicorn server, TLS with a throwaway CA) runs in this process
on 127.0.0.1; the load comes from a *separate process* (this script with ``--client``) so the generator does not
share the server's GIL. Verdicts come from a constant in-memory assessor and are warmed before the measurement,
so what is measured is the admission path itself: parse the AdmissionReview, find the images, cache lookups
(tag → digest, digest → verdict), the decision, the JSON patch, metrics, TLS and HTTP.

The generator is open-loop: request i is *scheduled* at ``start + i / rate`` whatever happened to earlier ones,
and its latency is measured from that scheduled time (so a stalled server shows up as latency instead of
silently lowering the rate: no coordinated omission). Requests alternate over the test samples (a Pod with 2
images, a Deployment with 4, a CronJob with 3; ``/mutate`` and ``/validate``). Bounded: loopback only, at most
``--duration`` seconds of load, and the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "tests" / "serve" / "data"
MIX = (("/mutate", "pod-create.json"), ("/validate", "deployment-create.json"), ("/mutate", "cronjob-create.json"),
       ("/validate", "pod-create.json"), ("/mutate", "deployment-create.json"), ("/validate", "cronjob-create.json"))
"""The request mix, cycled."""


# -- the load generator (child process) ----------------------------------------------------------------------


async def _drive(url: str, ca: str, rate: float, duration: float, connections: int) -> dict[str, Any]:
    import httpx

    bodies = [(path, (SAMPLES / name).read_bytes()) for path, name in MIX]
    context = ssl.create_default_context(cafile=ca)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    latencies: list[float] = []
    service: list[float] = []
    errors: dict[str, int] = {}
    denied = 0
    async with httpx.AsyncClient(base_url=url, verify=context, limits=limits, timeout=10,
                                 headers={"Content-Type": "application/json"}) as client:
        for path, body in bodies:  # open the connections' TLS sessions before the clock starts
            await client.post(path, content=body)
        total = int(rate * duration)
        start = time.perf_counter() + 0.1

        async def one(i: int) -> None:
            nonlocal denied
            scheduled = start + i / rate
            path, body = bodies[i % len(bodies)]
            sent = time.perf_counter()
            try:
                response = await client.post(path, content=body)
                done = time.perf_counter()
                if response.status_code != 200:
                    errors[f"HTTP {response.status_code}"] = errors.get(f"HTTP {response.status_code}", 0) + 1
                    return
                if not response.json()["response"]["allowed"]:
                    denied += 1
            except Exception as e:  # noqa: BLE001 - counted and reported, the run goes on
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                return
            latencies.append(done - scheduled)
            service.append(done - sent)

        tasks = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - start
    return {"scheduled": total, "completed": len(latencies), "elapsed": elapsed, "latencies": latencies,
            "service": service, "errors": errors, "denied": denied}


def _client_main(args: argparse.Namespace) -> int:
    result = asyncio.run(_drive(args.client, args.ca, args.rate, args.duration, args.connections))
    json.dump(result, sys.stdout)
    return 0


# -- the server (this process) ----------------------------------------------------------------------------------


def _tls(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a 127.0.0.1 server certificate: (ca.crt, tls.crt, tls.key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "webhook-load-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(hours=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True).sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False).sign(ca_key, hashes.SHA256()))
    paths = (directory / "ca.crt", directory / "tls.crt", directory / "tls.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))] if ordered else float("nan")


def _server_metric(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def main(argv: list[str] | None = None) -> int:
    """Run the load test and print the figures."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of load (default 20, at most 120)")
    p.add_argument("--connections", type=int, default=32, help="client keep-alive connections (default 32)")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--client", help=argparse.SUPPRESS)
    p.add_argument("--ca", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.client:
        return _client_main(args)
    if not 0 < args.duration <= 120 or args.rate <= 0:
        p.error("--duration must be in (0, 120] and --rate positive")

    sys.path.insert(0, str(ROOT / "src"))
    import uvicorn

    from tidegate.policy.verdict import RuleResult, Verdict
    from tidegate.serve.app import uvicorn_config, webhook_app
    from tidegate.serve.webhook import Webhook, WebhookConfig

    policy_hash = "sha256:" + "cd" * 32

    def digest(reference: str) -> str:
        return "sha256:" + hashlib.sha256(reference.split("@")[0].encode()).hexdigest()

    def assess(reference: str) -> Verdict:
        pinned = reference.partition("@")[2] or digest(reference)
        return Verdict(reference, pinned, policy_hash, (RuleResult("signatures", "pass", "1 valid signature"),))

    webhook = Webhook(WebhookConfig(assess=assess, resolve=digest, policy_hash=policy_hash,
                                    verdict_ttl=3600, resolve_ttl=3600))
    with tempfile.TemporaryDirectory(prefix="webhook-load-") as tmp:
        ca, cert, key = _tls(Path(tmp))
        server = uvicorn.Server(uvicorn_config(webhook_app(webhook), "127.0.0.1", 0, tls_cert=str(cert),
                                               tls_key=str(key)))
        thread = threading.Thread(target=server.run, name="webhook", daemon=True)
        thread.start()
        while not server.started:
            if not thread.is_alive():
                print("webhook_load: the server did not start", file=sys.stderr)
                return 2
            time.sleep(0.05)
        url = f"https://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
        try:
            import httpx

            with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(ca))) as warm:
                for path, name in MIX:  # fill the caches: every verdict the run needs
                    response = warm.post(path, content=(SAMPLES / name).read_bytes(),
                                         headers={"Content-Type": "application/json"})
                    assert response.status_code == 200 and response.json()["response"]["allowed"], response.text
                before = warm.get("/metrics").text
            proc = subprocess.run(
                [sys.executable, __file__, "--client", url, "--ca", str(ca), "--rate", str(args.rate),
                 "--duration", str(args.duration), "--connections", str(args.connections)],
                capture_output=True, text=True, timeout=args.duration + 120, check=False)
            if proc.returncode != 0:
                print(proc.stderr, file=sys.stderr)
                return 2
            result = json.loads(proc.stdout)
            with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=str(ca))) as after_client:
                after = after_client.get("/metrics").text
        finally:
            server.should_exit = True
            thread.join(30)
    lat = [x * 1000 for x in result["latencies"]]
    svc = [x * 1000 for x in result["service"]]
    misses = (_server_metric(after, "tidegate_cache_misses_total") - _server_metric(before, "tidegate_cache_misses_total"))
    figures = {
        "target_rps": args.rate, "duration_s": round(result["elapsed"], 2),
        "scheduled": result["scheduled"], "completed": result["completed"],
        "achieved_rps": round(result["completed"] / result["elapsed"], 1),
        "errors": result["errors"], "denied": result["denied"],
        "latency_ms": {"p50": round(_pct(lat, 50), 2), "p90": round(_pct(lat, 90), 2),
                       "p99": round(_pct(lat, 99), 2), "max": round(max(lat, default=float("nan")), 2),
                       "mean": round(statistics.fmean(lat), 2) if lat else None},
        "service_ms": {"p50": round(_pct(svc, 50), 2), "p99": round(_pct(svc, 99), 2)},
        "server_cache_misses_during_run": misses,
    }
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        lm = figures["latency_ms"]
        print(f"webhook load: {figures['completed']}/{figures['scheduled']} requests in {figures['duration_s']} s "
              f"= {figures['achieved_rps']} req/s (target {args.rate:g}); errors {figures['errors'] or 0}, "
              f"denied {figures['denied']}, cache misses {misses:g}")
        print(f"latency from scheduled send (ms): p50 {lm['p50']}  p90 {lm['p90']}  p99 {lm['p99']}  "
              f"max {lm['max']}  mean {lm['mean']}")
        print(f"service time (ms): p50 {figures['service_ms']['p50']}  p99 {figures['service_ms']['p99']}")
        print("target: p99 < 50 ms at 200 req/s:", "MET" if lm["p99"] < 50 and args.rate >= 200 else "not met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
