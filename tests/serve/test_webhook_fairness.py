"""One black-holed registry cannot take every assessment worker (QA pass: new images from healthy registries were
denied for minutes while assessments hung on a registry that accepts connections and never answers)."""

from __future__ import annotations

import asyncio
import threading
import time

from tidegate.policy.verdict import Verdict
from tidegate.serve.webhook import Webhook, WebhookConfig

DIGEST = "sha256:" + "d" * 64


def test_a_hanging_registry_gets_at_most_half_the_pool() -> None:
    release = threading.Event()

    def assess(reference: str) -> Verdict:
        if reference.startswith("slow.example"):
            release.wait(30)  # a registry that never answers (until the test ends)
        return Verdict(reference=reference, manifest_digest=DIGEST, policy_hash="sha256:p", results=())

    def resolve(reference: str) -> str:
        if reference.startswith("slow.example"):
            release.wait(30)
        return DIGEST

    hook = Webhook(WebhookConfig(assess=assess, resolve=resolve, policy_hash="sha256:p", timeout=0.5, workers=4))
    try:
        slow = [f"slow.example/team/app{i}:1" for i in range(6)]
        first = asyncio.run(hook.judge_all(slow, pin=False, deadline=time.monotonic() + 0.5))
        reasons = sorted(o.reason for o in first.values())
        assert reasons == ["busy"] * 4 + ["timeout"] * 2  # 2 = half of 4 workers; the rest refused at once
        assert all(o.error for o in first.values())  # none allowed: fail-closed
        started = time.monotonic()
        healthy = asyncio.run(hook.judge_all(["fast.example/team/web:1"], pin=False,
                                             deadline=time.monotonic() + 5))
        assert healthy["fast.example/team/web:1"].reason == "ok"  # judged, not starved
        assert time.monotonic() - started < 2
    finally:
        release.set()
        hook.close()
