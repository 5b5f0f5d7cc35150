"""The scanner: chunk boundaries, bounded memory, binaries, allow-lists, masking and the prefilter."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from tests.checks.secrets.fakes import b64, rand, upper
from tidegate.checks.secrets.scanner import CHUNK_BYTES, SecretScanner, is_binary, mask

GHP = "ghp_" + rand(36, 30)
AKIA = "AKIA" + upper(16, 31)


class _Lines(io.RawIOBase):
    """A read-only stream of `total` bytes of keyword-free text lines, with `tail` appended; no backing buffer."""

    def __init__(self, total: int, tail: bytes) -> None:
        self.line = b"lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor\n"
        self._left = total
        self._tail = tail
        self.served = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._left <= 0:
            out, self._tail = self._tail, b""
            return out
        n = min(n if n > 0 else CHUNK_BYTES, self._left)
        phase = self.served % len(self.line)  # continue the text where the previous read stopped
        block = (self.line * (n // len(self.line) + 2))[phase:phase + n]
        self._left -= n
        self.served += n
        return block


@pytest.mark.parametrize("chunk", [CHUNK_BYTES, 4096, 97])
@pytest.mark.parametrize("delta", [-len(GHP) - 1, -len(GHP) // 2, -1, 0, 1])
def test_secret_straddling_a_chunk_boundary_is_found_once(chunk: int, delta: int) -> None:
    boundary = chunk if chunk == CHUNK_BYTES else chunk * 300
    line = b"x" * 79 + b"\n"
    prefix = (line * (boundary // len(line) + 1))[:boundary + delta - 9]
    prefix = prefix[: prefix.rfind(b"\n") + 1] + b"y" * (boundary + delta - 9 - prefix.rfind(b"\n") - 1)
    data = prefix + b"token = '" + GHP.encode() + b"'\nmore\n"
    assert data.index(GHP.encode()) == boundary + delta
    scanner = SecretScanner(chunk_bytes=chunk)
    [m] = [m for m in scanner.scan_stream("/app/big.txt", io.BytesIO(data), len(data)) if m.rule_id == "TG-SEC-003"]
    assert m.line == data[:boundary + delta].count(b"\n") + 1
    assert m.column == boundary + delta - data.rfind(b"\n", 0, boundary + delta)


def test_lines_and_columns_across_many_chunks() -> None:
    lines = [f"line {i}" for i in range(50_000)]
    lines[123] = f"a = '{AKIA}'"
    lines[40_000] = f"  b = '{GHP}'"
    data = ("\n".join(lines) + "\n").encode()
    got = [(m.rule_id, m.line, m.column) for m in SecretScanner(chunk_bytes=1000).scan_bytes("/app/x", data)]
    assert got == [("TG-SEC-001", 124, 6), ("TG-SEC-003", 40_001, 8)]


def test_private_key_across_a_boundary_is_reported_by_its_header() -> None:
    body = "\n".join(b64(64, i) for i in range(80))  # ~5 KiB of key material
    text = "a\n" * 1000 + "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----\n"
    for chunk in (CHUNK_BYTES, 2048, 2010):
        got = SecretScanner(chunk_bytes=chunk).scan_bytes("/app/k.pem", text.encode())
        assert [(m.rule_id, m.line, m.match) for m in got] == [
            ("TG-SEC-014", 1001, "-----BEGIN RSA PRIVATE KEY-----")]


def test_a_large_stream_is_never_loaded_whole() -> None:
    total = 200 * 1024 * 1024
    stream = _Lines(total, b"k = '" + GHP.encode() + b"'\n")
    scanner = SecretScanner(max_file_bytes=1 << 40)
    tracemalloc.start()
    try:
        found = scanner.scan_stream("/data/huge.log", stream, total + 64)  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stream.served == total
    assert [(m.rule_id, m.line) for m in found] == [("TG-SEC-003", total // len(stream.line) + 1)]
    assert peak < 16 * 1024 * 1024, f"peak {peak:,} bytes"


def test_size_limit_is_configurable() -> None:
    data = f"t = '{GHP}'".encode()
    assert SecretScanner(max_file_bytes=10).scan_bytes("/app/a", data) == []
    assert not SecretScanner(max_file_bytes=10).wants("/app/a", len(data), data)
    assert SecretScanner().wants("/app/a", len(data), data)
    assert not SecretScanner().wants("/app/a", 11 * 1024 * 1024, data)


@pytest.mark.parametrize("head", [b"\x7fELF\x02\x01\x01", b"\x1f\x8b\x08\x00", b"PK\x03\x04", b"\x89PNG\r\n",
                                  b"text then a \x00 byte"])
def test_binaries_are_skipped(head: bytes) -> None:
    data = head + f"\nk = '{GHP}'\n".encode()
    assert is_binary(data)
    scanner = SecretScanner()
    assert not scanner.wants("/usr/bin/tool", len(data), data[:8192])
    assert scanner.scan_bytes("/usr/bin/tool", data) == []


@pytest.mark.parametrize("path", ["/usr/lib/x86_64-linux-gnu/libx.so.1.2", "/app/a.pyc", "/usr/share/zoneinfo/UTC",
                                  "/var/lib/dpkg/info/bash.md5sums"])
def test_noise_paths_are_not_wanted(path: str) -> None:
    assert not SecretScanner().wants(path, 10, b"text")


@pytest.mark.parametrize("path", ["/root/.ssh/id_rsa", "/app/.env", "/home/u/.docker/config.json", "/root/.npmrc",
                                  "/root/.git-credentials", "/root/.kube/config", "/root/.pypirc"])
def test_file_rules_always_want_their_paths(path: str) -> None:
    assert SecretScanner().wants(path, 10, b"\x00binary-looking")


@pytest.mark.parametrize(("path", "text"), [
    ("/app/a.py", "key = 'AKIAIOSFODNN7EXAMPLE'"),
    ("/app/a.py", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ("/usr/share/doc/pkg/README", f"k = '{GHP}'"),
    ("/usr/lib/python3.11/test/test_x.py", f"k = '{GHP}'"),
    ("/usr/local/lib/python3.11/site-packages/foo/tests/test_x.py", f"k = '{GHP}'"),
    ("/usr/local/lib/python3.11/dist-packages/foo/test/data.txt", f"k = '{GHP}'"),
    ("/app/node_modules/foo/test/fixture.js", f"k = '{GHP}'"),
    ("/app/docs/setup.md", "password = '" + rand(16, 32) + "'"),
])
def test_allow_listed(path: str, text: str) -> None:
    assert SecretScanner().scan_bytes(path, text.encode()) == []


def test_docs_allow_list_is_for_generic_rules_only() -> None:
    [m] = SecretScanner().scan_bytes("/app/README.md", f"export GH={GHP}\n".encode())
    assert m.rule_id == "TG-SEC-003"


@pytest.mark.parametrize("value", ["${DB_PASSWORD}", "$DB_PASSWORD", "${PW:-default1}", "changeme", "<password>",
                                   "xxxxxxxxxxxx", "************", "{{ db_password }}", "%(password)s",
                                   "your-password-here", "settings.SECRET_KEY", "os.environ", "None"])
def test_placeholders_are_not_secrets(value: str) -> None:
    scanner = SecretScanner()
    for text in (f'password = "{value}"', f"password={value}", f"DB_PASSWORD={value}"):
        assert scanner.scan_bytes("/app/a.py", text.encode()) == [], text
    if "." not in value:  # in a .env file a dotted name is a literal value
        assert scanner.scan_bytes("/app/.env", f"DB_PASSWORD={value}\n".encode()) == []


@pytest.mark.parametrize("code", ["token = self.get_token()", "password = request.POST['password']",
                                  "secret_key = settings.SECRET_KEY", "PseudoToken = Whitespace + group(Name)",
                                  "token_type = 'mailbox-list'", "PASSWORD: \"challengePassword\""])
def test_code_is_not_a_generic_secret(code: str) -> None:
    assert SecretScanner().scan_bytes("/usr/lib/python3/x.py", code.encode()) == []


def test_specific_rule_wins_over_generic_and_file_rules_on_a_line() -> None:
    text = f"AWS_ACCESS_KEY_ID={AKIA}\nGITHUB_TOKEN={GHP}\nDB_PASSWORD={rand(14, 33)}\n"
    got = [(m.rule_id, m.line) for m in SecretScanner().scan_bytes("/app/.env", text.encode())]
    assert got == [("TG-SEC-001", 1), ("TG-SEC-003", 2), ("TG-SEC-017", 3)]


def test_masking_keeps_only_the_public_prefix() -> None:
    secret_part = GHP[4:]
    line = f"    headers = {{'Authorization': 'token {GHP}', 'X-Other': 'value'}}"
    [m] = SecretScanner().scan_text(line, "history step 3")
    assert m.match == "ghp_" + "*" * 36
    assert m.excerpt == line.strip().replace(secret_part, "*" * 36)
    for field in (repr(m), m.match, m.excerpt, str(m.rule)):
        assert secret_part not in field
    assert mask("abcdefgh", 4) == "abcd****" and mask("abcd", 4) == "ab**" and mask("abc") == "***"


def test_excerpt_of_a_long_line_is_a_window() -> None:
    line = "a" * 5000 + f" k='{AKIA}' " + "b" * 5000
    [m] = SecretScanner().scan_bytes("/app/min.js", line.encode())
    assert len(m.excerpt) <= 160 and "AKIA****************" in m.excerpt and m.column == 5005


def test_every_secret_on_the_excerpt_line_is_masked() -> None:
    other = "ghp_" + rand(36, 34)
    [a, b] = SecretScanner().scan_text(f"{GHP} {other}", "Env")
    for m in (a, b):
        assert GHP[4:] not in m.excerpt and other[4:] not in m.excerpt


def test_fingerprints_identify_equal_secrets_without_revealing_them() -> None:
    [a] = SecretScanner().scan_text(f"x={GHP}", "a")
    [b] = SecretScanner().scan_text(f"y = '{GHP}'", "b")
    assert a.fingerprint == b.fingerprint and GHP not in a.fingerprint


def test_keywords_must_be_lower_case() -> None:
    from dataclasses import replace

    from tidegate.checks.secrets.rules import GITHUB_TOKEN

    with pytest.raises(ValueError, match="lower-case"):
        SecretScanner([replace(GITHUB_TOKEN, keywords=("GHP_",))])
