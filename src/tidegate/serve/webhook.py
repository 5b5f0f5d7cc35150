"""The Kubernetes admission door: AdmissionReview v1 in, a verdict per image out, the verified digest pinned.

    webhook = Webhook(WebhookConfig(assess=lambda ref: assess(ref, policy, options), policy_hash=policy.hash,
                                    resolve=lambda ref: str(resolve_pin(ref, options).digest)))
    status, body = await webhook.admit(request_body, mutate=True)    # → (200, AdmissionReview response)

The request path (connaisseur's, with tidegate's verdicts):

(1) parse the AdmissionReview (``admission.k8s.io/v1``; a foreign format, so unknown fields are ignored, but the
    fields we rely on are required and strictly typed). An unreadable body gets HTTP 400, which the API server
    treats as a webhook failure: with ``failurePolicy: Fail`` the object is rejected;
(2) skip what there is nothing to judge in: DELETE/CONNECT, exempt namespaces (``exempt_namespaces``; label-based
    exemption belongs in the webhook configuration's ``namespaceSelector``, as the AdmissionReview does not carry
    the namespace's labels), kinds without a pod template, UPDATEs that add no new image;
(3) find every image: Pods (and the ``pods/ephemeralcontainers`` subresource), PodTemplates and every workload
    kind with a pod template (`POD_SPEC_PATHS`), in ``initContainers``, ``containers`` and
    ``ephemeralContainers``;
(4) judge each distinct image concurrently on a bounded thread pool: the tag is resolved to a digest (cached for a
    short TTL, see `tidegate.serve.cache`), the verdict is looked up by (digest, policy hash, repository, pinned)
    and only assessed on a miss; identical in-flight assessments are shared;
(5) deny, with one line per denied image and its reasons, or allow; ``/mutate`` also returns a JSON patch (RFC
    6902) replacing each ``repo:tag`` with ``repo@sha256:…`` of the digest that was judged (``repo`` kept as
    written), so the kubelet pulls exactly the verified bytes.

Fail-closed: an assessment error, an unreadable object or the request deadline (`WebhookConfig.timeout`, just
under the API server's 10 s default so *our* denial, with its reason, reaches the user instead of the API server's
generic "context deadline exceeded") denies the request; ``fail_open`` turns those (and only those) into an
allowed response with a warning. A policy denial is never turned into an allow.

``/mutate`` judges the *pinned* reference (``repo@sha256:…``: what will be admitted after the patch), ``/validate``
the reference as written (so a validating-only install still enforces ``requireDigest``); the mutated object then
reaches ``/validate`` pinned and hits the verdict cache.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tidegate.checks.k8s.pods import POD_SPEC_PATHS as _POD_SPEC_PATHS
from tidegate.errors import TidegateError
from tidegate.image.reference import ImageRef, parse_docker_reference
from tidegate.policy.verdict import Verdict
from tidegate.serve.cache import TTLCache, VerdictKey
from tidegate.serve.metrics import WebhookMetrics

log = logging.getLogger(__name__)

API_VERSION = "admission.k8s.io/v1"
"""The only AdmissionReview version served (the API server sends v1 when the configuration lists it)."""

DEFAULT_TIMEOUT = 9.0
"""Seconds a request may take: just under the API server's default webhook timeout (10 s)."""
DEFAULT_VERDICT_TTL = 300.0
"""Seconds a verdict (per digest + policy hash) is reused."""
DEFAULT_RESOLVE_TTL = 30.0
"""Seconds a tag → digest resolution is reused (short: tags move)."""
DEFAULT_WORKERS = 8
"""Concurrent assessments (threads)."""

# NOTE: one table of where each kind keeps its pod spec, shared with the Kubernetes lint checks.
POD_SPEC_PATHS = _POD_SPEC_PATHS
"""Where each kind keeps its pod spec (`tidegate.checks.k8s.pods.POD_SPEC_PATHS`)."""

CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
"""The pod spec's container lists, in the order their images are reported."""

Assess = Callable[[str], Verdict]
"""Blocking ``reference -> Verdict`` (``tidegate.policy.assess.assess`` under the loaded policy); the reference
is ``registry/repository:tag`` or ``registry/repository@sha256:…`` and the verdict's ``manifest_digest`` is the
digest it resolved (once) and judged."""
Resolve = Callable[[str], str]
"""Blocking ``reference -> manifest digest`` (a tag lookup, no scan)."""


class AdmissionInputError(TidegateError):
    """The object under review cannot be read (a container list that is not a list, an image that is not text)."""


# -- (1) AdmissionReview v1 wire models ----------------------------------------------------------------------


class _Wire(BaseModel):
    """Foreign format: unknown fields ignored, the ones we read strictly typed."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, populate_by_name=True)


class _GroupVersionKind(_Wire):
    group: str = ""
    version: str
    kind: str


class _GroupVersionResource(_Wire):
    group: str = ""
    version: str
    resource: str


class _Request(_Wire):
    uid: str = Field(min_length=1)
    kind: _GroupVersionKind
    resource: _GroupVersionResource
    sub_resource: str = Field(default="", alias="subResource")
    name: str = ""
    namespace: str = ""
    operation: Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]
    object: dict[str, Any] | None = None
    old_object: dict[str, Any] | None = Field(default=None, alias="oldObject")
    dry_run: bool = Field(default=False, alias="dryRun")


class _Review(_Wire):
    api_version: Literal["admission.k8s.io/v1"] = Field(alias="apiVersion")
    kind: Literal["AdmissionReview"]
    request: _Request


# -- (3) where the images are --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageSite:
    """One container's image in the object under review."""

    pointer: str
    """JSON pointer (RFC 6901) of the ``image`` field, e.g. ``/spec/template/spec/containers/0/image``."""
    image: str
    """The image as written."""
    container: str
    """The container's name (for messages)."""


class _RegistryBusy(Exception):
    """One registry already holds its share of the assessment pool."""


def _mentions_images(obj: object, depth: int = 0) -> bool:
    """True when `obj` holds a ``containers``/``initContainers``/``ephemeralContainers`` list anywhere (bounded)."""
    if depth > 12:
        return False
    if isinstance(obj, dict):
        if any(isinstance(obj.get(k), list) and obj.get(k) for k in CONTAINER_LISTS):
            return True
        return any(_mentions_images(v, depth + 1) for v in obj.values())
    if isinstance(obj, list):
        return any(_mentions_images(v, depth + 1) for v in obj[:1000])
    return False


def pod_spec_path(kind: str) -> tuple[str, ...] | None:
    """The path to the pod spec of objects of `kind`, or None when it has none."""
    path = POD_SPEC_PATHS.get(kind)
    return None if path is None else tuple(str(p) for p in path)


def image_sites(kind: str, obj: dict[str, Any] | None) -> tuple[ImageSite, ...]:
    """Every container image of `obj` (a `kind` object); raises `AdmissionInputError` on a malformed pod spec."""
    path = pod_spec_path(kind)
    if path is None or obj is None:
        return ()
    node: Any = obj
    for key in path:
        if not isinstance(node, dict):
            raise AdmissionInputError(f"{kind}: /{'/'.join(path)} is not an object")
        node = node.get(key)
        if node is None:
            return ()
    if not isinstance(node, dict):
        raise AdmissionInputError(f"{kind}: /{'/'.join(path)} is not an object")
    sites: list[ImageSite] = []
    for list_name in CONTAINER_LISTS:
        containers = node.get(list_name)
        if containers is None:
            continue
        where = "/" + "/".join((*path, list_name))
        if not isinstance(containers, list):
            raise AdmissionInputError(f"{kind}: {where} is not a list")
        for index, container in enumerate(containers):
            if not isinstance(container, dict):
                raise AdmissionInputError(f"{kind}: {where}/{index} is not an object")
            image = container.get("image")
            if image is None:
                continue
            if not isinstance(image, str):
                raise AdmissionInputError(f"{kind}: {where}/{index}/image is not a string")
            sites.append(ImageSite(f"{where}/{index}/image", image, str(container.get("name", index))))
    return tuple(sites)


# -- image names ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageName:
    """A container image parsed with the docker reference grammar (registry references only)."""

    written: str
    """As written in the manifest."""
    ref: ImageRef
    """Parsed (Docker Hub defaults applied)."""

    @property
    def repository(self) -> str:
        """``registry/repository`` (``docker.io/library/nginx``)."""
        return f"{self.ref.registry}/{self.ref.repository}"

    @property
    def canonical(self) -> str:
        """``registry/repository[:tag][@digest]``: what is assessed; never a local transport (``oci:…``)."""
        tag = f":{self.ref.tag}" if self.ref.tag and not self.ref.digest else ""
        digest = f"@{self.ref.digest}" if self.ref.digest else ""
        return f"{self.repository}{tag}{digest}"

    @property
    def written_name(self) -> str:
        """The repository part as written, tag and digest removed (``nginx`` for ``nginx:1.27``)."""
        name = self.written.split("@", 1)[0]
        head, sep, tail = name.rpartition(":")
        return head if sep and "/" not in tail else name

    def pinned(self, digest: str) -> str:
        """The image as written, pinned: ``repo@sha256:…`` (``repo`` as written)."""
        return f"{self.written_name}@{digest}"


def parse_image(image: str) -> ImageName:
    """Parse a Kubernetes ``image`` value; raises `tidegate.errors.InvalidReference`."""
    return ImageName(image, parse_docker_reference(image.strip()))


# -- (4) judging images ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImageOutcome:
    """What was decided about one distinct image of a request."""

    image: str
    """As written."""
    verdict: Verdict | None = None
    """The policy's verdict, None when there is none (`error`)."""
    error: str = ""
    """One line when the image could not be judged (fail-closed unless ``fail_open``)."""
    reason: str = "ok"
    """Metrics label: ``ok``, the first blocking rule, ``error``, ``timeout`` or ``invalid-reference``."""
    cached: bool = False
    """True when the verdict came from the cache."""

    @property
    def digest(self) -> str:
        """The digest that was judged (empty without a verdict)."""
        return self.verdict.manifest_digest if self.verdict else ""

    @property
    def allowed(self) -> bool:
        """True when a verdict exists and allows the image."""
        return self.verdict is not None and self.verdict.allowed


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Everything a `Webhook` needs; `assess` and `resolve` are injectable (tests pass fakes)."""

    assess: Assess
    """Blocking reference → `Verdict`."""
    policy_hash: str
    """`Policy.hash` of the loaded policy (half of the verdict cache key)."""
    resolve: Resolve | None = None
    """Blocking tag → digest lookup; None: digests are learnt from verdicts (each cache miss assesses)."""
    timeout: float = DEFAULT_TIMEOUT
    """Seconds per admission request before it is denied (fail-closed) or allowed (`fail_open`)."""
    fail_open: bool = False
    """Allow (with a warning) when images could not be judged; policy denials still deny."""
    exempt_namespaces: frozenset[str] = frozenset()
    """Namespaces whose requests are allowed unjudged."""
    verdict_ttl: float = DEFAULT_VERDICT_TTL
    """Seconds a verdict is reused."""
    resolve_ttl: float = DEFAULT_RESOLVE_TTL
    """Seconds a tag → digest resolution is reused."""
    workers: int = DEFAULT_WORKERS
    """Concurrent assessments."""
    clock: Callable[[], float] = field(default=time.monotonic)
    """Clock of both caches (tests inject one)."""


_ReviewResult = tuple[int, dict[str, Any]]


class Webhook:
    """Admission decisions for one policy: caches, assessment pool, metrics. The HTTP layer is `tidegate.serve.app`."""

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        """The configuration."""
        self.metrics = WebhookMetrics()
        """This webhook's Prometheus metrics."""
        self.verdicts: TTLCache[VerdictKey, Verdict] = TTLCache(config.verdict_ttl, clock=config.clock)
        """Verdicts by (digest, policy hash, repository, pinned)."""
        self.resolutions: TTLCache[str, str] = TTLCache(config.resolve_ttl, clock=config.clock)
        """Canonical tag reference → digest (short TTL)."""
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, config.workers),
                                                           thread_name_prefix="tidegate-assess")
        self._inflight: dict[tuple[str, bool], concurrent.futures.Future[Verdict]] = {}
        self._per_registry: dict[str, int] = {}
        self._registry_of: dict[tuple[str, bool], str] = {}
        self._registry_limit = max(1, config.workers // 2)
        self._lock = threading.Lock()
        self._closed = False

    @property
    def ready(self) -> bool:
        """True while the webhook can judge (policy loaded, pool running)."""
        return bool(self.config.policy_hash) and not self._closed

    def close(self) -> None:
        """Stop taking assessments (running ones finish in the background)."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the request ----------------------------------------------------------------------------------------

    async def admit(self, body: bytes, *, mutate: bool) -> _ReviewResult:
        """Answer one AdmissionReview body: (HTTP status, JSON document)."""
        started = time.perf_counter()
        try:
            return await self._admit(body, mutate=mutate, deadline=time.monotonic() + self.config.timeout)
        finally:
            self.metrics.duration.labels(webhook="mutate" if mutate else "validate").observe(
                time.perf_counter() - started)

    async def _admit(self, body: bytes, *, mutate: bool, deadline: float) -> _ReviewResult:
        # (1) parse
        try:
            review = _Review.model_validate_json(body)
        except ValidationError as e:
            self.metrics.requests.labels(operation="unknown", decision="error").inc()
            first = e.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "body"
            message = f"not an AdmissionReview {API_VERSION}: {where}: {first['msg']}"
            log.warning("%s", message)
            return 400, {"error": message}
        req = review.request
        # (2) what there is nothing to judge in
        if req.operation not in ("CREATE", "UPDATE"):
            return self._reply(req, True, "skipped")
        if req.namespace and req.namespace in self.config.exempt_namespaces:
            return self._reply(req, True, "exempt", warnings=[f"tidegate: namespace {req.namespace} is exempt"])
        # (3) find the images
        try:
            sites = image_sites(req.kind.kind, req.object)
            before = {s.image for s in image_sites(req.kind.kind, req.old_object)} if req.operation == "UPDATE" \
                else set()
        except AdmissionInputError as e:
            return self._reply(req, False, "error", message=f"tidegate: cannot read the object: {e.message}")
        if pod_spec_path(req.kind.kind) is None:
            if _mentions_images(req.object):
                # Fail closed (QA): an unknown kind that carries container images (a CRD wrapping a pod spec)
                # cannot be judged, so it is not let through unjudged.
                return self._reply(req, False, "error", message=f"tidegate: kind {req.kind.kind} carries container "
                                   "images but tidegate does not know where its pod spec is; denied (fail-closed)")
            return self._reply(req, True, "skipped",
                               warnings=[f"tidegate: kind {req.kind.kind} has no pod template; not judged"])
        sites = tuple(s for s in sites if s.image not in before)
        if not sites:
            return self._reply(req, True, "skipped")
        # (4) judge every distinct image
        images = list(dict.fromkeys(s.image for s in sites))
        outcomes = await self.judge_all(images, pin=mutate, deadline=deadline)
        for o in outcomes.values():
            self.metrics.verdicts.labels(decision="allowed" if o.allowed else "denied", reason=o.reason).inc()
        # (5) decide
        what = f"{req.kind.kind} {req.namespace + '/' if req.namespace else ''}{req.name or '(generated)'}"
        denied = [o for o in outcomes.values() if o.verdict is not None and not o.verdict.allowed]
        failed = [o for o in outcomes.values() if o.verdict is None]
        if denied or (failed and not self.config.fail_open):
            message = deny_message(images, outcomes, self.config.policy_hash)
            log.info("denied %s%s: %s", what, " (dry run)" if req.dry_run else "", message.replace("\n", " | "))
            return self._reply(req, False, "denied" if denied else "error", message=message)
        warnings = [f"tidegate: {o.image}: not judged, allowed by --fail-open: {o.error}"[:400] for o in failed]
        patch = json_patch(sites, outcomes) if mutate else []
        log.info("allowed %s%s (%d image(s))", what, " (dry run)" if req.dry_run else "", len(images))
        return self._reply(req, True, "fail-open" if failed else "allowed", warnings=warnings, patch=patch)

    def _reply(self, req: _Request, allowed: bool, decision: str, *, message: str = "",
               warnings: list[str] | None = None, patch: list[dict[str, Any]] | None = None) -> _ReviewResult:
        self.metrics.requests.labels(operation=req.operation, decision=decision).inc()
        response: dict[str, Any] = {"uid": req.uid, "allowed": allowed}
        if not allowed:
            response["status"] = {"code": 403, "reason": "Forbidden", "message": message}
        if warnings:
            response["warnings"] = warnings
        if patch:
            response["patchType"] = "JSONPatch"
            response["patch"] = base64.b64encode(json.dumps(patch, separators=(",", ":")).encode()).decode()
        return 200, {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response}

    # -- (4) judging ----------------------------------------------------------------------------------------

    async def judge_all(self, images: Iterable[str], *, pin: bool, deadline: float) -> dict[str, ImageOutcome]:
        """An outcome per image: cached verdicts at once, the rest on the pool until `deadline` (monotonic)."""
        outcomes: dict[str, ImageOutcome] = {}
        pending: dict[asyncio.Future[Verdict], str] = {}
        for image in images:
            try:
                name = parse_image(image)
            except TidegateError as e:
                outcomes[image] = ImageOutcome(image, error=e.message, reason="invalid-reference")
                continue
            cached = self._cached(name, pin)
            if cached is not None:
                outcomes[image] = _outcome(image, cached, cached=True)
                continue
            try:
                future = self._submit(name, pin)
            except _RegistryBusy as e:
                outcomes[image] = ImageOutcome(image, error=str(e), reason="busy")
                continue
            except RuntimeError as e:  # the pool is shut down: the server is stopping
                outcomes[image] = ImageOutcome(image, error=f"webhook shutting down: {e}", reason="error")
                continue
            pending[asyncio.wrap_future(future)] = image
        if pending:
            done, not_done = await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))
            for f in done:
                image = pending[f]
                if f.cancelled():  # the pool was shut down under it: the server is stopping
                    outcomes[image] = ImageOutcome(image, error="webhook shutting down", reason="error")
                    continue
                exc = f.exception()
                if exc is None:
                    outcomes[image] = _outcome(image, f.result())
                else:
                    line = exc.message if isinstance(exc, TidegateError) else f"{type(exc).__name__}: {exc}"
                    log.warning("%s: assessment failed: %s", image, line)
                    outcomes[image] = ImageOutcome(image, error=" ".join(line.split())[:300], reason="error")
            for f in not_done:
                image = pending[f]
                outcomes[image] = ImageOutcome(
                    image, error=f"not judged within {self.config.timeout:g}s (assessment still running; "
                                 "retry shortly)", reason="timeout")
        return outcomes

    def _key(self, name: ImageName, digest: str, pinned: bool) -> VerdictKey:
        return VerdictKey(digest, self.config.policy_hash, name.repository, pinned)

    def _cached(self, name: ImageName, pin: bool) -> Verdict | None:
        """The cached verdict for `name` (judged pinned when `pin`), without blocking; None on a miss."""
        digest = str(name.ref.digest) if name.ref.digest else None
        if digest is None:
            digest = self.resolutions.get(name.canonical)
            self.metrics.cache("resolution", digest is not None)
            if digest is None:
                return None
        verdict = self.verdicts.get(self._key(name, digest, pin or name.ref.digest is not None))
        self.metrics.cache("verdict", verdict is not None)
        return verdict

    def _submit(self, name: ImageName, pin: bool) -> concurrent.futures.Future[Verdict]:
        """The in-flight assessment of (`name`, `pin`), started if there is none."""
        key = (name.canonical, pin)
        registry = name.ref.registry or ""
        with self._lock:
            future = self._inflight.get(key)
            if future is not None:
                return future
            # One slow or black-holed registry must not take every worker (QA): assessments stuck on it keep
            # running to fill the cache, so each registry gets at most half the pool.
            busy = self._per_registry.get(registry, 0)
            if busy >= self._registry_limit:
                raise _RegistryBusy(f"registry {registry} already has {busy} assessments in flight (slow or "
                                    "unreachable?); not judged, retry shortly")
            future = self._pool.submit(self._assess, name, pin)
            self._inflight[key] = future
            self._per_registry[registry] = busy + 1
            self._registry_of[key] = registry
        # Outside the lock: a future that is already done runs the callback right here.
        future.add_done_callback(lambda done: self._forget(key, done))
        return future

    def _forget(self, key: tuple[str, bool], done: concurrent.futures.Future[Verdict]) -> None:
        with self._lock:
            if self._inflight.get(key) is done:
                del self._inflight[key]
                registry = self._registry_of.pop(key, "")
                left = self._per_registry.get(registry, 1) - 1
                if left > 0:
                    self._per_registry[registry] = left
                else:
                    self._per_registry.pop(registry, None)

    def _assess(self, name: ImageName, pin: bool) -> Verdict:
        """(worker thread) resolve the tag once, then reuse or make the verdict about that digest."""
        user_pinned = name.ref.digest is not None
        digest = str(name.ref.digest) if user_pinned else self.resolutions.get(name.canonical)
        if digest is None and self.config.resolve is not None:
            digest = self.config.resolve(name.canonical)
            self.resolutions.put(name.canonical, digest)
        judged_pinned = user_pinned or (pin and digest is not None)
        if digest is not None:
            cached = self.verdicts.get(self._key(name, digest, judged_pinned))
            if cached is not None:
                return cached
        reference = f"{name.repository}@{digest}" if judged_pinned else name.canonical
        verdict = self.config.assess(reference)
        if judged_pinned and verdict.manifest_digest != digest:
            raise TidegateError(f"assessed {reference} but the verdict is about {verdict.manifest_digest}")
        if not user_pinned:
            # The digest the assessment itself resolved the tag to (once) is the freshest answer.
            self.resolutions.put(name.canonical, verdict.manifest_digest)
        self.verdicts.put(self._key(name, verdict.manifest_digest, judged_pinned), verdict)
        return verdict


def _outcome(image: str, verdict: Verdict, *, cached: bool = False) -> ImageOutcome:
    failed = verdict.failed
    return ImageOutcome(image, verdict, reason=failed[0].rule if failed else "ok", cached=cached)


# -- (5) the answer -------------------------------------------------------------------------------------------


def _short(digest: str) -> str:
    algo, _, hexpart = digest.partition(":")
    return f"{algo}:{hexpart[:12]}" if hexpart else digest


def deny_message(images: list[str], outcomes: dict[str, ImageOutcome], policy_hash: str) -> str:
    """The message kubectl shows: a summary line, then one line per image that blocks, with its reasons."""
    lines = []
    for image in images:
        o = outcomes[image]
        if o.verdict is None:
            lines.append(f"- {image}: not judged ({o.error}); denied (fail-closed)")
        elif not o.verdict.allowed:
            lines.append(f"- {image} ({_short(o.digest)}): {'; '.join(o.verdict.reasons)}")
    return (f"tidegate: {len(lines)} of {len(images)} image(s) denied by policy {_short(policy_hash)}:\n"
            + "\n".join(lines))


def json_patch(sites: Iterable[ImageSite], outcomes: dict[str, ImageOutcome]) -> list[dict[str, Any]]:
    """RFC 6902 ``replace`` operations pinning every judged tag to ``repo@digest`` (``repo`` as written)."""
    ops: list[dict[str, Any]] = []
    for site in sites:
        o = outcomes.get(site.image)
        if o is None or o.verdict is None or "@" in site.image:
            continue  # already pinned by digest (that digest was judged), or not judged (fail-open)
        ops.append({"op": "replace", "path": site.pointer, "value": parse_image(site.image).pinned(o.digest)})
    return ops


__all__ = ["API_VERSION", "CONTAINER_LISTS", "DEFAULT_RESOLVE_TTL", "DEFAULT_TIMEOUT", "DEFAULT_VERDICT_TTL",
           "DEFAULT_WORKERS", "POD_SPEC_PATHS", "AdmissionInputError", "Assess", "ImageName", "ImageOutcome",
           "ImageSite", "Resolve", "Webhook", "WebhookConfig", "deny_message", "image_sites", "json_patch",
           "parse_image", "pod_spec_path"]
