"""Signing keys in cosign's formats: generate, encrypt, load, sign and verify.

    private_pem, public_pem = generate_key_pair(b"password")          # cosign generate-key-pair
    key = load_private_key(private_pem, b"password", where="cosign.key")
    pub = load_public_key(public_pem, where="cosign.pub")
    assert verify(pub, b"data", sign(key, b"data"))
    key_id(pub)                                                       # "sha256:…" of the DER public key

The private key file is cosign's (``pkg/cosign/keys.go`` + go-securesystemslib ``encrypted``): a PEM block of type
``ENCRYPTED SIGSTORE PRIVATE KEY`` (older cosign: ``ENCRYPTED COSIGN PRIVATE KEY``) whose body is the JSON
``{"kdf": {"name": "scrypt", "params": {"N", "r", "p"}, "salt"}, "cipher": {"name": "nacl/secretbox", "nonce"},
"ciphertext"}`` (byte fields standard base64): the PKCS#8 DER private key sealed with NaCl secretbox
(XSalsa20-Poly1305) under a 32-byte key derived from the password with scrypt.

Signatures follow cosign: ECDSA as DER over SHA-256 (SHA-384 for P-384, SHA-512 for P-521), Ed25519 raw (pure
Ed25519, not cosign's Ed25519ph, which neither ``cryptography`` nor PyNaCl offer), RSA PKCS#1 v1.5 over SHA-256
(RSA-PSS is accepted when verifying).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from collections.abc import Callable
from typing import Any, cast

import nacl.exceptions
import nacl.secret
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from tidegate.errors import TidegateError

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey
"""A private key tidegate can sign with."""
PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | rsa.RSAPublicKey
"""A public key tidegate can verify with."""

SIGSTORE_PEM_TYPE = "ENCRYPTED SIGSTORE PRIVATE KEY"
"""PEM type of the encrypted private keys cosign writes (and tidegate writes)."""
COSIGN_PEM_TYPE = "ENCRYPTED COSIGN PRIVATE KEY"
"""PEM type of encrypted private keys written by older cosign releases (read, never written)."""
ALGORITHMS = ("ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096")
"""Key algorithms `generate_key_pair` offers (``ecdsa-p256`` is cosign's default)."""

SCRYPT_PARAMS = {"N": 32768, "r": 8, "p": 1}
"""scrypt parameters written into new keys (go-securesystemslib's ``encrypted`` defaults)."""
_ACCEPTED_SCRYPT = frozenset({(32768, 8, 1), (65536, 8, 1)})
# Only the parameter sets go-securesystemslib writes (legacy, and the "standard" set newer cosign uses) are
# accepted: like its CheckParams, this stops a tampered file from making us burn unbounded memory and CPU.
_SALT_SIZE = 32
_KEY_SIZE = nacl.secret.SecretBox.KEY_SIZE
_NONCE_SIZE = nacl.secret.SecretBox.NONCE_SIZE
_PEM_RE = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----\r?\n(.*?)\r?\n?-----END \1-----", re.DOTALL)
_CURVES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "secp256r1": hashes.SHA256, "secp384r1": hashes.SHA384, "secp521r1": hashes.SHA512}
_MIN_RSA_BITS = 2048


class KeyFileError(TidegateError):
    """A key file that cannot be read: not PEM, an unsupported key, or a wrong password (exit 2)."""


def _pem_block(pem: bytes, where: str) -> tuple[str, bytes]:
    """(type, DER body) of the first PEM block in `pem`."""
    m = _PEM_RE.search(pem)
    if m is None:
        raise KeyFileError(f"{where}: not a PEM file (no -----BEGIN …----- block)")
    try:
        body = base64.b64decode(re.sub(rb"\s+", b"", m.group(2)), validate=True)
    except (binascii.Error, ValueError) as e:
        raise KeyFileError(f"{where}: PEM block {m.group(1).decode()} is not valid base64") from e
    return m.group(1).decode(), body


def _b64field(obj: dict[str, Any], name: str, where: str) -> bytes:
    value = obj.get(name)
    if not isinstance(value, str):
        raise KeyFileError(f"{where}: encrypted key has no base64 {name!r} field")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise KeyFileError(f"{where}: encrypted key field {name!r} is not valid base64") from e


def _derive(password: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=_KEY_SIZE, n=n, r=r, p=p).derive(password)


def encrypt_private_key(private_key: PrivateKey, password: bytes, *, pem_type: str = SIGSTORE_PEM_TYPE) -> bytes:
    """`private_key` as cosign's encrypted PEM (scrypt + NaCl secretbox over the PKCS#8 DER), under `password`."""
    if pem_type not in (SIGSTORE_PEM_TYPE, COSIGN_PEM_TYPE):
        raise ValueError(f"pem_type must be {SIGSTORE_PEM_TYPE!r} or {COSIGN_PEM_TYPE!r}")
    der = private_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    salt, nonce = os.urandom(_SALT_SIZE), os.urandom(_NONCE_SIZE)
    key = _derive(password, salt, SCRYPT_PARAMS["N"], SCRYPT_PARAMS["r"], SCRYPT_PARAMS["p"])
    sealed = nacl.secret.SecretBox(key).encrypt(der, nonce).ciphertext

    def b64(b: bytes) -> str:
        return base64.b64encode(b).decode()

    # Field order as go-securesystemslib's json.Marshal writes it.
    body = json.dumps({"kdf": {"name": "scrypt", "params": dict(SCRYPT_PARAMS), "salt": b64(salt)},
                       "cipher": {"name": "nacl/secretbox", "nonce": b64(nonce)},
                       "ciphertext": b64(sealed)}, separators=(",", ":")).encode()
    return _pem_encode(pem_type, body)


def _pem_encode(pem_type: str, body: bytes) -> bytes:
    text = base64.b64encode(body).decode()
    lines = [text[i:i + 64] for i in range(0, len(text), 64)]
    return (f"-----BEGIN {pem_type}-----\n" + "".join(f"{line}\n" for line in lines)
            + f"-----END {pem_type}-----\n").encode()


def generate_key_pair(password: bytes, *, algorithm: str = "ecdsa-p256") -> tuple[bytes, bytes]:
    """A new key pair: (cosign-encrypted private key PEM, public key PEM)."""
    private_key: PrivateKey
    if algorithm == "ecdsa-p256":
        private_key = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "ecdsa-p384":
        private_key = ec.generate_private_key(ec.SECP384R1())
    elif algorithm == "ed25519":
        private_key = ed25519.Ed25519PrivateKey.generate()
    elif algorithm.startswith("rsa-") and algorithm in ALGORITHMS:
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=int(algorithm[4:]))
    else:
        raise KeyFileError(f"unknown key algorithm {algorithm!r} (choose from {', '.join(ALGORITHMS)})")
    return encrypt_private_key(private_key, password), public_key_pem(private_key.public_key())


def _decrypt(body: bytes, password: bytes, where: str) -> bytes:
    """The PKCS#8 DER inside a cosign encrypted-key PEM body."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise KeyFileError(f"{where}: encrypted key body is not JSON") from e
    kdf, cipher = (doc.get("kdf"), doc.get("cipher")) if isinstance(doc, dict) else (None, None)
    if not isinstance(kdf, dict) or not isinstance(cipher, dict):
        raise KeyFileError(f"{where}: encrypted key has no 'kdf' and 'cipher' objects")
    if kdf.get("name") != "scrypt":
        raise KeyFileError(f"{where}: unsupported key derivation {kdf.get('name')!r} (expected scrypt)")
    if cipher.get("name") != "nacl/secretbox":
        raise KeyFileError(f"{where}: unsupported cipher {cipher.get('name')!r} (expected nacl/secretbox)")
    params = kdf.get("params")
    triple = tuple(params.get(k) for k in ("N", "r", "p")) if isinstance(params, dict) else ()
    if triple not in _ACCEPTED_SCRYPT:
        raise KeyFileError(f"{where}: unexpected scrypt parameters {params!r} (expected N=32768 or 65536, r=8, p=1)")
    salt, nonce, ciphertext = _b64field(kdf, "salt", where), _b64field(cipher, "nonce", where), _b64field(
        doc, "ciphertext", where)
    if len(nonce) != _NONCE_SIZE:
        raise KeyFileError(f"{where}: secretbox nonce is {len(nonce)} bytes, expected {_NONCE_SIZE}")
    n, r, p = (int(v) for v in triple)
    key = _derive(password, salt, n, r, p)
    try:
        return nacl.secret.SecretBox(key).decrypt(ciphertext, nonce)
    except nacl.exceptions.CryptoError as e:
        raise KeyFileError(f"{where}: cannot decrypt the private key: wrong password or corrupt key") from e


def _check_private(key: object, where: str) -> PrivateKey:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        _check_curve(key.curve, where)
        return key
    if isinstance(key, rsa.RSAPrivateKey):
        _check_rsa(key.key_size, where)
        return key
    raise KeyFileError(f"{where}: unsupported private key type {type(key).__name__} "
                       "(expected ECDSA, Ed25519 or RSA)")


def _check_curve(curve: ec.EllipticCurve, where: str) -> None:
    if curve.name not in _CURVES:
        raise KeyFileError(f"{where}: unsupported ECDSA curve {curve.name} (expected P-256, P-384 or P-521)")


def _check_rsa(bits: int, where: str) -> None:
    if bits < _MIN_RSA_BITS:
        raise KeyFileError(f"{where}: RSA key of {bits} bits is too small (at least {_MIN_RSA_BITS})")


def load_private_key(pem: bytes, password: bytes | None, *, where: str = "key") -> PrivateKey:
    """The private key in `pem`: cosign's encrypted format (either PEM type) or a plain PKCS#8 / EC / RSA PEM."""
    pem_type, body = _pem_block(pem, where)
    if pem_type in (SIGSTORE_PEM_TYPE, COSIGN_PEM_TYPE):
        if password is None:
            raise KeyFileError(f"{where}: the private key is encrypted and no password was given")
        der = _decrypt(body, password, where)
        try:
            key: object = serialization.load_der_private_key(der, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as e:
            raise KeyFileError(f"{where}: decrypted key is not a PKCS#8 private key") from e
        return _check_private(key, where)
    if pem_type in ("PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY"):
        m = _PEM_RE.search(pem)
        assert m is not None  # _pem_block found it
        secret = password if pem_type == "ENCRYPTED PRIVATE KEY" else None
        if pem_type == "ENCRYPTED PRIVATE KEY" and password is None:
            raise KeyFileError(f"{where}: the private key is encrypted and no password was given")
        try:
            key = serialization.load_pem_private_key(m.group(0), password=secret)
        except (ValueError, TypeError, UnsupportedAlgorithm) as e:
            what = "wrong password or corrupt key" if secret is not None else "corrupt key"
            raise KeyFileError(f"{where}: cannot read the {pem_type} PEM: {what}") from e
        return _check_private(key, where)
    raise KeyFileError(f"{where}: PEM block {pem_type!r} is not a private key "
                       f"(expected {SIGSTORE_PEM_TYPE}, {COSIGN_PEM_TYPE} or PRIVATE KEY)")


def load_public_key(pem: bytes, *, where: str = "key") -> PublicKey:
    """The public key in `pem` (SubjectPublicKeyInfo, ``PUBLIC KEY``): ECDSA P-256/P-384/P-521, Ed25519 or RSA."""
    pem_type, body = _pem_block(pem, where)
    if pem_type != "PUBLIC KEY":
        raise KeyFileError(f"{where}: PEM block {pem_type!r} is not a public key (expected PUBLIC KEY)")
    try:
        key = serialization.load_der_public_key(body)
    except (ValueError, UnsupportedAlgorithm) as e:
        raise KeyFileError(f"{where}: PUBLIC KEY block does not hold a readable public key") from e
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey):
        _check_curve(key.curve, where)
        return key
    if isinstance(key, rsa.RSAPublicKey):
        _check_rsa(key.key_size, where)
        return key
    raise KeyFileError(f"{where}: unsupported public key type {type(key).__name__} (expected ECDSA, Ed25519 or RSA)")


def public_key_pem(key: PublicKeyTypes | PrivateKeyTypes) -> bytes:
    """The SubjectPublicKeyInfo PEM of `key` (a private key gives its public half; any ``cryptography`` key)."""
    public = cast("PublicKeyTypes", key.public_key() if hasattr(key, "private_bytes") else key)  # type: ignore[union-attr]
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def key_id(public_key: PublicKey) -> str:
    """``sha256:`` + hex of the DER SubjectPublicKeyInfo of `public_key`."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def sign(private_key: PrivateKey, data: bytes) -> bytes:
    """A signature over `data` as cosign makes it (ECDSA DER / Ed25519 raw / RSA PKCS#1 v1.5 SHA-256)."""
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return private_key.sign(data, ec.ECDSA(_CURVES[private_key.curve.name]()))
    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())


def verify(public_key: PublicKey, data: bytes, signature: bytes) -> bool:
    """True when `signature` is a valid signature of `data` by `public_key`; never raises for a bad signature."""
    try:
        if isinstance(public_key, ec.EllipticCurvePublicKey):
            algorithm = _CURVES.get(public_key.curve.name)
            if algorithm is None:
                return False
            public_key.verify(signature, data, ec.ECDSA(algorithm()))
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, data)
        else:
            try:
                public_key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            except InvalidSignature:
                public_key.verify(signature, data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                               salt_length=padding.PSS.AUTO), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


__all__ = [
    "ALGORITHMS", "COSIGN_PEM_TYPE", "SIGSTORE_PEM_TYPE", "KeyFileError", "PrivateKey", "PublicKey",
    "encrypt_private_key", "generate_key_pair", "key_id", "load_private_key", "load_public_key", "public_key_pem",
    "sign", "verify",
]
