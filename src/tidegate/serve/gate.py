"""``tidegate serve gate``: an OCI distribution (pull) endpoint that serves only what the policy allows.

    gate = Gate(GateConfig(upstream="https://registry.example", policy_hash=policy.hash,
                           assess=policy_assessor(policy, AssessOptions())))
    serve(gate.app, "127.0.0.1", 5443)
    $ skopeo copy docker://127.0.0.1:5443/team/app:1 oci:app:1      # 403 DENIED with the reasons, or the image

API (distribution-spec "Pull"; the gate is read-only):

- ``GET /v2/``: answers like a registry (``Docker-Distribution-API-Version: registry/2.0``) after asking the
  upstream with the client's credentials, so an upstream auth challenge reaches the client.
- ``GET|HEAD /v2/<name>/manifests/<tag|digest>``, in order:
  (1) fetch the manifest bytes from the upstream ONCE (the tag is resolved on every request: there is no tag
      cache, so a tag moved upstream is judged again);
  (2) hash the bytes; a digest reference or a ``Docker-Content-Digest`` header that disagrees → 502
      ``DIGEST_INVALID``, never served;
  (3) judge the digest: ``assess("<upstream-host>/<name>@sha256:…")`` (verdicts cached by repository + digest
      + platform + policy hash for a TTL, one assessment in flight per key). The assessment always names the
      digest, so a policy's ``requireDigest`` is met by the gate's own pinning: a client pulling by tag gets
      exactly the digest the gate resolved and judged;
  (4) allowed → serve exactly the bytes of (1) with ``Content-Type`` and ``Docker-Content-Digest`` taken from
      them, and grant the config and layer blobs they reference in this repository; denied → 403 with an OCI
      error body ``{"errors":[{"code":"DENIED","message":…,"detail":{"digest":…,"reasons":[…]}}]}``.
- ``GET|HEAD /v2/<name>/blobs/<digest>``: only a blob granted by (4) or by a pass-through artifact is streamed
  from the upstream; the stream is hashed as it goes and the last chunk is held back until the digest and size
  match, so a lying upstream ends in a broken transfer, never in a complete wrong blob. Anything else → 403.
- ``GET /v2/<name>/tags/list`` is relayed; every other method or endpoint → 405/404 ``UNSUPPORTED``.
- ``/healthz``; ``/metrics`` (``tidegate_gate_requests_total{kind,decision}``).

Indexes: an index is served only when every image it lists passes. Each child with a real platform is judged as
``assess(index@digest, platform)``: signatures and attestations are checked on the index digest (what ``cosign
sign`` signs) and that platform's manifest is the one scanned. Children without a platform, or with a platform
that appears twice, are assessed on their own (``name@child``). Attestation children (``unknown/unknown``, e.g.
BuildKit's ``attestation-manifest``) are not images: they are served as pass-through artifacts. Once the index
is allowed, its children are granted in the repository, so the client's next request (the child by digest) is
served without a second verdict; a child requested without its index first is assessed on its own.

Signature/attestation artifacts (tags ``sha256-<hex>.sig|.att|.sbom``, and attestation children of an allowed
index) are passed through without a verdict, since verification needs them, but only when none of their layers
is a filesystem layer: an image pushed under a ``.sig`` tag is refused, so the tag cannot smuggle a runnable
image past the policy.

Auth: the client's ``Authorization`` header is forwarded to the upstream on every request, manifest and blob,
and upstream 401 answers are relayed with their ``WWW-Authenticate`` challenge unchanged. The client gets its
token from the upstream's own token realm, and the upstream decides access per request, for cached verdicts
too. Assessment runs with the gate's own upstream credentials (``AssessOptions.source``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
import httpx
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from tidegate.errors import ManifestError, TidegateError, UsageError
from tidegate.image.manifest import INDEX_TYPES, LAYER_TYPES, MANIFEST_TYPES, MAX_MANIFEST_BYTES
from tidegate.image.registry import MANIFEST_ACCEPT, is_loopback
from tidegate.model.digest import Digest, parse_digest, sha256_of
from tidegate.policy.verdict import RuleResult, Verdict
from tidegate.serve.gate_state import Grants, ManifestGrant, VerdictCache, VerdictKey

if TYPE_CHECKING:
    from tidegate.policy.assess import AssessOptions
    from tidegate.policy.model import Policy

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:5443"
"""Where ``tidegate serve gate`` listens by default (loopback: exposing the gate is a deliberate choice)."""
API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")
"""The header a distribution registry sends on every answer."""
DEFAULT_VERDICT_TTL = 300.0
"""Seconds a verdict (and the grants it made) is kept."""
BLOB_CHUNK = 64 * 1024
"""Bytes per upstream read when streaming a blob."""
ARTIFACT_TAG = re.compile(r"^(sha256|sha512)-[0-9a-f]{64,128}\.(sig|att|sbom)$")
"""Cosign's tag scheme for signatures, attestations and SBOMs of a digest."""
_NAME = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_PATH = re.compile(r"^(?P<name>.+)/(?P<kind>manifests|blobs)/(?P<ref>[^/]+)$")
_RELAYED_STATUSES = (401, 403, 404, 429)
"""Upstream answers passed to the client as they are (auth, access, not found, rate limit)."""

Assessor = Callable[[str, "str | None"], Verdict]
"""Blocking ``(reference, platform) -> Verdict``: `reference` is ``host/name@sha256:…``; `platform`
(``os/arch[/variant]``) names the child to judge when the digest is an index, else None."""


def policy_assessor(policy: Policy, options: AssessOptions) -> Assessor:
    """The real `Assessor`: ``tidegate.policy.assess.assess`` under `policy`, the platform set per call."""
    from tidegate.policy.assess import assess

    def run(reference: str, platform: str | None) -> Verdict:
        scan = dataclasses.replace(options.scan, platform=platform)
        return assess(reference, policy, dataclasses.replace(options, scan=scan))

    return run


@dataclass(frozen=True, slots=True)
class GateConfig:
    """Everything a `Gate` needs; `assess` is injectable (tests pass a fake keyed by digest)."""

    upstream: str
    """Upstream registry URL (``https://registry.example``, ``http://127.0.0.1:5000``)."""
    policy_hash: str
    """`Policy.hash`: part of every verdict cache key."""
    assess: Assessor
    """Judges one digest (blocking; run in worker threads)."""
    verdict_ttl: float = DEFAULT_VERDICT_TTL
    """Seconds a verdict and its grants are kept."""
    insecure_upstream: bool = False
    """Allow a plain-HTTP upstream that is not loopback (TLS verification is never turned off)."""
    ca_file: str | None = None
    """CA bundle for an HTTPS upstream with a private CA."""
    timeout: float = 60.0
    """Upstream network timeout per request, in seconds."""
    max_assessments: int = 4
    """Assessments running at once (each may scan an image)."""
    transport: httpx.AsyncBaseTransport | None = None
    """HTTP transport for the upstream (tests)."""


def upstream_host(url: str, *, insecure: bool = False) -> str:
    """``host[:port]`` of the upstream URL, after checking it is a bare ``http(s)://host[:port]``."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as e:
        raise UsageError(f"--upstream {url!r}: not a URL") from e
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UsageError(f"--upstream {url!r}: expected http(s)://HOST[:PORT]")
    if parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        raise UsageError(f"--upstream {url!r}: a registry URL has no path (the API is at /v2/)")
    host = parsed.netloc.decode("ascii")
    if parsed.scheme == "http" and not insecure and not is_loopback(host):
        raise UsageError(f"--upstream {url!r}: plain HTTP to a non-loopback registry",
                         hint="use https://, or pass --insecure-upstream if this is intended")
    return host


def oci_error(status: int, code: str, message: str, detail: Any = None,
              headers: dict[str, str] | None = None) -> JSONResponse:
    """A distribution-spec error response: ``{"errors":[{"code","message","detail"}]}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        error["detail"] = detail
    return JSONResponse({"errors": [error]}, status_code=status,
                        headers={API_VERSION_HEADER[0]: API_VERSION_HEADER[1], **(headers or {})})


def denied_verdict(reference: str, digest: str, policy_hash: str, message: str) -> Verdict:
    """A verdict that blocks for a reason of the gate's own (assessment failed, wrong pin)."""
    return Verdict(reference=reference, manifest_digest=digest, policy_hash=policy_hash,
                   results=(RuleResult("gate", "fail", message),))


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A manifest as the upstream served it, already hashed."""

    data: bytes
    digest: Digest
    content_type: str
    doc: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Judgement:
    """The decision on one manifest or index."""

    allowed: bool
    reasons: tuple[str, ...]
    decision: str  # "allowed" | "denied" | "passthrough"


class _Refused(Exception):
    """A manifest request ends with `response` (relayed upstream answer or gate error)."""

    def __init__(self, response: Response, decision: str) -> None:
        super().__init__(decision)
        self.response = response
        self.decision = decision


class BlobStreamError(Exception):
    """The upstream's blob bytes did not match the digest or size; the transfer to the client is aborted."""


def _layers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The layer descriptors of a manifest document (dicts only)."""
    layers = doc.get("layers")
    return [x for x in layers if isinstance(x, dict)] if isinstance(layers, list) else []


def _descriptor_blobs(doc: dict[str, Any], where: str) -> list[tuple[str, int | None]]:
    """``(digest, size)`` of the config and every layer of a manifest; malformed descriptors → `ManifestError`."""
    out: list[tuple[str, int | None]] = []
    config = doc.get("config")
    for i, d in enumerate(([config] if isinstance(config, dict) else []) + _layers(doc)):
        digest = parse_digest(d.get("digest"), where=f"{where}: {'config' if i == 0 else 'layer'} descriptor")
        size = d.get("size")
        out.append((str(digest), size if isinstance(size, int) and size >= 0 else None))
    return out


def _runnable_layers(doc: dict[str, Any]) -> list[str]:
    """Media types of the filesystem layers a manifest carries (an artifact must carry none)."""
    return [str(x.get("mediaType")) for x in _layers(doc) if x.get("mediaType") in LAYER_TYPES
            or "image.rootfs" in str(x.get("mediaType")) or "image.layer" in str(x.get("mediaType"))]


def _platform(entry: dict[str, Any]) -> str | None:
    """``os/arch[/variant]`` of an index entry, ``unknown/unknown`` kept; None when it has no platform."""
    p = entry.get("platform")
    if not isinstance(p, dict) or not p.get("os") or not p.get("architecture"):
        return None
    parts = [str(p["os"]), str(p["architecture"])] + ([str(p["variant"])] if p.get("variant") else [])
    return "/".join(parts)


def _is_attestation_child(entry: dict[str, Any]) -> bool:
    """True for an index entry that is not an image (BuildKit attestations: ``unknown/unknown``)."""
    annotations = entry.get("annotations")
    if isinstance(annotations, dict) and annotations.get("vnd.docker.reference.type") == "attestation-manifest":
        return True
    return _platform(entry) == "unknown/unknown"


class Gate:
    """The gate: a Starlette app (`app`) over one upstream, one policy and one assessor."""

    def __init__(self, config: GateConfig) -> None:
        self.config = config
        """The configuration."""
        self.host = upstream_host(config.upstream, insecure=config.insecure_upstream)
        """``host[:port]`` of the upstream: the registry part of every assessed reference."""
        self.verdicts = VerdictCache(config.verdict_ttl)
        """Verdicts by digest + platform + policy hash."""
        self.grants = Grants(config.verdict_ttl)
        """Manifests and blobs each repository may serve."""
        self.metrics = CollectorRegistry()
        """This gate's Prometheus registry (one per gate, so tests can run several)."""
        self.requests_total = Counter("tidegate_gate_requests_total", "Gate requests by kind and decision",
                                      ["kind", "decision"], registry=self.metrics)
        """``tidegate_gate_requests_total{kind=version|manifest|blob|tags|other,
        decision=allowed|denied|passthrough|upstream|error}``."""
        self._base = str(httpx.URL(config.upstream).copy_with(path="", query=None)).rstrip("/")
        self._inflight: dict[VerdictKey, asyncio.Future[Verdict]] = {}
        self._limiter = anyio.CapacityLimiter(max(1, config.max_assessments))
        from tidegate import __version__

        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout, connect=min(5.0, config.timeout)), follow_redirects=True,
            verify=ssl.create_default_context(cafile=config.ca_file) if config.ca_file else True,
            transport=config.transport, headers={"User-Agent": f"tidegate-gate/{__version__}"})
        self.app = Starlette(routes=[
            Route("/healthz", self._healthz, methods=["GET", "HEAD"]),
            Route("/metrics", self._metrics, methods=["GET"]),
            Route("/v2", self._version, methods=["GET", "HEAD"]),
            Route("/v2/", self._version, methods=["GET", "HEAD"]),
            Route("/v2/{path:path}", self._v2, methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
        ], lifespan=self._lifespan)
        """The ASGI application."""

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self._http.aclose()

    # -- small endpoints ----------------------------------------------------------------------------------

    async def _healthz(self, request: Request) -> Response:
        return PlainTextResponse("ok")

    async def _metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.metrics), media_type=CONTENT_TYPE_LATEST)

    def _count(self, kind: str, decision: str) -> None:
        self.requests_total.labels(kind=kind, decision=decision).inc()

    def _forward_headers(self, request: Request, accept: str | None = None) -> dict[str, str]:
        """Headers for the upstream: the client's Authorization (auth pass-through), Accept, identity encoding."""
        headers = {"Accept-Encoding": "identity"}
        if accept:
            headers["Accept"] = accept
        auth = request.headers.get("authorization")
        if auth:
            headers["Authorization"] = auth
        return headers

    async def _relay(self, response: httpx.Response) -> Response:
        """The upstream's answer as it is (status, body, auth challenge): for 401/403/404/429."""
        body = await response.aread()
        headers = {API_VERSION_HEADER[0]: API_VERSION_HEADER[1]}
        for name in ("Content-Type", "Retry-After"):
            if name in response.headers:
                headers[name] = response.headers[name]
        out = Response(body, status_code=response.status_code, headers=headers)
        for value in response.headers.get_list("WWW-Authenticate"):
            out.headers.append("WWW-Authenticate", value)
        return out

    def _unreachable(self, e: httpx.HTTPError) -> Response:
        log.warning("upstream %s: %s", self.host, e)
        return oci_error(502, "UNAVAILABLE", f"upstream registry {self.host} unreachable: {type(e).__name__}")

    async def _version(self, request: Request) -> Response:
        """``/v2/``: ask the upstream with the client's credentials; relay a challenge, else answer 200."""
        try:
            response = await self._http.get(f"{self._base}/v2/", headers=self._forward_headers(request))
        except httpx.HTTPError as e:
            self._count("version", "error")
            return self._unreachable(e)
        if response.status_code in _RELAYED_STATUSES:
            self._count("version", "upstream")
            return await self._relay(response)
        if response.status_code != 200:
            self._count("version", "error")
            return oci_error(502, "UNAVAILABLE", f"upstream registry {self.host} answered HTTP "
                                                 f"{response.status_code} for /v2/")
        self._count("version", "allowed")
        return JSONResponse({}, headers={API_VERSION_HEADER[0]: API_VERSION_HEADER[1]})

    async def _v2(self, request: Request) -> Response:
        path = str(request.path_params["path"])
        if request.method not in ("GET", "HEAD"):
            self._count("other", "denied")
            return oci_error(405, "UNSUPPORTED", "the tidegate gate is read-only (pull only)")
        if path.endswith("/tags/list") and _NAME.match(path[: -len("/tags/list")]):
            return await self._tags(request, path[: -len("/tags/list")])
        m = _PATH.match(path)
        if not m or not _NAME.match(m["name"]):
            self._count("other", "denied")
            return oci_error(404, "UNSUPPORTED", f"not served by the tidegate gate: /v2/{path[:200]}")
        if m["kind"] == "manifests":
            return await self._manifest(request, m["name"], m["ref"])
        return await self._blob(request, m["name"], m["ref"])

    async def _tags(self, request: Request, name: str) -> Response:
        """Relay ``tags/list`` (names only; every manifest a tag names is still judged when pulled)."""
        try:
            response = await self._http.get(f"{self._base}/v2/{name}/tags/list", params=request.query_params,
                                            headers=self._forward_headers(request))
        except httpx.HTTPError as e:
            self._count("tags", "error")
            return self._unreachable(e)
        self._count("tags", "upstream")
        if response.status_code != 200:
            return await self._relay(response)
        return Response(response.content, media_type="application/json",
                        headers={API_VERSION_HEADER[0]: API_VERSION_HEADER[1]})

    # -- manifests --------------------------------------------------------------------------------------

    async def _manifest(self, request: Request, name: str, reference: str) -> Response:
        try:
            fetched = await self._fetch_manifest(request, name, reference)
            judgement = await self._judge(name, reference, fetched)
        except _Refused as r:
            self._count("manifest", r.decision)
            return r.response
        self._count("manifest", judgement.decision)
        if not judgement.allowed:
            log.info("denied %s/%s (%s): %s", name, reference, fetched.digest, "; ".join(judgement.reasons))
            message = f"{self.host}/{name}@{fetched.digest} denied by policy: " + "; ".join(judgement.reasons)
            return oci_error(403, "DENIED", message, {"digest": str(fetched.digest),
                                                      "reasons": list(judgement.reasons)})
        headers = {"Content-Type": fetched.content_type, "Docker-Content-Digest": str(fetched.digest),
                   "Content-Length": str(len(fetched.data)), "Etag": f'"{fetched.digest}"',
                   API_VERSION_HEADER[0]: API_VERSION_HEADER[1]}
        if request.method == "HEAD":
            return Response(b"", headers=headers)
        return Response(fetched.data, headers=headers)

    async def _fetch_manifest(self, request: Request, name: str, reference: str) -> _Fetched:
        """(1)+(2): the upstream's bytes for `reference`, hashed and checked; raises `_Refused` otherwise."""
        pinned: Digest | None = None
        if ":" in reference:
            try:
                pinned = parse_digest(reference, where="manifest reference")
            except ManifestError as e:
                raise _Refused(oci_error(400, "DIGEST_INVALID", e.message), "error") from e
        elif not _TAG.match(reference):
            raise _Refused(oci_error(400, "TAG_INVALID", f"invalid tag {reference[:140]!r}"), "error")
        # The client's Accept when it names manifest types (an upstream may choose by it), else ours: a bare
        # "*/*" makes distribution hide OCI manifests (MANIFEST_UNKNOWN).
        accept = ", ".join(request.headers.getlist("accept"))
        if not any(t in accept for t in INDEX_TYPES + MANIFEST_TYPES):
            accept = MANIFEST_ACCEPT
        url = f"{self._base}/v2/{name}/manifests/{reference}"
        where = f"{self.host}/{name}{'@' if pinned else ':'}{reference}"
        try:
            async with self._http.stream("GET", url, headers=self._forward_headers(request, accept)) as response:
                if response.status_code in _RELAYED_STATUSES:
                    raise _Refused(await self._relay(response), "upstream")
                if response.status_code != 200:
                    raise _Refused(oci_error(502, "UNAVAILABLE", f"upstream answered HTTP {response.status_code} "
                                                                f"for {where}"), "error")
                body = bytearray()
                async for chunk in response.aiter_raw():
                    body += chunk
                    if len(body) > MAX_MANIFEST_BYTES:
                        raise _Refused(oci_error(502, "MANIFEST_INVALID", f"{where}: manifest larger than "
                                                                          f"{MAX_MANIFEST_BYTES} bytes"), "error")
                header_digest = response.headers.get("Docker-Content-Digest")
                content_type = (response.headers.get("Content-Type") or "").split(";", 1)[0].strip()
        except httpx.HTTPError as e:
            raise _Refused(self._unreachable(e), "error") from e
        data = bytes(body)
        digest = sha256_of(data)
        # (2) The bytes are the truth: a digest we were asked for, or one the upstream claims, must match them.
        for claimed, what in ((pinned, "the requested digest"), (header_digest, "its Docker-Content-Digest")):
            if claimed is None:
                continue
            try:
                want = claimed if isinstance(claimed, Digest) else parse_digest(claimed.strip(), where=where)
            except ManifestError as e:
                raise _Refused(oci_error(502, "DIGEST_INVALID", e.message), "error") from e
            hasher = want.hasher()
            hasher.update(data)
            if hasher.hexdigest() != want.hex:
                log.warning("%s: upstream served bytes that do not match %s", where, what)
                raise _Refused(oci_error(502, "DIGEST_INVALID", f"{where}: the upstream served a manifest whose "
                                                                f"bytes do not match {what} ({want}); not served",
                                         {"expected": str(want), "actual": str(digest)}), "error")
        try:
            doc = json.loads(data)
        except ValueError as e:
            raise _Refused(oci_error(502, "MANIFEST_INVALID", f"{where}: not JSON"), "error") from e
        if not isinstance(doc, dict):
            raise _Refused(oci_error(502, "MANIFEST_INVALID", f"{where}: not a JSON object"), "error")
        declared = doc.get("mediaType")
        media_type = declared if isinstance(declared, str) and declared else content_type
        if not media_type:
            media_type = INDEX_TYPES[0] if "manifests" in doc else MANIFEST_TYPES[0]
        if media_type not in INDEX_TYPES + MANIFEST_TYPES:
            raise _Refused(oci_error(403, "DENIED", f"{where}: media type {media_type!r} is not an image "
                                                    "manifest or index the gate can judge",
                                     {"digest": str(digest), "reasons": [f"unsupported media type {media_type}"]}),
                           "denied")
        return _Fetched(data, digest, media_type, doc)

    async def _judge(self, name: str, reference: str, fetched: _Fetched) -> _Judgement:
        """(3): pass-through artifact, child of an allowed index, or a verdict; grants on success."""
        digest = str(fetched.digest)
        where = f"{self.host}/{name}@{digest}"
        is_index = fetched.content_type in INDEX_TYPES
        grant = self.grants.manifest(name, digest)
        if ARTIFACT_TAG.match(reference) or (grant is not None and grant.passthrough):
            return self._passthrough(name, fetched, is_index, where)
        if is_index:
            judgement = await self._judge_index(name, fetched)
        elif grant is not None:
            judgement = _Judgement(True, (), "allowed")  # a platform child of an index that passed
        else:
            verdict = await self._verdict(where, fetched.digest, None)
            judgement = _Judgement(verdict.allowed, verdict.reasons, "allowed" if verdict.allowed else "denied")
        if judgement.allowed and not is_index:
            try:
                blobs = _descriptor_blobs(fetched.doc, where)
            except ManifestError as e:
                return _Judgement(False, (e.message,), "denied")
            self.grants.allow_blobs(name, blobs, passthrough=False)
        return judgement

    def _passthrough(self, name: str, fetched: _Fetched, is_index: bool, where: str) -> _Judgement:
        """Serve a signature/attestation artifact without a verdict, unless it carries filesystem layers."""
        if is_index:
            return _Judgement(False, ("an artifact tag must name a manifest, not an index",), "denied")
        runnable = _runnable_layers(fetched.doc)
        if runnable:
            reason = (f"artifact carries {len(runnable)} filesystem layer(s) ({runnable[0]}): an image under a "
                      "signature/attestation tag is not passed through")
            return _Judgement(False, (reason,), "denied")
        try:
            blobs = _descriptor_blobs(fetched.doc, where)
        except ManifestError as e:
            return _Judgement(False, (e.message,), "denied")
        self.grants.allow_blobs(name, blobs, passthrough=True)
        return _Judgement(True, (), "passthrough")

    async def _judge_index(self, name: str, fetched: _Fetched) -> _Judgement:
        """Every image the index lists must pass (see the module docstring); then its children are granted."""
        digest = str(fetched.digest)
        where = f"{self.host}/{name}@{digest}"
        entries = fetched.doc.get("manifests")
        if not isinstance(entries, list) or not entries:
            return _Judgement(False, ("the index lists no manifests",), "denied")
        jobs: list[tuple[str, Digest, str | None, str]] = []  # (child digest, assessed digest, platform, label)
        attestations: list[str] = []
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                return _Judgement(False, (f"index entry {i} is not an object",), "denied")
            try:
                child = parse_digest(entry.get("digest"), where=f"{where}: manifests[{i}]")
            except ManifestError as e:
                return _Judgement(False, (e.message,), "denied")
            if entry.get("mediaType") in INDEX_TYPES:
                return _Judgement(False, (f"manifests[{i}] is a nested index (not supported by the gate)",), "denied")
            if _is_attestation_child(entry):
                attestations.append(str(child))
                continue
            platform = _platform(entry)
            if platform is not None and platform not in seen:
                seen.add(platform)
                jobs.append((str(child), fetched.digest, platform, platform))
            else:  # no platform, or a second child of the same platform: judged on its own
                jobs.append((str(child), child, None, f"manifests[{i}] {child.short}"))
        if not jobs:
            return _Judgement(False, ("the index lists no image manifest",), "denied")
        verdicts = await asyncio.gather(*(
            self._verdict(f"{self.host}/{name}@{assessed}", assessed, platform) for _, assessed, platform, _ in jobs))
        reasons = tuple(f"{label}: {reason}" for (_, _, _, label), v in zip(jobs, verdicts, strict=True)
                        for reason in v.reasons)
        if reasons:
            return _Judgement(False, reasons, "denied")
        for child_digest, *_ in jobs:
            self.grants.allow_manifest(name, child_digest, ManifestGrant(digest, passthrough=False))
        for attestation in attestations:
            self.grants.allow_manifest(name, attestation, ManifestGrant(digest, passthrough=True))
        return _Judgement(True, (), "allowed")

    async def _verdict(self, reference: str, digest: Digest, platform: str | None) -> Verdict:
        """The cached verdict, or one assessment (one in flight per key); never raises: failures deny."""
        key = VerdictKey(reference.split("@", 1)[0], str(digest), platform, self.config.policy_hash)
        cached = self.verdicts.get(key)
        if cached is not None:
            return cached
        running = self._inflight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[Verdict] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            verdict, cacheable = await self._assess(reference, key)
            if cacheable:
                self.verdicts.put(key, verdict)
            future.set_result(verdict)
            return verdict
        except BaseException as e:  # cancelled: let waiters see it too
            future.set_exception(e)
            future.exception()  # mark retrieved
            raise
        finally:
            self._inflight.pop(key, None)

    async def _assess(self, reference: str, key: VerdictKey) -> tuple[Verdict, bool]:
        """Run the assessor in a worker thread; a failure or a verdict about another digest denies (uncached)."""
        what = f"{reference}{f' ({key.platform})' if key.platform else ''}"
        try:
            verdict = await anyio.to_thread.run_sync(self.config.assess, reference, key.platform,
                                                     limiter=self._limiter)
        except TidegateError as e:
            log.warning("%s: assessment failed: %s", what, e.message)
            return denied_verdict(reference, key.digest, key.policy_hash,
                                  f"could not be assessed: {e.message}"), False
        except Exception as e:
            log.exception("%s: assessment failed", what)
            return denied_verdict(reference, key.digest, key.policy_hash,
                                  f"could not be assessed: internal error {type(e).__name__}"), False
        if verdict.manifest_digest != key.digest:
            log.warning("%s: the assessment judged %s, not %s", what, verdict.manifest_digest, key.digest)
            return denied_verdict(reference, key.digest, key.policy_hash,
                                  f"the assessment judged {verdict.manifest_digest}, not {key.digest}"), False
        log.info("%s: %s", what, "allowed" if verdict.allowed else "denied: " + "; ".join(verdict.reasons))
        return verdict, True

    # -- blobs ----------------------------------------------------------------------------------------

    async def _blob(self, request: Request, name: str, reference: str) -> Response:
        try:
            digest = parse_digest(reference, where="blob digest")
        except ManifestError as e:
            self._count("blob", "error")
            return oci_error(400, "DIGEST_INVALID", e.message)
        grant = self.grants.blob(name, str(digest))
        if grant is None:
            self._count("blob", "denied")
            message = (f"blob {digest} is not referenced by a manifest of {name} that passed the policy "
                       "(pull the manifest through the gate first)")
            return oci_error(403, "DENIED", message, {"digest": str(digest), "reasons": [message]})
        url = f"{self._base}/v2/{name}/blobs/{digest}"
        headers = self._forward_headers(request)
        try:
            upstream = await self._http.send(self._http.build_request(request.method, url, headers=headers),
                                             stream=True)
        except httpx.HTTPError as e:
            self._count("blob", "error")
            return self._unreachable(e)
        if upstream.status_code != 200:
            self._count("blob", "upstream" if upstream.status_code in _RELAYED_STATUSES else "error")
            try:
                if upstream.status_code in _RELAYED_STATUSES:
                    return await self._relay(upstream)
                return oci_error(502, "UNAVAILABLE", f"upstream answered HTTP {upstream.status_code} for blob "
                                                     f"{digest}")
            finally:
                await upstream.aclose()
        declared = upstream.headers.get("Content-Length")
        size = grant.size if grant.size is not None else (int(declared) if declared and declared.isdigit() else None)
        if size is not None and declared and declared.isdigit() and int(declared) != size:
            await upstream.aclose()
            self._count("blob", "error")
            return oci_error(502, "SIZE_INVALID", f"upstream blob {digest} has {declared} bytes, the manifest "
                                                  f"says {size}")
        out_headers = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": str(digest),
                       API_VERSION_HEADER[0]: API_VERSION_HEADER[1]}
        if size is not None:
            out_headers["Content-Length"] = str(size)
        if grant.passthrough and request.method != "HEAD":
            return await self._artifact_blob(upstream, digest, size, out_headers)
        self._count("blob", "passthrough" if grant.passthrough else "allowed")
        if request.method == "HEAD":
            await upstream.aclose()
            return Response(b"", headers=out_headers)
        return StreamingResponse(self._verified_stream(upstream, digest, size), headers=out_headers)

    async def _artifact_blob(self, upstream: httpx.Response, digest: Digest, size: int | None,
                             headers: dict[str, str]) -> Response:
        """A blob granted only by a signature/attestation artifact: served only when its verified bytes ARE such
        an artifact (a simple-signing payload, a DSSE envelope, or an empty artifact config).

        Without this, anyone able to push upstream could list a denied image's layers (relabelled) under a
        ``sha256-….sig`` tag and pull them through the gate (found by the QA pass)."""
        try:
            data = b""
            async for chunk in upstream.aiter_raw(BLOB_CHUNK):
                data += chunk
                if len(data) > MAX_ARTIFACT_BLOB:
                    break
        finally:
            await upstream.aclose()
        reason = None
        if len(data) > MAX_ARTIFACT_BLOB:
            reason = f"more than {MAX_ARTIFACT_BLOB:,} bytes: not a signature or attestation"
        elif (size is not None and len(data) != size) or _hexdigest(digest, data) != digest.hex:
            self._count("blob", "error")
            return oci_error(502, "DIGEST_INVALID", f"upstream blob {digest} does not match its digest or size")
        else:
            reason = artifact_blob_problem(data)
        if reason is not None:
            self._count("blob", "denied")
            message = f"blob {digest} is listed only by a signature/attestation artifact and {reason}"
            return oci_error(403, "DENIED", message, {"digest": str(digest), "reasons": [message]})
        self._count("blob", "passthrough")
        return Response(data, headers=headers)

    async def _verified_stream(self, upstream: httpx.Response, digest: Digest,
                               size: int | None) -> AsyncIterator[bytes]:
        """The upstream's bytes, hashed on the way; the last chunk is sent only when digest and size match."""
        hasher = digest.hasher()
        seen = 0
        held = b""
        try:
            async for chunk in upstream.aiter_raw(BLOB_CHUNK):
                if not chunk:
                    continue
                hasher.update(chunk)
                seen += len(chunk)
                if size is not None and seen > size:
                    raise BlobStreamError(f"blob {digest}: upstream sent more than {size} bytes")
                if held:
                    yield held
                held = chunk
            if size is not None and seen != size:
                raise BlobStreamError(f"blob {digest}: upstream sent {seen} bytes, expected {size}")
            if hasher.hexdigest() != digest.hex:
                raise BlobStreamError(f"blob {digest}: upstream bytes hash to {digest.algorithm}:"
                                      f"{hasher.hexdigest()}; transfer aborted")
            if held:
                yield held
        except BlobStreamError as e:
            log.warning("%s", e)
            self._count("blob", "error")
            raise
        finally:
            await upstream.aclose()


MAX_ARTIFACT_BLOB = 16 * 1024 * 1024
"""Largest blob served on the strength of a signature/attestation artifact (an SBOM attestation fits)."""


def _hexdigest(digest: Digest, data: bytes) -> str:
    h = digest.hasher()
    h.update(data)
    return h.hexdigest()


def artifact_blob_problem(data: bytes) -> str | None:
    """Why `data` is not a cosign signature/attestation blob (None when it is one).

    Accepted: a simple-signing payload (``critical.image``), a DSSE envelope (``payloadType``, ``payload``,
    ``signatures``), an in-toto statement (BuildKit attestations), ``{}``, or an artifact config with no runtime
    ``config`` and no build steps (what cosign and BuildKit write).
    """
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return "is not JSON (an image layer?)"
    if not isinstance(doc, dict):
        return "is not a JSON object"
    critical = doc.get("critical")
    if isinstance(critical, dict) and isinstance(critical.get("image"), dict):
        return None
    if {"payloadType", "payload", "signatures"} <= doc.keys() or not doc:
        return None
    if str(doc.get("_type", "")).startswith("https://in-toto.io/Statement/") and "predicateType" in doc:
        return None  # BuildKit's attestation manifests hold bare in-toto statements
    if "rootfs" in doc or "architecture" in doc or "os" in doc:
        if doc.get("config"):
            return "is an image config with runtime settings (an image's config, not an artifact's)"
        if any(isinstance(h, dict) and h.get("created_by") for h in doc.get("history") or ()):
            return "is an image config with build steps (an image's config, not an artifact's)"
        return None
    return "is neither a simple-signing payload, a DSSE envelope nor an artifact config"


def serve(app: Starlette, host: str, port: int, *, tls_cert: str | None = None,
          tls_key: str | None = None) -> None:
    """Run `app` with uvicorn until interrupted (TLS when a certificate and key are given)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, ssl_certfile=tls_cert, ssl_keyfile=tls_key, log_level="warning",
                access_log=False, lifespan="on")


__all__ = ["ARTIFACT_TAG", "DEFAULT_LISTEN", "DEFAULT_VERDICT_TTL", "Assessor", "BlobStreamError", "Gate",
           "GateConfig", "denied_verdict", "oci_error", "policy_assessor", "serve", "upstream_host"]
