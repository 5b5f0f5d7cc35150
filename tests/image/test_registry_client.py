"""The distribution API client and `RegistrySource`: against the real ``docker-registry`` and small fake servers.

Expected digests come from ``../shared/images/*.truth.json`` (written by skopeo/umoci, independent of tidegate).
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import pytest

from tests.support.registry import TokenRegistry, free_port, push_archive
from tidegate.errors import AuthError, BlobNotFound, DigestMismatch, ManifestError, RegistryError
from tidegate.image.manifest import DOCKER_SCHEMA1, OCI_INDEX, OCI_MANIFEST, Platform, resolve_image
from tidegate.image.reference import parse_image_ref
from tidegate.image.registry import (
    MANIFEST_ACCEPT,
    RegistryClient,
    api_host,
    parse_challenges,
    uses_plain_http,
)
from tidegate.image.sources.base import Descriptor, SourceOptions
from tidegate.image.sources.registry import RegistrySource
from tidegate.model.digest import parse_digest

IMAGES = Path(__file__).resolve().parents[2] / ".." / "shared" / "images"
DISTROLESS = IMAGES / "distroless-py.oci.tar"
INDEX_IMAGE = IMAGES / "bookworm-app-index.oci.tar"
TRUTH = json.loads((IMAGES / "distroless-py.truth.json").read_text()) if DISTROLESS.exists() else {}
INDEX_TRUTH = json.loads((IMAGES / "bookworm-app-index.truth.json").read_text()) if INDEX_IMAGE.exists() else {}

needs_images = pytest.mark.skipif(not DISTROLESS.exists(), reason="../shared/images not present")
pytestmark = [pytest.mark.timeout(120)]


def _source(reference: str, **options: Any) -> RegistrySource:
    return RegistrySource(parse_image_ref(reference), SourceOptions(**options))


def _read_all(stream: Any, chunk: int = 100_003) -> bytes:
    h = hashlib.sha256()
    n = 0
    while True:
        data = stream.read(chunk)
        if not data:
            break
        assert len(data) <= chunk
        n += len(data)
        h.update(data)
    return f"sha256:{h.hexdigest()}".encode() + b"/" + str(n).encode()


# -- against the real registry ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pushed(registry: str) -> str:
    """distroless-py pushed as ``tidegate/distroless:1``; returns the ``host/repo`` prefix."""
    if not DISTROLESS.exists():
        pytest.skip("../shared/images not present")
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{registry}/tidegate/distroless:1")
    return f"{registry}/tidegate/distroless"


@pytest.mark.registry
@needs_images
def test_fetch_root_by_tag_has_the_truth_digest(pushed: str) -> None:
    with _source(f"{pushed}:1") as src:
        root = src.fetch_root()
    assert f"sha256:{hashlib.sha256(root.data).hexdigest()}" == TRUTH["images"][0]["manifest_digest"]
    assert root.media_type == OCI_MANIFEST
    assert root.expected is None
    assert (root.tag, root.name) == ("1", pushed)


@pytest.mark.registry
@needs_images
def test_fetch_root_by_digest(pushed: str) -> None:
    digest = TRUTH["images"][0]["manifest_digest"]
    with _source(f"{pushed}@{digest}") as src:
        root = src.fetch_root()
        assert src.describe() == f"docker://{pushed}@{digest}"
    assert f"sha256:{hashlib.sha256(root.data).hexdigest()}" == digest


@pytest.mark.registry
@needs_images
def test_resolver_over_registry_verifies_config(pushed: str) -> None:
    with _source(f"{pushed}:1") as src:
        resolved = resolve_image(src, None)
    image = TRUTH["images"][0]
    assert str(resolved.manifest_digest) == image["manifest_digest"]
    assert str(resolved.config.digest) == image["config_digest"]
    assert [str(d.digest) for d in resolved.layers] == [layer["digest"] for layer in image["layers"]]


@pytest.mark.registry
@needs_images
def test_open_blob_streams_config_and_layer(pushed: str) -> None:
    image = TRUTH["images"][0]
    config = Descriptor("application/vnd.oci.image.config.v1+json", parse_digest(image["config_digest"]), 0)
    with _source(f"{pushed}:1") as src:
        with src.open_blob(config) as f:
            data = f.read()
        assert f"sha256:{hashlib.sha256(data).hexdigest()}" == image["config_digest"]
        biggest = max(image["layers"], key=lambda layer: layer["size"])
        layer = Descriptor(biggest["mediaType"], parse_digest(biggest["digest"]), biggest["size"])
        with src.open_blob(layer) as f:
            assert _read_all(f) == f"{biggest['digest']}/{biggest['size']}".encode()


@pytest.mark.registry
@needs_images
def test_missing_blob_is_blob_not_found(pushed: str) -> None:
    missing = parse_digest("sha256:" + "ab" * 32)
    with _source(f"{pushed}:1") as src, pytest.raises(BlobNotFound) as info:
        src.open_blob(Descriptor(OCI_MANIFEST, missing, 1))
    message = str(info.value)
    assert str(missing) in message and "tidegate/distroless" in message and "\n" not in message


@pytest.mark.registry
@needs_images
def test_missing_child_manifest_is_blob_not_found(pushed: str) -> None:
    missing = parse_digest("sha256:" + "cd" * 32)
    with _source(f"{pushed}:1") as src, pytest.raises(BlobNotFound, match=str(missing)):
        src.fetch_manifest(Descriptor(OCI_MANIFEST, missing, 1))


@pytest.mark.registry
@needs_images
@pytest.mark.parametrize("reference", ["tidegate/distroless:nope", "tidegate/absent:1"])
def test_missing_tag_or_repo_is_one_line_registry_error(registry: str, pushed: str, reference: str) -> None:
    with _source(f"{registry}/{reference}") as src, pytest.raises(RegistryError) as info:
        src.fetch_root()
    message = str(info.value)
    assert "not found" in message and reference.split(":")[0] in message and "\n" not in message


@pytest.mark.registry
@pytest.mark.skipif(not INDEX_IMAGE.exists(), reason="../shared/images not present")
def test_index_root_and_child_manifest_by_digest(registry: str) -> None:
    push_archive(f"oci-archive:{INDEX_IMAGE}:1", f"{registry}/tidegate/multi:1", all_images=True)
    with _source(f"{registry}/tidegate/multi:1") as src:
        root = src.fetch_root()
        assert root.media_type == OCI_INDEX
        assert f"sha256:{hashlib.sha256(root.data).hexdigest()}" == INDEX_TRUTH["skopeo_inspect_raw_digest"]
        arm = next(i for i in INDEX_TRUTH["images"] if i["platform"]["architecture"] == "arm64")
        child = src.fetch_manifest(Descriptor(OCI_MANIFEST, parse_digest(arm["manifest_digest"]), 0))
        assert f"sha256:{hashlib.sha256(child).hexdigest()}" == arm["manifest_digest"]
        resolved = resolve_image(src, Platform.parse("linux/arm64"))
    assert str(resolved.manifest_digest) == arm["manifest_digest"]


# -- bearer tokens (the real registry behind the token server) ------------------------------------------------


@pytest.fixture(scope="module")
def private(token_registry: TokenRegistry) -> str:
    """distroless-py pushed to the token registry with credentials; returns ``host/repo``."""
    if not DISTROLESS.exists():
        pytest.skip("../shared/images not present")
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{token_registry.host}/private/distroless:1",
                 creds=token_registry.creds)
    return f"{token_registry.host}/private/distroless"


@pytest.mark.registry
@needs_images
def test_token_registry_with_credentials_caches_the_token(token_registry: TokenRegistry, private: str,
                                                         tmp_path: Path) -> None:
    before = len(token_registry.state.requests)
    with _source(f"{private}:1", username="tidegate", password="s3cret",
                 docker_config=str(_empty_config(tmp_path))) as src:
        resolved = resolve_image(src, None)
        with src.open_blob(resolved.layers[0]) as f:
            assert _read_all(f).startswith(str(resolved.layers[0].digest).encode())
    assert str(resolved.manifest_digest) == TRUTH["images"][0]["manifest_digest"]
    seen = token_registry.state.requests[before:]
    assert len(seen) == 1, seen  # one token, reused for the manifest, the config and the layer
    assert seen[0]["subject"] == "tidegate" and seen[0]["scopes"] == ["repository:private/distroless:pull"]


@pytest.mark.registry
@needs_images
def test_token_registry_wrong_password_is_auth_error(private: str, tmp_path: Path) -> None:
    with _source(f"{private}:1", username="tidegate", password="wrong") as src, \
            pytest.raises(AuthError) as info:
        src.fetch_root()
    err = info.value
    assert "private/distroless" in str(err) and "\n" not in str(err)
    assert err.hint and "docker login" in err.hint


@pytest.mark.registry
@needs_images
def test_token_registry_anonymous_is_auth_error(token_registry: TokenRegistry, private: str,
                                                tmp_path: Path) -> None:
    with _source(f"{private}:1", docker_config=str(_empty_config(tmp_path))) as src, \
            pytest.raises(AuthError) as info:
        src.fetch_root()
    message = str(info.value)
    assert token_registry.host in message and "private/distroless" in message and "\n" not in message


def _empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "config.json"
    path.write_text("{}")
    return path


# -- fake servers: retries, digest header, limits, redirects ---------------------------------------------------


@dataclass
class Seen:
    """One request a fake server received."""

    method: str
    path: str
    headers: dict[str, str]


Reply = tuple[int, dict[str, str], bytes]


@dataclass
class FakeServer:
    """A scriptable HTTP server on 127.0.0.1: `respond(seen, n)` gives (status, headers, body) for request n."""

    respond: Callable[[Seen, int], Reply]
    seen: list[Seen] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                seen = Seen("GET", self.path, {k.lower(): v for k, v in self.headers.items()})
                fake.seen.append(seen)
                status, headers, body = fake.respond(seen, len(fake.seen) - 1)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers and not headers.get("X-Stream"):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(0, len(body), 65536):
                        self.wfile.write(body[i:i + 65536])
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.shutdown()
        self.server.server_close()


MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {}, "layers": []}).encode()
MANIFEST_DIGEST = f"sha256:{hashlib.sha256(MANIFEST).hexdigest()}"


def _ok_manifest(extra: dict[str, str] | None = None) -> Reply:
    return 200, {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": MANIFEST_DIGEST, **(extra or {})}, MANIFEST


def _client(host: str, **options: Any) -> RegistryClient:
    options.setdefault("docker_config", "/nonexistent-for-tests/config.json")
    client = RegistryClient(host, "tg/app", SourceOptions(**options), credentials=lambda: None)
    client.backoff_base = 0.05
    return client


def test_retries_503_then_succeeds() -> None:
    with FakeServer(lambda s, n: (503, {}, b"busy") if n < 2 else _ok_manifest()) as fake, \
            _client(fake.host) as client:
        client.backoff_base = 0.2
        start = time.monotonic()
        got = client.fetch_manifest("1")
        elapsed = time.monotonic() - start
    assert got.data == MANIFEST and str(got.header_digest) == MANIFEST_DIGEST
    assert len(fake.seen) == 3
    assert 0.5 <= elapsed < 3.0  # 0.2 s + 0.4 s of back-off
    assert fake.seen[0].headers["accept"] == MANIFEST_ACCEPT
    for media_type in (OCI_INDEX, OCI_MANIFEST, *DOCKER_SCHEMA1):
        assert media_type in MANIFEST_ACCEPT


def test_429_honours_retry_after() -> None:
    with FakeServer(lambda s, n: (429, {"Retry-After": "1"}, b"") if n == 0 else _ok_manifest()) as fake, \
            _client(fake.host) as client:
        start = time.monotonic()
        client.fetch_manifest("1")
        elapsed = time.monotonic() - start
    assert len(fake.seen) == 2 and 0.9 <= elapsed < 3.0


def test_retries_exhausted_is_registry_error() -> None:
    with FakeServer(lambda s, n: (502, {}, b"")) as fake, _client(fake.host, retries=2) as client, \
            pytest.raises(RegistryError) as info:
        client.fetch_manifest("1")
    assert len(fake.seen) == 3
    assert "HTTP 502" in str(info.value) and "3 attempts" in str(info.value)


def test_unreachable_registry_fails_fast_with_one_line() -> None:
    port = free_port()  # nothing listens there
    start = time.monotonic()
    with _client(f"127.0.0.1:{port}", retries=2) as client, pytest.raises(RegistryError) as info:
        client.fetch_manifest("1")
    assert time.monotonic() - start < 5.0
    assert str(info.value).startswith(f"registry 127.0.0.1:{port} unreachable: ")
    assert "\n" not in str(info.value)


def test_unroutable_connect_times_out_quickly() -> None:
    # A listening socket whose accept queue is full never completes the handshake: the connect timeout fires.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(0)
        port = s.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):
                f = socket.socket()
                f.setblocking(False)
                f.connect_ex(("127.0.0.1", port))
                fillers.append(f)
            start = time.monotonic()
            with _client(f"127.0.0.1:{port}", retries=0, timeout=1.0) as client, \
                    pytest.raises(RegistryError, match="unreachable|timed out"):
                client.fetch_manifest("1")
            assert time.monotonic() - start < 6.0
        finally:
            for f in fillers:
                f.close()


def test_docker_content_digest_mismatch() -> None:
    wrong = "sha256:" + "0" * 64
    with FakeServer(lambda s, n: _ok_manifest({"Docker-Content-Digest": wrong})) as fake, \
            _client(fake.host) as client, pytest.raises(DigestMismatch, match="Docker-Content-Digest"):
        client.fetch_manifest("1")


def test_manifest_by_digest_must_match_the_digest() -> None:
    wanted = parse_digest("sha256:" + "1" * 64)
    with FakeServer(lambda s, n: (200, {"Content-Type": OCI_MANIFEST}, MANIFEST)) as fake, \
            _client(fake.host) as client, pytest.raises(DigestMismatch):
        client.fetch_manifest(wanted)
    assert fake.seen[0].path == f"/v2/tg/app/manifests/{wanted}"


def test_schema1_media_type_is_passed_to_the_resolver() -> None:
    body = b'{"schemaVersion": 1, "name": "tg/app", "tag": "1", "fsLayers": []}'
    reply = (200, {"Content-Type": DOCKER_SCHEMA1[1] + "; charset=utf-8"}, body)
    with FakeServer(lambda s, n: reply) as fake:
        with _source(f"{fake.host}/tg/app:1") as src:
            root = src.fetch_root()
        assert root.media_type == DOCKER_SCHEMA1[1]
        with _source(f"{fake.host}/tg/app:1") as src, pytest.raises(ManifestError, match="schema 1"):
            resolve_image(src, None)


def test_oversized_manifest_is_refused_while_streaming() -> None:
    body = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    with FakeServer(lambda s, n: (200, {"Content-Type": OCI_MANIFEST, "X-Stream": "1"}, body)) as fake, \
            _client(fake.host) as client, pytest.raises(ManifestError, match="limit"):
        client.fetch_manifest("1")


def test_oversized_content_length_is_refused_before_reading() -> None:
    reply = (200, {"Content-Type": OCI_MANIFEST, "Content-Length": str(64 * 1024 * 1024)}, b"")
    with FakeServer(lambda s, n: reply) as fake, _client(fake.host) as client, \
            pytest.raises(ManifestError, match="exceeds"):
        client.fetch_manifest("1")


def test_basic_auth_and_cross_origin_blob_redirect_drops_authorization() -> None:
    blob = b"x" * 300_000
    digest = f"sha256:{hashlib.sha256(blob).hexdigest()}"
    with FakeServer(lambda s, n: (200, {"Content-Type": "application/octet-stream"}, blob)) as storage:
        def registry(seen: Seen, n: int) -> Reply:
            if seen.headers.get("authorization") != "Basic dTpw":  # u:p
                return 401, {"WWW-Authenticate": 'Basic realm="fake"'}, b""
            return 307, {"Location": f"http://{storage.host}/storage/blob?sig=1"}, b""

        with FakeServer(registry) as fake:
            client = RegistryClient(fake.host, "tg/app", SourceOptions(username="u", password="p"))
            with client, client.open_blob(parse_digest(digest)) as f:
                first = f.read(10)
                rest = f.read()
    assert first + rest == blob
    assert [s.headers.get("authorization") for s in fake.seen] == [None, "Basic dTpw"]
    assert len(storage.seen) == 1 and "authorization" not in storage.seen[0].headers
    assert storage.seen[0].headers.get("accept-encoding") == "identity"


def test_bearer_challenge_uses_token_or_access_token_and_caches_per_scope() -> None:
    tokens: list[Seen] = []

    def token_server(seen: Seen, n: int) -> Reply:
        tokens.append(seen)
        return 200, {"Content-Type": "application/json"}, json.dumps({"access_token": "tok-1"}).encode()

    with FakeServer(token_server) as auth:
        def registry(seen: Seen, n: int) -> Reply:
            if seen.headers.get("authorization") != "Bearer tok-1":
                return 401, {"WWW-Authenticate": f'Bearer realm="http://{auth.host}/token",service="fake",'
                                                 f'scope="repository:tg/app:pull"'}, b""
            return _ok_manifest()

        with FakeServer(registry) as fake, _client(fake.host) as client:
            client.fetch_manifest("1")
            client.fetch_manifest("2")
    assert len(tokens) == 1
    assert "service=fake" in tokens[0].path and "scope=repository%3Atg%2Fapp%3Apull" in tokens[0].path
    assert [s.headers.get("authorization") for s in fake.seen] == [None, "Bearer tok-1", "Bearer tok-1"]


def test_basic_challenge_without_credentials_is_auth_error() -> None:
    with FakeServer(lambda s, n: (401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")) as fake, \
            _client(fake.host) as client, pytest.raises(AuthError) as info:
        client.fetch_manifest("1")
    assert "requires authentication" in str(info.value) and "tg/app" in str(info.value)


# -- pure helpers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("registry", "plain"), [
    ("localhost:5000", True), ("localhost", True), ("127.0.0.1:5000", True), ("127.9.9.9", True),
    ("[::1]:5000", True), ("ghcr.io", False), ("10.0.0.1:5000", False), ("myreg.local:5000", False),
])
def test_plain_http_only_for_loopback(registry: str, plain: bool) -> None:
    assert uses_plain_http(registry, SourceOptions()) is plain


def test_insecure_registries_use_plain_http() -> None:
    options = SourceOptions(insecure_registries=("myreg.local:5000", "10.0.0.1"))
    assert uses_plain_http("myreg.local:5000", options)
    assert uses_plain_http("10.0.0.1:5000", options)
    assert not uses_plain_http("other.local:5000", options)
    assert RegistryClient("myreg.local:5000", "a/b", options).base_url == "http://myreg.local:5000"
    assert RegistryClient("ghcr.io", "a/b", SourceOptions()).base_url == "https://ghcr.io"


def test_docker_hub_api_host() -> None:
    assert api_host("docker.io") == "registry-1.docker.io"
    ref = parse_image_ref("python:3.12")
    with RegistrySource(ref, SourceOptions()) as src:
        assert src.client.base_url == "https://registry-1.docker.io"
        assert src.client.repository == "library/python"


def test_parse_challenges() -> None:
    [bearer] = parse_challenges([('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                                 'scope="repository:library/python:pull"')])
    assert bearer.scheme == "bearer"
    assert bearer.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                             "scope": "repository:library/python:pull"}
    basic, bearer2 = parse_challenges(['Basic realm="Registry Realm", Bearer realm=x'])
    assert (basic.scheme, basic.params, bearer2.params) == ("basic", {"realm": "Registry Realm"}, {"realm": "x"})

