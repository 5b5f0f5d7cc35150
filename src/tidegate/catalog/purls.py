"""Package URL helpers shared by the catalogers, built on packageurl-python.

make_purl("deb", "bash", "5.2.15-2+b13", namespace="debian", qualifiers={"arch": "amd64"})
qualify_os_purl("pkg:deb/debian/bash@5.2.15-2%2Bb13?arch=amd64", Distro(id="debian", version_id="12"))
# -> "pkg:deb/debian/bash@5.2.15-2%2Bb13?arch=amd64&distro=debian-12"
"""

from __future__ import annotations

from collections.abc import Mapping

from packageurl import PackageURL

from tidegate.model.distro import Distro

OS_PURL_TYPES = frozenset({"deb", "apk", "rpm"})
"""purl types whose namespace is the distribution and that `qualify_os_purl` rewrites."""


def make_purl(
    purl_type: str,
    name: str,
    version: str | None = None,
    *,
    namespace: str | None = None,
    qualifiers: Mapping[str, str] | None = None,
) -> str:
    """The canonical purl string; empty qualifier values are dropped and an empty version is omitted."""
    quals = {k: v for k, v in (qualifiers or {}).items() if v}
    return PackageURL(
        type=purl_type,
        namespace=namespace or None,
        name=name,
        version=version or None,
        qualifiers=quals or None,
    ).to_string()


def golang_purl(module_path: str, version: str | None) -> str:
    """``pkg:golang/<namespace>/<name>@<version>``: the last path segment is the name (purl spec, golang)."""
    namespace, _, name = module_path.rstrip("/").rpartition("/")
    return make_purl("golang", name, version, namespace=namespace or None)


def qualify_os_purl(purl: str, distro: Distro) -> str:
    """Rewrite an OS package purl once the distribution is known.

    The namespace becomes ``distro.id`` and a ``distro=<id>-<version_id>`` qualifier is added (``distro=<id>``
    when the release has no VERSION_ID), following syft's convention. Non-OS purls (pypi, npm, …), purls that
    do not parse, and a distro without an ID are returned unchanged: this runs after cataloging and must not
    fail on what a cataloger produced.
    """
    if not distro.id:
        return purl
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return purl
    if parsed.type not in OS_PURL_TYPES:
        return purl
    qualifiers = dict(parsed.qualifiers) if isinstance(parsed.qualifiers, dict) else {}
    qualifiers["distro"] = f"{distro.id}-{distro.version_id}" if distro.version_id else distro.id
    return PackageURL(
        type=parsed.type,
        namespace=distro.id,
        name=parsed.name,
        version=parsed.version,
        qualifiers=qualifiers,
        subpath=parsed.subpath,
    ).to_string()
