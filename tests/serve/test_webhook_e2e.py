"""The webhook with the real policy and assessment (`load_policy`, `assess`), built from ``tidegate serve webhook``
flags and served over TLS: a Pod whose image is a tag in a real ``docker-registry``.

Expectations come from ../shared/images truth: distroless-py runs as a non-root user (so ``nonRoot`` allows it)
and is unsigned (so ``signatures`` denies it); the patch must pin the truth's manifest digest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.serve.test_gate_e2e import policy_file
from tests.serve.test_webhook_units import parse
from tests.serve.webhook_support import apply_patch, decoded_patch, sample, serve_app, with_images
from tests.support.images import IMAGES, load_truth
from tests.support.registry import push_archive

DISTROLESS = IMAGES / "distroless-py.oci.tar"

pytestmark = [pytest.mark.registry,
              pytest.mark.skipif(not DISTROLESS.exists(), reason="../shared/images not present")]


def test_real_policy_pins_a_non_root_image_and_denies_an_unsigned_one(registry: str, tmp_path: Path) -> None:
    import httpx

    from tidegate.cli import serve
    from tidegate.serve.app import webhook_app

    push_archive(f"oci-archive:{DISTROLESS}:1", f"{registry}/wh-e2e/distroless:1")
    digest = load_truth("distroless-py")["images"][0]["manifest_digest"]
    image = f"{registry}/wh-e2e/distroless:1"
    review = with_images(sample("pod-create.json"), image)
    non_root = policy_file(tmp_path / "non-root", "  nonRoot: true\n")
    signed = policy_file(tmp_path / "signed", "  signatures:\n    keys: [release.pub]\n")
    for policy, allowed in ((non_root, True), (signed, False)):
        webhook = serve.build_webhook(parse(["webhook", "--policy", str(policy), "--no-cache"]))
        with serve_app(webhook_app(webhook), tmp_path / f"tls-{allowed}") as (url, context), \
                httpx.Client(base_url=url, verify=context, timeout=60) as client:
            response = client.post("/mutate", json=review).json()["response"]
            assert response["uid"] == review["request"]["uid"]
            if allowed:
                assert response["allowed"] is True, response
                patched = apply_patch(review["request"]["object"], decoded_patch(response))
                assert patched["spec"]["containers"][0]["image"] == f"{registry}/wh-e2e/distroless@{digest}"
                # The pinned pod then passes /validate from the verdict cache.
                pinned = with_images(review, f"{registry}/wh-e2e/distroless@{digest}")
                assert client.post("/validate", json=pinned).json()["response"]["allowed"] is True
                metrics = client.get("/metrics").text
                assert 'tidegate_cache_hits_total{cache="verdict"} 1.0' in metrics
                continue
            assert response["allowed"] is False
            lines = response["status"]["message"].splitlines()
            assert lines[1].startswith(f"- {image} ({digest[:19]}): signatures: ")
