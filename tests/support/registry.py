"""Real registries for tests: Debian's ``docker-registry`` (CNCF distribution) on 127.0.0.1, plus a token server.

    from tests.support.registry import registry, token_registry, push_archive

    def test_pull(registry):                       # "127.0.0.1:PORT", plain HTTP, no auth
        push_archive("oci-archive:../shared/images/distroless-py.oci.tar:1", f"{registry}/app:1")

    def test_private(token_registry):              # TokenRegistry: .host, .username, .password, .creds
        push_archive(SRC, f"{token_registry.host}/app:1", creds=token_registry.creds)

Both fixtures are session-scoped; the registries are stopped at the end of the session. They skip the test when
``docker-registry`` (or, for pushes, ``skopeo``) is not installed. The token server follows the distribution
token spec (``docs/spec/auth/token.md``): it checks basic credentials, grants every requested action on the
requested repositories, and signs an ES256 JWT whose ``x5c`` header carries a self-signed certificate that
is the registry's ``rootcertbundle`` (distribution's ``registry/auth/token/token.go``, ``VerifySigningKey``).
"""

from __future__ import annotations

import base64
import datetime
import functools
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

TOKEN_USER = "tidegate"
"""User name the token server accepts."""
TOKEN_PASSWORD = "s3cret"
"""Password the token server accepts."""
TOKEN_IDENTITY = "tidegate-refresh-token"
"""Refresh token (config.json ``identitytoken``) the token server accepts on its OAuth2 POST endpoint."""
TOKEN_SERVICE = "tidegate-test-registry"
"""``service`` of the token-protected registry."""
TOKEN_ISSUER = "tidegate-test-issuer"
"""``iss`` of the tokens."""

REGISTRY_BINARY = "docker-registry"
"""Debian's name for the distribution server binary."""


def _missing(what: str) -> None:
    """Skip locally, but fail in CI (CI=true), where ./dev test installs everything: a skip there hides a gap."""
    if os.environ.get("CI"):
        pytest.fail(what)
    pytest.skip(what)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log_path: Path, timeout: float = 20.0) -> None:
    """Wait until `url` answers any HTTP status; fail with the server log when the process dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{REGISTRY_BINARY} exited with {proc.returncode}: "
                               f"{log_path.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except urllib.error.HTTPError:
            return  # 401 from a token-protected registry is an answer too
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{REGISTRY_BINARY} did not answer {url} within {timeout}s: "
                       f"{log_path.read_text(errors='replace')[-2000:]}")


def _config_yaml(root: Path, port: int, auth: str = "") -> str:
    """The registry's config (distribution ``configuration.md``); JSON-style flow YAML needs no yaml library."""
    return (
        "version: 0.1\n"
        "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {json.dumps(str(root / 'data'))}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n"
        f"{auth}"
    )


@dataclass
class RunningRegistry:
    """A started ``docker-registry`` process."""

    host: str
    """``127.0.0.1:PORT``."""
    proc: subprocess.Popen[bytes]
    """The server process."""
    root: Path
    """Temp dir with config, storage and log."""

    def stop(self) -> None:
        """Terminate the process and remove its storage."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def start_registry(auth: str = "", *, root: Path | None = None) -> RunningRegistry:
    """Start ``docker-registry`` on a free 127.0.0.1 port with a temp storage dir, and wait for ``/v2/``."""
    exe = shutil.which(REGISTRY_BINARY)
    if exe is None:
        _missing(f"{REGISTRY_BINARY} not installed")
    root = root or Path(tempfile.mkdtemp(prefix="tidegate-registry-"))
    port = free_port()
    config = root / "config.yml"
    config.write_text(_config_yaml(root, port, auth), encoding="utf-8")
    log_path = root / "registry.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen([exe, "serve", str(config)], stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
    running = RunningRegistry(f"127.0.0.1:{port}", proc, root)
    try:
        _wait_http(f"http://127.0.0.1:{port}/v2/", proc, log_path)
    except BaseException:
        running.stop()
        raise
    return running


@pytest.fixture(scope="session")
def registry() -> Iterator[str]:
    """An anonymous, plain-HTTP registry for the whole session; yields ``127.0.0.1:PORT``."""
    running = start_registry()
    try:
        yield running.host
    finally:
        running.stop()


# -- token auth ---------------------------------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class TokenIssuer:
    """Signs registry JWTs with an ES256 key whose self-signed certificate is the registry's root bundle."""

    def __init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self._key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TOKEN_ISSUER)])
        now = datetime.datetime.now(datetime.UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(self._key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                             key_encipherment=False, data_encipherment=False, key_agreement=False,
                                             crl_sign=False, encipher_only=False, decipher_only=False),
                               critical=True)
                .sign(self._key, hashes.SHA256()))
        self.cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        """PEM of the certificate (the registry's ``rootcertbundle``)."""
        self._x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")

    def issue(self, subject: str, service: str, access: list[dict[str, Any]], ttl: int = 300) -> str:
        """A compact JWS for `access` (a list of ``{type, name, actions}``)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        now = int(time.time())
        header = {"typ": "JWT", "alg": "ES256", "x5c": [self._x5c]}
        claims = {"iss": TOKEN_ISSUER, "sub": subject, "aud": service, "exp": now + ttl, "nbf": now - 10,
                  "iat": now, "jti": secrets.token_hex(8), "access": access}
        signing_input = (_b64url(json.dumps(header, separators=(",", ":")).encode()) + "."
                         + _b64url(json.dumps(claims, separators=(",", ":")).encode()))
        der = self._key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return signing_input + "." + _b64url(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


def parse_scopes(scopes: list[str]) -> list[dict[str, Any]]:
    """``repository:name:pull,push`` scope strings → token ``access`` entries (all requested actions granted)."""
    access = []
    for scope in scopes:
        for one in scope.split(" "):
            parts = one.split(":")
            if len(parts) < 3:
                continue
            kind, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1]
            access.append({"type": kind, "name": name, "actions": [a for a in actions.split(",") if a]})
    return access


@dataclass
class TokenServerState:
    """What the token server saw (tests assert on it)."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    """One dict per token request: method, subject (or None), scopes, granted."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Guards `requests`."""


def _token_handler(issuer: TokenIssuer, state: TokenServerState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """``GET /token`` (basic auth or anonymous) and ``POST /token`` (OAuth2 password / refresh_token)."""

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _answer(self, subject: str | None, service: str, scopes: list[str], method: str) -> None:
            # Anonymous callers get a valid token with no access, as real token servers do for private repos.
            access = parse_scopes(scopes) if subject else []
            with state.lock:
                state.requests.append({"method": method, "subject": subject, "scopes": scopes,
                                       "granted": bool(access)})
            token = issuer.issue(subject or "", service, access)
            body = json.dumps({"token": token, "access_token": token, "expires_in": 300,
                               "issued_at": datetime.datetime.now(datetime.UTC).isoformat()}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _refuse(self) -> None:
            with state.lock:
                state.requests.append({"method": self.command, "subject": None, "scopes": [], "granted": False,
                                       "refused": True})
            body = b'{"details":"invalid username or password"}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            subject = None
            header = self.headers.get("Authorization", "")
            if header:
                try:
                    user, _, password = base64.b64decode(header.split(" ", 1)[1]).decode().partition(":")
                except (ValueError, IndexError):
                    return self._refuse()
                if not header.lower().startswith("basic ") or (user, password) != (TOKEN_USER, TOKEN_PASSWORD):
                    return self._refuse()
                subject = user
            self._answer(subject, query.get("service", [TOKEN_SERVICE])[0], query.get("scope", []), "GET")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            grant = form.get("grant_type", [""])[0]
            ok = (grant == "refresh_token" and form.get("refresh_token", [""])[0] == TOKEN_IDENTITY) or (
                grant == "password" and (form.get("username", [""])[0], form.get("password", [""])[0])
                == (TOKEN_USER, TOKEN_PASSWORD))
            if not ok:
                return self._refuse()
            scopes = [s for value in form.get("scope", []) for s in value.split(" ")]
            self._answer(TOKEN_USER, form.get("service", [TOKEN_SERVICE])[0], scopes, "POST")

    return Handler


@dataclass
class TokenRegistry:
    """A registry that requires bearer tokens, with its token server."""

    host: str
    """``127.0.0.1:PORT`` of the registry."""
    realm: str
    """Token endpoint URL (``http://127.0.0.1:PORT/token``)."""
    state: TokenServerState
    """Token requests seen so far."""
    username: str = TOKEN_USER
    """Accepted user name."""
    password: str = TOKEN_PASSWORD
    """Accepted password."""
    identity_token: str = TOKEN_IDENTITY
    """Accepted refresh token (OAuth2 POST)."""

    @property
    def creds(self) -> str:
        """``user:password`` for ``skopeo --dest-creds`` / `push_archive`."""
        return f"{self.username}:{self.password}"

    def __str__(self) -> str:
        return self.host


@pytest.fixture(scope="session")
def token_registry() -> Iterator[TokenRegistry]:
    """A registry behind token auth (user ``tidegate``, password ``s3cret``) for the whole session."""
    try:
        import cryptography  # noqa: F401
    except ImportError:
        _missing("cryptography not installed (the token server signs JWTs with it)")
    if shutil.which(REGISTRY_BINARY) is None:
        _missing(f"{REGISTRY_BINARY} not installed")
    issuer = TokenIssuer()
    state = TokenServerState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _token_handler(issuer, state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="token-server",
                              daemon=True)
    thread.start()
    realm = f"http://127.0.0.1:{server.server_address[1]}/token"
    root = Path(tempfile.mkdtemp(prefix="tidegate-token-registry-"))
    bundle = root / "token-root.pem"
    bundle.write_bytes(issuer.cert_pem)
    auth = ("auth:\n  token:\n"
            f"    realm: {json.dumps(realm)}\n    service: {TOKEN_SERVICE}\n    issuer: {TOKEN_ISSUER}\n"
            f"    rootcertbundle: {json.dumps(str(bundle))}\n")
    try:
        running = start_registry(auth, root=root)
    except BaseException:
        server.shutdown()
        server.server_close()
        raise
    try:
        yield TokenRegistry(running.host, realm, state)
    finally:
        running.stop()
        server.shutdown()
        server.server_close()


# -- pushing ------------------------------------------------------------------------------------------------


@functools.cache
def _skopeo_supports_preserve_digests(exe: str) -> bool:
    """True when ``skopeo copy`` knows ``--preserve-digests`` (skopeo ≥ 1.6)."""
    done = subprocess.run([exe, "copy", "--help"], capture_output=True, text=True, check=False)
    return "--preserve-digests" in done.stdout


def push_archive(src: str, dest: str, creds: str | None = None, *, all_images: bool = False,
                 manifest_format: str | None = None) -> None:
    """``skopeo copy`` `src` (any skopeo transport, e.g. ``oci-archive:PATH:1``) to ``docker://dest``.

    Digests are preserved (the archives' layers are already compressed), so the pushed manifest digest equals
    the one in the archive's truth file. `creds` is ``user:password``. `all_images` copies every image of an
    index (``--all``) so the index itself is pushed; otherwise skopeo copies only the host's platform.
    `manifest_format` (``v2s2``, ``oci``) makes skopeo convert the manifests, which changes their digests.
    """
    exe = shutil.which("skopeo")
    if exe is None:
        _missing("skopeo not installed")
    argv = [exe, "--insecure-policy", "copy", "--quiet", "--dest-tls-verify=false"]
    if manifest_format is not None:
        argv += ["--format", manifest_format]
    elif _skopeo_supports_preserve_digests(exe):
        argv.append("--preserve-digests")
    if all_images:
        argv.append("--all")
    if creds is not None:
        argv += ["--dest-creds", creds]
    argv += [src, f"docker://{dest}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False,
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"skopeo copy {src} → {dest} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


__all__ = ["TOKEN_IDENTITY", "TOKEN_PASSWORD", "TOKEN_USER", "TokenRegistry", "free_port", "push_archive",
           "registry", "start_registry", "token_registry"]
