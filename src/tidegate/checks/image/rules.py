"""The image-configuration rules (``TG-IMG-…``) as data: what users see in reports, docs and ignore files.

Each rule names the CIS Docker Benchmark recommendation (v1.6.0 numbering) and the Dockle checkpoint it
corresponds to. The checks that report them live beside this module (`config`, `history`, `files`,
`minimalism`)::

    from tidegate.checks.image.rules import RUNS_AS_ROOT
    RUNS_AS_ROOT.finding("no USER: the container runs as root", target="image config")
"""

from __future__ import annotations

from tidegate.checks.base import MISCONFIG, Rule
from tidegate.model.finding import Severity

RUNS_AS_ROOT = Rule(
    id="TG-IMG-001",
    title="Image runs as root",
    severity=Severity.HIGH,
    category=MISCONFIG,
    rationale=(
        "A container whose config has no User, or User root/0 (also root:root, 0:0, 0:<gid>), starts its "
        "process as uid 0. Any code-execution bug then runs as root inside the container, one kernel or "
        "runtime bug away from root on the node. Only the config's User is evaluated: a USER given by name "
        "(e.g. `app`) is taken to be non-root, because resolving it needs /etc/passwd contents, which image "
        "checks do not read; a name mapped to uid 0 in /etc/passwd is therefore not detected."
    ),
    remediation=(
        "Create an unprivileged user in the image (`RUN useradd --uid 10001 app`) and end the Dockerfile "
        "with `USER 10001:10001`; prefer a numeric uid so that Kubernetes `runAsNonRoot` can verify it."
    ),
    anchors=("CIS Docker 4.1", "CIS-DI-0001", "DL3002"),
)
"""``config.User`` empty or uid 0."""

NO_HEALTHCHECK = Rule(
    id="TG-IMG-002",
    title="No HEALTHCHECK",
    severity=Severity.LOW,
    category=MISCONFIG,
    rationale=(
        "Without a HEALTHCHECK the engine only knows whether the process is alive, not whether it still "
        "serves. `HEALTHCHECK NONE` (config Healthcheck.Test = [\"NONE\"]) disables an inherited check and "
        "counts as no health check. Orchestrators with their own probes (Kubernetes) ignore the image's "
        "HEALTHCHECK, which is why the severity is low."
    ),
    remediation="Add `HEALTHCHECK CMD <a cheap command that fails when the service is unhealthy>`.",
    anchors=("CIS Docker 4.6", "CIS-DI-0006"),
)
"""``config.Healthcheck`` absent, empty or ``NONE``."""

BASE_NOT_PINNED = Rule(
    id="TG-IMG-003",
    title="Base image is :latest or not pinned by digest",
    severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale=(
        "A base referenced by a moving tag changes under the same Dockerfile: rebuilds are not reproducible "
        "and a compromised or broken upstream tag flows in silently. An image does not record its FROM line; "
        "the only visible trace is the `org.opencontainers.image.base.name` label (and "
        "`org.opencontainers.image.base.digest`) that some builders write. When neither is present nothing "
        "can be concluded and nothing is reported. `:latest` or no tag is MEDIUM; another tag without a "
        "digest in base.name is LOW (base.digest alone records what was pulled, not that FROM was pinned)."
    ),
    remediation="Pin the base by digest: `FROM debian:12-slim@sha256:<digest>`, updated by a bot (Renovate).",
    anchors=("CIS Docker 4.2", "DKL-DI-0006", "DL3006", "DL3007"),
)
"""The OCI base-name label names ``:latest``, no tag, or a tag without a digest."""

IMAGE_TAG_LATEST = Rule(
    id="TG-IMG-004",
    title="Image referenced by the :latest tag",
    severity=Severity.LOW,
    category=MISCONFIG,
    rationale=(
        "The image was scanned by its `latest` tag and not by digest: whatever is deployed under that tag "
        "later need not be what was scanned. tidegate resolves the tag once and scans that digest, but "
        "deployments that keep using `:latest` do not get the same guarantee."
    ),
    remediation="Deploy and scan by digest (`repo@sha256:…`) or by an immutable version tag.",
    anchors=("DKL-DI-0006", "DL3007"),
)
"""The scanned reference uses tag ``latest`` without a digest."""

ADD_REMOTE_URL = Rule(
    id="TG-IMG-005",
    title="ADD of a remote URL",
    severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale=(
        "`ADD https://…` downloads at build time without verification: the content can change under the same "
        "URL, and nothing pins what went into the layer. BuildKit records the URL in the history "
        "(`ADD --chmod=755 https://… /dst # buildkit`); with `--checksum=sha256:…` the download is verified "
        "and the finding is LOW. The classic builder records `ADD file:<hash> in <dst>` for URLs and local "
        "files alike, so a remote source cannot be seen there (see TG-IMG-006)."
    ),
    remediation=(
        "Download in a RUN step and verify a pinned checksum (`curl -fsSLo x URL && echo 'SHA  x' | "
        "sha256sum -c`), or use `ADD --checksum=sha256:<hex> URL dst`, or COPY a vendored file."
    ),
    anchors=("CIS Docker 4.9", "CIS-DI-0009", "DL3020"),
)
"""A history ``ADD`` step whose source is an http(s)/git URL."""

ADD_INSTEAD_OF_COPY = Rule(
    id="TG-IMG-006",
    title="ADD used where COPY would do",
    severity=Severity.LOW,
    category=MISCONFIG,
    rationale=(
        "ADD also extracts archives and fetches URLs, so it can bring in more than the author meant; COPY "
        "only copies. Local archives (`*.tar`, `*.tar.gz`, `*.tgz`, `*.tar.xz`, …), whose extraction is the "
        "reason to use ADD, are not reported, and neither is the first history step (the base image's "
        "`ADD file:<hash> in /` rootfs, as Dockle does). The classic builder hides the source name "
        "(`ADD file:<hash> in <dst>`), so such steps are reported without knowing whether it was an archive."
    ),
    remediation="Use COPY for local files and directories.",
    anchors=("CIS Docker 4.9", "CIS-DI-0009", "DL3020"),
)
"""A history ``ADD`` step of local files that are not archives."""

PACKAGE_UPGRADE = Rule(
    id="TG-IMG-007",
    title="Whole-system package upgrade in the build",
    severity=Severity.LOW,
    category=MISCONFIG,
    rationale=(
        "`apt-get upgrade`/`dist-upgrade`/`full-upgrade`, `apk upgrade`, `yum`/`dnf update|upgrade`, "
        "`zypper update|dist-upgrade` without package names upgrade everything at build time: the result "
        "depends on the day of the build, and it hides that the base image is stale. Targeted upgrades "
        "(`apt-get install --only-upgrade openssl`, `dnf upgrade openssl`) are not reported."
    ),
    remediation="Rebuild on an updated, pinned base image instead; upgrade single packages by name if needed.",
    anchors=("DKL-DI-0003", "DL3005"),
)
"""A history step upgrades every installed package."""

UPDATE_ALONE = Rule(
    id="TG-IMG-008",
    title="Package index update used alone",
    severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale=(
        "A step that runs `apt-get update` (or `apk update`, `yum`/`dnf makecache`, `zypper refresh`) without "
        "installing or upgrading anything in the same step gets cached as its own layer: later installs use "
        "stale package lists, and the lists stay in the image."
    ),
    remediation=(
        "Update and install in one RUN: "
        "`apt-get update && apt-get install -y … && rm -rf /var/lib/apt/lists/*`."
    ),
    anchors=("CIS Docker 4.7", "CIS-DI-0007"),
)
"""A history step refreshes package indexes but installs nothing."""

SSH_PORT_EXPOSED = Rule(
    id="TG-IMG-009",
    title="SSH port 22 exposed",
    severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale=(
        "EXPOSE 22 (config ExposedPorts `22/tcp` or `22`) announces an SSH service inside the container. "
        "Containers are entered with `docker exec`/`kubectl exec`; an SSH daemon adds keys, a privileged "
        "listener and another attack surface."
    ),
    remediation="Remove `EXPOSE 22` and the SSH server; use `kubectl exec`/`docker exec` for access.",
    anchors=("CIS Docker 5.6", "CIS Docker 5.8"),
)
"""``config.ExposedPorts`` contains 22/tcp."""

PRIVILEGED_PORT = Rule(
    id="TG-IMG-010",
    title="Privileged port exposed",
    severity=Severity.LOW,
    category=MISCONFIG,
    rationale=(
        "A port below 1024 needs root or CAP_NET_BIND_SERVICE to bind, which pushes the image towards running "
        "as root. Port 22 is reported by TG-IMG-009 instead."
    ),
    remediation="Listen on an unprivileged port (8080 instead of 80) and map it at deploy time.",
    anchors=("CIS Docker 5.7",),
)
"""``config.ExposedPorts`` contains a port below 1024 other than 22/tcp."""

SSH_SERVER_INSTALLED = Rule(
    id="TG-IMG-011",
    title="SSH server installed",
    severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale=(
        "An SSH daemon (`openssh-server`/`dropbear` package, `/usr/sbin/sshd`, `/usr/sbin/dropbear`) in the "
        "image means either it runs (another privileged listener with its own keys) or it is dead weight."
    ),
    remediation="Do not install an SSH server; use `kubectl exec`/`docker exec`.",
    anchors=("CIS Docker 5.6",),
)
"""An SSH server package or binary is present."""

SETUID_SETGID = Rule(
    id="TG-IMG-012",
    title="setuid/setgid file",
    severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale=(
        "setuid/setgid executables run with their owner's (usually root's) privileges whatever user starts "
        "them: each is a privilege-escalation path for an attacker who gets code execution as the image's "
        "user. Every regular file with the bit is listed (setgid directories, which only pass on their group, "
        "are not). The distribution's usual ones (su, passwd, mount, umount, chfn, chsh, gpasswd, newgrp, "
        "chage, expiry, unix_chkpwd, ping, …) in system directories are LOW, as Dockle's CIS-DI-0008 "
        "reports them as information; anything else is MEDIUM."
    ),
    remediation=(
        "Strip the bits in the Dockerfile (`RUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +`) or "
        "use a distroless base; also run with `no-new-privileges`."
    ),
    anchors=("CIS Docker 4.8", "CIS-DI-0008"),
)
"""A regular file with the setuid or setgid bit."""

SUDO_INSTALLED = Rule(
    id="TG-IMG-013",
    title="sudo installed",
    severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale=(
        "sudo in a container is a ready-made privilege escalation for a non-root user and has no use at "
        "runtime: the image's USER decides who the process is. It also has a long CVE history."
    ),
    remediation=(
        "Do not install sudo; run privileged build steps before `USER`, or use `gosu`/`su-exec` at startup."
    ),
    anchors=("DKL-DI-0001", "DL3004"),
)
"""The ``sudo`` package or ``/usr/bin/sudo`` is present."""

PACKAGE_CACHE_LEFT = Rule(
    id="TG-IMG-014",
    title="Package manager cache left in the image",
    severity=Severity.LOW,
    category=MISCONFIG,
    rationale=(
        "Package indexes and downloaded packages (`/var/lib/apt/lists/*`, `/var/cache/apt/archives/*.deb`, "
        "`/var/cache/apt/*.bin`, `/var/cache/apk/*`, `/var/cache/yum|dnf`, pip's `~/.cache/pip`, npm's "
        "`~/.npm/_cacache`, yarn's cache) only make the image bigger and can date it; a stale apt list also "
        "feeds later `apt-get install` steps. One finding per cache, with its size."
    ),
    remediation=(
        "Clean in the same RUN that fills it: `rm -rf /var/lib/apt/lists/*`, `apk add --no-cache`, "
        "`pip install --no-cache-dir`, `npm ci && npm cache clean --force`, or use BuildKit cache mounts."
    ),
    anchors=("DKL-DI-0004", "DKL-DI-0005", "DL3009", "DL3019", "DL3042"),
)
"""Files in a package-manager cache directory."""

WORLD_WRITABLE = Rule(
    id="TG-IMG-015",
    title="World-writable path in a system directory",
    severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale=(
        "A file or directory under /etc, /usr, /bin, /sbin, /lib*, /boot or /var/lib that any user can write "
        "lets an unprivileged process change programs, libraries or configuration used by root. Symlinks "
        "(always 0777) and directories with the sticky bit are not reported, nor is anything under /tmp and "
        "/var/tmp."
    ),
    remediation="`chmod o-w` the path in the Dockerfile (or fix the COPY/ADD `--chmod`).",
    anchors=("CIS Linux 6.1.10",),
)
"""A non-symlink with the other-write bit under a system directory."""

FULL_OS_BASE = Rule(
    id="TG-IMG-016",
    title="Full OS base image (minimalism)",
    severity=Severity.LOW,
    category=MISCONFIG,
    rationale=(
        "The image contains a shell and a package manager: everything an attacker needs to fetch and run "
        "tools, plus many packages that bring vulnerabilities without being used. This is informational: "
        "the message gives a minimalism score (files, packages, size) to compare against a distroless or "
        "minimal base. Images without a shell or without a package manager are not reported."
    ),
    remediation=(
        "Use a multi-stage build and copy the application onto a distroless or minimal base "
        "(gcr.io/distroless/*, chainguard, `scratch` for static binaries)."
    ),
    anchors=("CIS Docker 4.3", "CIS-DI-0003"),
)
"""A shell and a package manager are both present."""

ALL_RULES: tuple[Rule, ...] = (
    RUNS_AS_ROOT, NO_HEALTHCHECK, BASE_NOT_PINNED, IMAGE_TAG_LATEST, ADD_REMOTE_URL, ADD_INSTEAD_OF_COPY,
    PACKAGE_UPGRADE, UPDATE_ALONE, SSH_PORT_EXPOSED, PRIVILEGED_PORT, SSH_SERVER_INSTALLED, SETUID_SETGID,
    SUDO_INSTALLED, PACKAGE_CACHE_LEFT, WORLD_WRITABLE, FULL_OS_BASE,
)
"""Every image rule, in id order."""
