"""``tidegate key|sign|verify|attest|verify-attestation`` end to end: argv → exit code + output.

Against a real ``docker-registry`` (images pushed with skopeo) and OCI layouts. Verdicts come from independent
authorities: the cosign interop vectors (``../shared/interop/cosign/cases.json``, from containers/image's own
tests), the truth files of ``../shared/images``, and the in-toto/DSSE specs for the hand-built hostile envelopes.
"""

from __future__ import annotations

import argparse
import base64
import json
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import IMAGES, OciImage, TarMember, load_truth, make_tar
from tests.support.registry import free_port, push_archive
from tests.trust.test_store import (
    OCI_MANIFEST,
    REF_NAME,
    extract_layout,
    sha256,
    signature_manifest,
    write_layout,
)
from tidegate.cli import main as cli_main
from tidegate.image.push import PushClient
from tidegate.image.sources.base import SourceOptions
from tidegate.trust.model import DSSE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, SIGNATURE_ANNOTATION, SignatureLayer
from tidegate.trust.store import open_store, signature_tag

INTEROP = IMAGES.parent / "interop" / "cosign"
DISTROLESS = IMAGES / "distroless-py.oci.tar"
BOOKWORM = IMAGES / "bookworm-app.oci.tar"
PASSWORD = "correct horse battery staple"
needs_images = pytest.mark.skipif(not DISTROLESS.exists(), reason="../shared/images not present")


@dataclass
class Run:
    """One CLI run."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout parsed as JSON."""
        return json.loads(self.out)


def _parser_with_trust() -> argparse.ArgumentParser:
    """main's parser, with the trust commands registered if main does not register them (yet)."""
    from tidegate.cli import trust

    parser = _build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if "verify" not in sub.choices:
        trust.register(sub)
    return parser


_build_parser = cli_main.build_parser


@pytest.fixture(autouse=True)
def _cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_main, "build_parser", _parser_with_trust)
    monkeypatch.setenv("TIDEGATE_PASSWORD", PASSWORD)
    monkeypatch.delenv("COSIGN_PASSWORD", raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", "/nonexistent-docker-config")


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """Run ``tidegate ARGV…`` in-process."""

    def go(*argv: str) -> Run:
        code = cli_main.main(["-q", *argv])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    yield go


@pytest.fixture
def keypair(tmp_path: Path, run: Any) -> Path:
    """``tidegate key generate`` → PREFIX (PREFIX.key, PREFIX.pub)."""
    prefix = tmp_path / "keys" / "signer"
    prefix.parent.mkdir()
    r = run("key", "generate", "--output-prefix", str(prefix))
    assert r.code == 0, r.err
    return prefix


@pytest.fixture
def other_keypair(tmp_path: Path, run: Any) -> Path:
    """A second, unrelated key pair."""
    prefix = tmp_path / "keys2" / "other"
    prefix.parent.mkdir()
    assert run("key", "generate", "--output-prefix", str(prefix)).code == 0
    return prefix


def small_image(tmp_path: Path, content: bytes) -> Path:
    """A one-layer OCI archive whose digest depends on `content`."""
    return OciImage([make_tar([TarMember("app/data", content)])]).build(tmp_path / f"img-{sha256(content)[7:15]}.tar")


def truth_digest(name: str) -> str:
    """Manifest digest of ../shared/images/NAME from its truth file."""
    return str(load_truth(name)["images"][0]["manifest_digest"])


# -- keys -----------------------------------------------------------------------------------------------------


def test_key_generate_writes_a_private_key_only_the_owner_reads(keypair: Path, run: Any) -> None:
    key, pub = keypair.with_suffix(".key"), keypair.with_suffix(".pub")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"ENCRYPTED SIGSTORE PRIVATE KEY" in key.read_bytes()
    assert pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    before = key.read_bytes()
    r = run("key", "generate", "--output-prefix", str(keypair))
    assert r.code == 2 and "refusing to overwrite" in r.err
    assert key.read_bytes() == before
    assert run("key", "generate", "--output-prefix", str(keypair), "--force").code == 0
    assert key.read_bytes() != before and stat.S_IMODE(key.stat().st_mode) == 0o600


def test_key_generate_ed25519_and_cosign_password(tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIDEGATE_PASSWORD")
    monkeypatch.setenv("COSIGN_PASSWORD", "from-cosign-env")
    prefix = tmp_path / "ed"
    assert run("key", "generate", "--output-prefix", str(prefix), "--algorithm", "ed25519").code == 0
    from tidegate.trust import keys

    private = keys.load_private_key(prefix.with_suffix(".key").read_bytes(), b"from-cosign-env")
    public = keys.load_public_key(prefix.with_suffix(".pub").read_bytes())
    assert keys.verify(public, b"data", keys.sign(private, b"data"))


def test_key_without_password_source_is_an_input_error(tmp_path: Path, run: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIDEGATE_PASSWORD")
    r = run("key", "generate", "--output-prefix", str(tmp_path / "k"))
    assert r.code == 2 and "TIDEGATE_PASSWORD" in r.err
    assert not (tmp_path / "k.key").exists()


def test_wrong_password_is_an_input_error(keypair: Path, tmp_path: Path, run: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    layout = write_layout(tmp_path / "l", [(b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode()
                                            + b'","config":{},"layers":[]}', OCI_MANIFEST, {REF_NAME: "1"})])
    monkeypatch.setenv("TIDEGATE_PASSWORD", "wrong")
    r = run("sign", f"oci:{layout}:1", "--key", str(keypair.with_suffix(".key")), "--identity", "example.com/a")
    assert r.code == 2 and "error" in r.err
    assert json.loads((layout / "index.json").read_text())["manifests"][0]["annotations"] == {REF_NAME: "1"}



def test_key_import_pkcs8(tmp_path: Path, run: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from tidegate.trust import keys

    if not hasattr(keys, "encrypt_private_key"):
        pytest.skip("tidegate.trust.keys has no encrypt_private_key yet (requested from the key module)")
    plain = ec.generate_private_key(ec.SECP256R1())
    pem = plain.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
    (tmp_path / "plain.pem").write_bytes(pem)
    prefix = tmp_path / "imported"
    r = run("key", "import-pkcs8", str(tmp_path / "plain.pem"), "--output-prefix", str(prefix))
    assert r.code == 0, r.err
    assert stat.S_IMODE(prefix.with_suffix(".key").stat().st_mode) == 0o600
    private = keys.load_private_key(prefix.with_suffix(".key").read_bytes(), PASSWORD.encode())
    assert keys.verify(plain.public_key(), b"x", keys.sign(private, b"x"))
    assert keys.key_id(keys.load_public_key(prefix.with_suffix(".pub").read_bytes())) == keys.key_id(
        plain.public_key())
    bad = run("key", "import-pkcs8", str(prefix.with_suffix(".pub")), "--output-prefix", str(tmp_path / "x"))
    assert bad.code == 2 and "PKCS#8" in bad.err

# -- sign / verify against the registry ---------------------------------------------------------------------------


@pytest.mark.registry
@needs_images
def test_round_trip_other_key_and_second_signature(registry: str, keypair: Path, other_keypair: Path,
                                                   run: Any) -> None:
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{registry}/cli/app:1")
    image, digest = f"{registry}/cli/app:1", truth_digest("distroless-py")
    r = run("sign", image, "--key", str(keypair.with_suffix(".key")), "-a", "build=42")
    assert r.code == 0, r.err
    assert f"resolved 1 to {digest}" in r.err and "stored" in r.err

    ok = run("verify", image, "--key", str(keypair.with_suffix(".pub")), "-a", "build=42")
    assert ok.code == 0, ok.err
    [payload] = ok.json()
    assert payload["critical"]["image"]["docker-manifest-digest"] == digest
    assert payload["critical"]["identity"]["docker-reference"] == f"{registry}/cli/app"
    assert payload["optional"]["build"] == "42"

    wrong = run("verify", image, "--key", str(other_keypair.with_suffix(".pub")))
    assert wrong.code == 1 and wrong.out == ""
    assert "signature 0: rejected:" in wrong.err

    missing = run("verify", image, "--key", str(keypair.with_suffix(".pub")), "-a", "build=43")
    assert missing.code == 1 and "rejected" in missing.err

    # A second signature by another key is appended; the first is kept and still verifies.
    assert run("sign", image, "--key", str(other_keypair.with_suffix(".key"))).code == 0
    with open_store(image) as store:
        assert len(store.read("sig")) == 2
    for key in (keypair, other_keypair):
        assert run("verify", image, "--key", str(key.with_suffix(".pub"))).code == 0
    text = run("verify", f"{registry}/cli/app@{digest}", "--key", str(keypair.with_suffix(".pub")),
               "--format", "text")
    assert text.code == 0 and text.out.startswith("verified signature 0 of " + digest)


@pytest.mark.registry
@needs_images
def test_tampered_payload_is_rejected(registry: str, keypair: Path, run: Any) -> None:
    push_archive(f"oci-archive:{DISTROLESS}:1", f"{registry}/cli/tampered:1")
    image = f"{registry}/cli/tampered:1"
    assert run("sign", image, "--key", str(keypair.with_suffix(".key"))).code == 0
    with open_store(image) as store:
        [layer] = store.read("sig")
        tag = signature_tag(store.target.digest, "sig")
    # Rewrite the layer bytes (still the right digest for THIS image) and the manifest to match, keeping the
    # signature annotation: the registry holds a consistent manifest whose signature no longer covers the payload.
    forged = layer.payload.replace(b"cosign container image signature", b"cosign container image signaturE")
    assert forged != layer.payload
    with PushClient(registry, "cli/tampered", SourceOptions()) as client:
        manifest = json.loads(client.find_manifest(tag).data)  # type: ignore[union-attr]
        client.push_blob(forged)
        manifest["layers"][0].update(digest=sha256(forged), size=len(forged))
        client.put_manifest(tag, json.dumps(manifest).encode(), OCI_MANIFEST)
    r = run("verify", image, "--key", str(keypair.with_suffix(".pub")))
    assert r.code == 1 and "signature 0: rejected:" in r.err and "verification failed" in r.err


@pytest.mark.registry
def test_signature_copied_from_another_image_is_rejected(registry: str, keypair: Path, tmp_path: Path,
                                                         run: Any) -> None:
    push_archive(f"oci-archive:{small_image(tmp_path, b'first')}:1", f"{registry}/cli/copy:a")
    push_archive(f"oci-archive:{small_image(tmp_path, b'second')}:1", f"{registry}/cli/copy:b")
    assert run("sign", f"{registry}/cli/copy:a", "--key", str(keypair.with_suffix(".key"))).code == 0
    with open_store(f"{registry}/cli/copy:a") as a, open_store(f"{registry}/cli/copy:b") as b:
        digest_a, digest_b = a.target.digest, b.target.digest
        [layer] = a.read("sig")
        b.append("sig", layer)  # the attacker copies a's valid signature next to b
    r = run("verify", f"{registry}/cli/copy:b", "--key", str(keypair.with_suffix(".pub")))
    assert r.code == 1
    assert "rejected" in r.err and str(digest_a)[7:19] in r.err and str(digest_b)[7:19] in r.err


@pytest.mark.registry
def test_signature_of_a_tag_that_moved_does_not_follow_it(registry: str, keypair: Path, tmp_path: Path,
                                                          run: Any) -> None:
    push_archive(f"oci-archive:{small_image(tmp_path, b'v1')}:1", f"{registry}/cli/moving:stable")
    signed = run("sign", f"{registry}/cli/moving:stable", "--key", str(keypair.with_suffix(".key")))
    assert signed.code == 0
    with open_store(f"{registry}/cli/moving:stable") as store:
        old = store.target.digest
    push_archive(f"oci-archive:{small_image(tmp_path, b'v2')}:1", f"{registry}/cli/moving:stable")
    r = run("verify", f"{registry}/cli/moving:stable", "--key", str(keypair.with_suffix(".pub")))
    assert r.code == 1 and "resolved stable to" in r.err and str(old) not in r.err.split("resolved")[1][:90]
    assert "no signatures stored" in r.err
    # The signature still verifies the content it was made for, by digest.
    assert run("verify", f"{registry}/cli/moving@{old}", "--key", str(keypair.with_suffix(".pub"))).code == 0


def test_unreachable_registry_is_one_line_exit_2(keypair: Path, run: Any) -> None:
    r = run("verify", f"127.0.0.1:{free_port()}/nothing:1", "--key", str(keypair.with_suffix(".pub")))
    assert r.code == 2
    assert r.err.count("error:") == 1 and "unreachable" in r.err


def test_verify_without_key_says_keyless_is_not_supported(run: Any) -> None:
    r = run("verify", "127.0.0.1:1/x:1")
    assert r.code == 2 and "keyless verification not supported yet" in r.err


# -- OCI layouts ------------------------------------------------------------------------------------------------


@needs_images
def test_layout_round_trip_needs_a_name_for_identity(tmp_path: Path, keypair: Path, run: Any) -> None:
    layout = extract_layout(DISTROLESS, tmp_path / "app")
    key, pub = str(keypair.with_suffix(".key")), str(keypair.with_suffix(".pub"))
    nameless = run("sign", f"oci:{layout}:1", "--key", key)
    assert nameless.code == 2 and "--identity" in nameless.err
    assert run("sign", f"oci:{layout}:1", "--key", key, "--identity", "registry.example/team/app").code == 0
    assert run("verify", f"oci:{layout}:1", "--key", pub).code == 2  # no name to check the identity against
    assert run("verify", f"oci:{layout}:1", "--key", pub, "--identity", "digest-only").code == 0
    good = run("verify", f"oci:{layout}", "--key", pub, "--docker-reference", "registry.example/team/app:1")
    assert good.code == 0 and good.json()[0]["critical"]["image"]["docker-manifest-digest"] == \
        truth_digest("distroless-py")
    other = run("verify", f"oci:{layout}", "--key", pub, "--docker-reference", "registry.example/team/other")
    assert other.code == 1 and "rejected" in other.err
    out = tmp_path / "payloads.json"
    assert run("verify", f"oci:{layout}", "--key", pub, "--identity", "digest-only", "-o", str(out)).code == 0
    assert json.loads(out.read_text())[0]["critical"]["identity"]["docker-reference"] == "registry.example/team/app"


def test_signature_blob_not_matching_its_digest_is_exit_2_naming_it(tmp_path: Path, keypair: Path,
                                                                    run: Any) -> None:
    image = b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","config":{},"layers":[]}'
    layout = write_layout(tmp_path / "h", [(image, OCI_MANIFEST, {REF_NAME: "1"})])
    assert run("sign", f"oci:{layout}:1", "--key", str(keypair.with_suffix(".key")), "--identity", "x.io/a").code == 0
    with open_store(f"oci:{layout}:1") as store:
        [layer] = store.read("sig")
    blob = layout / "blobs/sha256" / sha256(layer.payload)[7:]
    blob.write_bytes(layer.payload[:-2] + b"!}")
    r = run("verify", f"oci:{layout}:1", "--key", str(keypair.with_suffix(".pub")), "--identity", "digest-only")
    assert r.code == 2 and sha256(layer.payload) in r.err and r.out == ""


# -- cosign interoperability ---------------------------------------------------------------------------------


def _interop_cases() -> list[dict[str, Any]]:
    path = INTEROP / "cases.json"
    return list(json.loads(path.read_text())) if path.exists() else []


def _interop_layout(case: dict[str, Any], dest: Path) -> Path:
    """manifest.json as the image, signature-N.json as the layers of its ``.sig`` manifest, in an OCI layout."""
    folder = INTEROP / case["case"]
    dest.mkdir(parents=True)
    sigs = []
    for path in sorted(folder.glob("signature-*.json")):
        doc = json.loads(path.read_text())
        sigs.append((base64.b64decode(doc["payload_base64"]), doc["layer_media_type"], doc["annotations"]))
    manifest_path = folder / "manifest.json"
    if manifest_path.exists():
        image = manifest_path.read_bytes()
        image_digest = sha256(image)
        entries = [(image, json.loads(image).get("mediaType", OCI_MANIFEST), {REF_NAME: "latest"})]
    else:  # no manifest: the signatures sit at the tag of the digest they name, with no image to bind them to
        image_digest = json.loads(sigs[0][0])["critical"]["image"]["docker-manifest-digest"]
        entries = []
    sig = signature_manifest(dest, sigs)
    entries.append((sig, OCI_MANIFEST, {REF_NAME: f"sha256-{image_digest[7:]}.sig"}))
    return write_layout(dest, entries)


@pytest.mark.skipif(not _interop_cases(), reason="../shared/interop/cosign not present")
@pytest.mark.parametrize("case", _interop_cases(), ids=lambda c: f"{c['case']}-{c.get('key')}-{c['expect']}-"
                         f"{c['reference'].rsplit('/', 1)[-1]}")
def test_cosign_interop_verdicts(case: dict[str, Any], tmp_path: Path, run: Any) -> None:
    layout = _interop_layout(case, tmp_path / "layout")
    argv = ["verify", f"oci:{layout}", "--docker-reference", case["reference"]]
    if case.get("identity"):
        argv += ["--identity", case["identity"]]
    if case.get("key") is None:
        # Keyless (Fulcio + Rekor) is for later: it must be reported as unsupported, never as valid.
        r = run(*argv)
        assert r.code == 2 and "keyless verification not supported yet" in r.err and r.out == ""
        return
    r = run(*argv, "--key", str(INTEROP / case["key"]))
    if case["expect"] == "verified":
        assert r.code == 0, r.err
        payloads = r.json()
        assert payloads and all(p["critical"]["image"]["docker-manifest-digest"] ==
                                sha256((INTEROP / case["case"] / "manifest.json").read_bytes()) for p in payloads)
    elif case["case"] == "no-manifest":
        assert r.code == 2 and "no image" in r.err and r.out == ""
    elif json.loads((INTEROP / case["case"] / "manifest.json").read_bytes()).get("schemaVersion") == 1:
        # Nothing can be bound to a schema 1 manifest: refused as input before any signature is believed.
        assert r.code == 2 and "schema 1" in r.err and r.out == ""
    else:
        assert r.code == 1, r.err
        assert r.out == "" and "rejected:" in r.err


# -- attestations ---------------------------------------------------------------------------------------------


def _pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding (dsse/protocol.md)."""
    t = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(t), t, len(body), body)


def _envelope_layer(private_key: Any, payload_type: str, body: bytes, predicate_type: str) -> SignatureLayer:
    """A DSSE envelope built by hand (not by tidegate), signed over PAE with `private_key`."""
    from tidegate.trust import keys

    sig = keys.sign(private_key, _pae(payload_type, body))
    envelope = {"payloadType": payload_type, "payload": base64.b64encode(body).decode(),
                "signatures": [{"keyid": "", "sig": base64.b64encode(sig).decode()}]}
    return SignatureLayer(DSSE_MEDIA_TYPE, json.dumps(envelope).encode(),
                          tuple(sorted({SIGNATURE_ANNOTATION: "", "predicateType": predicate_type}.items())))


def _statement(subject_digest: str, predicate_type: str) -> bytes:
    return json.dumps({"_type": "https://in-toto.io/Statement/v1",
                       "subject": [{"name": "x.io/a", "digest": {"sha256": subject_digest.split(":")[1]}}],
                       "predicateType": predicate_type, "predicate": {"k": "v"}}).encode()


def test_attest_custom_predicate_and_hostile_envelopes(tmp_path: Path, keypair: Path, run: Any) -> None:
    from tidegate.trust import keys

    image = b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","config":{},"layers":[]}'
    layout = write_layout(tmp_path / "att", [(image, OCI_MANIFEST, {REF_NAME: "1"})])
    ref, key, pub = f"oci:{layout}:1", str(keypair.with_suffix(".key")), str(keypair.with_suffix(".pub"))
    predicate = tmp_path / "p.json"
    predicate.write_text('{"hello": "world"}')
    r = run("attest", ref, "--key", key, "--type", "custom", "--predicate", str(predicate), "--identity", "x.io/a")
    assert r.code == 0, r.err
    ok = run("verify-attestation", ref, "--key", pub)
    assert ok.code == 0, ok.err
    [statement] = ok.json()
    assert statement["subject"][0]["digest"] == {"sha256": sha256(image)[7:]}
    assert statement["predicate"] == {"hello": "world"}

    from tidegate.trust.intoto import PREDICATE_TYPES

    custom = PREDICATE_TYPES["custom"]
    assert run("verify-attestation", ref, "--key", pub, "--type", "cyclonedx").code == 1
    private = keys.load_private_key(Path(key).read_bytes(), PASSWORD.encode())
    # Hostile layers appended next to the good one, each made by the right key but wrong in one way.
    wrong_type = _envelope_layer(private, "text/plain", _statement(sha256(image), custom), custom)
    other_subject = _envelope_layer(private, IN_TOTO_PAYLOAD_TYPE, _statement("sha256:" + "b" * 64, custom), custom)
    layout2 = write_layout(tmp_path / "att2", [(image, OCI_MANIFEST, {REF_NAME: "1"})])
    with open_store(f"oci:{layout2}:1") as store:
        store.append("att", wrong_type)
        store.append("att", other_subject)
    bad = run("verify-attestation", f"oci:{layout2}:1", "--key", pub)
    assert bad.code == 1 and bad.out == ""
    reasons = [line for line in bad.err.splitlines() if "rejected:" in line]
    assert len(reasons) == 2
    assert "payloadType" in reasons[0] or "text/plain" in reasons[0]
    assert "b" * 12 in reasons[1] or "subject" in reasons[1]


def test_attest_provenance(tmp_path: Path, keypair: Path, run: Any) -> None:
    image = b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","config":{},"layers":[]}'
    layout = write_layout(tmp_path / "prov", [(image, OCI_MANIFEST, {REF_NAME: "1"})])
    r = run("attest", f"oci:{layout}:1", "--key", str(keypair.with_suffix(".key")), "--provenance",
            "--builder-id", "https://ci.example/builder", "--source-repo", "https://git.example/app",
            "--revision", "abc123", "--param", "target=prod", "--identity", "x.io/a")
    assert r.code == 0, r.err
    ok = run("verify-attestation", f"oci:{layout}:1", "--key", str(keypair.with_suffix(".pub")), "--type",
             "slsaprovenance1")
    assert ok.code == 0, ok.err
    text = json.dumps(ok.json())
    assert "https://ci.example/builder" in text and "abc123" in text and "prod" in text
    # cosign's name "slsaprovenance" (v0.2) also finds tidegate's own v1 provenance (QA round trip).
    assert run("verify-attestation", f"oci:{layout}:1", "--key", str(keypair.with_suffix(".pub")), "--type",
               "slsaprovenance").code == 0
    missing = run("attest", f"oci:{layout}:1", "--key", str(keypair.with_suffix(".key")), "--provenance")
    assert missing.code == 2 and "--builder-id" in missing.err


def _components(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(doc.get("components", []), key=lambda c: json.dumps(c, sort_keys=True))


@pytest.mark.registry
@pytest.mark.skipif(not BOOKWORM.exists(), reason="../shared/images not present")
def test_sbom_attestation_of_bookworm_app_is_tidegates_sbom(registry: str, keypair: Path, run: Any,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    push_archive(f"oci-archive:{BOOKWORM}:1", f"{registry}/cli/bookworm:1")
    image, digest = f"{registry}/cli/bookworm:1", truth_digest("bookworm-app")
    r = run("attest", image, "--key", str(keypair.with_suffix(".key")), "--sbom")
    assert r.code == 0, r.err
    assert f"resolved 1 to {digest}" in r.err
    ok = run("verify-attestation", image, "--key", str(keypair.with_suffix(".pub")), "--type", "cyclonedx")
    assert ok.code == 0, ok.err
    [statement] = ok.json()
    assert statement["subject"][0]["digest"] == {"sha256": digest[7:]}
    sbom_path = tmp_path / "sbom.json"
    monkeypatch.delenv("TIDEGATE_PASSWORD")  # `tidegate sbom` would take it for a registry password
    s = run("sbom", f"{registry}/cli/bookworm@{digest}", "--format", "cyclonedx-json", "-o", str(sbom_path))
    assert s.code == 0, s.err
    expected = json.loads(sbom_path.read_text())
    assert expected["components"]
    assert _components(statement["predicate"]) == _components(expected)
    assert statement["predicate"]["metadata"]["component"]["version"] == expected["metadata"]["component"]["version"]


@pytest.mark.registry
def test_scan_attestation_wraps_the_vulnerability_report(registry: str, keypair: Path, run: Any, tmp_path: Path,
                                                         vulndb: Path) -> None:
    push_archive(f"oci-archive:{small_image(tmp_path, b'scan me')}:1", f"{registry}/cli/scanned:1")
    image = f"{registry}/cli/scanned:1"
    r = run("attest", image, "--key", str(keypair.with_suffix(".key")), "--scan", "--db", str(vulndb))
    assert r.code == 0, r.err
    ok = run("verify-attestation", image, "--key", str(keypair.with_suffix(".pub")), "--type", "vuln")
    assert ok.code == 0, ok.err
    assert ok.json()[0]["predicateType"].startswith("https://")

