"""``tidegate serve webhook`` over TLS: real AdmissionReview v1 samples (tests/serve/data) against the real uvicorn
server on 127.0.0.1, with a fake assessor (`tests.serve.webhook_support.FakeWorld`).

Expected digests are the fake registry's (``sha256`` of the tag reference, recomputed here), expected JSON
pointers follow the Kubernetes object schemas, and the patch is applied by an independent RFC 6902 ``replace``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.webhook_support import (
    DATA,
    POLICY_HASH,
    FakeWorld,
    RunningWebhook,
    apply_patch,
    decoded_patch,
    digest_of,
    running_webhook,
    sample,
    with_images,
)
from tidegate.policy.verdict import Verdict
from tidegate.serve.webhook import WebhookConfig

APP = digest_of("registry.example/team/app:1.0")
NGINX = digest_of("docker.io/library/nginx:1.27")

Serve = Callable[..., RunningWebhook]


@pytest.fixture
def world() -> FakeWorld:
    """A fresh fake registry + policy."""
    return FakeWorld()


@pytest.fixture
def serve(world: FakeWorld, tmp_path: Path) -> Iterator[Serve]:
    """Start webhooks (stopped at teardown): ``serve(**WebhookConfig overrides)``."""
    stack: list[Any] = []

    def start(**overrides: Any) -> RunningWebhook:
        config = WebhookConfig(**{"assess": world.assess, "resolve": world.resolve, "policy_hash": POLICY_HASH,
                                  **overrides})
        cm = running_webhook(config, tmp_path / f"tls{len(stack)}")
        running = cm.__enter__()
        stack.append(cm)
        return running

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def images_of(obj: dict[str, Any], *path: str) -> list[str]:
    """Every image under the pod spec at `path`, init → containers → ephemeral."""
    spec: Any = obj
    for key in path:
        spec = spec[key]
    return [c["image"] for lst in ("initContainers", "containers", "ephemeralContainers") for c in spec.get(lst, [])]


def echo_ok(review: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Assert the envelope (apiVersion, kind, uid echoed) and return the response."""
    assert body["apiVersion"] == "admission.k8s.io/v1" and body["kind"] == "AdmissionReview"
    assert body["response"]["uid"] == review["request"]["uid"]
    response: dict[str, Any] = body["response"]
    return response


# -- scenarios from tests/serve/data ---------------------------------------------------------------------------


def test_pod_is_allowed_and_mutate_pins_every_image_keeping_the_repository_as_written(serve: Serve) -> None:
    hook = serve()
    review = sample("pod-create.json")
    status, body = hook.review("/mutate", review)
    response = echo_ok(review, body)
    assert status == 200 and response["allowed"] is True and "status" not in response
    ops = decoded_patch(response)
    assert ops == [
        {"op": "replace", "path": "/spec/containers/0/image", "value": f"registry.example/team/app@{APP}"},
        {"op": "replace", "path": "/spec/containers/1/image", "value": f"nginx@{NGINX}"},
    ]
    patched = apply_patch(review["request"]["object"], ops)
    assert images_of(patched, "spec") == [f"registry.example/team/app@{APP}", f"nginx@{NGINX}"]


def test_validate_allows_without_a_patch(serve: Serve) -> None:
    hook = serve()
    review = sample("pod-create.json")
    _, body = hook.review("/validate", review)
    response = echo_ok(review, body)
    assert response["allowed"] is True and "patch" not in response and "patchType" not in response


@pytest.mark.parametrize("path", ["/validate", "/mutate"])
def test_denied_pod_names_each_denied_image_with_its_reasons_one_line_each(serve: Serve, path: str) -> None:
    hook = serve()
    review = sample("pod-create-unsigned.json")
    status, body = hook.review(path, review)
    response = echo_ok(review, body)
    assert status == 200 and response["allowed"] is False and "patch" not in response
    assert response["status"]["code"] == 403
    lines = response["status"]["message"].splitlines()
    unsigned = digest_of("registry.example/team/unsigned:3")[:19]
    vulnerable = digest_of("registry.example/team/vulnerable:2024")[:19]
    assert lines == [
        "tidegate: 2 of 3 image(s) denied by policy sha256:abababababab:",
        f"- registry.example/team/unsigned:3 ({unsigned}): signatures: no valid signature by keys/release.pub",
        (f"- registry.example/team/vulnerable:2024 ({vulnerable}): vulnerabilities: 2 CRITICAL vulnerabilities "
        "(max 0): CVE-2024-0001, CVE-2024-0002; secrets: 1 secret: aws-access-key-id in /app/.env (layer 2)"),
    ]


def test_deployment_patch_covers_init_containers_and_leaves_digest_pinned_images_alone(
        serve: Serve, world: FakeWorld) -> None:
    hook = serve()
    review = sample("deployment-create.json")
    _, body = hook.review("/mutate", review)
    response = echo_ok(review, body)
    assert response["allowed"] is True
    ops = decoded_patch(response)
    base = "/spec/template/spec"
    exporter = digest_of("localhost:5000/tools/exporter:0.9")
    assert [op["path"] for op in ops] == [f"{base}/initContainers/0/image", f"{base}/containers/0/image",
                                          f"{base}/containers/1/image"]
    patched = apply_patch(review["request"]["object"], ops)
    sidecar = review["request"]["object"]["spec"]["template"]["spec"]["containers"][2]["image"]
    assert images_of(patched, "spec", "template", "spec") == [
        f"registry.example/team/app@{APP}", f"registry.example/team/app@{APP}",
        f"localhost:5000/tools/exporter@{exporter}", sidecar]
    # /mutate judges what will run: the pinned references; the user-pinned sidecar is judged by its digest.
    assert sorted(world.assessed) == sorted([f"registry.example/team/app@{APP}",
                                             f"localhost:5000/tools/exporter@{exporter}", sidecar])


def test_cronjob_init_and_ephemeral_containers_are_judged_and_pinned(serve: Serve) -> None:
    hook = serve()
    review = sample("cronjob-create.json")
    _, body = hook.review("/mutate", review)
    response = echo_ok(review, body)
    assert response["allowed"] is True
    ops = decoded_patch(response)
    base = "/spec/jobTemplate/spec/template/spec"
    assert [op["path"] for op in ops] == [f"{base}/initContainers/0/image", f"{base}/containers/0/image",
                                          f"{base}/ephemeralContainers/0/image"]
    patched = apply_patch(review["request"]["object"], ops)
    assert images_of(patched, "spec", "jobTemplate", "spec", "template", "spec") == [
        f"registry.example/tools/wait-for@{digest_of('registry.example/tools/wait-for:2')}",
        f"registry.example/finance/report@{digest_of('registry.example/finance/report:2024.06')}",
        f"registry.example/tools/debug@{digest_of('registry.example/tools/debug:latest')}"]


def test_cronjob_with_a_denied_ephemeral_container_is_denied(serve: Serve) -> None:
    hook = serve()
    review = sample("cronjob-create.json")
    spec = review["request"]["object"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    spec["ephemeralContainers"][0]["image"] = "registry.example/team/unsigned:3"
    _, body = hook.review("/validate", review)
    response = echo_ok(review, body)
    assert response["allowed"] is False
    assert "- registry.example/team/unsigned:3 (" in response["status"]["message"]
    assert "1 of 3 image(s) denied" in response["status"]["message"]


def test_ephemeral_containers_subresource_judges_only_the_new_debug_image(serve: Serve, world: FakeWorld) -> None:
    hook = serve()
    review = sample("pod-ephemeralcontainers-update.json")
    _, body = hook.review("/mutate", review)
    response = echo_ok(review, body)
    assert response["allowed"] is True
    debug = digest_of("registry.example/tools/debug:latest")
    assert decoded_patch(response) == [{"op": "replace", "path": "/spec/ephemeralContainers/0/image",
                                        "value": f"registry.example/tools/debug@{debug}"}]
    assert world.assessed == [f"registry.example/tools/debug@{debug}"]


def test_dry_run_is_judged_like_a_real_request(serve: Serve) -> None:
    hook = serve()
    review = sample("pod-dry-run.json")
    _, body = hook.review("/validate", review)
    response = echo_ok(review, body)
    assert response["allowed"] is False
    assert "- registry.example/team/vulnerable:2024 (" in response["status"]["message"]
    allowed = with_images(review, "registry.example/team/app:1.0")
    assert allowed["request"]["dryRun"] is True
    _, body = hook.review("/mutate", allowed)
    response = echo_ok(allowed, body)
    assert response["allowed"] is True
    assert decoded_patch(response)[0]["value"] == f"registry.example/team/app@{APP}"


def test_exempt_namespace_is_allowed_unjudged_and_only_when_listed(serve: Serve, world: FakeWorld) -> None:
    review = sample("pod-exempt-namespace.json")
    exempting = serve(exempt_namespaces=frozenset({"kube-system"}))
    _, body = exempting.review("/validate", review)
    response = echo_ok(review, body)
    assert response["allowed"] is True and "patch" not in response
    assert response["warnings"] == ["tidegate: namespace kube-system is exempt"]
    assert world.assessed == []
    _, body = serve().review("/validate", review)
    assert echo_ok(review, body)["allowed"] is False


@pytest.mark.parametrize(("name", "phrase"), [
    ("malformed-missing-uid.json", "request.uid: Field required"),
    ("malformed-v1beta1.json", "apiVersion: Input should be 'admission.k8s.io/v1'"),
])
def test_unreadable_review_is_a_400_so_the_api_server_fails_closed(serve: Serve, name: str, phrase: str) -> None:
    hook = serve()
    response = hook.client.post("/validate", content=(DATA / name).read_bytes(),
                                headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert phrase in response.json()["error"]


def test_non_json_body_is_a_400(serve: Serve) -> None:
    response = serve().client.post("/mutate", content=b"<AdmissionReview/>")
    assert response.status_code == 400 and "not an AdmissionReview" in response.json()["error"]


def test_malformed_pod_spec_is_denied_with_the_uid_echoed(serve: Serve) -> None:
    review = sample("malformed-containers-not-a-list.json")
    _, body = serve().review("/validate", review)
    response = echo_ok(review, body)
    assert response["allowed"] is False
    assert response["status"]["message"] == "tidegate: cannot read the object: Pod: /spec/containers is not a list"


def test_invalid_image_reference_is_denied(serve: Serve) -> None:
    review = with_images(sample("pod-create.json"), "Registry.Example/Team/App:1")
    _, body = serve().review("/validate", review)
    response = echo_ok(review, body)
    assert response["allowed"] is False
    assert "- Registry.Example/Team/App:1: not judged (invalid image reference" in response["status"]["message"]


# -- fail-closed ---------------------------------------------------------------------------------------------


def test_assessor_exception_fails_closed(serve: Serve) -> None:
    review = with_images(sample("pod-create.json"), "registry.example/team/boom:1", "registry.example/team/app:1.0")
    _, body = serve().review("/mutate", review)
    response = echo_ok(review, body)
    assert response["allowed"] is False and "patch" not in response
    assert response["status"]["message"].splitlines()[1] == (
        "- registry.example/team/boom:1: not judged (RuntimeError: registry exploded); denied (fail-closed)")


def test_unknown_tag_fails_closed(serve: Serve) -> None:
    review = with_images(sample("pod-create.json"), "registry.example/team/app:9.9")
    _, body = serve().review("/validate", review)
    message = echo_ok(review, body)["status"]["message"]
    assert "registry.example/team/app:9.9: not judged (registry.example/team/app:9.9: manifest unknown)" in message


def test_fail_open_allows_unjudged_images_with_a_warning_but_never_a_policy_denial(serve: Serve) -> None:
    hook = serve(fail_open=True)
    review = with_images(sample("pod-create.json"), "registry.example/team/boom:1", "registry.example/team/app:1.0")
    _, body = hook.review("/mutate", review)
    response = echo_ok(review, body)
    assert response["allowed"] is True
    assert response["warnings"] == [("tidegate: registry.example/team/boom:1: not judged, allowed by --fail-open: "
                                    "RuntimeError: registry exploded")]
    # Only the judged image is pinned.
    assert decoded_patch(response) == [{"op": "replace", "path": "/spec/containers/1/image",
                                        "value": f"registry.example/team/app@{APP}"}]
    denied = with_images(review, "registry.example/team/boom:1", "registry.example/team/unsigned:3")
    _, body = hook.review("/validate", denied)
    assert echo_ok(denied, body)["allowed"] is False


def test_timeout_fails_closed_in_time_and_the_finished_assessment_serves_the_retry(
        serve: Serve, world: FakeWorld) -> None:
    world.slow_seconds = 1.5
    hook = serve(timeout=0.4)
    review = with_images(sample("pod-create.json"), "registry.example/team/slow:1")
    started = time.monotonic()
    _, body = hook.review("/validate", review)
    elapsed = time.monotonic() - started
    response = echo_ok(review, body)
    assert response["allowed"] is False and elapsed < 1.2
    assert "registry.example/team/slow:1: not judged (not judged within 0.4s (assessment still running; retry " \
           "shortly)); denied (fail-closed)" in response["status"]["message"]
    time.sleep(1.5)  # the assessment finishes in the background and fills the cache
    _, body = hook.review("/validate", review)
    assert echo_ok(review, body)["allowed"] is True
    assert world.assessed == ["registry.example/team/slow:1"]


def test_verdict_about_another_digest_than_asked_fails_closed(serve: Serve) -> None:
    def lying(reference: str) -> Verdict:
        return Verdict(reference, "sha256:" + "0" * 64, POLICY_HASH, ())

    review = with_images(sample("pod-create.json"), "registry.example/team/app:1.0")
    _, body = serve(assess=lying).review("/mutate", review)
    message = echo_ok(review, body)["status"]["message"]
    assert f"but the verdict is about sha256:{'0' * 64}" in message


# -- caching, concurrency ------------------------------------------------------------------------------------


def test_repeat_request_is_served_from_the_caches(serve: Serve, world: FakeWorld) -> None:
    hook = serve()
    review = sample("pod-create.json")
    first = hook.review("/mutate", review)
    assert (len(world.resolved), len(world.assessed)) == (2, 2)
    second = hook.review("/mutate", review)
    assert second == first
    assert (len(world.resolved), len(world.assessed)) == (2, 2)
    # The mutated pod reaches /validate pinned: the same verdicts, no resolution, no assessment.
    pinned = with_images(review, f"registry.example/team/app@{APP}", f"nginx@{NGINX}")
    _, body = hook.review("/validate", pinned)
    assert echo_ok(pinned, body)["allowed"] is True
    assert (len(world.resolved), len(world.assessed)) == (2, 2)
    metrics = hook.client.get("/metrics").text
    assert 'tidegate_cache_hits_total{cache="verdict"} 4.0' in metrics
    assert 'tidegate_cache_hits_total{cache="resolution"} 2.0' in metrics
    assert 'tidegate_cache_misses_total{cache="resolution"} 2.0' in metrics


def test_without_a_resolver_digests_are_learnt_from_verdicts(serve: Serve, world: FakeWorld) -> None:
    hook = serve(resolve=None)
    review = sample("pod-create.json")
    _, body = hook.review("/validate", review)
    assert echo_ok(review, body)["allowed"] is True
    assert sorted(world.assessed) == ["docker.io/library/nginx:1.27", "registry.example/team/app:1.0"]
    hook.review("/validate", review)
    assert len(world.assessed) == 2


def test_tag_resolution_expires_quickly_but_the_verdict_by_digest_is_kept(serve: Serve, world: FakeWorld) -> None:
    now = [1000.0]
    hook = serve(clock=lambda: now[0], resolve_ttl=30, verdict_ttl=300)
    review = with_images(sample("pod-create.json"), "registry.example/team/app:1.0")
    hook.review("/mutate", review)
    now[0] += 31  # the tag is looked up again; its digest's verdict is still fresh
    hook.review("/mutate", review)
    assert world.resolved.count("registry.example/team/app:1.0") == 2
    assert len(world.assessed) == 1
    world.tags["registry.example/team/app:1.0"] = moved = "sha256:" + "7" * 64  # the tag moves
    now[0] += 31
    _, body = hook.review("/mutate", review)
    assert decoded_patch(body["response"])[0]["value"] == f"registry.example/team/app@{moved}"
    assert world.assessed[-1] == f"registry.example/team/app@{moved}"


def test_distinct_images_are_judged_concurrently_and_shared_in_flight(serve: Serve, world: FakeWorld) -> None:
    world.slow_seconds = 0.5
    slow = [f"registry.example/team/{name}:1" for name in ("slow", "slow2", "slow3")]
    for tag in slow[1:]:
        world.tags[tag] = digest_of(tag)
    hook = serve()
    review = with_images(sample("pod-create.json"), *slow, slow[0])
    results: list[bool] = []

    def post() -> None:
        _, body = hook.review("/validate", review)
        results.append(body["response"]["allowed"])

    started = time.monotonic()
    threads = [threading.Thread(target=post) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Three requests × three distinct half-second images: one round of concurrent assessments, each image once.
    assert results == [True, True, True] and time.monotonic() - started < 1.2
    assert sorted(world.assessed) == sorted(slow)


def test_other_operations_and_kinds_are_not_judged(serve: Serve, world: FakeWorld) -> None:
    hook = serve()
    delete = sample("pod-create-unsigned.json")
    delete["request"]["operation"] = "DELETE"
    _, body = hook.review("/validate", delete)
    assert echo_ok(delete, body)["allowed"] is True
    config_map = sample("pod-create.json")
    config_map["request"]["kind"] = {"group": "", "version": "v1", "kind": "ConfigMap"}
    config_map["request"]["object"] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                                       "data": {"k": "v"}}
    _, body = hook.review("/validate", config_map)
    response = echo_ok(config_map, body)
    assert response["allowed"] is True
    assert response["warnings"] == ["tidegate: kind ConfigMap has no pod template; not judged"]
    # Fail closed (QA): an unknown kind that carries containers is not let through unjudged.
    widget = sample("pod-create.json")
    widget["request"]["kind"] = {"group": "example.com", "version": "v1", "kind": "Widget"}
    _, body = hook.review("/validate", widget)
    response = echo_ok(widget, body)
    assert response["allowed"] is False and "Widget carries container images" in response["status"]["message"]
    assert world.assessed == []


# -- probes and metrics ----------------------------------------------------------------------------------------


def test_probes_and_metrics(serve: Serve) -> None:
    hook = serve()
    assert hook.client.get("/healthz").text == "ok"
    assert hook.client.get("/readyz").status_code == 200
    hook.review("/validate", sample("pod-create.json"))
    hook.review("/validate", sample("pod-create-unsigned.json"))
    hook.review("/mutate", with_images(sample("pod-create.json"), "registry.example/team/boom:1"))
    hook.client.post("/validate", content=b"{}")
    response = hook.client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in ('tidegate_admission_requests_total{decision="allowed",operation="CREATE"} 1.0',
                 'tidegate_admission_requests_total{decision="denied",operation="CREATE"} 1.0',
                 'tidegate_admission_requests_total{decision="error",operation="CREATE"} 1.0',
                 'tidegate_admission_requests_total{decision="error",operation="unknown"} 1.0',
                 'tidegate_verdicts_total{decision="allowed",reason="ok"} 3.0',
                 'tidegate_verdicts_total{decision="denied",reason="signatures"} 1.0',
                 'tidegate_verdicts_total{decision="denied",reason="vulnerabilities"} 1.0',
                 'tidegate_verdicts_total{decision="denied",reason="error"} 1.0',
                 'tidegate_admission_duration_seconds_count{webhook="validate"} 3.0',
                 'tidegate_admission_duration_seconds_count{webhook="mutate"} 1.0'):
        assert line in text, line
    # The probes and /metrics are not admission requests.
    assert text.count("tidegate_admission_requests_total{") == 4


def test_readyz_turns_503_once_the_webhook_stops_judging(serve: Serve) -> None:
    hook = serve()
    hook.webhook.close()
    assert hook.client.get("/readyz").status_code == 503
    review = sample("pod-create.json")
    _, body = hook.review("/validate", review)
    assert echo_ok(review, body)["allowed"] is False
    assert "webhook shutting down" in body["response"]["status"]["message"]
