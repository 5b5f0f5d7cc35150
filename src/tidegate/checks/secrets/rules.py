"""Secret rules as data: one `SecretRule` row per rule (trivy's ``pkg/fanal/secret/builtin-rules.go`` shape).

Adding a rule is adding a row to `DEFAULT_RULES`; the row is the registration::

    SecretRule(id="TG-SEC-0NN", title="…", severity=Severity.HIGH, keywords=("prefix_",),
               regex=r"\\b(?P<secret>prefix_[A-Za-z0-9]{32})\\b", keep=7, rationale="…", remediation="…")

Every regex is a *bytes* pattern (files are scanned as bytes), names the part to mask ``(?P<secret>…)``
and must be bounded: no match may be longer than `MAX_MATCH_BYTES`, so the chunked scanner's overlap always
holds a whole match (a test checks the width of every pattern). `keywords` are lower-case literals of which
at least one occurs *inside* every match: the prefilter runs a rule's regex only when one of them occurs.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

from tidegate.checks.base import SECRET, Rule
from tidegate.model.finding import Severity

MAX_MATCH_BYTES = 8 * 1024
"""Upper bound of the length of any rule's match; the scanner overlaps chunks by at least this much."""


@dataclass(frozen=True, slots=True)
class SecretRule:
    """One secret rule: what to look for, where, what to ignore, and how to document it."""

    id: str
    """Stable id (``TG-SEC-001``)."""
    title: str
    """One line, the same for every finding."""
    severity: Severity
    """Severity of every finding of the rule."""
    keywords: tuple[str, ...]
    """Lower-case literals, one of which occurs inside every match (the prefilter); empty = always run."""
    regex: str
    """The pattern (compiled as bytes); the first group named ``secret…`` that took part in the match is what
    gets masked (the whole match when there is none)."""
    rationale: str
    """Why it matters (docs/rules.md)."""
    remediation: str
    """How to fix it."""
    anchors: tuple[str, ...] = ()
    """Corresponding rule ids in trivy (``trivy:aws-access-key-id``) and gitleaks (``gitleaks:…``)."""
    path: str | None = None
    """For file-based rules: a regex on the absolute path; the rule runs only on matching files."""
    allow_secrets: tuple[str, ...] = ()
    """Regexes (fullmatch, on the secret as text) of known non-secrets: example keys, placeholders."""
    allow_paths: tuple[str, ...] = ()
    """Regexes (search, on the path) where matches of this rule are known false positives."""
    min_entropy: float = 0.0
    """Minimum Shannon entropy (bits per character) of the secret; 0 = no entropy test."""
    keep: int = 0
    """Leading characters of the secret left visible when masking (the public prefix: ``AKIA``, ``ghp_``)."""
    generic: bool = False
    """A heuristic rule: dropped on any line where a specific (non-generic) rule matched."""
    category: str = SECRET
    """`Rule.category`: always ``secret``."""

    @property
    def rule(self) -> Rule:
        """The `Rule` for docs, SARIF and findings."""
        return Rule(id=self.id, title=self.title, severity=self.severity, category=self.category,
                    rationale=self.rationale, remediation=self.remediation, anchors=self.anchors)


def shannon_entropy(value: str | bytes) -> float:
    """Shannon entropy of `value` in bits per character (0 for the empty string)."""
    if not value:
        return 0.0
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


# --- allow-lists -------------------------------------------------------------------------------------------

PLACEHOLDER = (
    r"(?i)(?:"
    r"\$\{?[A-Za-z_][A-Za-z0-9_]{0,60}(?::?[-=?+][^}]*)?\}?"        # $X, ${X}, ${X:-default}
    r"|\$\(.*\)|`.*`"                                         # $(cmd), `cmd`
    r"|%\(?[A-Za-z0-9_.]*\)?[sd]?%?"                          # %(x)s, %X%
    r"|\{\{.*\}\}|\{%.*%\}|\{[A-Za-z_][A-Za-z0-9_.]*\}"      # Jinja/Go/format templates
    r"|<[^>]*>|\[[^\]]*\]"                                    # <password>, [token]
    r"|(.)\1{2,}"                                             # xxxx, ****, ....
    r"|[-_.*#0]+|\d+"
    r"|.*(?:change[_-]?me|changeit|placeholder|redacted|example|dummy|insert[_-]?here|your[_-]|goes[_-]?here"
    r"|replace[_-]?me|_here|todo|fixme).*"
    r"|secret|password|passwd|pass|pwd|token|none|null|nil|true|false|yes|no|undefined|test|testing"
    r"|foo|bar|baz|foobar|admin|root|default|empty|string|str|value|hunter2|letmein|qwerty|abc123"
    r"|(?:my|the|some)[_-]?(?:password|secret|token|key)\w*"
    r")"
)
"""Values that are no secret: variable references, templates, masks and words people put in examples."""

EXAMPLE_AWS_KEYS = (r"AKIAIOSFODNN7EXAMPLE", r"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", r"[A-Z0-9]*EXAMPLE[A-Z0-9]*")
"""The access key pair AWS documentation uses, and any key id that says EXAMPLE."""

AZURITE_KEY = r"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
"""The storage key of Microsoft's local emulator (Azurite), published in its documentation."""

GLOBAL_ALLOW_PATHS = (
    r"^/usr/share/(?:doc|man|info|licenses|common-licenses|help|gtk-doc)/",
    r"^/usr/(?:local/)?lib/python3[^/]*/test/",
    r"/(?:site|dist)-packages/.+/tests?/",
    r"/node_modules/.+/(?:tests?|__tests__|__mocks__|examples?|fixtures)/",
    r"/(?:testdata|__fixtures__)/",
)
"""Test fixtures and documentation shipped by packages: no rule reports there (trivy's builtin allow rules)."""

DOCS_PATHS = (r"\.(?:md|markdown|rst|adoc|asciidoc)$", r"/man[1-9]?/[^/]+$")
"""Documentation files, where generic assignments are examples."""

_ASSIGN = r"[ \t]{0,5}(?:=|:=|:|=>)[ \t]{0,5}"
_SECRET_WORDS = (r"(?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key"
                 r"|private[_-]?key|client[_-]?secret|credentials?)")
_ENV_WORDS = r"(?:PASSWORD|PASSWD|PASS|PWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)"

IDENTIFIER_VALUE = r"[a-z_][a-z0-9_]*|[A-Z_][A-Z0-9_]*|[A-Za-z_][A-Za-z0-9_]{0,60}(?:\.[A-Za-z_][A-Za-z0-9_]{0,60})+"
"""Unquoted values that are code, not secrets: ``settings.SECRET_KEY``, ``api_key``, ``TOKEN``."""

WORDS_VALUE = r"[A-Za-z]+|[a-z][a-z_. -]*"
"""Letters-only or lower-case dashed words (``challengePassword``, ``mailbox-list``): names, not secrets."""

ENV_NAME = r"(?i)(?:^|[_.-])" + _ENV_WORDS + r"(?:$|[_.-])"
"""An environment variable or build-arg name that says it holds a secret (``DB_PASSWORD``, ``GITHUB_TOKEN``)."""
ENV_NAME_ALLOW = (r"(?i).*[_.-](?:FILE|PATH|DIR|NAME|USER|USERNAME|LENGTH|LEN|TTL|TIMEOUT|EXPIRY|EXPIRES|HEADER"
                  r"|ENABLED|ENDPOINT|HOST|PORT|TYPE|ID|URL|URI|REGION|MIN|MAX|POLICY|COMMAND|CMD)")
"""Names that mention a secret but hold something else (``POSTGRES_PASSWORD_FILE``, ``TOKEN_TTL``)."""


# --- the rules ---------------------------------------------------------------------------------------------

_ROTATE = "Revoke and rotate the credential now (it is in every copy of the image), then pass it at run time " \
          "(a mounted secret, a BuildKit --mount=type=secret), never in a layer, ENV or build arg."
_LEAK = "Anyone who can pull the image can read every layer, including files a later layer deleted."

AWS_ACCESS_KEY_ID = SecretRule(
    id="TG-SEC-001", title="AWS access key id", severity=Severity.CRITICAL,
    keywords=("akia", "asia", "abia", "acca", "a3t"),
    regex=r"(?<![A-Za-z0-9])(?P<secret>(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})(?![A-Za-z0-9])",
    keep=4, allow_secrets=EXAMPLE_AWS_KEYS,
    rationale="An AWS access key id is half of a long-lived AWS credential and names the account. " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:aws-access-key-id", "gitleaks:aws-access-token"))

AWS_SECRET_ACCESS_KEY = SecretRule(
    id="TG-SEC-002", title="AWS secret access key", severity=Severity.CRITICAL, keywords=("aws",),
    regex=r"(?i)aws[A-Za-z0-9_.-]{0,20}(?:secret|sk)[A-Za-z0-9_.-]{0,20}[\"']?" + _ASSIGN
          + r"[\"']?(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
    allow_secrets=EXAMPLE_AWS_KEYS + (PLACEHOLDER,),
    rationale="The secret half of an AWS access key signs API requests as its owner. " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:aws-secret-access-key",))

GITHUB_TOKEN = SecretRule(
    id="TG-SEC-003", title="GitHub token", severity=Severity.CRITICAL,
    keywords=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    regex=r"(?<![A-Za-z0-9_])(?P<secret>gh[pousr]_[A-Za-z0-9]{36,251})(?![A-Za-z0-9_])",
    keep=4,
    rationale="A classic personal access, OAuth, user-to-server, server-to-server or refresh token acts on "
              "GitHub as its owner. " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:github-pat", "trivy:github-oauth", "trivy:github-app-token",
                                  "trivy:github-refresh-token", "gitleaks:github-pat"))

GITHUB_FINE_GRAINED = SecretRule(
    id="TG-SEC-004", title="GitHub fine-grained personal access token", severity=Severity.CRITICAL,
    keywords=("github_pat_",),
    regex=r"(?<![A-Za-z0-9_])(?P<secret>github_pat_[A-Za-z0-9_]{50,255})(?![A-Za-z0-9_])", keep=11,
    rationale="A fine-grained personal access token acts on the repositories it was granted. " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:github-fine-grained-pat", "gitleaks:github-fine-grained-pat"))

GITLAB_TOKEN = SecretRule(
    id="TG-SEC-005", title="GitLab personal access token", severity=Severity.CRITICAL, keywords=("glpat-",),
    regex=r"(?<![A-Za-z0-9_-])(?P<secret>glpat-[A-Za-z0-9_-]{20,64})(?![A-Za-z0-9_-])", keep=6,
    rationale="A GitLab personal access token acts on GitLab as its owner. " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:gitlab-pat", "gitleaks:gitlab-pat"))

SLACK_TOKEN = SecretRule(
    id="TG-SEC-006", title="Slack token", severity=Severity.HIGH,
    keywords=("xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"),
    regex=r"(?<![A-Za-z0-9])(?P<secret>xox[baprs]-[0-9]{6,13}-[0-9A-Za-z-]{8,250})(?![A-Za-z0-9-])", keep=5,
    rationale="A Slack bot, user or app token reads and posts in the workspace. " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:slack-access-token", "gitleaks:slack-bot-token"))

SLACK_WEBHOOK = SecretRule(
    id="TG-SEC-007", title="Slack incoming webhook", severity=Severity.MEDIUM, keywords=("hooks.slack.com",),
    regex=r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<secret>[A-Za-z0-9+/_-]{20,120})",
    rationale="Anyone with an incoming-webhook URL can post into the channel. " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:slack-web-hook", "gitleaks:slack-webhook-url"))

STRIPE_KEY = SecretRule(
    id="TG-SEC-008", title="Stripe live secret or restricted key", severity=Severity.CRITICAL,
    keywords=("sk_live_", "rk_live_"),
    regex=r"(?<![A-Za-z0-9_])(?P<secret>[sr]k_live_[0-9A-Za-z]{20,247})(?![A-Za-z0-9_])", keep=8,
    rationale="A live Stripe secret key moves money on the account. " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:stripe-secret-token", "gitleaks:stripe-access-token"))

GOOGLE_API_KEY = SecretRule(
    id="TG-SEC-009", title="Google API key", severity=Severity.HIGH, keywords=("aiza",),
    regex=r"(?<![A-Za-z0-9_-])(?P<secret>AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])", keep=4,
    rationale="A Google API key bills its project for whatever APIs it is allowed to call. " + _LEAK,
    remediation=_ROTATE, anchors=("gitleaks:gcp-api-key",))

GCP_SERVICE_ACCOUNT = SecretRule(
    id="TG-SEC-010", title="Google Cloud service-account key", severity=Severity.CRITICAL,
    keywords=("service_account",),
    regex=r"(?s)\"type\"\s{0,5}:\s{0,5}\"service_account\".{0,4000}?\"private_key\"\s{0,5}:\s{0,5}"
          r"\"(?P<secret>[^\"]{20,64})",
    rationale="A service-account JSON key file holds the account's private key: it acts as that account "
              "until the key is deleted. " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:gcp-service-account",))

AZURE_STORAGE_KEY = SecretRule(
    id="TG-SEC-011", title="Azure storage account key", severity=Severity.CRITICAL, keywords=("accountkey=",),
    regex=r"(?i)AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)", allow_secrets=(AZURITE_KEY,),
    rationale="A storage account key grants full access to every container, queue and table of the account. "
              + _LEAK,
    remediation=_ROTATE, anchors=("gitleaks:azure-storage-account-key",))

NPM_TOKEN = SecretRule(
    id="TG-SEC-012", title="npm access token", severity=Severity.CRITICAL, keywords=("npm_",),
    regex=r"(?<![A-Za-z0-9_])(?P<secret>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])", keep=4,
    rationale="An npm token publishes packages as its owner: a supply-chain attack waiting to happen. " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:npm-access-token", "gitleaks:npm-access-token"))

PYPI_TOKEN = SecretRule(
    id="TG-SEC-013", title="PyPI upload token", severity=Severity.HIGH, keywords=("pypi-ageichlwas5vcmc",),
    regex=r"(?<![A-Za-z0-9_-])(?P<secret>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000})", keep=5,
    rationale="A PyPI API token uploads releases of the projects it is scoped to. " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:pypi-upload-token", "gitleaks:pypi-upload-token"))

PRIVATE_KEY = SecretRule(
    id="TG-SEC-014", title="Private key", severity=Severity.HIGH, keywords=("private key",),
    # NOTE: the BEGIN header plus the first line of key material (after optional RFC 1421 / OpenPGP armor
    # headers such as Proc-Type or Version), also with JSON-escaped newlines: a string constant such as
    # cryptography's ``_SK_START = b"-----BEGIN OPENSSH PRIVATE KEY-----"`` is not a key. The END line is not
    # needed, so a key of any size is found within one chunk overlap.
    regex=r"-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY(?: BLOCK)?-----[ \t]{0,20}(?:\\r)?(?:\\n|\r?\n)"
          r"(?:[A-Za-z-]{1,40}:[^\r\n\\]{0,200}(?:\\r)?(?:\\n|\r?\n)){0,8}(?:[ \t]{0,20}(?:\\r)?(?:\\n|\r?\n))?"
          r"(?P<secret>[A-Za-z0-9+/=]{20,120})",
    rationale="A private key (PEM RSA/EC/DSA/PKCS#8/encrypted, OpenSSH, PGP) lets anyone impersonate its "
              "owner or decrypt their traffic. " + _LEAK,
    remediation="Treat the key as compromised: revoke the certificate or key and issue a new one; mount keys at "
                "run time instead of copying them into a layer.",
    anchors=("trivy:private-key", "gitleaks:private-key"))

JWT = SecretRule(
    id="TG-SEC-015", title="JSON Web Token", severity=Severity.MEDIUM, keywords=("eyj",),
    regex=r"(?<![A-Za-z0-9_-])(?P<secret>eyJ[A-Za-z0-9_-]{10,2000}\.eyJ[A-Za-z0-9_-]{10,4000}\.[A-Za-z0-9_-]{10,1000})"
          r"(?![A-Za-z0-9_-])",
    keep=3,
    rationale="A signed JWT is a bearer credential until it expires (often never for service tokens). " + _LEAK,
    remediation=_ROTATE, anchors=("trivy:jwt-token", "gitleaks:jwt"))

GENERIC_ASSIGNMENT = SecretRule(
    id="TG-SEC-016", title="Secret-looking assignment", severity=Severity.MEDIUM,
    keywords=("password", "passwd", "pwd", "secret", "token", "api_key", "api-key", "apikey", "access_key",
              "access-key", "accesskey", "auth_key", "authkey", "private_key", "privatekey", "credential"),
    # NOTE: the match starts at the keyword (no leading name part) so the regex engine only tries where a
    # keyword starts; the excerpt still shows the whole line.
    regex=r"(?i)" + _SECRET_WORDS + r"[A-Za-z0-9_.-]{0,40}[\"']?" + _ASSIGN
          # a quoted literal, or an unquoted one with a digit that ends the statement (code is not a secret)
          + r"(?:(?P<q>[\"'])(?P<secret>[^\s\"'`<>{}\[\]()$,;]{8,200})(?P=q)"
          r"|(?P<secret_bare>(?=[^\s]{0,200}[0-9])[^\s\"'`<>{}\[\]()$,;]{8,200})(?=[ \t]{0,20}(?:[,;#\r\n]|$)))",
    min_entropy=3.0, generic=True,
    allow_secrets=(PLACEHOLDER, IDENTIFIER_VALUE, WORDS_VALUE, r"[a-z]+://.*", r"/[^ ]*"),
    allow_paths=DOCS_PATHS,
    rationale="A password, secret, token or API key assigned a high-entropy literal is very likely a real "
              "credential. " + _LEAK,
    remediation=_ROTATE, anchors=("gitleaks:generic-api-key",))

DOTENV = SecretRule(
    id="TG-SEC-017", title="Secret in a .env file", severity=Severity.HIGH, keywords=(),
    path=r"(?:^|/)\.env(?:\.[A-Za-z0-9_.-]+)?$",
    regex=r"(?im)^[ \t]{0,20}(?:export[ \t]{1,20})?[A-Za-z0-9_]{0,60}" + _ENV_WORDS + r"[A-Za-z0-9_]{0,60}[ \t]{0,20}=[ \t]{0,20}[\"']?"
          r"(?P<secret>[^\s\"'#](?:[^\r\n\"'#]{0,500}[^\s\"'#])?)",
    generic=True, allow_secrets=(PLACEHOLDER,),
    rationale=".env files hold the credentials of an environment and are meant to stay out of images. " + _LEAK,
    remediation="Add .env to .dockerignore, rotate what it held and inject it at run time. " + _ROTATE,
    anchors=("gitleaks:generic-api-key",))

NPMRC_AUTH = SecretRule(
    id="TG-SEC-018", title="Credentials in .npmrc", severity=Severity.HIGH, keywords=("_auth", "_password"),
    path=r"(?:^|/)\.npmrc$",
    regex=r"(?im)(?:_authToken|_auth|_password)[ \t]{0,20}=[ \t]{0,20}[\"']?(?P<secret>[^\s\"']{4,2000})",
    generic=True, allow_secrets=(PLACEHOLDER,),
    rationale="An .npmrc with _authToken/_auth/_password publishes or installs private packages as its owner. "
              + _LEAK,
    remediation="Use ${NPM_TOKEN} in .npmrc and a build secret; never COPY a credentialed .npmrc. " + _ROTATE,
    anchors=("trivy:npm-access-token",))

PYPIRC_PASSWORD = SecretRule(
    id="TG-SEC-019", title="Password in .pypirc", severity=Severity.HIGH, keywords=("password",),
    path=r"(?:^|/)\.pypirc$",
    regex=r"(?im)^[ \t]{0,20}password[ \t]{0,20}[=:][ \t]{0,20}(?P<secret>[^\r\n]{3,2000}\S)",
    generic=True, allow_secrets=(PLACEHOLDER,),
    rationale="A .pypirc password (or token) uploads releases to the index. " + _LEAK,
    remediation="Use keyring or TWINE_PASSWORD from a build secret. " + _ROTATE, anchors=())

DOCKER_CONFIG_AUTH = SecretRule(
    id="TG-SEC-020", title="Registry credentials in .docker/config.json", severity=Severity.HIGH,
    keywords=("auth",), path=r"(?:^|/)\.docker/config\.json$",
    regex=r"\"(?:auth|identitytoken)\"\s{0,5}:\s{0,5}\"(?P<secret>[A-Za-z0-9+/=_.-]{4,4000})\"",
    generic=True,
    rationale="The auths of a docker config.json are base64 user:password pairs (or tokens) for registries. "
              + _LEAK,
    remediation="Log in at run time or use a credential helper; never copy config.json into an image. "
                + _ROTATE,
    anchors=("trivy:dockerconfig-secret",))

SSH_KEY_FILE = SecretRule(
    id="TG-SEC-021", title="SSH private key file", severity=Severity.HIGH, keywords=("private key",),
    path=r"(?:^|/)id_(?:rsa|dsa|ecdsa|ed25519|ecdsa_sk|ed25519_sk)$",
    regex=r"(?P<secret>-----BEGIN[ A-Z0-9_-]{0,40}PRIVATE KEY-----)", generic=True,
    rationale="An id_* file is a user's SSH identity: it logs in wherever the public key is authorized. "
              + _LEAK,
    remediation="Use BuildKit's --mount=type=ssh for builds; remove the key and its authorizations.",
    anchors=("trivy:private-key",))

GIT_CREDENTIALS = SecretRule(
    id="TG-SEC-022", title="Credentials in .git-credentials", severity=Severity.HIGH, keywords=("@",),
    path=r"(?:^|/)\.git-credentials$",
    regex=r"https?://[^:@\s/]{1,200}:(?P<secret>[^@\s/]{3,500})@[^\s/]{1,253}", generic=True,
    allow_secrets=(PLACEHOLDER,),
    rationale="git's credential store keeps user:token pairs in clear text. " + _LEAK,
    remediation="Use a build secret for git credentials; never copy the store. " + _ROTATE, anchors=())

KUBECONFIG = SecretRule(
    id="TG-SEC-023", title="Credentials in a kubeconfig", severity=Severity.HIGH,
    keywords=("token", "client-key-data", "password"),
    path=r"(?:^|/)(?:\.kube/config|kubeconfig(?:\.ya?ml)?|[^/]*\.kubeconfig)$",
    regex=r"(?im)^[ \t-]{0,20}(?:token|client-key-data|password)[ \t]{0,20}:[ \t]{0,20}[\"']?(?P<secret>[^\s\"']{8,4000})",
    generic=True, allow_secrets=(PLACEHOLDER,),
    rationale="A kubeconfig with a token, client key or password is a cluster login. " + _LEAK,
    remediation="Mount the kubeconfig at run time or use workload identity. " + _ROTATE, anchors=())

ENV_SECRET = SecretRule(
    id="TG-SEC-024", title="Secret in image ENV", severity=Severity.HIGH, keywords=(),
    regex=r"(?P<name>[^=]+)=(?P<secret>.+)", allow_secrets=(PLACEHOLDER,),
    rationale="ENV values are stored in the image config, shown by `docker inspect` and inherited by every "
              "container and child image.",
    remediation="Pass the secret at run time (orchestrator secret, mounted file, *_FILE variable); remove the "
                "ENV and rotate the value.",
    anchors=("DKL-DI-0005", "CIS-DI-0010"))
"""Config-only rule: a variable whose name says secret (`ENV_NAME`) set to a literal value."""

BUILD_ARG_SECRET = SecretRule(
    id="TG-SEC-025", title="Secret in a build argument", severity=Severity.HIGH, keywords=(),
    regex=r"(?P<name>[^=]+)=(?P<secret>.+)", allow_secrets=(PLACEHOLDER,),
    rationale="Build arguments used by RUN steps are recorded in the image history (``|1 TOKEN=… /bin/sh -c``) "
              "in clear text.",
    remediation="Use a BuildKit secret mount (RUN --mount=type=secret) instead of ARG; rotate the value.",
    anchors=("DKL-DI-0005", "CIS-DI-0010"))
"""History-only rule: a build arg whose name says secret, as recorded in ``created_by``."""

DEFAULT_RULES: tuple[SecretRule, ...] = (
    AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN, GITHUB_FINE_GRAINED, GITLAB_TOKEN, SLACK_TOKEN,
    SLACK_WEBHOOK, STRIPE_KEY, GOOGLE_API_KEY, GCP_SERVICE_ACCOUNT, AZURE_STORAGE_KEY, NPM_TOKEN, PYPI_TOKEN,
    PRIVATE_KEY, JWT, GENERIC_ASSIGNMENT, DOTENV, NPMRC_AUTH, PYPIRC_PASSWORD, DOCKER_CONFIG_AUTH, SSH_KEY_FILE,
    GIT_CREDENTIALS, KUBECONFIG,
)
"""The rules the scanner runs on file contents and config strings, in id order."""

CONFIG_RULES: tuple[SecretRule, ...] = (ENV_SECRET, BUILD_ARG_SECRET)
"""Rules about ENV and build-arg *names*, evaluated on the image config only."""

ALL_RULES: tuple[SecretRule, ...] = DEFAULT_RULES + CONFIG_RULES
"""Every secret rule (docs, SARIF rule list)."""


def compile_allow(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """`patterns` compiled one by one (each may carry its own flags and back-references)."""
    return tuple(re.compile(p, re.DOTALL) for p in patterns)
