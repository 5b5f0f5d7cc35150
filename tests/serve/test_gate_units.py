"""The gate's pieces on their own: verdict cache and grants (fake clock), upstream URL rules, --listen, helpers."""

from __future__ import annotations

import argparse

import pytest

from tidegate.errors import UsageError
from tidegate.policy.verdict import RuleResult, Verdict
from tidegate.serve.gate import (
    ARTIFACT_TAG,
    _is_attestation_child,
    _platform,
    _runnable_layers,
    upstream_host,
)
from tidegate.serve.gate_state import BlobGrant, Grants, ManifestGrant, VerdictCache, VerdictKey

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


class Clock:
    """A settable monotonic clock."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def verdict(digest: str) -> Verdict:
    return Verdict(reference=f"r@{digest}", manifest_digest=digest, policy_hash="p",
                   results=(RuleResult("x", "pass", "ok"),))


def test_verdicts_are_keyed_by_digest_platform_and_policy_and_expire() -> None:
    clock = Clock()
    cache = VerdictCache(10, clock=clock)
    cache.put(VerdictKey("a", D1, None, "p1"), verdict(D1))
    assert cache.get(VerdictKey("a", D1, None, "p1")) == verdict(D1)
    assert cache.get(VerdictKey("a", D1, None, "p2")) is None  # another policy
    assert cache.get(VerdictKey("a", D1, "linux/amd64", "p1")) is None  # a platform under an index is its own key
    assert cache.get(VerdictKey("a", D2, None, "p1")) is None
    assert cache.get(VerdictKey("b", D1, None, "p1")) is None  # same digest, other repository (scope, identity)
    clock.now = 10.0
    assert cache.get(VerdictKey("a", D1, None, "p1")) is None and len(cache) == 0


def test_the_verdict_cache_is_bounded_oldest_first() -> None:
    cache = VerdictCache(100, max_entries=2, clock=Clock())
    for i in range(3):
        cache.put(VerdictKey("a", f"sha256:{i}", None, "p"), verdict(D1))
    assert len(cache) == 2 and cache.get(VerdictKey("a", "sha256:0", None, "p")) is None


def test_grants_are_per_repository_and_a_verdict_grant_outranks_a_passthrough() -> None:
    clock = Clock()
    grants = Grants(5, clock=clock)
    grants.allow_blobs("a", [(D1, 3)], passthrough=False)
    grants.allow_blobs("a", [(D1, 3), (D2, None)], passthrough=True)
    assert grants.blob("a", D1) == BlobGrant(3, passthrough=False)
    assert grants.blob("a", D2) == BlobGrant(None, passthrough=True)
    assert grants.blob("b", D1) is None
    grants.allow_manifest("a", D1, ManifestGrant(D2, passthrough=False))
    assert grants.manifest("a", D1) == ManifestGrant(D2, False) and grants.manifest("b", D1) is None
    clock.now = 5.0
    assert grants.blob("a", D1) is None and grants.manifest("a", D1) is None


@pytest.mark.parametrize(("url", "insecure", "expected"), [
    ("https://registry.example", False, "registry.example"),
    ("https://registry.example:8443/", False, "registry.example:8443"),
    ("http://127.0.0.1:5000", False, "127.0.0.1:5000"),
    ("http://localhost:5000", False, "localhost:5000"),
    ("http://registry.lan:5000", True, "registry.lan:5000"),
    ("http://registry.lan:5000", False, UsageError("plain HTTP to a non-loopback registry")),
    ("https://registry.example/v2/", False, UsageError("has no path")),
    ("ftp://registry.example", False, UsageError("expected http(s)://HOST")),
    ("registry.example", False, UsageError("expected http(s)://HOST")),
])
def test_upstream_url_rules(url: str, insecure: bool, expected: str | Exception) -> None:
    if isinstance(expected, Exception):
        with pytest.raises(type(expected), match=str(expected).replace("(", r"\(").replace(")", r"\)")):
            upstream_host(url, insecure=insecure)
    else:
        assert upstream_host(url, insecure=insecure) == expected


@pytest.mark.parametrize(("value", "expected"), [
    ("127.0.0.1:5443", ("127.0.0.1", 5443)),
    ("[::1]:8080", ("::1", 8080)),
    ("0.0.0.0:1", ("0.0.0.0", 1)),
    ("127.0.0.1", None), (":5443", None), ("host:0", None), ("host:99999", None), ("host:http", None),
])
def test_listen_parsing(value: str, expected: tuple[str, int] | None) -> None:
    from tidegate.cli.serve_gate import parse_listen

    if expected is None:
        with pytest.raises(UsageError, match="expected HOST:PORT"):
            parse_listen(value)
    else:
        assert parse_listen(value) == expected


def test_serve_gate_flags_and_defaults() -> None:
    from tidegate.cli import serve_gate

    parser = argparse.ArgumentParser()
    serve_gate.register(parser.add_subparsers(dest="door"))
    args = parser.parse_args(["gate", "--upstream", "https://r.example", "--policy", "p.yaml"])
    assert (args.listen, args.tls_cert, args.tls_key, args.insecure_upstream, args.verdict_ttl) == (
        "127.0.0.1:5443", None, None, False, 300.0)
    assert args.run is serve_gate.run
    args = parser.parse_args(["gate", "--upstream", "https://r.example", "--policy", "p.yaml", "--tls-cert", "c"])
    with pytest.raises(UsageError, match="--tls-cert and --tls-key go together"):
        serve_gate.run(args)
    with pytest.raises(SystemExit):
        parser.parse_args(["gate", "--policy", "p.yaml"])  # --upstream is required


@pytest.mark.parametrize(("tag", "artifact"), [
    ("sha256-" + "a" * 64 + ".sig", True), ("sha256-" + "a" * 64 + ".att", True),
    ("sha256-" + "a" * 64 + ".sbom", True), ("sha256-" + "a" * 64, False), ("latest.sig", False),
    ("sha256-" + "A" * 64 + ".sig", False), ("sha256-" + "a" * 63 + ".sig", False),
])
def test_artifact_tags(tag: str, artifact: bool) -> None:
    assert bool(ARTIFACT_TAG.match(tag)) is artifact


def test_index_entries_and_layers() -> None:
    assert _platform({"platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}) == "linux/arm64/v8"
    assert _platform({"platform": {"os": "linux"}}) is None and _platform({}) is None
    assert _is_attestation_child({"platform": {"os": "unknown", "architecture": "unknown"}})
    assert _is_attestation_child({"annotations": {"vnd.docker.reference.type": "attestation-manifest"}})
    assert not _is_attestation_child({"platform": {"os": "linux", "architecture": "amd64"}})
    doc = {"layers": [{"mediaType": "application/vnd.dev.cosign.simplesigning.v1+json"},
                      {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"},
                      {"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd"}, "junk"]}
    assert _runnable_layers(doc) == ["application/vnd.docker.image.rootfs.diff.tar.gzip",
                                     "application/vnd.oci.image.layer.v1.tar+zstd"]
