"""Provenance and integrity: cosign-compatible keys, signatures and in-toto attestations (DSSE).

    from tidegate.trust.model import SignatureLayer, VerificationResult
"""
