"""Image references: skopeo-style transports and the docker reference grammar.

    >>> parse_image_ref("python:3.12-slim").registry
    'docker.io'
    >>> parse_image_ref("oci-archive:image.tar:1").transport
    'oci-archive'

Grammar: distribution/reference's ``reference.go`` (name [":" tag] ["@" digest], Docker Hub default and the
``library/`` prefix for one-component names).
"""

from __future__ import annotations

import os
import re
import tarfile
from dataclasses import dataclass

from tidegate.errors import InvalidReference, ManifestError
from tidegate.model.digest import Digest, parse_digest

DOCKER_HUB = "docker.io"
"""Canonical name of Docker Hub."""
DOCKER_HUB_API = "registry-1.docker.io"
"""Host that serves Docker Hub's distribution API."""

_ALNUM = r"[a-z0-9]+"
_SEP = r"(?:[._]|__|[-]+)"
_COMPONENT = rf"{_ALNUM}(?:{_SEP}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_REF_RE = re.compile(
    rf"^(?P<name>(?:(?P<domain>{_DOMAIN})/)?{_COMPONENT}(?:/{_COMPONENT})*)"
    rf"(?::(?P<tag>{_TAG}))?(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{{32,}}))?$"
)

TRANSPORTS = ("docker", "oci", "oci-archive", "docker-archive")
"""Transports users can name with a ``transport:`` prefix (``docker://`` for registries)."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    """A parsed image reference: where to get the image and which one."""

    transport: str
    """``registry``, ``oci``, ``oci-archive`` or ``docker-archive``."""
    raw: str
    """The string the user gave."""
    path: str | None = None
    """Filesystem path for local transports."""
    registry: str | None = None
    """Registry host[:port] for the registry transport (``docker.io`` for Docker Hub)."""
    repository: str | None = None
    """Repository path inside the registry (``library/python``)."""
    tag: str | None = None
    """Tag, or for local layouts the ``org.opencontainers.image.ref.name`` / RepoTag to pick."""
    digest: Digest | None = None
    """Digest the user pinned (``@sha256:…``)."""
    source_index: int | None = None
    """For docker-archive ``PATH:@N``: the N-th image in manifest.json."""

    @property
    def name(self) -> str | None:
        """``registry/repository`` for registry references."""
        if self.registry and self.repository:
            return f"{self.registry}/{self.repository}"
        return None

    def __str__(self) -> str:
        return self.raw


def parse_docker_reference(value: str, *, raw: str | None = None) -> ImageRef:
    """Parse ``[REGISTRY/]REPO[:TAG][@DIGEST]`` per the docker reference grammar."""
    m = _REF_RE.match(value)
    if not m:
        name_part = value.split("@", 1)[0]
        repo_part = name_part.rsplit(":", 1)[0] if "/" not in name_part.rsplit(":", 1)[-1] else name_part
        path_part = repo_part.split("/", 1)[1] if "/" in repo_part and (
            "." in repo_part.split("/", 1)[0] or ":" in repo_part.split("/", 1)[0]) else repo_part
        if "@" in value and not re.fullmatch(r"[a-z0-9]+:[0-9a-f]{32,}", value.split("@", 1)[1]):
            reason = "the digest after '@' must be ALGORITHM:HEX (e.g. sha256: and 64 hex digits)"
        elif any(c.isupper() for c in path_part):
            reason = "repository names must be lower-case"
        else:
            reason = "does not match the reference grammar"
        raise InvalidReference(f"invalid image reference {value!r}: {reason}",
                               hint="expected [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST] or TRANSPORT:PATH")
    name = m.group("name")
    domain = m.group("domain")
    if domain is None or ("." not in domain and ":" not in domain and domain != "localhost"
                          and not domain.startswith("[")):
        domain, remainder = DOCKER_HUB, name
    else:
        remainder = name[len(domain) + 1:]
    if domain in ("index.docker.io", "registry-1.docker.io"):
        domain = DOCKER_HUB
    if domain == DOCKER_HUB and "/" not in remainder:
        remainder = f"library/{remainder}"
    if len(name) > 255:
        raise InvalidReference(f"invalid image reference {value!r}: repository name longer than 255 characters")
    digest = None
    if m.group("digest"):
        try:
            digest = parse_digest(m.group("digest"), where=f"reference {value!r}")
        except ManifestError as e:
            raise InvalidReference(str(e)) from e
    tag = m.group("tag")
    if tag is None and digest is None:
        tag = "latest"
    return ImageRef("registry", raw or value, registry=domain, repository=remainder, tag=tag, digest=digest)


def _split_path(rest: str, transport: str, raw: str) -> tuple[str, str | None]:
    """Split ``PATH[:REF]``: the whole string when it names an existing path, else at the last colon."""
    if not rest:
        raise InvalidReference(f"{raw!r}: {transport} needs a path")
    if os.path.exists(rest) or ":" not in rest:
        return rest, None
    path, _, ref = rest.rpartition(":")
    return path, ref or None


def _sniff_path(path: str) -> str:
    """Guess the transport of a bare local path (directory layout or tar archive)."""
    if os.path.isdir(path):
        if os.path.exists(os.path.join(path, "index.json")):
            return "oci"
        raise InvalidReference(f"{path}: directory is not an OCI image layout (no index.json)")
    try:
        with tarfile.open(path, mode="r:") as tf:
            names = set()
            for i, member in enumerate(tf):
                names.add(member.name.lstrip("./"))
                if i > 64 or {"index.json", "manifest.json"} & names:
                    break
    except (tarfile.TarError, OSError) as e:
        raise InvalidReference(f"{path}: not a tar archive or OCI layout ({e})") from e
    if "manifest.json" in names:
        return "docker-archive"
    if "index.json" in names or "oci-layout" in names:
        return "oci-archive"
    return "docker-archive"


def parse_image_ref(value: str) -> ImageRef:
    """Parse what a user typed: ``TRANSPORT:…``, ``docker://REF``, a registry reference or a local path."""
    if not value or value.strip() != value:
        raise InvalidReference(f"invalid image reference {value!r}")
    if value.startswith("docker://"):
        return parse_docker_reference(value[len("docker://"):], raw=value)
    transport, sep, rest = value.partition(":")
    if sep and transport in ("oci", "oci-archive"):
        path, ref = _split_path(rest, transport, value)
        if ref and ref.startswith("@"):
            try:
                return ImageRef(transport, value, path=path, digest=parse_digest(ref[1:], where=value))
            except ManifestError as e:
                raise InvalidReference(str(e)) from e
        return ImageRef(transport, value, path=path, tag=ref)
    if sep and transport == "docker-archive":
        path, ref = _split_path(rest, transport, value)
        if ref and ref.startswith("@"):
            if not ref[1:].isdigit():
                raise InvalidReference(f"{value!r}: docker-archive source index must be @N")
            return ImageRef(transport, value, path=path, source_index=int(ref[1:]))
        if ref:
            # PATH:REPO:TAG — rejoin, since _split_path split at the last colon.
            path2, _, ref2 = rest.partition(":")
            if os.path.exists(path2):
                path, ref = path2, ref2
        return ImageRef(transport, value, path=path, tag=ref)
    if sep and transport in ("containers-storage", "docker-daemon", "dir", "ostree", "sif", "tarball"):
        raise InvalidReference(f"{value!r}: transport {transport!r} is not supported",
                               hint=f"supported transports: {', '.join(TRANSPORTS)}")
    if os.path.exists(value) and (os.path.isfile(value) or os.path.isdir(value)) and (
            "/" in value or value.endswith((".tar", ".tgz")) or os.path.isdir(value)):
        kind = _sniff_path(value)
        return ImageRef(kind, value, path=value)
    return parse_docker_reference(value)
