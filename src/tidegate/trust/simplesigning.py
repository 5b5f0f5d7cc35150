"""Cosign "simple signing": the signature payload, the signature layer, and its verification.

    payload = make_payload("sha256:…", "registry.example/app", {"build": "42"})
    layer = signature_layer(payload, private_key)        # one layer of the sha256-<hex>.sig manifest
    result = verify_simple_signatures([layer], manifest_digest="sha256:…", reference="registry.example/app:1",
                                      keys=[public_key])
    result.ok, [r.reason for r in result.rejected]

The payload is the containers/image "simple signing" JSON cosign writes (``{"critical": {"identity":
{"docker-reference"}, "image": {"docker-manifest-digest"}, "type"}, "optional"}``); the layer annotation
``dev.cosignproject.cosign/signature`` holds the base64 signature over the exact layer bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.errors import InvalidReference, UsageError
from tidegate.image.reference import ImageRef, parse_docker_reference
from tidegate.trust import keys as _keys
from tidegate.trust.keys import PrivateKey, PublicKey
from tidegate.trust.model import (
    SIGNATURE_ANNOTATION,
    SIMPLESIGNING_MEDIA_TYPE,
    RejectedSignature,
    SignatureLayer,
    VerificationResult,
    VerifiedSignature,
)

COSIGN_SIGNATURE_TYPE = "cosign container image signature"
"""The ``critical.type`` cosign writes."""
ATOMIC_SIGNATURE_TYPE = "atomic container signature"
"""The ``critical.type`` spelling of skopeo / containers/image, accepted as containers/image does."""
CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate"
"""Layer annotation of keyless (Fulcio) signatures: the signing certificate."""
IDENTITY_MODES = ("repository", "exact", "digest-only")
"""How a payload's ``docker-reference`` must match the verified image (see `verify_simple_signatures`)."""
KEYLESS_NOT_SUPPORTED = "keyless verification not supported yet"
"""The reason given for keyless (certificate-carrying) signatures that no given key verifies."""


def canonical_json(value: Any) -> bytes:
    """`value` as compact JSON, escaped like Go's ``encoding/json`` (so payloads match cosign's byte for byte)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"),
                          ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text.encode()


def make_payload(manifest_digest: str, docker_reference: str,
                 annotations: Mapping[str, str] | None = None) -> bytes:
    """The simple-signing payload cosign writes for `manifest_digest` signed as `docker_reference`."""
    critical = {
        "identity": {"docker-reference": docker_reference},
        "image": {"docker-manifest-digest": manifest_digest},
        "type": COSIGN_SIGNATURE_TYPE,
    }
    optional = {k: annotations[k] for k in sorted(annotations)} if annotations else None
    return canonical_json({"critical": critical, "optional": optional})


def signature_layer(payload: bytes, private_key: PrivateKey) -> SignatureLayer:
    """A ``.sig`` manifest layer: `payload` plus the base64 signature over it in the signature annotation."""
    signature = base64.b64encode(_keys.sign(private_key, payload)).decode()
    return SignatureLayer(media_type=SIMPLESIGNING_MEDIA_TYPE, payload=payload,
                          annotations=((SIGNATURE_ANNOTATION, signature),))


def _parse_reference(value: str, what: str) -> ImageRef:
    ref = parse_docker_reference(value)
    if ref.registry is None or ref.repository is None:
        raise InvalidReference(f"{what} {value!r} names no registry repository")
    return ref


def _exact(ref: ImageRef, value: str) -> str:
    """``registry/repository[:tag][@digest]``, with the tag only when `value` gave one (no implied ``latest``)."""
    tag_given = ref.tag is not None and (ref.tag != "latest" or value.split("@", 1)[0].endswith(":latest"))
    out = f"{ref.registry}/{ref.repository}"
    if tag_given:
        out += f":{ref.tag}"
    if ref.digest is not None:
        out += f"@{ref.digest}"
    return out


def decode_signature(layer: SignatureLayer) -> bytes | str:
    """The raw signature of `layer` from its signature annotation, or why it has none (a one-line reason)."""
    value = layer.annotation(SIGNATURE_ANNOTATION)
    if value is None:
        return f"no {SIGNATURE_ANNOTATION} annotation"
    if not value:
        return f"empty {SIGNATURE_ANNOTATION} annotation"
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return f"{SIGNATURE_ANNOTATION} annotation is not valid base64"


def matching_key(data: bytes, signature: bytes, keys: Sequence[PublicKey]) -> PublicKey | None:
    """The first of `keys` under which `signature` verifies over `data`, if any."""
    return next((k for k in keys if _keys.verify(k, data, signature)), None)


def no_key_reason(layer: SignatureLayer, keys: Sequence[PublicKey]) -> str:
    """Why no key verified `layer`'s signature: keyless (certificate-carrying), no keys, or which keys failed."""
    if layer.annotation(CERTIFICATE_ANNOTATION) is not None:
        return (f"{KEYLESS_NOT_SUPPORTED}: the signature carries a Fulcio certificate "
                "and no given public key verifies it")
    if not keys:
        return "no public key given to verify the signature with"
    if len(keys) == 1:
        return f"signature does not verify with key {_keys.key_id(keys[0])}"
    return f"signature does not verify with any of the {len(keys)} given keys"


def _verify_one(layer: SignatureLayer, *, manifest_digest: str, reference: ImageRef | None, reference_text: str,
                keys: Sequence[PublicKey], identity: str,
                annotations: Mapping[str, str] | None) -> tuple[PublicKey, dict[str, Any]] | str:
    """(verifying key, payload) when `layer` passes every step, else the first failure's reason."""
    # (1) The layer is a simple-signing payload (anything else stored at .sig is not a signature we verify).
    if layer.media_type != SIMPLESIGNING_MEDIA_TYPE:
        return f"layer media type {layer.media_type!r} is not {SIMPLESIGNING_MEDIA_TYPE}"
    # (2) The signature annotation is present and base64.
    signature = decode_signature(layer)
    if isinstance(signature, str):
        return signature
    # (3) The signature verifies over the exact layer bytes with one of the given keys; nothing in the payload
    #     is read before this (a keyless signature, carrying a certificate, is reported as unsupported).
    key = matching_key(layer.payload, signature, keys)
    if key is None:
        return no_key_reason(layer, keys)
    # (4) The payload is a JSON object of the simple-signing type (cosign's, or skopeo's spelling).
    try:
        payload = json.loads(layer.payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return f"payload is not JSON ({e})".splitlines()[0]
    critical = payload.get("critical") if isinstance(payload, dict) else None
    if not isinstance(critical, dict):
        return "payload has no 'critical' object"
    kind = critical.get("type")
    if kind not in (COSIGN_SIGNATURE_TYPE, ATOMIC_SIGNATURE_TYPE):
        return f"payload type {kind!r} is not {COSIGN_SIGNATURE_TYPE!r}"
    image, ident = critical.get("image"), critical.get("identity")
    signed_digest = image.get("docker-manifest-digest") if isinstance(image, dict) else None
    signed_ref = ident.get("docker-reference") if isinstance(ident, dict) else None
    if not isinstance(signed_digest, str):
        return "payload has no critical.image.docker-manifest-digest string"
    if not isinstance(signed_ref, str):
        return "payload has no critical.identity.docker-reference string"
    # (5) The payload signs this manifest digest (never a tag: a moved tag or copied signature fails here).
    if signed_digest != manifest_digest:
        return f"payload docker-manifest-digest {signed_digest} is not the verified digest {manifest_digest}"
    # (6) Identity. "repository": the signed reference names the same repository (tag and digest ignored);
    #     "exact": the same reference; "digest-only": not checked, cosign's default (step 5 still binds it).
    if identity != "digest-only":
        assert reference is not None
        try:
            signed = _parse_reference(signed_ref, "payload docker-reference")
        except InvalidReference:
            return f"payload docker-reference {signed_ref!r} is not a valid image reference"
        if identity == "repository" and signed.name != reference.name:
            return f"payload docker-reference {signed_ref!r} names repository {signed.name}, not {reference.name}"
        if identity == "exact" and _exact(signed, signed_ref) != _exact(reference, reference_text):
            return (f"payload docker-reference {_exact(signed, signed_ref)} is not exactly "
                    f"{_exact(reference, reference_text)}")
    # (7) Every annotation asked for is in the payload's "optional" with the same (string) value.
    optional = payload.get("optional")
    for name, want in sorted((annotations or {}).items()):
        if not isinstance(optional, dict) or name not in optional:
            return f"payload has no annotation {name!r} (wanted {want!r})"
        if optional[name] != want:
            return f"payload annotation {name!r} is {optional[name]!r}, not {want!r}"
    return key, payload


def verify_simple_signatures(layers: Sequence[SignatureLayer], *, manifest_digest: str, reference: str,
                             keys: Sequence[PublicKey], identity: str = "repository",
                             annotations: Mapping[str, str] | None = None) -> VerificationResult:
    """Verify every signature layer of one manifest digest; each passes or is rejected with one reason.

    `identity` is ``repository`` (the payload's docker-reference names `reference`'s repository, normalised like
    docker: ``docker.io/library/…``), ``exact`` (the same reference, tag included) or ``digest-only`` (not
    checked, as cosign does by default). An invalid `reference` or `identity` is an input error (raised).
    """
    if identity not in IDENTITY_MODES:
        raise UsageError(f"unknown identity mode {identity!r} (choose from {', '.join(IDENTITY_MODES)})")
    ref = _parse_reference(reference, "image reference") if identity != "digest-only" else None
    verified: list[VerifiedSignature] = []
    rejected: list[RejectedSignature] = []
    for index, layer in enumerate(layers):
        outcome = _verify_one(layer, manifest_digest=manifest_digest, reference=ref, reference_text=reference,
                              keys=keys, identity=identity, annotations=annotations)
        if isinstance(outcome, str):
            rejected.append(RejectedSignature(index=index, reason=outcome))
        else:
            key, payload = outcome
            verified.append(VerifiedSignature(index=index, key_id=_keys.key_id(key), payload=payload))
    return VerificationResult(manifest_digest=manifest_digest, verified=tuple(verified), rejected=tuple(rejected))


__all__ = [
    "ATOMIC_SIGNATURE_TYPE", "CERTIFICATE_ANNOTATION", "COSIGN_SIGNATURE_TYPE", "IDENTITY_MODES",
    "KEYLESS_NOT_SUPPORTED", "canonical_json", "decode_signature", "make_payload", "matching_key",
    "no_key_reason", "signature_layer", "verify_simple_signatures",
]
