"""The secret scanner as a file scanner of the single layer pass (``tidegate.scan.layer_pass.FileScanner``).

    scanner = SecretFileScanner()
    scanner.wants("/app/.env", 120, head)                        # cheap: size, path, binary sniff
    scanner.scan(location, stream, size)                         # → CheckFindings, secrets masked

Every layer's files are scanned, including files a later layer deletes or replaces: they are still in the
image. The cache identity covers every rule (pattern, keywords, allow-lists) and the size limit, so editing a
rule re-scans every layer.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import BinaryIO

from tidegate.checks.secrets.config import findings_from_matches
from tidegate.checks.secrets.scanner import DEFAULT_MAX_FILE_BYTES, HEAD_BYTES, SecretScanner
from tidegate.model.finding import CheckFinding
from tidegate.model.location import Location


class SecretFileScanner:
    """Adapter from `SecretScanner` to the layer pass's `FileScanner` protocol."""

    name = "secret"
    """Stable id (part of the layer cache key)."""
    version = 1
    """Bump when findings for the same bytes change for reasons the rule hash does not cover."""
    head_bytes = HEAD_BYTES
    """Leading bytes the binary sniff needs."""

    def __init__(self, *, max_file_bytes: int | None = None) -> None:
        self.scanner = SecretScanner(max_file_bytes=max_file_bytes or DEFAULT_MAX_FILE_BYTES)
        """The scanner (rules compiled once per scan)."""

    def cache_ident(self) -> str:
        """Hash of every rule's full definition plus the size limit."""
        rules = [dataclasses.asdict(r) for r in self.scanner.rules]
        blob = json.dumps([rules, self.scanner.max_file_bytes], sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()

    def wants(self, path: str, size: int, head: bytes) -> bool:
        """Whether the file is worth reading (see `SecretScanner.wants`)."""
        return self.scanner.wants(path, size, head)

    def scan(self, location: Location, data: BinaryIO, size: int) -> list[CheckFinding]:
        """Findings in one file, each with its layer `location` and the line in the message."""
        return findings_from_matches(self.scanner.scan_stream(location.path, data, size), location)
