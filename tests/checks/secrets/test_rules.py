"""Per rule: a true positive and a near miss (table-driven), plus checks every rule row must pass."""

from __future__ import annotations

import re
import re._parser as sre_parse  # the stdlib's own width computation

import pytest

from tests.checks.secrets.fakes import b64, rand, upper
from tidegate.checks.secrets.rules import (
    ALL_RULES,
    DEFAULT_RULES,
    MAX_MATCH_BYTES,
    SecretRule,
    shannon_entropy,
)
from tidegate.checks.secrets.scanner import SecretScanner

AKIA = "AKIA" + upper(16, 1)
AWS_SECRET = b64(40, 2)
GHP = "ghp_" + rand(36, 3)
FINE = "github_pat_" + rand(22, 4) + "_" + rand(59, 5)
GLPAT = "glpat-" + rand(20, 6)
XOXB = "xoxb-" + "1234567890" + "-" + rand(24, 7)
HOOK = "T" + upper(8, 8) + "/B" + upper(8, 9) + "/" + rand(24, 10)
STRIPE = "sk_" + "live_" + rand(24, 11)
GOOGLE = "AIza" + rand(35, 12)
KEY_BODY = b64(64, 13)
AZURE = b64(86, 14) + "=="
NPM = "npm_" + rand(36, 15)
PYPI = "pypi-" + "AgEIcHlwaS5vcmc" + rand(60, 16)
JWT = "eyJ" + rand(20, 17) + ".eyJ" + rand(30, 18) + "." + rand(43, 19)
GENERIC = rand(18, 20)
TOKEN40 = rand(40, 21)
PEM = "-----BEGIN {kind}PRIVATE KEY-----\n"

# rule id, path, text with a secret (and the secret's random part), near miss
CASES: list[tuple[str, str, str, str, str]] = [
    ("TG-SEC-001", "/app/a.py", f"key = '{AKIA}'", AKIA[4:], "key = 'AKIA" + upper(14, 1) + "'"),
    ("TG-SEC-002", "/app/a.cfg", f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET,
     f"aws_secret_access_key = {AWS_SECRET[:30]}"),
    ("TG-SEC-003", "/app/a.py", f'GITHUB = "{GHP}"', GHP[4:], 'GITHUB = "ghp_' + rand(30, 3) + '"'),
    ("TG-SEC-004", "/app/a.py", f"t={FINE}", FINE[11:], "t=github_pat_" + rand(20, 4)),
    ("TG-SEC-005", "/app/a.py", f"t={GLPAT}", GLPAT[6:], "t=glpat-" + rand(10, 6)),
    ("TG-SEC-006", "/app/a.py", f"t={XOXB}", XOXB[16:], "t=xoxb-" + rand(12, 7)),
    ("TG-SEC-007", "/app/a.sh", f"curl https://hooks.slack.com/services/{HOOK}", HOOK[20:],
     "see https://hooks.slack.com/services/"),
    ("TG-SEC-008", "/app/a.py", f"stripe.api = '{STRIPE}'", STRIPE[8:], "stripe.api = 'sk_test_" + rand(24, 11) + "'"),
    ("TG-SEC-009", "/app/a.js", f"const k = '{GOOGLE}'", GOOGLE[4:], "const k = 'AIza" + rand(20, 12) + "'"),
    ("TG-SEC-010", "/app/sa.json",
     '{"type": "service_account", "project_id": "p",\n "private_key": "' + PEM.format(kind="").strip()
     + "\\n" + KEY_BODY + '\\n"}', KEY_BODY[:40], '{"type": "service_account", "private_key": ""}'),
    ("TG-SEC-011", "/app/a.env.txt", f"DefaultEndpointsProtocol=https;AccountName=x;AccountKey={AZURE}", AZURE,
     "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="),
    ("TG-SEC-012", "/app/a.py", f"t = '{NPM}'", NPM[4:], "t = 'npm_" + rand(20, 15) + "'"),
    ("TG-SEC-013", "/app/a.py", f"t = '{PYPI}'", PYPI[20:], "t = 'pypi-" + rand(60, 16) + "'"),
    ("TG-SEC-014", "/app/key.pem", PEM.format(kind="RSA ") + KEY_BODY + "\n-----END RSA PRIVATE KEY-----\n",
     KEY_BODY, '_SK_START = b"-----BEGIN OPENSSH PRIVATE KEY-----"'),
    ("TG-SEC-015", "/app/a.js", f"auth('{JWT}')", JWT[3:20], "auth('eyJ" + rand(20, 17) + "')"),
    ("TG-SEC-016", "/app/a.py", f'password = "{GENERIC}"', GENERIC, 'password = "${DB_PASSWORD}"'),
    ("TG-SEC-017", "/app/.env", f"DB_PASSWORD={GENERIC}\n", GENERIC, "DB_HOST=db.internal\n"),
    ("TG-SEC-018", "/root/.npmrc", f"//registry.npmjs.org/:_authToken={TOKEN40}\n", TOKEN40,
     "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"),
    ("TG-SEC-019", "/root/.pypirc", f"[pypi]\nusername = __token__\npassword = {TOKEN40}\n", TOKEN40,
     "[pypi]\nusername = __token__\npassword = <your token>\n"),
    ("TG-SEC-020", "/root/.docker/config.json", '{"auths": {"r.example": {"auth": "' + TOKEN40 + '"}}}',
     TOKEN40, '{"auths": {"r.example": {"auth": ""}}}'),
    ("TG-SEC-021", "/root/.ssh/id_ed25519", PEM.format(kind="OPENSSH ") + "short\n", "short",
     "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 user@host\n"),
    ("TG-SEC-022", "/root/.git-credentials", f"https://builder:{TOKEN40}@git.example.com\n", TOKEN40,
     "https://git.example.com/org/repo\n"),
    ("TG-SEC-023", "/root/.kube/config", f"users:\n- name: ci\n  user:\n    token: {TOKEN40}\n", TOKEN40,
     "users:\n- name: ci\n  user:\n    client-certificate: /etc/ci.crt\n"),
]


@pytest.mark.parametrize(("rule_id", "path", "text", "raw", "near"), CASES, ids=[c[0] for c in CASES])
def test_true_positive_and_near_miss(rule_id: str, path: str, text: str, raw: str, near: str) -> None:
    scanner = SecretScanner()
    hits = scanner.scan_bytes(path, text.encode())
    assert rule_id in {m.rule_id for m in hits}, hits
    for m in hits:
        assert raw not in repr(m) and raw not in m.match and raw not in m.excerpt
    assert rule_id not in {m.rule_id for m in scanner.scan_bytes(path, near.encode())}


def test_every_default_rule_has_a_case() -> None:
    assert {c[0] for c in CASES} == {r.id for r in DEFAULT_RULES}


@pytest.mark.parametrize("kind", ["", "RSA ", "EC ", "DSA ", "ENCRYPTED ", "OPENSSH "])
def test_private_key_variants(kind: str) -> None:
    text = "x = 1\n" + PEM.format(kind=kind) + KEY_BODY + "\n" + KEY_BODY + f"\n-----END {kind}PRIVATE KEY-----\n"
    [m] = SecretScanner().scan_bytes("/app/k", text.encode())
    assert (m.rule_id, m.line, m.column) == ("TG-SEC-014", 2, 1)
    assert m.match == f"-----BEGIN {kind}PRIVATE KEY-----"


def test_private_key_with_armor_headers() -> None:
    pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n" + KEY_BODY + "\n"
    legacy = ("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00FF\n\n"
              + KEY_BODY + "\n")
    scanner = SecretScanner()
    for text in (pgp, legacy):
        assert [m.rule_id for m in scanner.scan_bytes("/app/k.asc", text.encode())] == ["TG-SEC-014"]


def test_rule_table_is_well_formed() -> None:
    ids = [r.id for r in ALL_RULES]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"TG-SEC-\d{3}", i) for i in ids)
    for r in ALL_RULES:
        assert isinstance(r, SecretRule) and r.category == "secret"
        assert r.rule.id == r.id and r.rule.rationale and r.rule.remediation
        assert all(k == k.lower() for k in r.keywords)
        re.compile(r.regex.encode())
        if r.path:
            re.compile(r.path)


@pytest.mark.parametrize("rule", DEFAULT_RULES, ids=lambda r: r.id)
def test_every_match_fits_in_the_chunk_overlap(rule: SecretRule) -> None:
    _, longest = sre_parse.parse(rule.regex).getwidth()
    assert longest <= MAX_MATCH_BYTES, f"{rule.id} can match {longest} characters"


def test_shannon_entropy() -> None:
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)
