"""tidegate.trust.keys: cosign's encrypted key format (known answers from an independent implementation of the
go-securesystemslib ``encrypted`` spec), loading, signing and verifying.

The independent implementation here uses ``hashlib.scrypt`` (OpenSSL) and PyNaCl's SecretBox directly, with the
spec's constants (scrypt N=32768 r=8 p=1, 32-byte key, 32-byte salt, 24-byte nonce, JSON field names), so a
format slip in ``keys`` (KDF, cipher, JSON, base64 or PEM framing) fails these tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import nacl.secret
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from tidegate.trust import keys
from tidegate.trust.keys import KeyFileError

PASSWORD = b"correct horse battery staple"
SALT = bytes(range(32))
NONCE = bytes(range(100, 124))
# A fixed P-256 private scalar: the known plaintext of the known-answer vector.
SCALAR = 0x1F2E3D4C5B6A798897A6B5C4D3E2F1000112233445566778899AABBCCDDEEFF0


def _fixed_key() -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(SCALAR, ec.SECP256R1())


def _independent_encrypt(der: bytes, password: bytes, *, pem_type: str = "ENCRYPTED SIGSTORE PRIVATE KEY",
                         n: int = 32768, kdf: str = "scrypt", cipher: str = "nacl/secretbox",
                         nonce: bytes = NONCE) -> bytes:
    """The spec, written out: scrypt(password, salt) → secretbox(der, nonce) → JSON → base64 PEM."""
    box_key = hashlib.scrypt(password, salt=SALT, n=n, r=8, p=1, dklen=32, maxmem=256 * 1024 * 1024)
    sealed = nacl.secret.SecretBox(box_key).encrypt(der, NONCE).ciphertext
    doc = {"kdf": {"name": kdf, "params": {"N": n, "r": 8, "p": 1}, "salt": base64.b64encode(SALT).decode()},
           "cipher": {"name": cipher, "nonce": base64.b64encode(nonce).decode()},
           "ciphertext": base64.b64encode(sealed).decode()}
    body = base64.encodebytes(json.dumps(doc).encode()).decode()
    return f"-----BEGIN {pem_type}-----\n{body}-----END {pem_type}-----\n".encode()


def _independent_decrypt(pem: bytes, password: bytes) -> tuple[str, dict[str, Any], bytes]:
    lines = pem.decode().strip().splitlines()
    pem_type = lines[0].removeprefix("-----BEGIN ").removesuffix("-----")
    doc = json.loads(base64.b64decode("".join(lines[1:-1])))
    kdf = doc["kdf"]
    box_key = hashlib.scrypt(password, salt=base64.b64decode(kdf["salt"]), n=kdf["params"]["N"],
                             r=kdf["params"]["r"], p=kdf["params"]["p"], dklen=32, maxmem=256 * 1024 * 1024)
    der = nacl.secret.SecretBox(box_key).decrypt(base64.b64decode(doc["ciphertext"]),
                                                 base64.b64decode(doc["cipher"]["nonce"]))
    return pem_type, doc, der


def _der(key: Any) -> bytes:
    return bytes(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


# -- known answers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pem_type", ["ENCRYPTED SIGSTORE PRIVATE KEY", "ENCRYPTED COSIGN PRIVATE KEY"])
def test_decrypts_a_key_encrypted_by_the_independent_implementation(pem_type: str) -> None:
    pem = _independent_encrypt(_der(_fixed_key()), PASSWORD, pem_type=pem_type)
    loaded = keys.load_private_key(pem, PASSWORD, where="kat.key")
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    assert loaded.private_numbers().private_value == SCALAR


def test_accepts_the_standard_scrypt_parameters_newer_cosign_writes() -> None:
    pem = _independent_encrypt(_der(_fixed_key()), b"", n=65536)
    loaded = keys.load_private_key(pem, b"")
    assert isinstance(loaded, ec.EllipticCurvePrivateKey) and loaded.private_numbers().private_value == SCALAR


def test_what_we_write_is_the_spec_format() -> None:
    pem = keys.encrypt_private_key(_fixed_key(), PASSWORD)
    pem_type, doc, der = _independent_decrypt(pem, PASSWORD)
    assert pem_type == "ENCRYPTED SIGSTORE PRIVATE KEY"
    assert der == _der(_fixed_key())
    assert list(doc) == ["kdf", "cipher", "ciphertext"]
    assert doc["kdf"]["name"] == "scrypt" and doc["kdf"]["params"] == {"N": 32768, "r": 8, "p": 1}
    assert len(base64.b64decode(doc["kdf"]["salt"])) == 32
    assert doc["cipher"]["name"] == "nacl/secretbox" and len(base64.b64decode(doc["cipher"]["nonce"])) == 24
    assert all(len(line) <= 64 for line in pem.decode().splitlines())


def test_generate_key_pair_default_is_ecdsa_p256_in_cosign_format() -> None:
    private_pem, public_pem = keys.generate_key_pair(PASSWORD)
    assert private_pem.startswith(b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n")
    _, _, der = _independent_decrypt(private_pem, PASSWORD)
    private = serialization.load_der_private_key(der, None)
    assert isinstance(private, ec.EllipticCurvePrivateKey) and private.curve.name == "secp256r1"
    public = keys.load_public_key(public_pem)
    assert keys.key_id(public) == keys.key_id(private.public_key())  # type: ignore[arg-type]
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----\n")


@pytest.mark.parametrize("algorithm", keys.ALGORITHMS)
def test_round_trip_every_algorithm(algorithm: str) -> None:
    private_pem, public_pem = keys.generate_key_pair(b"pw", algorithm=algorithm)
    private = keys.load_private_key(private_pem, b"pw")
    public = keys.load_public_key(public_pem)
    signature = keys.sign(private, b"payload")
    assert keys.verify(public, b"payload", signature)
    assert not keys.verify(public, b"payload!", signature)
    assert keys.public_key_pem(private) == public_pem


def test_key_id_is_sha256_of_the_der_spki() -> None:
    public = _fixed_key().public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert keys.key_id(public) == "sha256:" + hashlib.sha256(der).hexdigest()


# -- plain PEM keys ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL])
def test_plain_pem_private_keys(fmt: serialization.PrivateFormat) -> None:
    pem = _fixed_key().private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())
    assert pem.startswith(b"-----BEGIN PRIVATE KEY" if fmt == serialization.PrivateFormat.PKCS8
                          else b"-----BEGIN EC PRIVATE KEY")
    loaded = keys.load_private_key(pem, None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey) and loaded.private_numbers().private_value == SCALAR


def test_public_key_types() -> None:
    for private in (ec.generate_private_key(ec.SECP384R1()), ed25519.Ed25519PrivateKey.generate(),
                    rsa.generate_private_key(public_exponent=65537, key_size=2048)):
        pem = private.public_key().public_bytes(serialization.Encoding.PEM,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
        assert keys.key_id(keys.load_public_key(pem)) == keys.key_id(private.public_key())


# -- signatures -------------------------------------------------------------------------------------------------


def test_signature_algorithms_are_cosigns() -> None:
    p256, p384 = _fixed_key(), ec.generate_private_key(ec.SECP384R1())
    p256.public_key().verify(keys.sign(p256, b"m"), b"m", ec.ECDSA(hashes.SHA256()))  # DER over SHA-256
    p384.public_key().verify(keys.sign(p384, b"m"), b"m", ec.ECDSA(hashes.SHA384()))  # DER over SHA-384
    ed = ed25519.Ed25519PrivateKey.generate()
    ed.public_key().verify(keys.sign(ed, b"m"), b"m")  # pure Ed25519
    r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    r.public_key().verify(keys.sign(r, b"m"), b"m", padding.PKCS1v15(), hashes.SHA256())


def test_verify_accepts_rsa_pss_and_never_raises() -> None:
    r = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pss = r.sign(b"m", padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    assert keys.verify(r.public_key(), b"m", pss)
    for public in (r.public_key(), _fixed_key().public_key(), ed25519.Ed25519PrivateKey.generate().public_key()):
        assert keys.verify(public, b"m", b"") is False
        assert keys.verify(public, b"m", b"\x30\x03garbage") is False
        assert keys.verify(public, b"m", bytes(512)) is False


# -- every rejection --------------------------------------------------------------------------------------------


def _doc_pem(doc: Any, pem_type: str = "ENCRYPTED SIGSTORE PRIVATE KEY") -> bytes:
    body = base64.encodebytes(json.dumps(doc).encode()).decode()
    return f"-----BEGIN {pem_type}-----\n{body}-----END {pem_type}-----\n".encode()


def _tampered(**changes: Any) -> bytes:
    _, doc, _ = _independent_decrypt(_independent_encrypt(_der(_fixed_key()), PASSWORD), PASSWORD)
    for path, value in changes.items():
        node = doc
        parts = path.split("__")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return _doc_pem(doc)


@pytest.mark.parametrize(("pem", "password", "phrase"), [
    (_independent_encrypt(_der(_fixed_key()), PASSWORD), b"wrong", ("k.key: cannot decrypt the private key: "
                                                                   "wrong password or corrupt key")),
    (_independent_encrypt(_der(_fixed_key()), PASSWORD), None, "encrypted and no password was given"),
    (b"just some text", PASSWORD, "not a PEM file"),
    (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", PASSWORD, "is not a private key"),
    (b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n!!!\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
     PASSWORD, "not valid base64"),
    (_doc_pem("not an object"), PASSWORD, "no 'kdf' and 'cipher' objects"),
    (b"-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nbm90IGpzb24=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
     PASSWORD, "encrypted key body is not JSON"),
    (_independent_encrypt(_der(_fixed_key()), PASSWORD, kdf="pbkdf2"), PASSWORD, "unsupported key derivation"),
    (_independent_encrypt(_der(_fixed_key()), PASSWORD, cipher="aes-gcm"), PASSWORD, "unsupported cipher"),
    (_tampered(kdf__params={"N": 1 << 20, "r": 8, "p": 1}), PASSWORD, "unexpected scrypt parameters"),
    (_tampered(kdf__salt=5), PASSWORD, "no base64 'salt' field"),
    (_tampered(ciphertext="***"), PASSWORD, "field 'ciphertext' is not valid base64"),
    (_tampered(cipher__nonce=base64.b64encode(b"short").decode()), PASSWORD, "nonce is 5 bytes, expected 24"),
    (_tampered(ciphertext=base64.b64encode(b"\0" * 40).decode()), PASSWORD, "wrong password or corrupt key"),
])
def test_private_key_rejections(pem: bytes, password: bytes | None, phrase: str) -> None:
    with pytest.raises(KeyFileError, match=phrase.replace("(", r"\(")) as info:
        keys.load_private_key(pem, password, where="k.key")
    assert info.value.exit_code == 2
    assert str(info.value).startswith("k.key: ") and "\n" not in str(info.value)


def test_decrypted_garbage_and_unsupported_keys_are_rejected() -> None:
    with pytest.raises(KeyFileError, match="decrypted key is not a PKCS#8 private key"):
        keys.load_private_key(_independent_encrypt(b"not DER", PASSWORD), PASSWORD)
    k1 = ec.generate_private_key(ec.SECP256K1())
    with pytest.raises(KeyFileError, match="unsupported ECDSA curve secp256k1"):
        keys.load_private_key(_independent_encrypt(_der(k1), PASSWORD), PASSWORD)
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(KeyFileError, match="RSA key of 1024 bits is too small"):
        keys.load_private_key(_independent_encrypt(_der(small), PASSWORD), PASSWORD)
    pub = k1.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(KeyFileError, match="c.pub: unsupported ECDSA curve"):
        keys.load_public_key(pub, where="c.pub")
    with pytest.raises(KeyFileError, match="x.pub: PEM block 'PRIVATE KEY' is not a public key"):
        keys.load_public_key(_fixed_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()), where="x.pub")
    with pytest.raises(KeyFileError, match="does not hold a readable public key"):
        keys.load_public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
    with pytest.raises(KeyFileError, match="unknown key algorithm 'dsa'"):
        keys.generate_key_pair(b"x", algorithm="dsa")


def test_pkcs8_encrypted_pem_needs_its_password() -> None:
    pem = _fixed_key().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.BestAvailableEncryption(b"pw"))
    loaded = keys.load_private_key(pem, b"pw")
    assert isinstance(loaded, ec.EllipticCurvePrivateKey) and loaded.private_numbers().private_value == SCALAR
    with pytest.raises(KeyFileError, match="wrong password or corrupt key"):
        keys.load_private_key(pem, b"nope")
