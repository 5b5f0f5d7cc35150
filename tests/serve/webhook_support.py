"""Helpers for the webhook tests: a fake image world, a TLS certificate, the real uvicorn server on loopback.

    world = FakeWorld()
    with running_webhook(WebhookConfig(assess=world.assess, resolve=world.resolve, policy_hash=HASH),
                         tls_dir) as hook:
        review = hook.client.post("/mutate", content=sample("pod-create.json")).json()

The fake world is a table: each tag maps to a digest (``sha256`` of the tag, so anyone can recompute it), and a
repository may carry failing rules. `FakeWorld.assess` behaves like ``tidegate.policy.assess.assess``: it
resolves the tag once and returns a verdict about that digest; ``…/boom`` raises and ``…/slow`` sleeps.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tidegate.errors import TidegateError
from tidegate.policy.verdict import RuleResult, Verdict
from tidegate.serve.app import uvicorn_config, webhook_app
from tidegate.serve.webhook import Webhook, WebhookConfig

DATA = Path(__file__).parent / "data"
POLICY_HASH = "sha256:" + "ab" * 32


def digest_of(tag_ref: str) -> str:
    """The fake registry's digest for a canonical tag reference."""
    return "sha256:" + hashlib.sha256(tag_ref.encode()).hexdigest()


TAGS = ("registry.example/team/app:1.0", "docker.io/library/nginx:1.27", "localhost:5000/tools/exporter:0.9",
        "registry.example/tools/wait-for:2", "registry.example/finance/report:2024.06",
        "registry.example/tools/debug:latest", "registry.example/team/unsigned:3",
        "registry.example/team/vulnerable:2024", "registry.example/team/boom:1", "registry.example/team/slow:1")
"""Every tag the fake registry knows."""

FAILING: dict[str, tuple[RuleResult, ...]] = {
    "registry.example/team/unsigned": (
        RuleResult("signatures", "fail", "no valid signature by keys/release.pub"),),
    "registry.example/team/vulnerable": (
        RuleResult("vulnerabilities", "fail", "2 CRITICAL vulnerabilities (max 0): CVE-2024-0001, CVE-2024-0002"),
        RuleResult("secrets", "fail", "1 secret: aws-access-key-id in /app/.env (layer 2)")),
}
"""Failing rules per repository (every other image passes)."""


@dataclass
class FakeWorld:
    """A fake registry + policy: `assess` and `resolve` with call logs."""

    tags: dict[str, str] = field(default_factory=lambda: {t: digest_of(t) for t in TAGS})
    assessed: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    slow_seconds: float = 2.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def resolve(self, reference: str) -> str:
        """Tag → digest (TidegateError for an unknown tag)."""
        with self.lock:
            self.resolved.append(reference)
        if reference not in self.tags:
            raise TidegateError(f"{reference}: manifest unknown")
        return self.tags[reference]

    def assess(self, reference: str) -> Verdict:
        """A verdict about the digest `reference` resolves to (once)."""
        with self.lock:
            self.assessed.append(reference)
        repository, at, digest = reference.partition("@")
        if not at:
            repository = reference.rpartition(":")[0]
            digest = self.resolve(reference)
        if repository.endswith("/boom"):
            raise RuntimeError("registry exploded")
        if repository.rpartition("/")[2].startswith("slow"):
            time.sleep(self.slow_seconds)
        results = FAILING.get(repository, (RuleResult("signatures", "pass", "1 valid signature"),))
        return Verdict(reference=reference, manifest_digest=digest, policy_hash=POLICY_HASH, results=results)


def sample(name: str) -> dict[str, Any]:
    """A sample AdmissionReview from tests/serve/data."""
    return dict(json.loads((DATA / name).read_text(encoding="utf-8")))


def with_images(review: dict[str, Any], *images: str, uid: str = "") -> dict[str, Any]:
    """`review` (a Pod sample) with its containers replaced by one per image."""
    review = copy.deepcopy(review)
    review["request"]["object"]["spec"] = {
        "containers": [{"name": f"c{i}", "image": image} for i, image in enumerate(images)]}
    if uid:
        review["request"]["uid"] = uid
    return review


def apply_patch(doc: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 ``replace`` (the only operation the webhook emits), done independently of the webhook."""
    doc = copy.deepcopy(doc)
    for op in ops:
        assert op["op"] == "replace", op
        tokens = [t.replace("~1", "/").replace("~0", "~") for t in op["path"].split("/")[1:]]
        node: Any = doc
        for token in tokens[:-1]:
            node = node[int(token)] if isinstance(node, list) else node[token]
        last = tokens[-1]
        if isinstance(node, list):
            assert 0 <= int(last) < len(node), op
            node[int(last)] = op["value"]
        else:
            assert last in node, f"replace of a missing member: {op}"
            node[last] = op["value"]
    return doc


def decoded_patch(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The JSON patch of an AdmissionReview response (empty when there is none)."""
    if "patch" not in response:
        return []
    assert response["patchType"] == "JSONPatch"
    ops = json.loads(base64.b64decode(response["patch"]))
    assert isinstance(ops, list)
    return ops


def make_tls(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it: (ca.crt, tls.crt, tls.key)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tidegate-test-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tidegate-webhook.tidegate-system.svc")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.DNSName("tidegate-webhook.tidegate-system.svc")]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = (directory / "ca.crt", directory / "tls.crt", directory / "tls.key")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@dataclass
class RunningWebhook:
    """A webhook served over TLS by uvicorn on 127.0.0.1, and a client that trusts its CA."""

    webhook: Webhook
    url: str
    client: httpx.Client

    def review(self, path: str, review: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """POST `review` to `path`: (status, JSON body)."""
        response = self.client.post(path, json=review)
        return response.status_code, response.json()


@contextmanager
def serve_app(app: Any, tls_dir: Path) -> Iterator[tuple[str, ssl.SSLContext]]:
    """Run `app` with the real uvicorn server over TLS on 127.0.0.1 (a free port) until the block ends."""
    import uvicorn

    ca, cert, key = make_tls(tls_dir)
    server = uvicorn.Server(uvicorn_config(app, "127.0.0.1", 0, tls_cert=str(cert), tls_key=str(key)))
    thread = threading.Thread(target=server.run, name="test-webhook", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}", ssl.create_default_context(cafile=str(ca))
    finally:
        server.should_exit = True
        thread.join(15)
        assert not thread.is_alive(), "uvicorn did not stop"


@contextmanager
def running_webhook(config: WebhookConfig, tls_dir: Path) -> Iterator[RunningWebhook]:
    """`Webhook(config)` behind `serve_app`, with an httpx client verifying the server certificate."""
    webhook = Webhook(config)
    with serve_app(webhook_app(webhook), tls_dir) as (url, context), \
            httpx.Client(base_url=url, verify=context, timeout=30) as client:
        yield RunningWebhook(webhook, url, client)
