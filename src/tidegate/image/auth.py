"""Registry credentials: explicit options, docker ``config.json`` and ``docker-credential-*`` helpers.

    creds = resolve_credentials("ghcr.io", SourceOptions())
    if creds is not None:
        creds.username, creds.password

Lookup order follows the docker CLI (``cli/config/configfile/file.go``, ``GetCredentialsStore``):

1. ``SourceOptions.username``/``password`` when given;
2. ``credHelpers[registry]`` in config.json → ``docker-credential-<helper> get``;
3. ``credsStore`` → the same helper protocol, falling back to ``auths`` when the helper has no entry;
4. ``auths[registry]`` (``auth`` = base64 ``user:pass``, or ``username``/``password``, or ``identitytoken``).

Credentials are resolved only when a registry asks for them (a ``WWW-Authenticate`` challenge), so anonymous
pulls never run a helper. The helper protocol is docker-credential-helpers' ``client.Get``: the server URL on
stdin, ``{"ServerURL", "Username", "Secret"}`` on stdout; ``Username == "<token>"`` means ``Secret`` is an
identity (refresh) token.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidegate.errors import AuthError
from tidegate.image.reference import DOCKER_HUB
from tidegate.image.sources.base import SourceOptions

log = logging.getLogger(__name__)

HELPER_TIMEOUT = 30.0
"""Seconds a ``docker-credential-*`` helper may take before we give up on it."""

DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")
"""Spellings of Docker Hub used as keys in config.json; the first is what ``docker login`` writes."""

_HELPER_NOT_FOUND = "credentials not found"
"""Prefix of the message a helper prints when it has no entry (docker-credential-helpers ``ErrCredentialsNotFound``)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """Credentials for one registry. ``repr`` never shows secrets."""

    username: str | None
    """User name for basic auth or the token server (None with an identity token alone)."""
    password: str | None
    """Password or personal access token."""
    identity_token: str | None = None
    """OAuth2 refresh token (config.json ``identitytoken``, or a helper answering ``Username: <token>``)."""
    source: str = ""
    """Where they came from, for messages (``config.json /home/u/.docker/config.json``)."""

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, source={self.source!r})"

    @property
    def has_basic(self) -> bool:
        """True when a user name and password are available for basic auth."""
        return self.username is not None and self.password is not None


def docker_config_path(options: SourceOptions, env: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """The config.json to read and whether the user named it explicitly (then it must exist)."""
    env = os.environ if env is None else env
    if options.docker_config:
        return Path(options.docker_config).expanduser(), True
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]).expanduser() / "config.json", False
    return Path.home() / ".docker" / "config.json", False


def read_docker_config(path: Path, *, required: bool = False) -> dict[str, Any]:
    """Read a docker config.json; a missing file is ``{}`` unless `required`; malformed → `AuthError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise AuthError(f"docker config {path}: file not found") from None
        log.debug("no docker config at %s", path)
        return {}
    except OSError as e:
        raise AuthError(f"docker config {path}: cannot read: {e.strerror or e}") from e
    try:
        doc = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as e:
        raise AuthError(f"docker config {path}: invalid JSON at line {e.lineno}: {e.msg}") from e
    if not isinstance(doc, dict):
        raise AuthError(f"docker config {path}: expected a JSON object")
    return doc


def _hostname(key: str) -> str:
    """docker's ``ConvertToHostname``: strip the scheme and any path from a config.json key."""
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    return key.split("/", 1)[0]


def config_keys(registry: str) -> tuple[str, ...]:
    """Keys under which config.json may hold `registry`'s entry, most specific first."""
    if registry in (DOCKER_HUB, *DOCKER_HUB_KEYS):
        return DOCKER_HUB_KEYS
    return (registry,)


def helper_server_url(registry: str) -> str:
    """The server URL a credential helper is asked about (Docker Hub's legacy index URL for docker.io)."""
    return DOCKER_HUB_KEYS[0] if registry in (DOCKER_HUB, *DOCKER_HUB_KEYS) else registry


def _find_entry(section: object, registry: str) -> tuple[str, Any] | None:
    """The (key, value) of `section` (``auths`` or ``credHelpers``) that names `registry`, if any."""
    if not isinstance(section, dict):
        return None
    keys = config_keys(registry)
    for key in keys:
        if key in section:
            return key, section[key]
    wanted = {_hostname(k) for k in keys}
    for key, value in section.items():
        if isinstance(key, str) and _hostname(key) in wanted:
            return key, value
    return None


def _from_auths_entry(entry: object, where: str) -> Credentials | None:
    """Credentials from one ``auths`` value, or None when it holds none (docker writes ``{}`` with a store)."""
    if not isinstance(entry, dict):
        raise AuthError(f"{where}: expected an object")
    username, password = entry.get("username"), entry.get("password")
    token = entry.get("identitytoken") or None
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(str(entry["auth"]), validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as e:
            raise AuthError(f"{where}: 'auth' is not base64 of user:password") from e
        if ":" not in decoded:
            raise AuthError(f"{where}: 'auth' does not decode to user:password")
        username, _, password = decoded.partition(":")
    if not (username or token):
        return None
    return Credentials(str(username) if username else None, str(password) if password is not None else None,
                       str(token) if token else None, source=where.split(": ", 1)[0])


def run_credential_helper(helper: str, server_url: str, *, timeout: float = HELPER_TIMEOUT,
                          env: Mapping[str, str] | None = None) -> Credentials | None:
    """Ask ``docker-credential-<helper> get`` for `server_url`; None when it has no entry; failures → `AuthError`."""
    exe_name = f"docker-credential-{helper}"
    search_path = (os.environ if env is None else env).get("PATH")
    exe = shutil.which(exe_name, path=search_path)
    if exe is None:
        raise AuthError(f"credential helper {exe_name} not found on PATH (needed for {server_url})",
                        hint="install the helper or remove it from credHelpers/credsStore in config.json")
    try:
        done = subprocess.run([exe, "get"], input=server_url.encode(), capture_output=True, timeout=timeout,
                              check=False, env=None if env is None else dict(env))
    except subprocess.TimeoutExpired as e:
        raise AuthError(f"credential helper {exe_name} timed out after {timeout:g}s for {server_url}") from e
    except OSError as e:
        raise AuthError(f"credential helper {exe_name} could not run: {e.strerror or e}") from e
    out = done.stdout.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        message = out or done.stderr.decode("utf-8", "replace").strip()
        if message.lower().startswith(_HELPER_NOT_FOUND):
            log.debug("%s has no credentials for %s", exe_name, server_url)
            return None
        first = message.splitlines()[0][:200] if message else f"exit status {done.returncode}"
        raise AuthError(f"credential helper {exe_name} failed for {server_url}: {first}")
    try:
        doc = json.loads(out)
    except json.JSONDecodeError as e:
        raise AuthError(f"credential helper {exe_name} printed invalid JSON for {server_url}") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("Secret"), str):
        raise AuthError(f"credential helper {exe_name} answered without a Secret for {server_url}")
    username = doc.get("Username")
    source = f"credential helper {exe_name}"
    if username == "<token>":
        return Credentials(None, None, doc["Secret"], source=source)
    return Credentials(str(username) if username else None, doc["Secret"], source=source)


def resolve_credentials(registry: str, options: SourceOptions,
                        env: Mapping[str, str] | None = None) -> Credentials | None:
    """Credentials for `registry` (``host[:port]``, ``docker.io`` for Docker Hub), or None for anonymous."""
    if options.username is not None or options.password is not None:
        return Credentials(options.username, options.password, source="explicit credentials")
    path, required = docker_config_path(options, env)
    doc = read_docker_config(path, required=required)
    where = f"config.json {path}"
    helper_entry = _find_entry(doc.get("credHelpers"), registry)
    if helper_entry is not None and helper_entry[1]:
        log.debug("registry %s: credentials from helper %s (%s)", registry, helper_entry[1], where)
        return run_credential_helper(str(helper_entry[1]), helper_server_url(registry), env=env)
    store = doc.get("credsStore")
    if isinstance(store, str) and store:
        creds = run_credential_helper(store, helper_server_url(registry), env=env)
        if creds is not None:
            return creds
    auth_entry = _find_entry(doc.get("auths"), registry)
    if auth_entry is None:
        log.debug("registry %s: no credentials in %s", registry, where)
        return None
    return _from_auths_entry(auth_entry[1], f"{where}: auths[{auth_entry[0]!r}]")


__all__ = [
    "Credentials",
    "config_keys",
    "docker_config_path",
    "helper_server_url",
    "read_docker_config",
    "resolve_credentials",
    "run_credential_helper",
]
