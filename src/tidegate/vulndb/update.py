"""``tidegate db update``: download the public feeds, then import them (atomically, incrementally)::

    options = UpdateOptions(ecosystems=("PyPI", "Go"), alpine_releases=("v3.20",), debian_tracker=False)
    summary = update(default_db_dir(), options)

Every download streams into a private temp directory inside the database directory, bounded in size and
time, and is imported only when *every* download succeeded: an unreachable host or an HTTP error raises
`FetchError` (one line naming the URL) and leaves the database exactly as it was. Base URLs can be pointed
at a mirror (`UpdateOptions` fields; the CLI also reads ``TIDEGATE_OSV_URL``, ``TIDEGATE_ALPINE_URL`` and
``TIDEGATE_DEBIAN_URL``).
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from tidegate.errors import TidegateError
from tidegate.vulndb.store import ImportProgress, ImportSummary, import_paths

log = logging.getLogger(__name__)

OSV_URL = "https://osv-vulnerabilities.storage.googleapis.com"
"""Public OSV bucket: ``<base>/<Ecosystem>/all.zip``."""

ALPINE_URL = "https://secdb.alpinelinux.org"
"""Alpine secdb: ``<base>/<vX.Y>/{main,community}.json``."""

DEBIAN_URL = "https://security-tracker.debian.org/tracker/data/json"
"""The Debian security tracker's JSON export (the full URL)."""

DEFAULT_ECOSYSTEMS = ("PyPI", "npm", "Go", "Maven", "RubyGems", "crates.io", "Debian", "Alpine")
"""OSV ecosystems fetched by default."""

DEFAULT_ALPINE_RELEASES = ("v3.18", "v3.19", "v3.20")
"""Alpine secdb releases fetched by default."""

ALPINE_REPOS = ("main", "community")
"""Alpine repositories fetched per release."""

MAX_DOWNLOAD_BYTES = 4 * 1024**3
"""Largest single download (OSV npm/Debian zips are a few hundred MiB)."""


class FetchError(TidegateError):
    """A feed that could not be downloaded (unreachable host, HTTP error, timeout, too large)."""


@dataclass(frozen=True, slots=True)
class UpdateOptions:
    """What ``db update`` fetches, and from where."""

    ecosystems: tuple[str, ...] = DEFAULT_ECOSYSTEMS
    """OSV ecosystems (bucket directory names)."""
    alpine_releases: tuple[str, ...] = DEFAULT_ALPINE_RELEASES
    """Alpine secdb releases (``v3.20``)."""
    debian_tracker: bool = True
    """Fetch the Debian security tracker export."""
    osv_url: str = OSV_URL
    """Base URL of the OSV bucket."""
    alpine_url: str = ALPINE_URL
    """Base URL of the Alpine secdb."""
    debian_url: str = DEBIAN_URL
    """Full URL of the Debian tracker export."""
    timeout: float = 60.0
    """Connect/read timeout in seconds."""
    max_bytes: int = MAX_DOWNLOAD_BYTES
    """Largest single download."""


@dataclass(frozen=True, slots=True)
class Download:
    """One feed to fetch."""

    url: str
    """Where from."""
    relpath: str
    """Where to, inside the download directory (mirrors the feed's own layout so detection works)."""


def plan(options: UpdateOptions) -> tuple[Download, ...]:
    """The downloads `options` ask for, in import order."""
    out = [Download(f"{options.osv_url.rstrip('/')}/{quote(eco)}/all.zip", f"osv/{eco}/all.zip")
           for eco in options.ecosystems]
    out += [Download(f"{options.alpine_url.rstrip('/')}/{quote(rel)}/{repo}.json", f"alpine/{rel}/{repo}.json")
            for rel in options.alpine_releases for repo in ALPINE_REPOS]
    if options.debian_tracker:
        out.append(Download(options.debian_url, "debian/tracker.json"))
    return tuple(out)


def update(db_dir: Path, options: UpdateOptions | None = None, *,
           progress: ImportProgress | None = None) -> ImportSummary:
    """Download every feed of `options` into ``db_dir`` (temp), then import them all at once."""
    options = options or UpdateOptions()
    downloads = plan(options)
    if not downloads:
        raise FetchError("nothing to update: no ecosystem, Alpine release or Debian tracker selected")
    db_dir = Path(db_dir)
    db_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".download-", dir=db_dir))
    try:
        paths = []
        for d in downloads:
            dest = work / d.relpath
            dest.parent.mkdir(parents=True, exist_ok=True)
            fetch(d.url, dest, timeout=options.timeout, max_bytes=options.max_bytes)
            paths.append(dest)
        summary = import_paths(db_dir, paths, progress=progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    # Report the URLs, not the temp paths that no longer exist.
    import dataclasses

    named = tuple(dataclasses.replace(p, path=d.url, error=p.error.replace(str(work / d.relpath), d.url))
                  for p, d in zip(summary.paths, downloads, strict=True))
    return dataclasses.replace(summary, paths=named)


def fetch(url: str, dest: Path, *, timeout: float = 60.0, max_bytes: int = MAX_DOWNLOAD_BYTES) -> int:
    """Stream `url` into `dest` (at most `max_bytes`); returns the byte count or raises `FetchError`."""
    import httpx

    host = urlsplit(url).hostname or ""
    if urlsplit(url).scheme not in ("http", "https") or not host:
        raise FetchError(f"{url}: not an http(s) URL")
    loopback = host in ("127.0.0.1", "::1", "localhost")
    written = 0
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, trust_env=not loopback) as client, \
                client.stream("GET", url, headers={"Accept-Encoding": "identity"}) as resp:
            if resp.status_code != 200:
                raise FetchError(f"{url}: HTTP {resp.status_code} {resp.reason_phrase}".rstrip())
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise FetchError(f"{url}: {int(declared):,} bytes, more than the limit of {max_bytes:,}")
            with open(dest, "wb") as f:
                for chunk in resp.iter_bytes():
                    written += len(chunk)
                    if written > max_bytes:
                        raise FetchError(f"{url}: more than the limit of {max_bytes:,} bytes")
                    f.write(chunk)
    except httpx.TimeoutException as e:
        raise FetchError(f"{url}: timed out after {timeout:g} s") from e
    except httpx.ConnectError as e:
        raise FetchError(f"{url}: cannot connect to {host} ({_reason(e)})",
                         hint="check the network, or point --osv-url/--alpine-url/--debian-url at a mirror") from e
    except httpx.HTTPError as e:
        raise FetchError(f"{url}: download failed ({_reason(e)})") from e
    except OSError as e:
        with contextlib.suppress(OSError):
            dest.unlink()
        raise FetchError(f"{url}: cannot write {dest} ({e.strerror or e})") from e
    log.info("fetched %s (%d bytes)", url, written)
    return written


def _reason(e: Exception) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:160]


def resolve_urls(osv: str | None, alpine: str | None, debian: str | None,
                 env: Sequence[tuple[str, str | None]] = ()) -> tuple[str, str, str]:
    """Base URLs: a flag wins, then the environment, then the public default."""
    envd = dict(env)
    return (osv or envd.get("TIDEGATE_OSV_URL") or OSV_URL,
            alpine or envd.get("TIDEGATE_ALPINE_URL") or ALPINE_URL,
            debian or envd.get("TIDEGATE_DEBIAN_URL") or DEBIAN_URL)
