"""The webhook's pure parts: where each kind keeps its images, image names as written, the caches, the CLI flags."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from tidegate.errors import InvalidReference, UsageError
from tidegate.serve.cache import TTLCache, VerdictKey
from tidegate.serve.webhook import AdmissionInputError, image_sites, parse_image

TEMPLATE = {"template": {"spec": {"containers": [{"name": "c", "image": "app:1"}]}}}

SPEC_POINTERS = [
    ("Pod", {"spec": {"containers": [{"name": "c", "image": "app:1"}]}}, "/spec/containers/0/image"),
    ("PodTemplate", TEMPLATE, "/template/spec/containers/0/image"),
    *[(kind, {"spec": TEMPLATE}, "/spec/template/spec/containers/0/image")
      for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job")],
    ("CronJob", {"spec": {"jobTemplate": {"spec": TEMPLATE}}}, "/spec/jobTemplate/spec/template/spec/containers/0/image"),
]


@pytest.mark.parametrize(("kind", "obj", "pointer"), SPEC_POINTERS, ids=[row[0] for row in SPEC_POINTERS])
def test_every_workload_kind_has_its_pod_spec_found(kind: str, obj: dict[str, Any], pointer: str) -> None:
    assert [(s.pointer, s.image) for s in image_sites(kind, obj)] == [(pointer, "app:1")]


def test_all_container_lists_in_order_and_containers_without_image_skipped() -> None:
    obj = {"spec": {"ephemeralContainers": [{"name": "e", "image": "dbg:1"}],
                    "containers": [{"name": "a", "image": "a:1"}, {"name": "noimage"}],
                    "initContainers": [{"name": "i", "image": "init:1"}]}}
    assert [(s.pointer, s.container) for s in image_sites("Pod", obj)] == [
        ("/spec/initContainers/0/image", "i"), ("/spec/containers/0/image", "a"),
        ("/spec/ephemeralContainers/0/image", "e")]


@pytest.mark.parametrize(("kind", "obj", "message"), [
    ("Pod", {"spec": []}, "Pod: /spec is not an object"),
    ("Pod", {"spec": {"containers": [1]}}, "Pod: /spec/containers/0 is not an object"),
    ("Pod", {"spec": {"initContainers": [{"image": 7}]}}, "Pod: /spec/initContainers/0/image is not a string"),
    ("CronJob", {"spec": {"jobTemplate": "x"}}, "CronJob: /spec/jobTemplate/spec/template/spec is not an object"),
])
def test_malformed_pod_specs_raise(kind: str, obj: dict[str, Any], message: str) -> None:
    with pytest.raises(AdmissionInputError, match=f"^{message}$"):
        image_sites(kind, obj)


def test_kinds_without_pod_template_and_empty_objects_have_no_images() -> None:
    assert image_sites("ConfigMap", {"data": {"image": "x"}}) == ()
    assert image_sites("Deployment", {"spec": {}}) == ()
    assert image_sites("Pod", None) == ()


@pytest.mark.parametrize(("image", "canonical", "pinned"), [
    ("nginx", "docker.io/library/nginx:latest", "nginx@sha256:D"),
    ("nginx:1.27", "docker.io/library/nginx:1.27", "nginx@sha256:D"),
    ("library/nginx:1.27", "docker.io/library/nginx:1.27", "library/nginx@sha256:D"),
    ("localhost:5000/tools/x:0.9", "localhost:5000/tools/x:0.9", "localhost:5000/tools/x@sha256:D"),
    ("localhost:5000/tools/x", "localhost:5000/tools/x:latest", "localhost:5000/tools/x@sha256:D"),
    ("ghcr.io/o/r:1@sha256:" + "a" * 64, "ghcr.io/o/r@sha256:" + "a" * 64, "ghcr.io/o/r@sha256:D"),
])
def test_image_names_canonical_for_assessment_and_pinned_as_written(image: str, canonical: str, pinned: str) -> None:
    name = parse_image(image)
    assert name.canonical == canonical
    assert name.pinned("sha256:D") == pinned


@pytest.mark.parametrize("image", ["oci:/etc/layout:1", "oci-archive:/tmp/a.tar", "Upper/Case:1", "a@sha256:12"])
def test_local_transports_and_bad_names_are_not_images(image: str) -> None:
    with pytest.raises(InvalidReference):
        parse_image(image)


def test_a_name_that_looks_like_a_transport_is_still_a_registry_reference() -> None:
    # A pod's image is always a registry reference: "oci:foo" is docker.io/library/oci:foo, never a local path.
    assert parse_image("oci:foo").canonical == "docker.io/library/oci:foo"


def test_ttl_cache_expires_refreshes_and_is_bounded() -> None:
    now = [0.0]
    cache: TTLCache[str, int] = TTLCache(10, max_entries=2, clock=lambda: now[0])
    cache.put("a", 1)
    now[0] = 9.9
    assert cache.get("a") == 1
    now[0] = 10.0
    assert cache.get("a") is None
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == (None, 2, 3, 2)
    off: TTLCache[str, int] = TTLCache(0)
    off.put("a", 1)
    assert off.get("a") is None


def test_verdict_key_separates_repositories_policies_and_pinning() -> None:
    base = VerdictKey("sha256:1", "sha256:p", "r.example/a", True)
    assert len({base, VerdictKey("sha256:1", "sha256:p", "r.example/b", True),
                VerdictKey("sha256:1", "sha256:q", "r.example/a", True),
                VerdictKey("sha256:1", "sha256:p", "r.example/a", False)}) == 4


# -- CLI ---------------------------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    """``tidegate serve …`` parsed with the registration the CLI uses."""
    from tidegate.cli import serve

    parser = argparse.ArgumentParser(prog="tidegate")
    serve.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["serve", *argv])


def test_cli_flags_build_the_webhook_with_the_loaded_policy(tmp_path: Path) -> None:
    from tidegate.cli import serve
    from tidegate.policy.load import load_policy

    policy = tmp_path / "policy.yaml"
    policy.write_text("apiVersion: tidegate.dev/v1\nkind: Policy\nmetadata:\n  name: t\ndefaults:\n"
                      "  nonRoot: true\n", encoding="utf-8")
    args = parse(["webhook", "--policy", str(policy), "--fail-open", "--admission-timeout", "5",
                  "--exempt-namespace", "kube-system", "--exempt-namespace", "ops", "--resolve-ttl", "10",
                  "--no-cache"])
    assert args.run is serve.run_webhook and args.listen == "127.0.0.1:8443"
    webhook = serve.build_webhook(args)
    try:
        config = webhook.config
        assert config.policy_hash == load_policy(policy).hash
        assert (config.fail_open, config.timeout, config.exempt_namespaces, config.resolve_ttl) == (
            True, 5.0, frozenset({"kube-system", "ops"}), 10.0)
        assert config.resolve is not None and webhook.ready
    finally:
        webhook.close()


def test_cli_sibling_doors_register_under_serve() -> None:
    args = parse(["gate", "--upstream", "http://127.0.0.1:5000", "--policy", "p.yaml"])
    assert args.door == "gate"


@pytest.mark.parametrize(("argv", "message"), [
    (["--listen", "8443"], "--listen '8443': expected HOST:PORT"),
    (["--tls-cert", "a.crt"], "--tls-cert and --tls-key go together"),
    (["--admission-timeout", "0"], "--admission-timeout must be positive"),
])
def test_cli_usage_errors(tmp_path: Path, argv: list[str], message: str) -> None:
    from tidegate.cli import serve

    policy = tmp_path / "policy.yaml"
    policy.write_text("apiVersion: tidegate.dev/v1\nkind: Policy\nmetadata:\n  name: t\ndefaults: {}\n")
    with pytest.raises(UsageError, match=message):
        serve.run_webhook(parse(["webhook", "--policy", str(policy), *argv]))
