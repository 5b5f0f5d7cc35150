"""The shared vocabulary of signing and verification (cosign-compatible), used by `trust/` and its doors.

    layer = SignatureLayer(media_type=SIMPLESIGNING_MEDIA_TYPE, payload=b"{…}", annotations=(("dev.cosignproject.cosign/signature", "MEUCI…"),))
    result = verify_simple_signatures([layer], manifest_digest="sha256:…", reference="registry/repo:tag", keys=[pub])
    result.ok, [v.payload for v in result.verified], [r.reason for r in result.rejected]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SIMPLESIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json"
"""Media type of a cosign signature layer (the simple-signing payload)."""
DSSE_MEDIA_TYPE = "application/vnd.dsse.envelope.v1+json"
"""Media type of a cosign attestation layer (a DSSE envelope)."""
SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature"
"""Layer annotation holding the base64 signature over the layer bytes."""
PREDICATE_TYPE_ANNOTATION = "predicateType"
"""Layer annotation of an attestation naming its in-toto predicate type."""
IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
"""DSSE payloadType of in-toto statements."""


@dataclass(frozen=True, slots=True)
class SignatureLayer:
    """One layer of a ``sha256-<hex>.sig`` or ``.att`` manifest: its bytes and annotations, digest-verified."""

    media_type: str
    """``SIMPLESIGNING_MEDIA_TYPE`` or ``DSSE_MEDIA_TYPE`` (anything else is rejected by verifiers)."""
    payload: bytes
    """The layer bytes (checked against the layer descriptor's digest by the store that read them)."""
    annotations: tuple[tuple[str, str], ...] = ()
    """The layer descriptor's annotations, sorted."""

    def annotation(self, key: str) -> str | None:
        """The value of annotation `key`, if present."""
        return next((v for k, v in self.annotations if k == key), None)


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """A signature that passed every check."""

    index: int
    """Position of the layer in the signature manifest."""
    key_id: str
    """Which key verified it (sha256 of the DER public key, ``sha256:…``)."""
    payload: dict[str, Any]
    """The parsed simple-signing payload or in-toto statement."""


@dataclass(frozen=True, slots=True)
class RejectedSignature:
    """A signature that failed, with the first reason (one line, e.g. ``payload digest sha256:ab… ≠ sha256:cd…``)."""

    index: int
    """Position of the layer in the signature manifest."""
    reason: str
    """Why it was rejected."""


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The verdict over every signature (or attestation) stored for one manifest digest."""

    manifest_digest: str
    """The digest verified (the resolved pin, never a tag)."""
    verified: tuple[VerifiedSignature, ...]
    """Signatures that passed."""
    rejected: tuple[RejectedSignature, ...]
    """Signatures that failed, with reasons."""

    @property
    def ok(self) -> bool:
        """True when at least one signature passed."""
        return bool(self.verified)
