"""One module per transport behind the `ImageSource` interface; `open_source` picks one for a reference.

    with open_source(parse_image_ref("oci-archive:app.tar"), SourceOptions()) as src:
        root = src.fetch_root()
"""

from __future__ import annotations

from tidegate.image.reference import ImageRef
from tidegate.image.sources.base import ImageSource, SourceOptions


def open_source(ref: ImageRef, options: SourceOptions) -> ImageSource:
    """The source for `ref`'s transport (imports lazily so a CLI run loads only what it uses)."""
    if ref.transport == "oci":
        from tidegate.image.sources.oci_layout import OciLayoutSource

        return OciLayoutSource.from_dir(ref)
    if ref.transport == "oci-archive":
        from tidegate.image.sources.oci_layout import OciLayoutSource

        return OciLayoutSource.from_archive(ref)
    if ref.transport == "docker-archive":
        from tidegate.image.sources.docker_archive import DockerArchiveSource

        return DockerArchiveSource(ref)
    from tidegate.image.sources.registry import RegistrySource

    return RegistrySource(ref, options)


__all__ = ["ImageSource", "SourceOptions", "open_source"]
