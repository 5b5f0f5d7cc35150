"""tidegate.trust.dsse and .intoto: PAE bytes from the DSSE spec's own example, envelopes, statements,
attestation layers as cosign writes them, every rejection reason, and the predicate helpers."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from tidegate.trust import dsse, keys
from tidegate.trust.intoto import (
    PREDICATE_TYPES,
    SLSA_PROVENANCE_V1,
    attestation_layer,
    make_statement,
    slsa_provenance,
    verify_attestations,
    vuln_predicate,
)
from tidegate.trust.model import (
    DSSE_MEDIA_TYPE,
    IN_TOTO_PAYLOAD_TYPE,
    PREDICATE_TYPE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    SignatureLayer,
)

KEY = ec.generate_private_key(ec.SECP256R1())
PUB = KEY.public_key()
OTHER_KEY = ec.generate_private_key(ec.SECP256R1())
DIGEST = "sha256:" + "12" * 32
OTHER = "sha256:" + "34" * 32
CDX = PREDICATE_TYPES["cyclonedx"]


# -- DSSE -------------------------------------------------------------------------------------------------------


def test_pae_is_the_spec_example() -> None:
    # secure-systems-lab/dsse protocol.md, "Test vectors".
    assert dsse.pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world")


def test_pae_counts_bytes_not_characters() -> None:
    assert dsse.pae("t\u00e9", "\u00e9".encode()) == b"DSSEv1 3 t\xc3\xa9 2 \xc3\xa9"
    assert dsse.pae("", b"") == b"DSSEv1 0  0 "


def test_envelope_round_trip_and_shape() -> None:
    data = dsse.sign_envelope(b'{"a":1}', IN_TOTO_PAYLOAD_TYPE, KEY)
    doc = json.loads(data)
    assert list(doc) == ["payloadType", "payload", "signatures"]
    assert doc["signatures"][0]["keyid"] == "" and base64.b64decode(doc["payload"]) == b'{"a":1}'
    env = dsse.parse_envelope(data)
    assert env.payload_type == IN_TOTO_PAYLOAD_TYPE and env.payload == b'{"a":1}'
    # the signature is over the PAE, not over the payload or its base64
    assert keys.verify(PUB, dsse.pae(IN_TOTO_PAYLOAD_TYPE, b'{"a":1}'), env.signatures[0].sig)
    assert not keys.verify(PUB, b'{"a":1}', env.signatures[0].sig)
    assert dsse.verify_envelope(env, [OTHER_KEY.public_key(), PUB]) == keys.key_id(PUB)
    assert dsse.verify_envelope(env, [OTHER_KEY.public_key()]) is None


def test_envelope_with_ed25519_and_urlsafe_base64() -> None:
    ed = ed25519.Ed25519PrivateKey.generate()
    payload = b"\xfb\xff binary"
    sig = keys.sign(ed, dsse.pae("x/y", payload))
    data = json.dumps({"payloadType": "x/y", "payload": base64.urlsafe_b64encode(payload).decode().rstrip("="),
                       "signatures": [{"sig": base64.urlsafe_b64encode(sig).decode()}]}).encode()
    env = dsse.parse_envelope(data)
    assert env.payload == payload and env.signatures[0].keyid == ""
    assert dsse.verify_envelope(env, [ed.public_key()]) == keys.key_id(ed.public_key())


@pytest.mark.parametrize(("data", "reason"), [
    (b"{", "envelope is not JSON ("),
    (b"[]", "envelope is not a JSON object"),
    (b'{"payload": ""}', "envelope has no payloadType string"),
    (b'{"payloadType": "t"}', "envelope has no payload"),
    (b'{"payloadType": "t", "payload": 5}', "envelope payload is not a string"),
    (b'{"payloadType": "t", "payload": "@@"}', "envelope payload is not valid base64"),
    (b'{"payloadType": "t", "payload": "", "signatures": []}', "envelope has no signatures"),
    (b'{"payloadType": "t", "payload": "", "signatures": ["x"]}', "envelope signature 0 is not an object"),
    (b'{"payloadType": "t", "payload": "", "signatures": [{"keyid": 1, "sig": "AA=="}]}',
     "envelope signature 0 keyid is not a string"),
    (b'{"payloadType": "t", "payload": "", "signatures": [{"keyid": ""}]}',
     "envelope signature 0 sig is not a string"),
    (b'{"payloadType": "t", "payload": "", "signatures": [{"sig": ""}]}', "envelope signature 0 is empty"),
])
def test_envelope_parse_errors(data: bytes, reason: str) -> None:
    with pytest.raises(dsse.EnvelopeError) as info:
        dsse.parse_envelope(data)
    assert str(info.value).startswith(reason) and "\n" not in str(info.value)


# -- statements and attestation layers ----------------------------------------------------------------------------


def test_predicate_types_are_cosigns() -> None:
    assert PREDICATE_TYPES["cyclonedx"] == "https://cyclonedx.org/bom"
    assert PREDICATE_TYPES["spdxjson"] == PREDICATE_TYPES["spdx"] == "https://spdx.dev/Document"
    assert PREDICATE_TYPES["vuln"] == "https://cosign.sigstore.dev/attestation/vuln/v1"
    assert PREDICATE_TYPES["custom"] == "https://cosign.sigstore.dev/attestation/v1"
    assert PREDICATE_TYPES["slsaprovenance1"] == "https://slsa.dev/provenance/v1"
    assert PREDICATE_TYPES["slsaprovenance"] == PREDICATE_TYPES["slsaprovenance02"] == "https://slsa.dev/provenance/v0.2"


def test_statement_shape() -> None:
    st = json.loads(make_statement(CDX, {"bomFormat": "CycloneDX"}, "registry.example/app", DIGEST))
    assert st == {"_type": "https://in-toto.io/Statement/v1", "predicateType": CDX,
                  "subject": [{"name": "registry.example/app", "digest": {"sha256": "12" * 32}}],
                  "predicate": {"bomFormat": "CycloneDX"}}
    with pytest.raises(ValueError, match="not sha256:<64 hex>"):
        make_statement(CDX, {}, "x", "sha512:00")


def test_attestation_layer_is_cosigns_and_verifies() -> None:
    layer = attestation_layer(make_statement(CDX, {"k": "v"}, "r/app", DIGEST), KEY, CDX)
    assert layer.media_type == DSSE_MEDIA_TYPE
    assert layer.annotations == ((SIGNATURE_ANNOTATION, ""), (PREDICATE_TYPE_ANNOTATION, CDX))
    result = verify_attestations([layer], manifest_digest=DIGEST, keys=[PUB], predicate_type=CDX)
    (v,) = result.verified
    assert v.key_id == keys.key_id(PUB) and v.payload["predicate"] == {"k": "v"} and not result.rejected
    assert verify_attestations([layer], manifest_digest=DIGEST, keys=[PUB], predicate_type=None).ok


def test_cosign_v01_statements_are_accepted() -> None:
    st = json.dumps({"_type": "https://in-toto.io/Statement/v0.1", "predicateType": CDX,
                     "subject": [{"name": "r", "digest": {"sha256": "12" * 32}}], "predicate": {}}).encode()
    layer = SignatureLayer(DSSE_MEDIA_TYPE, dsse.sign_envelope(st, IN_TOTO_PAYLOAD_TYPE, KEY))
    assert verify_attestations([layer], manifest_digest=DIGEST, keys=[PUB], predicate_type=CDX).ok


def _att(statement: Any, *, payload_type: str = IN_TOTO_PAYLOAD_TYPE, key: Any = KEY,
         extra: tuple[tuple[str, str], ...] = ()) -> SignatureLayer:
    body = statement if isinstance(statement, bytes) else json.dumps(statement).encode()
    return SignatureLayer(DSSE_MEDIA_TYPE, dsse.sign_envelope(body, payload_type, key), extra)


def _st(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"_type": "https://in-toto.io/Statement/v1", "predicateType": CDX,
                            "subject": [{"name": "r", "digest": {"sha256": "12" * 32}}], "predicate": {}}
    return base | over


def _tampered() -> SignatureLayer:
    layer = _att(_st())
    doc = json.loads(layer.payload)
    doc["payload"] = base64.b64encode(json.dumps(_st(predicate={"evil": 1})).encode()).decode()
    return SignatureLayer(DSSE_MEDIA_TYPE, json.dumps(doc).encode())


ATT_REJECTIONS: list[tuple[str, SignatureLayer, dict[str, Any], str]] = [
    ("media type", SignatureLayer("application/json", _att(_st()).payload), {},
     f"layer media type 'application/json' is not {DSSE_MEDIA_TYPE}"),
    ("not an envelope", SignatureLayer(DSSE_MEDIA_TYPE, b"nope"), {}, "envelope is not JSON ("),
    ("payload type", _att(_st(), payload_type="application/json"), {},
     f"envelope payloadType 'application/json' is not {IN_TOTO_PAYLOAD_TYPE}"),
    ("other key", _att(_st(), key=OTHER_KEY), {},
     "envelope signature does not verify over the PAE with any of the 1 given key(s)"),
    ("no keys", _att(_st()), {"keys": []}, "no public key given to verify the envelope with"),
    ("keyless", _att(_st(), key=OTHER_KEY, extra=(("dev.sigstore.cosign/certificate", "PEM"),)), {},
     "keyless verification not supported yet"),
    ("tampered payload", _tampered(), {},
     "envelope signature does not verify over the PAE with any of the 1 given key(s)"),
    ("statement not json", _att(b"\x00not json"), {}, "statement is not JSON ("),
    ("statement not object", _att(b"[1]"), {}, "statement is not a JSON object"),
    ("statement type", _att(_st(_type="https://example.com/Other")), {},
     "statement _type 'https://example.com/Other' is not https://in-toto.io/Statement/v1"),
    ("no subject", _att(_st(subject=[])), {}, "statement has no subject"),
    ("no predicate type", _att(_st(predicateType=None)), {}, "statement has no predicateType string"),
    ("other subject", _att(_st(subject=[{"name": "r", "digest": {"sha256": "34" * 32}}])), {},
     f"statement subject is {OTHER}, not the verified digest {DIGEST}"),
    ("subject without sha256", _att(_st(subject=[{"name": "r", "digest": {"sha512": "00"}}])), {},
     f"statement subject is no sha256 digest, not the verified digest {DIGEST}"),
    ("predicate type", _att(_st()), {"predicate_type": SLSA_PROVENANCE_V1},
     f"statement predicateType '{CDX}' is not '{SLSA_PROVENANCE_V1}'"),
    ("bad verified digest", _att(_st()), {"manifest_digest": "latest"},
     "verified digest 'latest' is not sha256:<64 hex>"),
]


@pytest.mark.parametrize(("layer", "kw", "reason"), [r[1:] for r in ATT_REJECTIONS], ids=[r[0] for r in ATT_REJECTIONS])
def test_attestation_rejections(layer: SignatureLayer, kw: dict[str, Any], reason: str) -> None:
    args: dict[str, Any] = {"manifest_digest": DIGEST, "keys": [PUB], "predicate_type": None} | kw
    result = verify_attestations([layer], **args)
    assert not result.verified
    (r,) = result.rejected
    assert r.index == 0 and r.reason.startswith(reason) and "\n" not in r.reason, r.reason


# -- predicates -------------------------------------------------------------------------------------------------


def test_slsa_provenance_v1_shape() -> None:
    commit = "0123456789abcdef0123456789abcdef01234567"
    p = slsa_provenance("https://ci.example/builder@v1", "git+https://git.example/app", commit,
                        {"target": "prod", "arch": "amd64"})
    assert p["runDetails"] == {"builder": {"id": "https://ci.example/builder@v1"}}
    bd = p["buildDefinition"]
    assert set(bd) == {"buildType", "externalParameters", "resolvedDependencies"} and bd["buildType"]
    assert bd["externalParameters"] == {"source": {"uri": "git+https://git.example/app", "revision": commit},
                                        "parameters": {"arch": "amd64", "target": "prod"}}
    assert bd["resolvedDependencies"] == [{"uri": "git+https://git.example/app", "digest": {"gitCommit": commit}}]
    by_tag = slsa_provenance("b", "git+https://git.example/app", "v1.2", {})
    assert by_tag["buildDefinition"]["resolvedDependencies"] == [
        {"uri": "git+https://git.example/app", "annotations": {"revision": "v1.2"}}]


def test_vuln_predicate_shape() -> None:
    report = {"schemaVersion": "1", "tool": {"name": "tidegate", "version": "0.1.0"},
              "created": "2024-05-01T10:00:00Z", "db": {"updatedAt": "2024-04-30T00:00:00Z",
                                                        "sources": ["osv:Debian"]}, "results": []}
    p = vuln_predicate(report)
    assert set(p) == {"invocation", "scanner", "metadata"}
    assert set(p["invocation"]) == {"parameters", "uri", "event_id", "builder.id"}
    assert p["scanner"] == {"uri": "pkg:pypi/tidegate@0.1.0", "version": "0.1.0",
                            "db": {"uri": "osv:Debian", "version": "2024-04-30T00:00:00Z"}, "result": report}
    assert p["metadata"] == {"scanStartedOn": "2024-05-01T10:00:00Z", "scanFinishedOn": "2024-05-01T10:00:00Z"}
    assert vuln_predicate({})["scanner"]["db"] == {"uri": "", "version": ""}
