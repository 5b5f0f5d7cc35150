"""Where something was found: a path inside the image plus the layer that put it there.

    Location(path="/var/lib/dpkg/status", layer_index=1, diff_id="sha256:…", created_by="RUN apt-get …")
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """A file inside an image, tied to the layer whose tar carried it."""

    path: str
    """Absolute, normalised path inside the image root (``/usr/lib/os-release``)."""
    layer_index: int
    """0-based index of the layer in the manifest (bottom layer is 0)."""
    diff_id: str
    """Uncompressed digest of that layer (from the verified config's ``rootfs.diff_ids``)."""
    created_by: str | None = None
    """The history step (``created_by``) that produced the layer, when the config records it."""
    visible: bool = True
    """False when a later layer deleted or replaced the file: it is in the image but not in the squashed view."""
