"""Checks of the image config: user, HEALTHCHECK, exposed ports, base-image and tag pinning.

    findings = list(ImageConfigCheck().evaluate(image_target))   # TG-IMG-001 … 004, 009, 010

Only what the verified config records is used. Two things cannot be known from it and are documented on
the rules: whether a USER given by name is uid 0 in /etc/passwd, and the FROM line of the build (only the
``org.opencontainers.image.base.name`` label, when a builder wrote it, says which base was used).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from tidegate.checks.base import ImageTarget, Rule
from tidegate.checks.image.common import ImageCheck
from tidegate.checks.image.rules import (
    BASE_NOT_PINNED,
    IMAGE_TAG_LATEST,
    NO_HEALTHCHECK,
    PRIVILEGED_PORT,
    RUNS_AS_ROOT,
    SSH_PORT_EXPOSED,
)
from tidegate.model.finding import CheckFinding, Severity

CONFIG_TARGET = "image config"
"""`CheckFinding.target` of config findings."""

BASE_NAME_LABEL = "org.opencontainers.image.base.name"
"""OCI annotation/label: the base image reference used by the build."""
BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest"
"""OCI annotation/label: the base image's manifest digest at build time."""


def is_root_user(user: str) -> bool:
    """True when a config ``User`` (``name``, ``uid``, ``user:group``) runs as uid 0: empty, ``root`` or ``0``.

    Only the user part counts (``1000:0`` runs as uid 1000 with gid 0). A name other than ``root`` is taken
    as non-root: its uid is in /etc/passwd, which is not read here.
    """
    name = user.strip().split(":", 1)[0].strip()
    return name in ("", "root") or (name.isdigit() and int(name) == 0)


def has_healthcheck(config: Mapping[str, Any]) -> bool:
    """True when ``Healthcheck.Test`` is set to something other than ``["NONE"]``."""
    hc = config.get("Healthcheck")
    if not isinstance(hc, Mapping):
        return False
    test = hc.get("Test")
    if not isinstance(test, list | tuple) or not test:
        return False
    return str(test[0]).upper() != "NONE"


def exposed_ports(config: Mapping[str, Any]) -> list[tuple[int, str, str]]:
    """``ExposedPorts`` as sorted ``(port, protocol, key)``; a key without protocol is TCP, junk is skipped."""
    ports = config.get("ExposedPorts")
    if not isinstance(ports, Mapping):
        return []
    out = []
    for key in ports:
        number, _, proto = str(key).partition("/")
        if number.strip().isdigit():
            out.append((int(number), (proto or "tcp").strip().lower(), str(key)))
    return sorted(out)


def image_labels(target: ImageTarget) -> dict[str, str]:
    """``config.Labels`` (falling back to `ImageInfo.labels` for keys the config does not have)."""
    labels = {k: v for k, v in target.image.labels}
    raw = target.config.get("Labels")
    if isinstance(raw, Mapping):
        labels.update({str(k): str(v) for k, v in raw.items()})
    return labels


def split_reference(ref: str) -> tuple[str, str, str]:
    """``registry/repo:tag@sha256:…`` → ``(name, tag, digest)``; missing parts are ``""``."""
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = ""
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    return name, tag, digest


class ImageConfigCheck(ImageCheck):
    """User, HEALTHCHECK, exposed ports, base-image label and scanned tag of an image's config."""

    id: ClassVar[str] = "image-config"
    """Stable check id."""
    version: ClassVar[int] = 1
    """Bump when findings for the same config change."""
    rules: ClassVar[tuple[Rule, ...]] = (RUNS_AS_ROOT, NO_HEALTHCHECK, BASE_NOT_PINNED, IMAGE_TAG_LATEST,
                                         SSH_PORT_EXPOSED, PRIVILEGED_PORT)
    """Rules reported."""

    def evaluate_image(self, target: ImageTarget) -> Iterable[CheckFinding]:
        """Findings for the config of `target`."""
        yield from self._user(target)
        if not has_healthcheck(target.config):
            hc = target.config.get("Healthcheck")
            why = "Healthcheck is NONE" if isinstance(hc, Mapping) and hc.get("Test") else "no HEALTHCHECK"
            yield NO_HEALTHCHECK.finding(f"{why}: the engine cannot tell whether the service is healthy",
                                         target=CONFIG_TARGET)
        yield from self._ports(target)
        yield from self._base(target)
        yield from self._tag(target)

    def _user(self, target: ImageTarget) -> Iterable[CheckFinding]:
        raw = target.config.get("User")
        user = str(raw) if raw is not None else target.image.user
        if not is_root_user(user):
            return
        if not user.strip():
            yield RUNS_AS_ROOT.finding("no USER in the image config: the container runs as root (uid 0)",
                                       target=CONFIG_TARGET, evidence='User=""')
        else:
            yield RUNS_AS_ROOT.finding(f"USER {user.strip()} runs as root (uid 0)", target=CONFIG_TARGET,
                                       evidence=f"User={user.strip()}")

    def _ports(self, target: ImageTarget) -> Iterable[CheckFinding]:
        for port, proto, key in exposed_ports(target.config):
            if port == 22 and proto == "tcp":
                yield SSH_PORT_EXPOSED.finding(f"port {key} (SSH) is exposed", target=CONFIG_TARGET,
                                               evidence=f"ExposedPorts {key}")
            elif 0 < port < 1024:
                yield PRIVILEGED_PORT.finding(f"privileged port {key} is exposed: binding it needs root or "
                                              "CAP_NET_BIND_SERVICE", target=CONFIG_TARGET,
                                              evidence=f"ExposedPorts {key}")

    def _base(self, target: ImageTarget) -> Iterable[CheckFinding]:
        labels = image_labels(target)
        base = labels.get(BASE_NAME_LABEL, "").strip()
        if not base:
            return  # the FROM line is not recorded anywhere else: nothing can be concluded
        _, tag, digest = split_reference(base)
        if digest:
            return
        recorded = labels.get(BASE_DIGEST_LABEL, "").strip()
        evidence = f"{BASE_NAME_LABEL}={base}" + (f", {BASE_DIGEST_LABEL}={recorded}" if recorded else "")
        if tag in ("", "latest"):
            what = "the :latest tag" if tag else "no tag (implies :latest)"
            yield BASE_NOT_PINNED.finding(f"base image {base} uses {what} and no digest", target=CONFIG_TARGET,
                                          evidence=evidence)
        else:
            yield BASE_NOT_PINNED.finding(f"base image {base} is pinned by tag only, not by digest",
                                          target=CONFIG_TARGET, evidence=evidence, severity=Severity.LOW)

    def _tag(self, target: ImageTarget) -> Iterable[CheckFinding]:
        image = target.image
        if image.tag == "latest" and "@" not in image.reference:
            yield IMAGE_TAG_LATEST.finding(f"{image.reference} was referenced by the :latest tag, not by digest",
                                           target=CONFIG_TARGET, evidence=image.reference)
