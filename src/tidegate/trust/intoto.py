"""In-toto attestations as cosign stores them: a Statement in a DSSE envelope, one ``.att`` layer each.

    statement = make_statement(PREDICATE_TYPES["cyclonedx"], sbom, "registry.example/app", "sha256:…")
    layer = attestation_layer(statement, private_key, PREDICATE_TYPES["cyclonedx"])
    result = verify_attestations([layer], manifest_digest="sha256:…", keys=[public_key],
                                 predicate_type=PREDICATE_TYPES["cyclonedx"])
    [v.payload["predicate"] for v in result.verified]

Predicate helpers: `slsa_provenance` (SLSA provenance v1) and `vuln_predicate` (cosign's vulnerability-scan
predicate, ``https://cosign.sigstore.dev/attestation/vuln/v1``) wrapping a ``tidegate scan -f json`` report.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tidegate.trust import dsse
from tidegate.trust.keys import PrivateKey, PublicKey
from tidegate.trust.model import (
    DSSE_MEDIA_TYPE,
    IN_TOTO_PAYLOAD_TYPE,
    PREDICATE_TYPE_ANNOTATION,
    SIGNATURE_ANNOTATION,
    RejectedSignature,
    SignatureLayer,
    VerificationResult,
    VerifiedSignature,
)
from tidegate.trust.simplesigning import CERTIFICATE_ANNOTATION, KEYLESS_NOT_SUPPORTED, canonical_json

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
"""``_type`` of the statements tidegate writes (in-toto Statement v1)."""
STATEMENT_TYPES = (STATEMENT_TYPE, "https://in-toto.io/Statement/v0.1")
"""``_type`` values accepted when verifying (cosign itself still writes v0.1)."""
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
"""Predicate type of SLSA provenance v1."""
GENERIC_BUILD_TYPE = "urn:tidegate:slsa:buildtype:caller-described:v1"
"""Default ``buildDefinition.buildType`` of `slsa_provenance`: tidegate's own (the caller describes the build in
its parameters; no external build-type spec is claimed)."""

PREDICATE_TYPES: dict[str, str] = {
    "custom": "https://cosign.sigstore.dev/attestation/v1",
    "cyclonedx": "https://cyclonedx.org/bom",
    "link": "https://in-toto.io/Link/v1",
    "slsaprovenance": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance02": "https://slsa.dev/provenance/v0.2",
    "slsaprovenance1": SLSA_PROVENANCE_V1,
    "spdx": "https://spdx.dev/Document",
    "spdxjson": "https://spdx.dev/Document",
    "vuln": "https://cosign.sigstore.dev/attestation/vuln/v1",
}
"""cosign's ``--type`` names → predicate type URIs (``pkg/cosign/attestation``: plain ``slsaprovenance`` is
SLSA v0.2 there, ``slsaprovenance1`` is v1)."""

_SHA256 = re.compile(r"sha256:([0-9a-f]{64})")


def make_statement(predicate_type: str, predicate: Any, subject_name: str, manifest_digest: str) -> bytes:
    """An in-toto Statement v1 about the image `manifest_digest` (``sha256:…``), as compact JSON bytes."""
    m = _SHA256.fullmatch(manifest_digest)
    if m is None:
        raise ValueError(f"manifest digest {manifest_digest!r} is not sha256:<64 hex>")
    return canonical_json({
        "_type": STATEMENT_TYPE,
        "predicateType": predicate_type,
        "subject": [{"name": subject_name, "digest": {"sha256": m.group(1)}}],
        "predicate": predicate,
    })


def attestation_layer(statement: bytes, private_key: PrivateKey, predicate_type: str) -> SignatureLayer:
    """An ``.att`` manifest layer: the signed DSSE envelope, with cosign's annotations.

    cosign (``static.NewAttestation``) sets the signature annotation to ``""`` (the signature is inside the
    envelope) and ``predicateType`` to the predicate type.
    """
    envelope = dsse.sign_envelope(statement, IN_TOTO_PAYLOAD_TYPE, private_key)
    return SignatureLayer(media_type=DSSE_MEDIA_TYPE, payload=envelope,
                          annotations=tuple(sorted(((SIGNATURE_ANNOTATION, ""),
                                                    (PREDICATE_TYPE_ANNOTATION, predicate_type)))))


def _verify_one(layer: SignatureLayer, *, hex_digest: str, manifest_digest: str, keys: Sequence[PublicKey],
                predicate_type: str | None) -> tuple[str, dict[str, Any]] | str:
    """(verifying key id, statement) when `layer` passes every step, else the first failure's reason."""
    # (1) The layer is a DSSE envelope.
    if layer.media_type != DSSE_MEDIA_TYPE:
        return f"layer media type {layer.media_type!r} is not {DSSE_MEDIA_TYPE}"
    # (2) The envelope parses.
    try:
        envelope = dsse.parse_envelope(layer.payload)
    except dsse.EnvelopeError as e:
        return e.message
    # (3) Its payloadType is in-toto (the type is inside the PAE, so it cannot be swapped after signing).
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE:
        return f"envelope payloadType {envelope.payload_type!r} is not {IN_TOTO_PAYLOAD_TYPE}"
    # (4) A signature over PAE(payloadType, payload) verifies with one of the given keys.
    key_id = dsse.verify_envelope(envelope, keys)
    if key_id is None:
        if layer.annotation(CERTIFICATE_ANNOTATION) is not None:
            return f"{KEYLESS_NOT_SUPPORTED}: the attestation carries a Fulcio certificate and no given key verifies it"
        if not keys:
            return "no public key given to verify the envelope with"
        return f"envelope signature does not verify over the PAE with any of the {len(keys)} given key(s)"
    # (5) The payload is an in-toto Statement.
    try:
        statement = json.loads(envelope.payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return f"statement is not JSON ({str(e).splitlines()[0]})"
    if not isinstance(statement, dict):
        return "statement is not a JSON object"
    if statement.get("_type") not in STATEMENT_TYPES:
        return f"statement _type {statement.get('_type')!r} is not {STATEMENT_TYPE}"
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or not subjects:
        return "statement has no subject"
    stated_type = statement.get("predicateType")
    if not isinstance(stated_type, str):
        return "statement has no predicateType string"
    # (6) One subject is this manifest (sha256 digest equal; another digest means another image).
    digests = [s.get("digest", {}).get("sha256") for s in subjects
               if isinstance(s, dict) and isinstance(s.get("digest"), dict)]
    if hex_digest not in digests:
        named = ", ".join(f"sha256:{d}" for d in digests if isinstance(d, str)) or "no sha256 digest"
        return f"statement subject is {named}, not the verified digest {manifest_digest}"
    # (7) The predicate type is the one asked for.
    if predicate_type is not None and stated_type != predicate_type:
        return f"statement predicateType {stated_type!r} is not {predicate_type!r}"
    return key_id, statement


def verify_attestations(layers: Sequence[SignatureLayer], *, manifest_digest: str, keys: Sequence[PublicKey],
                        predicate_type: str | None) -> VerificationResult:
    """Verify every attestation layer of one manifest digest; `VerifiedSignature.payload` is the statement."""
    m = _SHA256.fullmatch(manifest_digest)
    verified: list[VerifiedSignature] = []
    rejected: list[RejectedSignature] = []
    for index, layer in enumerate(layers):
        outcome: tuple[str, dict[str, Any]] | str
        if m is None:
            outcome = f"verified digest {manifest_digest!r} is not sha256:<64 hex>"
        else:
            outcome = _verify_one(layer, hex_digest=m.group(1), manifest_digest=manifest_digest, keys=keys,
                                  predicate_type=predicate_type)
        if isinstance(outcome, str):
            rejected.append(RejectedSignature(index=index, reason=outcome))
        else:
            verified.append(VerifiedSignature(index=index, key_id=outcome[0], payload=outcome[1]))
    return VerificationResult(manifest_digest=manifest_digest, verified=tuple(verified), rejected=tuple(rejected))


def _digest_set(revision: str) -> dict[str, str]:
    if re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", revision):
        return {"gitCommit": revision}
    return {}


def slsa_provenance(builder_id: str, source_repo: str, revision: str, parameters: Mapping[str, str], *,
                    build_type: str = GENERIC_BUILD_TYPE) -> dict[str, Any]:
    """A SLSA provenance v1 predicate recording what the caller says about the build.

    `source_repo` at `revision` is the build's source: in ``externalParameters.source`` and as a resolved
    dependency (with a ``gitCommit`` digest when `revision` is a commit id); `parameters` go to
    ``externalParameters.parameters``; `builder_id` is ``runDetails.builder.id``.
    """
    source: dict[str, Any] = {"uri": source_repo, "revision": revision}
    dependency: dict[str, Any] = {"uri": source_repo}
    if digest := _digest_set(revision):
        dependency["digest"] = digest
    else:
        dependency["annotations"] = {"revision": revision}
    return {
        "buildDefinition": {
            "buildType": build_type,
            "externalParameters": {"source": source, "parameters": {k: parameters[k] for k in sorted(parameters)}},
            "resolvedDependencies": [dependency],
        },
        "runDetails": {"builder": {"id": builder_id}},
    }


def vuln_predicate(report_json: dict[str, Any]) -> dict[str, Any]:
    """cosign's vulnerability-scan predicate around a ``tidegate scan -f json`` report (kept whole as the result).

    The report has one time (``created``, when the scan finished), used for both ``scanStartedOn`` and
    ``scanFinishedOn``.
    """
    tool = report_json.get("tool") if isinstance(report_json.get("tool"), dict) else {}
    db = report_json.get("db") if isinstance(report_json.get("db"), dict) else {}
    assert isinstance(tool, dict) and isinstance(db, dict)
    name, version = str(tool.get("name") or "tidegate"), str(tool.get("version") or "")
    created = str(report_json.get("created") or "")
    sources = db.get("sources") if isinstance(db.get("sources"), list) else []
    assert isinstance(sources, list)
    return {
        "invocation": {"parameters": None, "uri": "", "event_id": "", "builder.id": ""},
        "scanner": {
            "uri": f"pkg:pypi/{name}@{version}" if version else f"pkg:pypi/{name}",
            "version": version,
            "db": {"uri": ",".join(str(s) for s in sources), "version": str(db.get("updatedAt") or "")},
            "result": report_json,
        },
        "metadata": {"scanStartedOn": created, "scanFinishedOn": created},
    }


__all__ = [
    "GENERIC_BUILD_TYPE", "PREDICATE_TYPES", "SLSA_PROVENANCE_V1", "STATEMENT_TYPE", "STATEMENT_TYPES",
    "attestation_layer", "make_statement", "slsa_provenance", "verify_attestations", "vuln_predicate",
]
