"""Dockerfile rules as data: one `Rule` row each, ids ``TG-DF-001``… (never renumbered).

    from tidegate.checks.dockerfile.rules import DOCKERFILE_RULES, HADOLINT_EQUIVALENTS
    HADOLINT_EQUIVALENTS["TG-DF-013"]   # ("DL3008",)

Anchors name the hadolint rule (``DL3xxx``/``DL4xxx``), the CIS Docker Benchmark recommendation (``CIS 4.x``)
and the Dockle check (``CIS-DI-xxxx``/``DKL-DI-xxxx``) a rule corresponds to, where one does.
"""

from __future__ import annotations

from tidegate.checks.base import MISCONFIG, SECRET, Rule
from tidegate.model.finding import Severity

BASE_NOT_PINNED = Rule(
    "TG-DF-001", "Base image not pinned by digest", Severity.MEDIUM, MISCONFIG,
    "A tag is mutable: the registry can serve different bytes for the same FROM tomorrow, so the build is "
    "neither reproducible nor verifiable against what was reviewed.",
    "Pin the base by digest: FROM image:tag@sha256:<digest> (keep the tag for readers; Renovate/Dependabot "
    "can update both).",
    ("CIS 4.2",))
BASE_LATEST = Rule(
    "TG-DF-002", "Base image without a tag or with :latest", Severity.MEDIUM, MISCONFIG,
    "An untagged FROM means :latest, which moves with every release and silently changes the OS and "
    "runtime under the application.",
    "Name an explicit version tag (and pin the digest): FROM python:3.12.4-slim@sha256:<digest>.",
    ("DL3006", "DL3007", "DKL-DI-0006"))
NO_USER = Rule(
    "TG-DF-003", "No USER in the final stage: the container runs as root", Severity.MEDIUM, MISCONFIG,
    "Without USER the process runs as uid 0; a compromise of the application is then root in the "
    "container, one kernel bug away from the host.",
    "Create an unprivileged user and switch to it: RUN useradd -r -u 10001 app, then USER 10001.",
    ("CIS 4.1", "CIS-DI-0001"))
USER_ROOT = Rule(
    "TG-DF-004", "Last USER of the final stage is root", Severity.HIGH, MISCONFIG,
    "The image explicitly runs its process as root (USER root / USER 0).",
    "End the final stage with USER <non-root uid>; do root work in RUN steps before it.",
    ("DL3002", "CIS 4.1", "CIS-DI-0001"))
SUDO = Rule(
    "TG-DF-005", "sudo used in RUN", Severity.MEDIUM, MISCONFIG,
    "Build steps already run as the current USER; sudo adds a setuid binary and its configuration to the "
    "image and behaves unpredictably without a TTY.",
    "Run the step as root before switching USER (or use gosu/su-exec at runtime); remove sudo from the image.",
    ("DL3004", "DKL-DI-0001"))
ADD_LOCAL = Rule(
    "TG-DF-006", "ADD used where COPY would do", Severity.LOW, MISCONFIG,
    "ADD silently extracts archives and fetches URLs; for plain local files that magic is surprising and "
    "can unpack attacker-controlled archives.",
    "Use COPY for local files and directories; keep ADD only for local tar archives you mean to extract.",
    ("DL3020", "CIS 4.9", "CIS-DI-0009"))
ADD_REMOTE = Rule(
    "TG-DF-007", "ADD fetches a remote URL", Severity.MEDIUM, MISCONFIG,
    "ADD <url> downloads at build time without integrity checking (unless --checksum is given), so the "
    "image contains whatever the server returned.",
    "Download in a RUN step and verify a checksum or signature (or use ADD --checksum=sha256:… for files, "
    "a pinned commit for git sources).",
    ("CIS 4.9", "CIS-DI-0009"))
CURL_PIPE_SHELL = Rule(
    "TG-DF-008", "Remote script piped into a shell", Severity.HIGH, MISCONFIG,
    "curl … | sh runs whatever the server (or anyone on the path) sends, unverified, as the build user.",
    "Download to a file, verify its checksum or signature, then run it; or install from a signed package "
    "repository.",
    ("CIS 4.11",))
SECRET_IN_ARG_ENV = Rule(
    "TG-DF-009", "Secret in ARG or ENV", Severity.HIGH, SECRET,
    "ENV values are stored in the image config and ARG values in the build history; anyone who can pull "
    "the image can read them.",
    "Pass secrets at build time with RUN --mount=type=secret and at run time from a secret store or a "
    "mounted file (e.g. *_FILE variables); rotate the exposed value.",
    ("CIS 4.10", "CIS-DI-0010", "buildkit SecretsUsedInArgOrEnv"))
APT_RECOMMENDS = Rule(
    "TG-DF-010", "apt-get install without --no-install-recommends", Severity.LOW, MISCONFIG,
    "Recommended packages roughly double what is installed: more size, more attack surface, more CVEs.",
    "Add --no-install-recommends to every apt-get install.",
    ("DL3015", "CIS 4.3"))
APT_LISTS = Rule(
    "TG-DF-011", "apt lists not removed after apt-get update", Severity.LOW, MISCONFIG,
    "The package lists (/var/lib/apt/lists) stay in the layer: tens of MB that only help a later "
    "apt-get, and a cache that goes stale.",
    "End the same RUN with rm -rf /var/lib/apt/lists/* (or use a cache mount for /var/lib/apt/lists).",
    ("DL3009", "DKL-DI-0005"))
PKG_UPGRADE = Rule(
    "TG-DF-012", "Distribution upgrade in the build (apt-get upgrade / dist-upgrade)", Severity.LOW, MISCONFIG,
    "Upgrading everything makes the image depend on the day it was built, defeats the base image pin and "
    "can pull in packages the base maintainers did not test.",
    "Use an up-to-date, pinned base image instead; upgrade single packages explicitly when needed.",
    ("DKL-DI-0003", "DL3005 (removed in hadolint 2)"))
APT_UNPINNED = Rule(
    "TG-DF-013", "apt-get install without pinned versions", Severity.MEDIUM, MISCONFIG,
    "Unpinned packages make builds non-reproducible: the same Dockerfile yields different packages.",
    "Pin: apt-get install -y --no-install-recommends curl=8.5.0-2ubuntu10.6.",
    ("DL3008",))
PIP_UNPINNED = Rule(
    "TG-DF-014", "pip install without pinned versions", Severity.MEDIUM, MISCONFIG,
    "pip install name takes whatever is newest on the index at build time (including a hijacked release).",
    "Pin with name==version, or install from a requirements file with hashes (pip install -r … "
    "--require-hashes).",
    ("DL3013",))
NPM_UNPINNED = Rule(
    "TG-DF-015", "npm install without pinned versions", Severity.MEDIUM, MISCONFIG,
    "npm install name takes the newest release at build time.",
    "Pin name@version, or use npm ci with a committed package-lock.json.",
    ("DL3016",))
APK_UNPINNED = Rule(
    "TG-DF-016", "apk add without pinned versions", Severity.MEDIUM, MISCONFIG,
    "Unpinned apk packages make builds non-reproducible.",
    "Pin: apk add --no-cache curl=8.5.0-r0.",
    ("DL3018",))
APK_CACHE = Rule(
    "TG-DF-017", "apk add without --no-cache", Severity.LOW, MISCONFIG,
    "The package index and cache stay in the layer.",
    "Use apk add --no-cache (it also makes apk update unnecessary).",
    ("DL3019", "DKL-DI-0004"))
PIP_CACHE = Rule(
    "TG-DF-018", "pip install without --no-cache-dir", Severity.LOW, MISCONFIG,
    "pip's wheel cache (~/.cache/pip) stays in the layer.",
    "Use pip install --no-cache-dir (or ENV PIP_NO_CACHE_DIR=1, or a cache mount).",
    ("DL3042",))
BUILD_TOOLS = Rule(
    "TG-DF-019", "Build tools in the final image (no multi-stage build)", Severity.MEDIUM, MISCONFIG,
    "Compilers and build systems in the shipped image are attack surface and help an intruder build "
    "tools; they are needed only to build.",
    "Build in a builder stage (FROM golang AS build …) and COPY --from=build only the artifacts into a "
    "minimal final stage.",
    ("CIS 4.3",))
FULL_OS_BASE = Rule(
    "TG-DF-020", "Final stage on a full OS base where a minimal one exists", Severity.LOW, MISCONFIG,
    "A full distribution (shell, package manager, hundreds of packages) is mostly unused by the app and "
    "carries most of the CVEs.",
    "Use a slim, Alpine, distroless or Chainguard base for the final stage (python:3.12-slim, "
    "gcr.io/distroless/…).",
    ("CIS 4.3",))
EXPOSE_SSH = Rule(
    "TG-DF-021", "Port 22 (SSH) exposed", Severity.MEDIUM, MISCONFIG,
    "An SSH server in a container is a second way in that bypasses the orchestrator's access control.",
    "Remove EXPOSE 22 and the SSH server; use docker exec / kubectl exec for access.",
    ("CIS 5.6",))
NO_HEALTHCHECK = Rule(
    "TG-DF-022", "No HEALTHCHECK in the final stage", Severity.LOW, MISCONFIG,
    "Without a health check the engine cannot tell a hung container from a working one.",
    "Add HEALTHCHECK CMD <probe> (or HEALTHCHECK NONE to state that the orchestrator probes instead).",
    ("CIS 4.6", "CIS-DI-0006"))
WORKDIR_RELATIVE = Rule(
    "TG-DF-023", "WORKDIR with a relative path", Severity.LOW, MISCONFIG,
    "A relative WORKDIR depends on the previous one (and the base image's), which is easy to get wrong.",
    "Use an absolute path: WORKDIR /app.",
    ("DL3000",))
APT_NO_YES = Rule(
    "TG-DF-024", "apt-get install without -y", Severity.LOW, MISCONFIG,
    "Without -y apt-get waits for confirmation and the non-interactive build aborts or hangs.",
    "Use apt-get install -y.",
    ("DL3014",))
APT_NOT_APT_GET = Rule(
    "TG-DF-025", "apt used instead of apt-get", Severity.LOW, MISCONFIG,
    "apt is meant for interactive use; its CLI is not stable for scripts.",
    "Use apt-get (or apt-cache).",
    ("DL3027",))
SHELL_FORM_CMD = Rule(
    "TG-DF-026", "CMD/ENTRYPOINT in shell form", Severity.LOW, MISCONFIG,
    "Shell form wraps the process in /bin/sh -c: it is not PID 1 and does not receive SIGTERM, so "
    "containers stop only after the kill timeout.",
    "Use the JSON form: CMD [\"executable\", \"arg\"].",
    ("DL3025",))
MAINTAINER = Rule(
    "TG-DF-027", "Deprecated MAINTAINER instruction", Severity.LOW, MISCONFIG,
    "MAINTAINER is deprecated.",
    "Use LABEL org.opencontainers.image.authors=\"…\".",
    ("DL4000",))
CD_IN_RUN = Rule(
    "TG-DF-028", "cd in RUN instead of WORKDIR", Severity.LOW, MISCONFIG,
    "A cd lasts for one RUN only; later steps silently run elsewhere.",
    "Use WORKDIR /path.",
    ("DL3003",))
MULTIPLE_CMD = Rule(
    "TG-DF-029", "More than one CMD or ENTRYPOINT in a stage", Severity.LOW, MISCONFIG,
    "Only the last CMD/ENTRYPOINT of a stage takes effect; the earlier ones are dead code and misleading.",
    "Keep one CMD and one ENTRYPOINT per stage.",
    ("DL4003", "DL4004"))
DUPLICATE_ALIAS = Rule(
    "TG-DF-030", "Duplicate stage name", Severity.MEDIUM, MISCONFIG,
    "Two stages with the same AS name make COPY --from ambiguous.",
    "Give every stage a unique name.",
    ("DL3024",))

DOCKERFILE_RULES: tuple[Rule, ...] = (
    BASE_NOT_PINNED, BASE_LATEST, NO_USER, USER_ROOT, SUDO, ADD_LOCAL, ADD_REMOTE, CURL_PIPE_SHELL,
    SECRET_IN_ARG_ENV, APT_RECOMMENDS, APT_LISTS, PKG_UPGRADE, APT_UNPINNED, PIP_UNPINNED, NPM_UNPINNED,
    APK_UNPINNED, APK_CACHE, PIP_CACHE, BUILD_TOOLS, FULL_OS_BASE, EXPOSE_SSH, NO_HEALTHCHECK,
    WORKDIR_RELATIVE, APT_NO_YES, APT_NOT_APT_GET, SHELL_FORM_CMD, MAINTAINER, CD_IN_RUN, MULTIPLE_CMD,
    DUPLICATE_ALIAS,
)
"""Every Dockerfile rule, in id order."""

HADOLINT_EQUIVALENTS: dict[str, tuple[str, ...]] = {
    r.id: tuple(a for a in r.anchors if a.startswith(("DL3", "DL4")) and " " not in a) for r in DOCKERFILE_RULES
    if any(a.startswith(("DL3", "DL4")) and " " not in a for a in r.anchors)
}
"""tidegate rule id → the hadolint rule ids that report the same thing (from the anchors)."""
