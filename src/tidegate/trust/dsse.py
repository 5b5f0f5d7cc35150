"""DSSE v1 envelopes (secure-systems-lab/dsse): pre-authentication encoding, signing, parsing, verifying.

    envelope_bytes = sign_envelope(statement, IN_TOTO_PAYLOAD_TYPE, private_key)
    envelope = parse_envelope(envelope_bytes)                 # EnvelopeError with a precise reason
    verify_envelope(envelope, [public_key])                   # key id of the key that verified, or None

Signatures are over ``PAE(payloadType, payload)`` = ``"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body``
(lengths as ASCII decimal byte counts), never over the base64 text.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass

from tidegate.errors import TidegateError
from tidegate.trust import keys as _keys
from tidegate.trust.keys import PrivateKey, PublicKey
from tidegate.trust.simplesigning import canonical_json


class EnvelopeError(TidegateError):
    """Bytes that are not a well-formed DSSE envelope (the message says which part)."""


@dataclass(frozen=True, slots=True)
class EnvelopeSignature:
    """One signature of an envelope."""

    keyid: str
    """The optional, unauthenticated key hint (cosign writes ``""``)."""
    sig: bytes
    """The raw signature over the PAE."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A parsed DSSE envelope."""

    payload_type: str
    """``payloadType`` (``application/vnd.in-toto+json`` for attestations)."""
    payload: bytes
    """The decoded payload bytes (what was signed, inside the PAE)."""
    signatures: tuple[EnvelopeSignature, ...]
    """Its signatures (at least one)."""


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding of (`payload_type`, `payload`)."""
    type_bytes = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(type_bytes), type_bytes, len(payload), payload)


def sign_envelope(payload: bytes, payload_type: str, private_key: PrivateKey) -> bytes:
    """The JSON envelope of `payload` with one signature over its PAE (``keyid`` empty, as cosign writes it)."""
    signature = _keys.sign(private_key, pae(payload_type, payload))
    return canonical_json({
        "payloadType": payload_type,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [{"keyid": "", "sig": base64.b64encode(signature).decode()}],
    })


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise EnvelopeError(f"envelope {what} is not a string")
    try:
        # DSSE allows standard or URL-safe base64; accept both (as the reference implementation does).
        if "-" in value or "_" in value:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise EnvelopeError(f"envelope {what} is not valid base64") from e


def parse_envelope(data: bytes) -> Envelope:
    """The envelope in `data`; `EnvelopeError` names the first thing wrong with it."""
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EnvelopeError(f"envelope is not JSON ({str(e).splitlines()[0]})") from e
    if not isinstance(doc, dict):
        raise EnvelopeError("envelope is not a JSON object")
    payload_type = doc.get("payloadType")
    if not isinstance(payload_type, str) or not payload_type:
        raise EnvelopeError("envelope has no payloadType string")
    if "payload" not in doc:
        raise EnvelopeError("envelope has no payload")
    payload = _b64(doc["payload"], "payload")
    raw_sigs = doc.get("signatures")
    if not isinstance(raw_sigs, list) or not raw_sigs:
        raise EnvelopeError("envelope has no signatures")
    signatures = []
    for i, entry in enumerate(raw_sigs):
        if not isinstance(entry, dict):
            raise EnvelopeError(f"envelope signature {i} is not an object")
        keyid = entry.get("keyid", "")
        if not isinstance(keyid, str):
            raise EnvelopeError(f"envelope signature {i} keyid is not a string")
        sig = _b64(entry.get("sig"), f"signature {i} sig")
        if not sig:
            raise EnvelopeError(f"envelope signature {i} is empty")
        signatures.append(EnvelopeSignature(keyid=keyid, sig=sig))
    return Envelope(payload_type=payload_type, payload=payload, signatures=tuple(signatures))


def verify_envelope(envelope: Envelope, keys: Sequence[PublicKey]) -> str | None:
    """The key id of the first of `keys` that verifies one of the envelope's signatures over the PAE, or None."""
    message = pae(envelope.payload_type, envelope.payload)
    for key in keys:
        if any(_keys.verify(key, message, s.sig) for s in envelope.signatures):
            return _keys.key_id(key)
    return None


__all__ = ["Envelope", "EnvelopeError", "EnvelopeSignature", "pae", "parse_envelope", "sign_envelope",
           "verify_envelope"]
