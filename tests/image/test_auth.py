"""Registry credentials: config.json ``auths``, credential helpers, precedence, and their use against a real
token-protected registry."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from tests.support.registry import TOKEN_IDENTITY, TokenRegistry, push_archive
from tidegate.errors import AuthError
from tidegate.image.auth import Credentials, docker_config_path, resolve_credentials, run_credential_helper
from tidegate.image.manifest import resolve_image
from tidegate.image.reference import parse_image_ref
from tidegate.image.sources.base import SourceOptions
from tidegate.image.sources.registry import RegistrySource

IMAGES = Path(__file__).resolve().parents[2] / ".." / "shared" / "images"
DISTROLESS = IMAGES / "distroless-py.oci.tar"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _config(tmp_path: Path, doc: dict[str, object]) -> SourceOptions:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc))
    return SourceOptions(docker_config=str(path))


def _helper(bin_dir: Path, name: str, script: str) -> Path:
    """Write ``docker-credential-<name>`` (a shell script) into `bin_dir`."""
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / f"docker-credential-{name}"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def _fake_helper(bin_dir: Path, name: str = "test", server: str | None = None, user: str = "tidegate",
                 secret: str = "s3cret") -> Path:
    """A helper that records its argv/stdin and answers for `server` (any server when None)."""
    answer = json.dumps({"ServerURL": server or "", "Username": user, "Secret": secret})
    check = f'[ "$url" = "{server}" ] || {{ echo "credentials not found in native keychain"; exit 1; }}' \
        if server else ""
    return _helper(bin_dir, name, f"""read url
echo "$1 $url" >> "{bin_dir}/calls.log"
{check}
echo '{answer}'
""")


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A tmp dir at the front of PATH for fake helpers."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}{os.environ.get('PATH', '')}")
    return path


# -- config.json ----------------------------------------------------------------------------------------------


def test_auths_base64_entry(tmp_path: Path) -> None:
    options = _config(tmp_path, {"auths": {"127.0.0.1:5000": {"auth": _b64("alice:pa:ss")}}})
    creds = resolve_credentials("127.0.0.1:5000", options)
    assert creds is not None and (creds.username, creds.password) == ("alice", "pa:ss")
    assert "config.json" in creds.source and "pa:ss" not in repr(creds)


def test_auths_username_password_and_identitytoken(tmp_path: Path) -> None:
    options = _config(tmp_path, {"auths": {
        "https://ghcr.io": {"username": "bob", "password": "pw"},
        "quay.io": {"identitytoken": "refresh-me"},
    }})
    ghcr = resolve_credentials("ghcr.io", options)
    assert ghcr is not None and (ghcr.username, ghcr.password) == ("bob", "pw")
    quay = resolve_credentials("quay.io", options)
    assert quay is not None and quay.identity_token == "refresh-me" and not quay.has_basic
    assert resolve_credentials("example.com", options) is None


@pytest.mark.parametrize("key", ["https://index.docker.io/v1/", "docker.io", "registry-1.docker.io",
                                 "index.docker.io", "https://registry-1.docker.io/v2/"])
def test_docker_hub_key_spellings(tmp_path: Path, key: str) -> None:
    options = _config(tmp_path, {"auths": {key: {"auth": _b64("hub:tok")}}})
    creds = resolve_credentials("docker.io", options)
    assert creds is not None and creds.username == "hub"


def test_empty_auths_entry_means_no_credentials(tmp_path: Path) -> None:
    assert resolve_credentials("ghcr.io", _config(tmp_path, {"auths": {"ghcr.io": {}}})) is None


def test_explicit_options_win_over_config(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": {"ghcr.io": {"auth": _b64("file:user")}}}))
    creds = resolve_credentials("ghcr.io", SourceOptions(docker_config=str(path), username="cli", password="x"))
    assert creds is not None and creds.username == "cli"


def test_config_location_from_docker_config_env(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": _b64("env:pw")}}}))
    env = {"DOCKER_CONFIG": str(tmp_path), "PATH": os.environ.get("PATH", "")}
    assert docker_config_path(SourceOptions(), env) == (tmp_path / "config.json", False)
    creds = resolve_credentials("ghcr.io", SourceOptions(), env)
    assert creds is not None and creds.username == "env"


def test_missing_default_config_is_anonymous(tmp_path: Path) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path / "nowhere")}
    assert resolve_credentials("ghcr.io", SourceOptions(), env) is None


@pytest.mark.parametrize(("content", "phrase"), [
    ("{not json", "invalid JSON"),
    ("[]", "expected a JSON object"),
    ('{"auths": {"ghcr.io": {"auth": "bm9jb2xvbg=="}}}', "user:password"),
])
def test_malformed_config_is_one_line_auth_error(tmp_path: Path, content: str, phrase: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(AuthError, match=phrase) as info:
        resolve_credentials("ghcr.io", SourceOptions(docker_config=str(path)))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_explicit_missing_config_is_auth_error(tmp_path: Path) -> None:
    with pytest.raises(AuthError, match="not found"):
        resolve_credentials("ghcr.io", SourceOptions(docker_config=str(tmp_path / "absent.json")))


# -- credential helpers ---------------------------------------------------------------------------------------


def test_cred_helper_for_registry(tmp_path: Path, bin_dir: Path) -> None:
    _fake_helper(bin_dir, "test", server="127.0.0.1:5000", user="helped", secret="sec")
    options = _config(tmp_path, {"credHelpers": {"127.0.0.1:5000": "test"},
                                 "auths": {"127.0.0.1:5000": {"auth": _b64("ignored:x")}}})
    creds = resolve_credentials("127.0.0.1:5000", options)
    assert creds == Credentials("helped", "sec", None, source="credential helper docker-credential-test")
    assert (bin_dir / "calls.log").read_text() == "get 127.0.0.1:5000\n"


def test_creds_store_asks_with_docker_hub_url_and_falls_back_to_auths(tmp_path: Path, bin_dir: Path) -> None:
    _fake_helper(bin_dir, "store", server="https://index.docker.io/v1/", user="hubuser")
    options = _config(tmp_path, {"credsStore": "store", "auths": {"ghcr.io": {"auth": _b64("gh:pw")}}})
    hub = resolve_credentials("docker.io", options)
    assert hub is not None and hub.username == "hubuser"
    ghcr = resolve_credentials("ghcr.io", options)  # the store answers "not found"
    assert ghcr is not None and ghcr.username == "gh"


def test_helper_identity_token(tmp_path: Path, bin_dir: Path) -> None:
    _fake_helper(bin_dir, "tok", user="<token>", secret="refresh")
    creds = run_credential_helper("tok", "ghcr.io")
    assert creds is not None and creds.identity_token == "refresh" and creds.username is None


def test_missing_helper_is_auth_error(tmp_path: Path, bin_dir: Path) -> None:
    options = _config(tmp_path, {"credHelpers": {"ghcr.io": "absent-helper"}})
    with pytest.raises(AuthError, match="docker-credential-absent-helper not found") as info:
        resolve_credentials("ghcr.io", options)
    assert "\n" not in str(info.value) and info.value.hint


def test_failing_helper_is_one_line_auth_error(bin_dir: Path) -> None:
    _helper(bin_dir, "broken", 'echo "keychain locked" >&2\necho "second line" >&2\nexit 3\n')
    with pytest.raises(AuthError) as info:
        run_credential_helper("broken", "ghcr.io")
    assert str(info.value) == "credential helper docker-credential-broken failed for ghcr.io: keychain locked"


def test_helper_with_garbage_output_is_auth_error(bin_dir: Path) -> None:
    _helper(bin_dir, "garbage", "echo not-json\n")
    with pytest.raises(AuthError, match="invalid JSON"):
        run_credential_helper("garbage", "ghcr.io")


def test_hanging_helper_times_out(bin_dir: Path) -> None:
    _helper(bin_dir, "slow", "sleep 5\n")
    with pytest.raises(AuthError, match="timed out"):
        run_credential_helper("slow", "ghcr.io", timeout=0.3)


# -- against the token-protected registry ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def private(token_registry: TokenRegistry) -> str:
    if not DISTROLESS.exists():
        pytest.skip("../shared/images not present")
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{token_registry.host}/auth/distroless:1",
                 creds=token_registry.creds)
    return f"{token_registry.host}/auth/distroless"


def _pull(reference: str, options: SourceOptions) -> str:
    with RegistrySource(parse_image_ref(reference), options) as src:
        return str(resolve_image(src, None).manifest_digest)


@pytest.mark.registry
def test_config_auths_against_token_registry(token_registry: TokenRegistry, private: str, tmp_path: Path) -> None:
    options = _config(tmp_path, {"auths": {token_registry.host: {"auth": _b64(token_registry.creds)}}})
    assert _pull(f"{private}:1", options).startswith("sha256:")


@pytest.mark.registry
def test_cred_helper_against_token_registry(token_registry: TokenRegistry, private: str, tmp_path: Path,
                                            bin_dir: Path) -> None:
    _fake_helper(bin_dir, "test", server=token_registry.host)
    options = _config(tmp_path, {"credHelpers": {token_registry.host: "test"}})
    assert _pull(f"{private}:1", options).startswith("sha256:")
    assert (bin_dir / "calls.log").read_text() == f"get {token_registry.host}\n"


@pytest.mark.registry
def test_identity_token_uses_oauth2_refresh_grant(token_registry: TokenRegistry, private: str,
                                                  tmp_path: Path) -> None:
    before = len(token_registry.state.requests)
    options = _config(tmp_path, {"auths": {token_registry.host: {"identitytoken": TOKEN_IDENTITY}}})
    assert _pull(f"{private}:1", options).startswith("sha256:")
    assert [r["method"] for r in token_registry.state.requests[before:]] == ["POST"]


@pytest.mark.registry
def test_wrong_config_credentials_are_auth_error(token_registry: TokenRegistry, private: str,
                                                 tmp_path: Path) -> None:
    options = _config(tmp_path, {"auths": {token_registry.host: {"auth": _b64("tidegate:nope")}}})
    with pytest.raises(AuthError) as info:
        _pull(f"{private}:1", options)
    assert token_registry.host in str(info.value) and "auth/distroless" in str(info.value)
    assert info.value.hint and f"docker login {token_registry.host}" in info.value.hint
