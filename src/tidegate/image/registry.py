"""A client for the OCI distribution API (v2): manifests, streaming blobs, the auth challenge, retries.

    with RegistryClient("127.0.0.1:5000", "tidegate/app", SourceOptions()) as client:
        manifest = client.fetch_manifest("1")          # tag or digest → FetchedManifest(data, media_type, …)
        with client.open_blob(config_digest) as blob:  # raw stored bytes, streamed
            blob.read(65536)

What this module checks itself (everything else is the resolver's job, ``tidegate.image.manifest``):

1. a manifest's ``Docker-Content-Digest`` header, when present, against the body (distribution-spec
   "Pulling manifests"), and a manifest fetched by digest against that digest;
2. manifest size (``MAX_MANIFEST_BYTES``), read as a stream and stopped at the bound.

Auth follows the distribution token spec (``docs/spec/auth/token.md``): on 401 the ``WWW-Authenticate``
challenge says ``Basic`` (send credentials) or ``Bearer realm,service,scope`` (get a token from the realm with
the credentials, cache it per scope, retry). Blob redirects to storage are followed; httpx drops our
``Authorization`` header when a redirect leaves the registry's origin.
"""

from __future__ import annotations

import base64
import email.utils
import io
import ipaddress
import json
import logging
import re
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Self
from urllib.parse import quote

import httpx

from tidegate.errors import AuthError, BlobNotFound, DigestMismatch, ManifestError, RegistryError
from tidegate.image.auth import Credentials, resolve_credentials
from tidegate.image.manifest import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    DOCKER_SCHEMA1,
    MAX_MANIFEST_BYTES,
    OCI_INDEX,
    OCI_MANIFEST,
)
from tidegate.image.reference import DOCKER_HUB, DOCKER_HUB_API
from tidegate.image.sources.base import SourceOptions
from tidegate.model.digest import Digest, parse_digest

log = logging.getLogger(__name__)

MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST, *DOCKER_SCHEMA1))
"""``Accept`` for manifest requests. Schema 1 is listed so the resolver can refuse it with a clear message
instead of the registry answering 404 or converting."""
CONNECT_TIMEOUT = 5.0
"""Connect timeout in seconds: an unreachable registry must fail fast."""
BACKOFF_BASE = 0.2
"""First retry delay in seconds; doubles per attempt."""
BACKOFF_CAP = 5.0
"""Longest computed back-off delay in seconds."""
RETRY_AFTER_CAP = 30.0
"""Longest ``Retry-After`` we honour, in seconds."""
TOKEN_DEFAULT_TTL = 60.0
"""Token lifetime when the token server gives no ``expires_in`` (the token spec's default)."""
BLOB_CHUNK = 64 * 1024
"""Bytes per network read of a blob."""
_ERROR_BODY_MAX = 64 * 1024
"""Bytes of an error response we read to explain it."""


@dataclass(frozen=True, slots=True)
class FetchedManifest:
    """A manifest or index as the registry served it."""

    data: bytes
    """The exact body bytes (the digest is computed over these)."""
    media_type: str | None
    """``Content-Type`` without parameters, or None when absent."""
    header_digest: Digest | None
    """``Docker-Content-Digest`` when the registry sent one (already checked against `data`)."""


@dataclass(frozen=True, slots=True)
class Challenge:
    """One parsed ``WWW-Authenticate`` challenge."""

    scheme: str
    """``basic`` or ``bearer`` (lower-cased)."""
    params: dict[str, str]
    """Auth parameters (``realm``, ``service``, ``scope``, …) with lower-cased names."""


_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_challenges(values: list[str]) -> list[Challenge]:
    """Parse ``WWW-Authenticate`` header values (RFC 7235) into challenges, in order."""
    out: list[Challenge] = []
    for value in values:
        rest = value.strip()
        while rest:
            m = re.match(r"([A-Za-z][A-Za-z0-9_-]*)(?:\s+|$)", rest)
            if not m:
                break
            scheme, rest = m.group(1).lower(), rest[m.end():]
            params: dict[str, str] = {}
            while True:
                pm = _PARAM_RE.match(rest)
                if not pm:
                    break
                raw = pm.group(2)
                params[pm.group(1).lower()] = (re.sub(r"\\(.)", r"\1", raw) if raw is not None
                                               else pm.group(3) or "")
                rest = rest[pm.end():]
            out.append(Challenge(scheme, params))
            rest = rest.lstrip(", ")
    return out


def api_host(registry: str) -> str:
    """The host[:port] serving `registry`'s API (Docker Hub's is ``registry-1.docker.io``)."""
    return DOCKER_HUB_API if registry in (DOCKER_HUB, "index.docker.io") else registry


def _bare_host(hostport: str) -> str:
    """``host`` of ``host[:port]`` / ``[v6]:port``."""
    if hostport.startswith("["):
        return hostport[1:].split("]", 1)[0]
    return hostport.rsplit(":", 1)[0] if hostport.count(":") == 1 else hostport


def is_loopback(hostport: str) -> bool:
    """True for ``localhost``, ``127.0.0.0/8`` and ``::1`` (with or without a port)."""
    host = _bare_host(hostport).lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def uses_plain_http(registry: str, options: SourceOptions) -> bool:
    """True when `registry` is reached over plain HTTP: loopback, or listed in ``insecure_registries``."""
    if is_loopback(registry):
        return True
    return any(registry == r or _bare_host(registry) == r for r in options.insecure_registries)


def _one_line(text: str, limit: int = 300) -> str:
    """Collapse whitespace so a foreign message fits a one-line error."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _transport_reason(exc: BaseException) -> str:
    """A short reason for a transport failure (``Connection refused``, ``timed out``)."""
    text = str(exc) or type(exc).__name__
    m = re.search(r"\[Errno -?\d+\] ([^\]'\")]+)", text)
    return _one_line(m.group(1) if m else text, 200)


def _is_tls_verify_error(exc: BaseException) -> bool:
    """True when `exc` (or its cause chain) is a certificate verification failure: retrying cannot help."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class BlobStream(io.RawIOBase):
    """A file-like view of a streamed blob response; holds at most one network chunk in memory."""

    def __init__(self, response: httpx.Response, where: str) -> None:
        super().__init__()
        self._response = response
        self._where = where
        self._chunks: Iterator[bytes] = response.iter_raw(BLOB_CHUNK)
        self._pending = memoryview(b"")
        self._eof = False

    def readable(self) -> bool:
        """Always True."""
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        """Fill `buffer` from the stream; returns fewer bytes only at the end."""
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            if not self._pending:
                if self._eof:
                    break
                try:
                    chunk = next(self._chunks)
                except StopIteration:
                    self._eof = True
                    break
                except httpx.HTTPError as e:
                    raise RegistryError(f"{self._where}: download failed: {_transport_reason(e)}") from e
                self._pending = memoryview(chunk)
                continue
            take = min(len(self._pending), len(view) - filled)
            view[filled:filled + take] = self._pending[:take]
            self._pending = self._pending[take:]
            filled += take
        return filled

    def close(self) -> None:
        """Close the HTTP response (releasing the connection)."""
        if not self.closed:
            self._response.close()
        super().close()


class RegistryClient:
    """The distribution API for one repository of one registry. Use as a context manager."""

    def __init__(self, registry: str, repository: str, options: SourceOptions, *,
                 credentials: Callable[[], Credentials | None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        """`credentials` defaults to `resolve_credentials` (called lazily, on the first challenge)."""
        self.registry = registry
        """Registry as the user named it (``docker.io``, ``127.0.0.1:5000``)."""
        self.repository = repository
        """Repository path (``library/python``)."""
        self.options = options
        """Timeouts, retries, TLS and credential options."""
        self.backoff_base = BACKOFF_BASE
        """First retry delay in seconds (tests shorten it)."""
        scheme = "http" if uses_plain_http(registry, options) else "https"
        self.base_url = f"{scheme}://{api_host(registry)}"
        """``scheme://host[:port]`` of the API."""
        self._credentials_fn = credentials or (lambda: resolve_credentials(registry, options))
        self._credentials: Credentials | None = None
        self._credentials_loaded = False
        self._tokens: dict[str, tuple[str, float]] = {}
        self._basic: str | None = None
        self._scope = f"repository:{repository}:pull"
        self._active_scope = self._scope
        verify: ssl.SSLContext | bool = True
        if scheme == "https":
            verify = ssl.create_default_context(cafile=options.ca_file) if options.ca_file else True
        timeout = httpx.Timeout(options.timeout, connect=min(CONNECT_TIMEOUT, options.timeout))
        from tidegate import __version__ as version

        self._http = httpx.Client(timeout=timeout, follow_redirects=True, verify=verify, transport=transport,
                                  headers={"User-Agent": f"tidegate/{version}"})

    # -- public API ---------------------------------------------------------------------------------------

    def fetch_manifest(self, reference: str | Digest, *, expected: Digest | None = None) -> FetchedManifest:
        """GET ``/v2/<name>/manifests/<tag|digest>``; 404 → `RegistryError` (or `BlobNotFound` by digest)."""
        if isinstance(reference, Digest):
            expected = expected or reference
        ref_text = str(reference)
        where = f"{self.registry}/{self.repository}{'@' if expected else ':'}{ref_text}"
        url = f"{self.base_url}/v2/{self.repository}/manifests/{quote(ref_text, safe=':')}"
        # Identity encoding asked for (the digest covers the body as stored); if a server compresses anyway,
        # iter_bytes decodes and the size bound applies to the decoded bytes.
        response = self._request("GET", url, headers={"Accept": MANIFEST_ACCEPT, "Accept-Encoding": "identity"},
                                 where=where)
        try:
            if response.status_code == 404:
                code = self._error_code(response)
                if expected is not None:
                    raise BlobNotFound(f"manifest {expected} not found in {self.registry}/{self.repository}"
                                       f"{f' ({code})' if code else ''}")
                raise RegistryError(f"{where}: manifest not found{f' ({code})' if code else ''}",
                                    hint="check the repository name and tag")
            self._raise_for_status(response, where)
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > MAX_MANIFEST_BYTES:
                raise ManifestError(f"{where}: manifest of {int(declared):,} bytes exceeds the "
                                    f"{MAX_MANIFEST_BYTES:,}-byte limit")
            body = bytearray()
            try:
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_MANIFEST_BYTES:
                        raise ManifestError(f"{where}: manifest exceeds the {MAX_MANIFEST_BYTES:,}-byte limit")
            except httpx.HTTPError as e:
                raise RegistryError(f"{where}: download failed: {_transport_reason(e)}") from e
        finally:
            response.close()
        data = bytes(body)
        content_type = response.headers.get("Content-Type")
        media_type = content_type.split(";", 1)[0].strip() or None if content_type else None
        header_digest = None
        header_value = response.headers.get("Docker-Content-Digest")
        if header_value:
            header_digest = parse_digest(header_value.strip(), where=f"{where}: Docker-Content-Digest")
            self._check_digest(data, header_digest, f"{where}: body does not match Docker-Content-Digest")
        if expected is not None:
            self._check_digest(data, expected, f"{where}: registry served other content")
        return FetchedManifest(data, media_type, header_digest)

    def open_blob(self, digest: Digest) -> BlobStream:
        """Stream ``/v2/<name>/blobs/<digest>`` (raw stored bytes, unverified); 404 → `BlobNotFound`."""
        where = f"blob {digest} in {self.registry}/{self.repository}"
        url = f"{self.base_url}/v2/{self.repository}/blobs/{digest}"
        # NOTE: identity encoding: the digest covers the stored bytes, so no transfer compression on top.
        response = self._request("GET", url, headers={"Accept-Encoding": "identity"}, where=where)
        if response.status_code == 404:
            code = self._error_code(response)
            response.close()
            raise BlobNotFound(f"{where}: not found{f' ({code})' if code else ''}")
        try:
            self._raise_for_status(response, where)
        except BaseException:
            response.close()
            raise
        return BlobStream(response, where)

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport: retries ---------------------------------------------------------------------------

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        """Back-off before retry `attempt` (0-based): ``Retry-After`` when given (capped), else exponential."""
        if response is not None:
            after = _retry_after(response.headers.get("Retry-After"))
            if after is not None:
                return min(after, RETRY_AFTER_CAP)
        return min(self.backoff_base * (2.0 ** attempt), BACKOFF_CAP)

    def _send(self, request: httpx.Request, where: str) -> httpx.Response:
        """Send with retries on 429, 5xx and transport errors; returns an open streaming response."""
        attempts = max(0, self.options.retries) + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._http.send(request, stream=True)
            except httpx.TransportError as e:
                host = request.url.netloc.decode("ascii")
                if _is_tls_verify_error(e):
                    raise RegistryError(f"registry {host}: TLS certificate verification failed",
                                        hint="pass a CA bundle (ca_file) or list the registry as insecure") from e
                if last:
                    raise RegistryError(f"registry {host} unreachable: {_transport_reason(e)}") from e
                delay = self._delay(attempt, None)
                log.debug("%s: %s; retry %d/%d in %.1fs", where, _transport_reason(e), attempt + 1,
                          attempts - 1, delay)
                time.sleep(delay)
                continue
            status = response.status_code
            if (status == 429 or (status >= 500 and status not in (501, 505))) and not last:
                delay = self._delay(attempt, response)
                response.close()
                log.debug("%s: HTTP %d; retry %d/%d in %.1fs", where, status, attempt + 1, attempts - 1, delay)
                time.sleep(delay)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    # -- auth -----------------------------------------------------------------------------------------

    def _creds(self) -> Credentials | None:
        """Credentials for this registry, resolved once and only when a challenge asks for them."""
        if not self._credentials_loaded:
            self._credentials = self._credentials_fn()
            self._credentials_loaded = True
            if self._credentials is not None:
                log.debug("registry %s: using credentials from %s", self.registry, self._credentials.source)
        return self._credentials

    def _authorization(self, scope: str) -> str | None:
        """The ``Authorization`` value we already hold for `scope`, if any."""
        token = self._tokens.get(scope)
        if token is not None and token[1] > time.monotonic():
            return f"Bearer {token[0]}"
        return self._basic

    def _auth_hint(self) -> str:
        """The hint for an authentication failure."""
        login = "docker login" if self.registry == DOCKER_HUB else f"docker login {self.registry}"
        return f"check the credentials (run `{login}`, or pass a username and password)"

    def _denied(self, where: str, status: int, creds: Credentials | None) -> AuthError:
        """The `AuthError` for a registry that still refuses us after the challenge was answered."""
        what = "refused the credentials" if creds is not None else "requires authentication"
        return AuthError(f"registry {self.registry} {what} for repository {self.repository} (HTTP {status}; "
                         f"{where})", hint=self._auth_hint())

    def _answer(self, challenges: list[Challenge], sent: str | None, where: str) -> str | None:
        """An ``Authorization`` value answering `challenges` (other than the refused `sent`); None if none."""
        bearer = next((c for c in challenges if c.scheme == "bearer"), None)
        basic = next((c for c in challenges if c.scheme == "basic"), None)
        creds = self._creds()
        if bearer is not None:
            # The registry names the scope it wants; later requests offer the token held for that scope.
            self._active_scope = bearer.params.get("scope") or self._scope
            held = self._tokens.get(self._active_scope)
            if held is not None and held[1] > time.monotonic() and f"Bearer {held[0]}" != sent:
                return f"Bearer {held[0]}"
            token = self._fetch_token(bearer, self._active_scope, creds)
            return f"Bearer {token}"
        if basic is not None:
            if creds is None or not creds.has_basic:
                return None
            raw = f"{creds.username}:{creds.password}".encode()
            self._basic = "Basic " + base64.b64encode(raw).decode("ascii")
            return self._basic
        if challenges:
            raise AuthError(f"registry {self.registry}: unsupported auth scheme {challenges[0].scheme!r} ({where})")
        return None

    def _fetch_token(self, challenge: Challenge, scope: str, creds: Credentials | None) -> str:
        """Get a bearer token for `scope` from the challenge's realm and cache it (token spec, OAuth2 spec)."""
        realm = challenge.params.get("realm")
        if not realm:
            raise AuthError(f"registry {self.registry}: Bearer challenge without a realm")
        try:
            realm_url = httpx.URL(realm)
        except httpx.InvalidURL as e:
            raise AuthError(f"registry {self.registry}: invalid token realm {realm!r}") from e
        if realm_url.scheme not in ("http", "https"):
            raise AuthError(f"registry {self.registry}: token realm {realm!r} is not an http(s) URL")
        realm_host = realm_url.netloc.decode("ascii")
        # Zero trust: never send a password over plain HTTP to a host we were not told is plain-HTTP.
        if (realm_url.scheme == "http" and creds is not None
                and not uses_plain_http(realm_host, self.options) and not uses_plain_http(self.registry,
                                                                                           self.options)):
            raise AuthError(f"registry {self.registry}: refusing to send credentials to plain-HTTP token realm "
                            f"{realm}", hint="list the realm host in insecure_registries if this is intended")
        service = challenge.params.get("service")
        where = f"token server {realm}"
        if creds is not None and creds.identity_token:
            # OAuth2 refresh-token grant (docs/spec/auth/oauth.md): how docker uses an identitytoken.
            form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token, "client_id": "tidegate",
                    "scope": scope}
            if service:
                form["service"] = service
            request = self._http.build_request("POST", realm_url, data=form)
        else:
            params = {"scope": scope, **({"service": service} if service else {})}
            headers = {}
            if creds is not None and creds.has_basic:
                raw = f"{creds.username}:{creds.password}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
            request = self._http.build_request("GET", realm_url, params=params, headers=headers)
        response = self._send(request, where)
        try:
            if response.status_code in (401, 403):
                raise AuthError(f"{where} refused the credentials for {self.registry}/{self.repository} "
                                f"(HTTP {response.status_code})", hint=self._auth_hint())
            if response.status_code != 200:
                raise RegistryError(f"{where} answered HTTP {response.status_code} for {self.registry}")
            body = response.read()
        finally:
            response.close()
        try:
            doc = json.loads(body)
        except json.JSONDecodeError as e:
            raise AuthError(f"{where} answered with invalid JSON") from e
        token = (doc.get("token") or doc.get("access_token")) if isinstance(doc, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthError(f"{where} answered without a token")
        ttl = doc.get("expires_in")
        ttl_s = float(ttl) if isinstance(ttl, (int, float)) and ttl > 0 else TOKEN_DEFAULT_TTL
        # Renew a little early so a token does not expire between our check and the registry's.
        self._tokens[scope] = (token, time.monotonic() + max(1.0, ttl_s - 10.0))
        log.debug("registry %s: got a token for %s from %s", self.registry, scope, realm)
        return token

    def _request(self, method: str, url: str, *, headers: dict[str, str], where: str,
                 content: bytes | None = None) -> httpx.Response:
        """One API request with auth: send, answer a 401 challenge once, send again; 401 again → `AuthError`.

        `content` is a request body (pushes); it is bytes so a retry or the re-send after a challenge can
        send it again."""
        held = self._authorization(self._active_scope)
        request_headers = dict(headers)
        if held:
            request_headers["Authorization"] = held
        response = self._send(self._http.build_request(method, url, headers=request_headers, content=content),
                              where)
        if response.status_code != 401:
            return response
        challenges = parse_challenges(response.headers.get_list("WWW-Authenticate"))
        response.close()
        if held and held.startswith("Bearer "):
            self._tokens.pop(self._active_scope, None)  # expired or too narrow: fetch a fresh one
        answer = self._answer(challenges, held, where)
        if answer is None:
            raise self._denied(where, 401, None)
        request_headers["Authorization"] = answer
        response = self._send(self._http.build_request(method, url, headers=request_headers, content=content),
                              where)
        if response.status_code == 401:
            response.close()
            raise self._denied(where, 401, self._credentials)
        return response

    # -- responses ------------------------------------------------------------------------------------

    def _error_code(self, response: httpx.Response) -> str | None:
        """The first distribution error ``code`` (and message) of an error response, if it has one."""
        try:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > _ERROR_BODY_MAX:
                    return None
            doc = json.loads(body)
            first = doc["errors"][0]
            code, message = str(first.get("code", "")), str(first.get("message", ""))
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError, AttributeError):
            return None
        return _one_line(f"{code}: {message}" if message else code, 160) or None

    def _raise_for_status(self, response: httpx.Response, where: str) -> None:
        """Raise the right error for a non-2xx response (the body is read, bounded, for the message)."""
        status = response.status_code
        if 200 <= status < 300:
            return
        code = self._error_code(response)
        response.close()
        detail = f" ({code})" if code else ""
        if status == 403:
            raise AuthError(f"registry {self.registry} denied access to repository {self.repository} "
                            f"(HTTP 403{'; ' + code if code else ''})", hint=self._auth_hint())
        if status == 429 or status >= 500:
            raise RegistryError(f"registry {self.registry}: HTTP {status} for {where} after "
                                f"{max(0, self.options.retries) + 1} attempts{detail}")
        raise RegistryError(f"registry {self.registry}: HTTP {status} for {where}{detail}")

    @staticmethod
    def _check_digest(data: bytes, digest: Digest, message: str) -> None:
        """Raise `DigestMismatch` unless `data` hashes to `digest`."""
        hasher = digest.hasher()
        hasher.update(data)
        actual = hasher.hexdigest()
        if actual != digest.hex:
            raise DigestMismatch(f"{message}: expected {digest}, got {digest.algorithm}:{actual}")


__all__ = [
    "MANIFEST_ACCEPT",
    "BlobStream",
    "Challenge",
    "FetchedManifest",
    "RegistryClient",
    "api_host",
    "is_loopback",
    "parse_challenges",
    "uses_plain_http",
]
