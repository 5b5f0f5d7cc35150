"""The registry pull gate against a real ``docker-registry`` upstream, pulled through with ``skopeo copy``.

Images are tiny (one layer, one file) and pushed with plain distribution API calls, so every digest is known to
the test; the assessor is a fake keyed by digest (and platform, for indexes). What is checked: an allowed image
pulls, a denied one fails with 403 DENIED and its blobs are 403; a tag moved upstream is judged again and the
bytes served are the bytes judged; indexes; signature tags; auth pass-through; a lying upstream.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.images import TarMember, make_tar
from tests.support.registry import TokenRegistry, free_port
from tidegate.errors import RegistryError
from tidegate.policy.verdict import RuleResult, Verdict
from tidegate.serve.gate import Gate, GateConfig

POLICY_HASH = "sha256:" + "0" * 64
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
SIMPLESIGNING = "application/vnd.dev.cosign.simplesigning.v1+json"

pytestmark = pytest.mark.registry


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- pushing tiny images -----------------------------------------------------------------------------------


@dataclass
class Pushed:
    """What was pushed: the manifest bytes and digest, and the blobs it references."""

    manifest: bytes
    digest: str
    config: str
    layers: list[str]
    blobs: dict[str, bytes] = field(default_factory=dict)


def upload_blob(client: httpx.Client, base: str, repo: str, data: bytes) -> str:
    """Monolithic upload (distribution-spec: POST then PUT ?digest=)."""
    digest = sha256(data)
    started = client.post(f"{base}/v2/{repo}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    url = location if location.startswith("http") else f"{base}{location}"
    sep = "&" if "?" in url else "?"
    done = client.put(f"{url}{sep}digest={digest}", content=data,
                      headers={"Content-Type": "application/octet-stream"})
    assert done.status_code == 201, done.text
    return digest


def put_manifest(client: httpx.Client, base: str, repo: str, ref: str, body: bytes, media_type: str) -> str:
    done = client.put(f"{base}/v2/{repo}/manifests/{ref}", content=body, headers={"Content-Type": media_type})
    assert done.status_code == 201, done.text
    return sha256(body)


def tiny_image(content: bytes, *, arch: str = "amd64", layer_type: str = OCI_LAYER,
               layer: bytes | None = None) -> tuple[bytes, dict[str, bytes], str, list[str]]:
    """(manifest bytes, blobs, config digest, layer digests) of a one-layer image holding ``hello`` = content."""
    raw = make_tar([TarMember("hello", content)])
    layer_bytes = layer if layer is not None else gzip.compress(raw, mtime=0)
    config = json.dumps({"architecture": arch, "os": "linux", "config": {"User": "1000"},
                         "rootfs": {"type": "layers", "diff_ids": [sha256(raw)]},
                         "history": [{"created_by": "test"}]}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                           "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
                           "layers": [{"mediaType": layer_type, "digest": sha256(layer_bytes),
                                       "size": len(layer_bytes)}]}).encode()
    return manifest, {sha256(config): config, sha256(layer_bytes): layer_bytes}, sha256(config), [sha256(layer_bytes)]


def push_tiny(host: str, repo: str, ref: str, content: bytes, **kw: Any) -> Pushed:
    """Push a tiny image to ``host/repo:ref`` (plain HTTP, no auth)."""
    manifest, blobs, config, layers = tiny_image(content, **kw)
    base = f"http://{host}"
    with httpx.Client() as client:
        for data in blobs.values():
            upload_blob(client, base, repo, data)
        digest = put_manifest(client, base, repo, ref, manifest, OCI_MANIFEST)
    return Pushed(manifest, digest, config, layers, blobs)


# -- the fake assessor and the running gate -------------------------------------------------------------


@dataclass
class FakeAssessor:
    """Allows what `allowed` lists (``digest`` or ``"digest platform"``), denies the rest; records calls."""

    allowed: set[str] = field(default_factory=set)
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    hook: Callable[[str, str | None], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, reference: str, platform: str | None) -> Verdict:
        with self.lock:
            self.calls.append((reference, platform))
        if self.hook is not None:
            self.hook(reference, platform)
        digest = reference.rsplit("@", 1)[1]
        ok = digest in self.allowed or f"{digest} {platform}" in self.allowed
        result = (RuleResult("fake", "pass", "on the test's allow-list") if ok else
                  RuleResult("fake", "fail", f"{digest[:19]} is not on the test's allow-list"))
        return Verdict(reference=reference, manifest_digest=digest, policy_hash=POLICY_HASH, results=(result,))

    def digests(self) -> list[str]:
        return [ref.rsplit("@", 1)[1] for ref, _ in self.calls]


@dataclass
class RunningGate:
    """A gate served by uvicorn on 127.0.0.1 in a thread."""

    gate: Gate
    host: str

    @property
    def url(self) -> str:
        return f"http://{self.host}"


@contextlib.contextmanager
def running_gate(upstream: str, assess: Any, **kw: Any) -> Iterator[RunningGate]:
    """Start the gate on a free loopback port; stop it on exit."""
    import uvicorn

    gate = Gate(GateConfig(upstream=upstream, policy_hash=POLICY_HASH, assess=assess, **kw))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(gate.app, host="127.0.0.1", port=port, log_level="critical",
                                           access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, name="gate", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("gate did not start")
        time.sleep(0.02)
    try:
        yield RunningGate(gate, f"127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def skopeo_pull(ref: str, dest: Path, *, creds: str | None = None) -> subprocess.CompletedProcess[str]:
    """``skopeo copy docker://REF oci:DEST:1`` (plain HTTP allowed)."""
    exe = shutil.which("skopeo")
    if exe is None:
        pytest.skip("skopeo not installed")
    argv = [exe, "--insecure-policy", "copy", "--retry-times", "0", "--src-tls-verify=false"]
    if creds:
        argv += ["--src-creds", creds]
    argv += [f"docker://{ref}", f"oci:{dest}:1"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)


def pulled_digest(dest: Path) -> str:
    return str(json.loads((dest / "index.json").read_text())["manifests"][0]["digest"])


def errors_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"errors"} and len(body["errors"]) == 1, body
    return dict(body["errors"][0])


def counter(gate: Gate, kind: str, decision: str) -> float:
    value = gate.metrics.get_sample_value("tidegate_gate_requests_total", {"kind": kind, "decision": decision})
    return value or 0.0


# -- allowed and denied ---------------------------------------------------------------------------------


def test_skopeo_pulls_an_allowed_image_through_the_gate(registry: str, tmp_path: Path) -> None:
    image = push_tiny(registry, "gate/allowed", "1", b"good\n")
    assessor = FakeAssessor({image.digest})
    with running_gate(f"http://{registry}", assessor) as gate:
        done = skopeo_pull(f"{gate.host}/gate/allowed:1", tmp_path / "out")
        assert done.returncode == 0, done.stderr
        assert pulled_digest(tmp_path / "out") == image.digest
        assert (tmp_path / "out" / "blobs" / "sha256" / image.layers[0].split(":")[1]).exists()
        # Judged once, by digest, under the upstream's name; a second pull uses the cached verdict.
        assert assessor.calls == [(f"{registry}/gate/allowed@{image.digest}", None)]
        assert skopeo_pull(f"{gate.host}/gate/allowed:1", tmp_path / "again").returncode == 0
        assert len(assessor.calls) == 1
        with httpx.Client(base_url=gate.url) as client:
            head = client.head("/v2/gate/allowed/manifests/1")
            assert head.status_code == 200
            assert head.headers["Docker-Content-Digest"] == image.digest
            assert head.headers["Content-Type"] == OCI_MANIFEST
            assert int(head.headers["Content-Length"]) == len(image.manifest)
            got = client.get("/v2/gate/allowed/manifests/1")
            assert got.content == image.manifest
            version = client.get("/v2/")
            assert version.status_code == 200
            assert version.headers["Docker-Distribution-API-Version"] == "registry/2.0"
            metrics = client.get("/metrics").text
        assert 'tidegate_gate_requests_total{decision="allowed",kind="manifest"}' in metrics
        assert counter(gate.gate, "blob", "allowed") >= 2


def test_a_denied_image_fails_skopeo_with_denied_and_its_blobs_are_refused(registry: str, tmp_path: Path) -> None:
    image = push_tiny(registry, "gate/denied", "1", b"bad\n")
    assessor = FakeAssessor()
    with running_gate(f"http://{registry}", assessor) as gate:
        done = skopeo_pull(f"{gate.host}/gate/denied:1", tmp_path / "out")
        assert done.returncode != 0
        assert "denied" in done.stderr.lower() and "not on the test's allow-list" in done.stderr, done.stderr
        with httpx.Client(base_url=gate.url) as client:
            response = client.get("/v2/gate/denied/manifests/1")
            assert response.status_code == 403
            error = errors_of(response)
            assert error["code"] == "DENIED"
            assert error["detail"]["digest"] == image.digest
            assert error["detail"]["reasons"] == [f"fake: {image.digest[:19]} is not on the test's allow-list"]
            assert image.digest in error["message"] and "not on the test's allow-list" in error["message"]
            assert client.head("/v2/gate/denied/manifests/1").status_code == 403
            for blob in (image.config, *image.layers):
                refused = client.get(f"/v2/gate/denied/blobs/{blob}")
                assert refused.status_code == 403 and errors_of(refused)["code"] == "DENIED"
                assert client.head(f"/v2/gate/denied/blobs/{blob}").status_code == 403
        # The denial was cached: the HEAD and the GET did not assess again.
        assert assessor.digests() == [image.digest]
        assert counter(gate.gate, "manifest", "denied") >= 3
        assert counter(gate.gate, "blob", "denied") == 4


def test_blobs_are_granted_per_repository_and_only_by_a_passing_manifest(registry: str) -> None:
    good = push_tiny(registry, "gate/grant-a", "1", b"shared\n")
    push_tiny(registry, "gate/grant-b", "1", b"shared\n")  # same blobs, other repository
    assessor = FakeAssessor({good.digest})
    with running_gate(f"http://{registry}", assessor) as gate, httpx.Client(base_url=gate.url) as client:
        layer = good.layers[0]
        assert client.get(f"/v2/gate/grant-a/blobs/{layer}").status_code == 403  # no manifest pulled yet
        assert client.get("/v2/gate/grant-a/manifests/1").status_code == 200
        blob = client.get(f"/v2/gate/grant-a/blobs/{layer}")
        assert blob.status_code == 200 and blob.content == good.blobs[layer]
        assert blob.headers["Docker-Content-Digest"] == layer
        assert client.get(f"/v2/gate/grant-b/blobs/{layer}").status_code == 403
        # An unreferenced blob of the allowed repository stays refused.
        assert client.get(f"/v2/gate/grant-a/blobs/sha256:{'1' * 64}").status_code == 403
        # The same digest in another repository is judged there (scopes and signature identity are per
        # repository), not served under the first repository's verdict.
        assert client.get("/v2/gate/grant-b/manifests/1").status_code == 200
        assert assessor.calls == [(f"{registry}/gate/grant-a@{good.digest}", None),
                                  (f"{registry}/gate/grant-b@{good.digest}", None)]


# -- tags moved upstream ----------------------------------------------------------------------------------


def test_a_tag_moved_upstream_after_an_allow_is_judged_again(registry: str, tmp_path: Path) -> None:
    old = push_tiny(registry, "gate/moving", "1", b"version 1\n")
    assessor = FakeAssessor({old.digest})
    with running_gate(f"http://{registry}", assessor) as gate:
        assert skopeo_pull(f"{gate.host}/gate/moving:1", tmp_path / "v1").returncode == 0
        new = push_tiny(registry, "gate/moving", "1", b"version 2: not allowed\n")
        done = skopeo_pull(f"{gate.host}/gate/moving:1", tmp_path / "v2")
        assert done.returncode != 0 and "denied" in done.stderr.lower(), done.stderr
        assert assessor.digests() == [old.digest, new.digest]
        with httpx.Client(base_url=gate.url) as client:
            response = client.get("/v2/gate/moving/manifests/1")
            assert response.status_code == 403 and errors_of(response)["detail"]["digest"] == new.digest
            assert client.get(f"/v2/gate/moving/blobs/{new.layers[0]}").status_code == 403
            # Once the new content is allowed, the new bytes are served under their own digest.
            assessor.allowed.add(new.digest)
            gate.gate.verdicts = type(gate.gate.verdicts)(60)  # forget the cached denial
            served = client.get("/v2/gate/moving/manifests/1")
            assert served.status_code == 200 and served.content == new.manifest
            assert served.headers["Docker-Content-Digest"] == new.digest


def test_the_bytes_served_are_the_bytes_judged_when_the_tag_moves_during_the_assessment(registry: str) -> None:
    old_manifest, _, _, _ = tiny_image(b"judged\n")
    first = push_tiny(registry, "gate/race", "1", b"judged\n")
    later = push_tiny(registry, "gate/race", "other", b"swapped in during the assessment\n")
    moved: list[str] = []

    def move_the_tag(reference: str, platform: str | None) -> None:
        with httpx.Client() as client:
            put_manifest(client, f"http://{registry}", "gate/race", "1", later.manifest, OCI_MANIFEST)
        moved.append(reference)

    assessor = FakeAssessor({first.digest, later.digest}, hook=move_the_tag)
    with running_gate(f"http://{registry}", assessor) as gate, httpx.Client(base_url=gate.url) as client:
        served = client.get("/v2/gate/race/manifests/1")
        assert moved, "the hook ran"
        assert served.status_code == 200
        assert served.content == old_manifest == first.manifest
        assert served.headers["Docker-Content-Digest"] == first.digest
        assert assessor.digests() == [first.digest]
        # The other content was never judged, so its blobs are not served.
        assert client.get(f"/v2/gate/race/blobs/{later.layers[0]}").status_code == 403
        # The next request resolves the tag again and judges what it now names.
        assert client.get("/v2/gate/race/manifests/1").headers["Docker-Content-Digest"] == later.digest
        assert assessor.digests() == [first.digest, later.digest]


# -- indexes ---------------------------------------------------------------------------------------------


def push_index(host: str, repo: str, tag: str) -> tuple[Pushed, Pushed, Pushed, str, bytes]:
    """An index of linux/amd64 + linux/arm64/v8 + a BuildKit-style attestation child; (amd, arm, att, digest, bytes)."""
    amd = push_tiny(host, repo, "amd64", b"amd64\n")
    arm = push_tiny(host, repo, "arm64", b"arm64\n", arch="arm64")
    att = push_tiny(host, repo, "att", b"{}", layer_type="application/vnd.in-toto+json",
                     layer=b'{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document",'
                           b'"subject":[],"predicate":{}}')
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": amd.digest, "size": len(amd.manifest),
         "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": OCI_MANIFEST, "digest": arm.digest, "size": len(arm.manifest),
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": OCI_MANIFEST, "digest": att.digest, "size": len(att.manifest),
         "platform": {"os": "unknown", "architecture": "unknown"},
         "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                         "vnd.docker.reference.digest": amd.digest}},
    ]}).encode()
    with httpx.Client() as client:
        digest = put_manifest(client, f"http://{host}", repo, tag, index, OCI_INDEX)
    return amd, arm, att, digest, index


def test_an_index_is_served_only_when_every_platform_passes(registry: str, tmp_path: Path) -> None:
    amd, arm, att, index, index_bytes = push_index(registry, "gate/multi", "1")
    assessor = FakeAssessor({f"{index} linux/amd64", f"{index} linux/arm64/v8"})
    with running_gate(f"http://{registry}", assessor) as gate:
        done = skopeo_pull(f"{gate.host}/gate/multi:1", tmp_path / "out")
        assert done.returncode == 0, done.stderr
        # Each platform judged as index@digest + platform; the attestation child is no image and not judged.
        assert sorted(assessor.calls, key=str) == [(f"{registry}/gate/multi@{index}", "linux/amd64"),
                                                    (f"{registry}/gate/multi@{index}", "linux/arm64/v8")]
        with httpx.Client(base_url=gate.url) as client:
            served = client.get("/v2/gate/multi/manifests/1")
            assert served.content == index_bytes and served.headers["Content-Type"] == OCI_INDEX
            # Children of the allowed index are served by digest without another verdict, their blobs too.
            for child in (amd, arm):
                got = client.get(f"/v2/gate/multi/manifests/{child.digest}")
                assert got.status_code == 200 and got.content == child.manifest
                assert client.get(f"/v2/gate/multi/blobs/{child.layers[0]}").status_code == 200
            attestation = client.get(f"/v2/gate/multi/manifests/{att.digest}")
            assert attestation.status_code == 200
            assert client.get(f"/v2/gate/multi/blobs/{att.layers[0]}").status_code == 200
        assert len(assessor.calls) == 2


def test_an_index_with_one_denied_platform_is_denied_and_a_child_alone_is_judged_alone(registry: str) -> None:
    amd, arm, _, index, _ = push_index(registry, "gate/multi-deny", "1")
    assessor = FakeAssessor({f"{index} linux/amd64"})
    with running_gate(f"http://{registry}", assessor) as gate, httpx.Client(base_url=gate.url) as client:
        response = client.get("/v2/gate/multi-deny/manifests/1")
        assert response.status_code == 403
        reasons = errors_of(response)["detail"]["reasons"]
        assert reasons == [f"linux/arm64/v8: fake: {index[:19]} is not on the test's allow-list"]
        # The amd64 child asked for directly (no allowed index granted it) is judged on its own digest.
        child = client.get(f"/v2/gate/multi-deny/manifests/{amd.digest}")
        assert child.status_code == 403
        assert (f"{registry}/gate/multi-deny@{amd.digest}", None) in assessor.calls
        assert client.get(f"/v2/gate/multi-deny/blobs/{arm.layers[0]}").status_code == 403


# -- signature and attestation artifacts ------------------------------------------------------------------


def test_signature_tags_pass_through_without_a_verdict_but_never_as_a_runnable_image(registry: str) -> None:
    image = push_tiny(registry, "gate/signed", "1", b"signed\n")
    sig_tag = image.digest.replace(":", "-") + ".sig"
    payload = json.dumps({"critical": {"image": {"docker-manifest-digest": image.digest}}}).encode()
    signature = push_tiny(registry, "gate/signed", sig_tag, b"", layer_type=SIMPLESIGNING, layer=payload)
    smuggled = push_tiny(registry, "gate/signed", image.digest.replace(":", "-") + ".att", b"runnable\n")
    assessor = FakeAssessor()
    with running_gate(f"http://{registry}", assessor) as gate, httpx.Client(base_url=gate.url) as client:
        got = client.get(f"/v2/gate/signed/manifests/{sig_tag}")
        assert got.status_code == 200 and got.content == signature.manifest
        blob = client.get(f"/v2/gate/signed/blobs/{signature.layers[0]}")
        assert blob.status_code == 200 and blob.content == payload
        assert assessor.calls == []  # never under a verdict
        assert counter(gate.gate, "manifest", "passthrough") == 1
        # An image with filesystem layers under an attestation tag is refused, and its layer with it.
        refused = client.get(f"/v2/gate/signed/manifests/{image.digest.replace(':', '-')}.att")
        assert refused.status_code == 403 and "filesystem layer" in errors_of(refused)["message"]
        assert client.get(f"/v2/gate/signed/blobs/{smuggled.layers[0]}").status_code == 403
        # The signed image itself is still judged (and denied here).
        assert client.get("/v2/gate/signed/manifests/1").status_code == 403
        assert assessor.digests() == [image.digest]


def test_a_denied_image_layer_relabelled_under_a_sig_tag_is_not_served(registry: str) -> None:
    """Regression (QA pass): a ``.sig`` manifest listing a denied image's layer and config, relabelled with the
    simple-signing media type, must not make them pullable: artifact blobs are served only if they are one."""
    denied = push_tiny(registry, "gate/smuggle", "1", b"AWS_SECRET_ACCESS_KEY=not-for-you\n")
    sig_tag = "sha256-" + "c" * 64 + ".sig"
    payload = json.dumps({"critical": {"image": {"docker-manifest-digest": denied.digest}}}).encode()
    honest = push_tiny(registry, "gate/smuggle", sig_tag, b"", layer_type=SIMPLESIGNING, layer=payload)
    manifest = json.loads(honest.manifest)
    for blob in (denied.layers[0], denied.config):
        size = len(denied.blobs[blob])
        manifest["layers"].append({"mediaType": SIMPLESIGNING, "digest": blob, "size": size})
    with httpx.Client() as client:
        put_manifest(client, f"http://{registry}", "gate/smuggle", sig_tag, json.dumps(manifest).encode(),
                     OCI_MANIFEST)
    with running_gate(f"http://{registry}", FakeAssessor()) as gate, httpx.Client(base_url=gate.url) as client:
        assert client.get(f"/v2/gate/smuggle/manifests/{sig_tag}").status_code == 200
        assert client.get(f"/v2/gate/smuggle/blobs/{honest.layers[0]}").content == payload
        for blob in (denied.layers[0], denied.config):
            refused = client.get(f"/v2/gate/smuggle/blobs/{blob}")
            assert refused.status_code == 403 and b"not-for-you" not in refused.content, refused.text
            assert "signature/attestation artifact" in errors_of(refused)["message"]


# -- auth pass-through ------------------------------------------------------------------------------------


def test_client_credentials_reach_a_token_protected_upstream(token_registry: TokenRegistry, tmp_path: Path) -> None:
    from tests.support.images import OciImage
    from tests.support.registry import push_archive

    built = OciImage([make_tar([TarMember("hello", b"private\n")])])
    archive = built.build(tmp_path / "private.tar")
    push_archive(f"oci-archive:{archive}:1", f"{token_registry.host}/gate/private:1", creds=token_registry.creds)
    assessor = FakeAssessor({built.manifest_digest})
    with running_gate(f"http://{token_registry.host}", assessor) as gate:
        anonymous = skopeo_pull(f"{gate.host}/gate/private:1", tmp_path / "anon")
        assert anonymous.returncode != 0
        assert "unauthorized" in anonymous.stderr.lower() or "401" in anonymous.stderr, anonymous.stderr
        assert assessor.calls == []
        done = skopeo_pull(f"{gate.host}/gate/private:1", tmp_path / "out", creds=token_registry.creds)
        assert done.returncode == 0, done.stderr
        assert pulled_digest(tmp_path / "out") == built.manifest_digest
        with httpx.Client(base_url=gate.url) as client:
            challenge = client.get("/v2/gate/private/manifests/1")
            assert challenge.status_code == 401
            # Relayed unchanged: the client fetches its token from the upstream's own realm.
            assert f'realm="{token_registry.realm}"' in challenge.headers["WWW-Authenticate"]
            assert client.get(f"/v2/gate/private/blobs/{built.blob_digests['layers'][0]}").status_code == 401
    granted = [r for r in token_registry.state.requests if r["granted"]]
    assert any("repository:gate/private:pull" in r["scopes"] for r in granted)


# -- failures --------------------------------------------------------------------------------------------


def test_an_assessment_that_fails_denies_and_is_not_cached(registry: str) -> None:
    image = push_tiny(registry, "gate/fails", "1", b"unassessable\n")
    calls: list[str] = []

    def failing(reference: str, platform: str | None) -> Verdict:
        calls.append(reference)
        raise RegistryError("registry 127.0.0.1 unreachable: Connection refused")

    with running_gate(f"http://{registry}", failing) as gate, httpx.Client(base_url=gate.url) as client:
        for _ in range(2):
            response = client.get("/v2/gate/fails/manifests/1")
            assert response.status_code == 403
            assert errors_of(response)["detail"]["reasons"] == [
                "gate: could not be assessed: registry 127.0.0.1 unreachable: Connection refused"]
        assert calls == [f"{registry}/gate/fails@{image.digest}"] * 2


def test_a_verdict_about_another_digest_denies(registry: str) -> None:
    image = push_tiny(registry, "gate/otherpin", "1", b"pin\n")

    def wrong_pin(reference: str, platform: str | None) -> Verdict:
        return Verdict(reference=reference, manifest_digest="sha256:" + "e" * 64, policy_hash=POLICY_HASH,
                       results=(RuleResult("fake", "pass", "fine"),))

    with running_gate(f"http://{registry}", wrong_pin) as gate, httpx.Client(base_url=gate.url) as client:
        response = client.get("/v2/gate/otherpin/manifests/1")
        assert response.status_code == 403
        assert "the assessment judged sha256:eeee" in errors_of(response)["message"]
        assert errors_of(response)["detail"]["digest"] == image.digest


def test_the_gate_is_read_only_and_reports_health(registry: str) -> None:
    with running_gate(f"http://{registry}", FakeAssessor()) as gate, httpx.Client(base_url=gate.url) as client:
        assert client.get("/healthz").text == "ok"
        assert client.put("/v2/gate/x/manifests/1", content=b"{}").status_code == 405
        assert client.post("/v2/gate/x/blobs/uploads/").status_code == 405
        assert errors_of(client.get("/v2/gate/x/referrers/sha256:" + "a" * 64))["code"] == "UNSUPPORTED"
        assert errors_of(client.get("/v2/gate/x/manifests/bad%20tag"))["code"] == "TAG_INVALID"
        assert client.get("/v2/gate/x/blobs/sha256:short").status_code == 400
        assert client.get("/v2/gate/nothing/manifests/1").status_code == 404  # relayed MANIFEST_UNKNOWN
        push_tiny(registry, "gate/listed", "7", b"t\n")
        assert "7" in client.get("/v2/gate/listed/tags/list").json()["tags"]


# -- a hostile upstream -----------------------------------------------------------------------------------


@dataclass
class Hostile:
    """Routes of a fake upstream: path → (status, headers, body)."""

    routes: dict[str, tuple[int, dict[str, str], bytes]]


@contextlib.contextmanager
def hostile_upstream(hostile: Hostile) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            status, headers, body = hostile.routes.get(self.path, (404, {}, b'{"errors":[{"code":"NOT_FOUND"}]}'))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_HEAD = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_hostile_upstream_is_never_served(tmp_path: Path) -> None:
    honest, blobs, _, layers = tiny_image(b"honest\n")
    evil, _, _, _ = tiny_image(b"evil\n")
    honest_digest = sha256(honest)
    layer = layers[0]
    forged_layer = bytes(len(blobs[layer]))  # right size, wrong bytes
    hostile = Hostile({
        "/v2/": (200, {}, b"{}"),
        # (a) asked by digest, answers other bytes
        f"/v2/h/app/manifests/{honest_digest}": (200, {"Content-Type": OCI_MANIFEST}, evil),
        # (b) a tag whose Docker-Content-Digest header disagrees with the body
        "/v2/h/app/manifests/lying": (200, {"Content-Type": OCI_MANIFEST, "Docker-Content-Digest": honest_digest},
                                      evil),
        # (c) an honest manifest whose layer is served forged
        "/v2/h/app/manifests/1": (200, {"Content-Type": OCI_MANIFEST}, honest),
        f"/v2/h/app/blobs/{layer}": (200, {"Content-Type": "application/octet-stream"}, forged_layer),
    })
    assessor = FakeAssessor({honest_digest, sha256(evil)})
    with hostile_upstream(hostile) as upstream, running_gate(f"http://{upstream}", assessor) as gate, \
            httpx.Client(base_url=gate.url) as client:
        by_digest = client.get(f"/v2/h/app/manifests/{honest_digest}")
        assert by_digest.status_code == 502
        assert errors_of(by_digest)["code"] == "DIGEST_INVALID"
        assert errors_of(by_digest)["detail"] == {"expected": honest_digest, "actual": sha256(evil)}
        lying = client.get("/v2/h/app/manifests/lying")
        assert lying.status_code == 502 and "Docker-Content-Digest" in errors_of(lying)["message"]
        assert assessor.calls == []  # nothing unverified was ever judged
        done = skopeo_pull(f"{gate.host}/h/app@{honest_digest}", tmp_path / "out")
        assert done.returncode != 0
        assert "do not match the requested digest" in done.stderr or "502" in done.stderr, done.stderr
        # (c) the manifest passes, but the forged layer never arrives complete.
        assert client.get("/v2/h/app/manifests/1").status_code == 200
        with pytest.raises(httpx.HTTPError):
            client.get(f"/v2/h/app/blobs/{layer}")
        assert counter(gate.gate, "blob", "error") == 1
