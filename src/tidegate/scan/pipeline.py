"""``build_sbom``/``scan_image``: reference → pinned, verified image → one pass per layer → merged SBOM.

    from tidegate import build_sbom
    sbom = build_sbom("oci-archive:app.oci.tar", ScanOptions(platform="linux/arm64"))

The CLI, and later the webhook and the registry gate, all call this.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import os
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from tidegate import __version__
from tidegate.catalog.base import Cataloger
from tidegate.errors import ArchiveError, DigestMismatch, UnsafePath, UsageError
from tidegate.image.blob import LayerStream, Limits, VerifyingReader
from tidegate.image.manifest import Platform, ResolvedImage, resolve_image
from tidegate.image.reference import ImageRef, parse_image_ref
from tidegate.image.sources import ImageSource, SourceOptions, open_source
from tidegate.model.digest import Digest
from tidegate.model.distro import Distro
from tidegate.model.finding import CheckFinding
from tidegate.model.package import Package
from tidegate.model.sbom import ImageInfo, LayerInfo, Sbom
from tidegate.scan.apply import (
    ImageFilesystem,
    find_distro,
    unread_symlinked_claims,
    visible_packages,
    visible_unknowns,
)
from tidegate.scan.cache import LayerCache, layer_cache_key
from tidegate.scan.checks import file_scanners_for, run_image_checks
from tidegate.scan.dispatch import Dispatcher
from tidegate.scan.layer_pass import LayerRef, LayerResult, scan_layer
from tidegate.scan.progress import NullProgress

log = logging.getLogger(__name__)

OS_PURL_TYPES = ("deb", "apk", "rpm")


@dataclass(frozen=True, slots=True)
class ScanOptions:
    """What to scan and how."""

    platform: str | None = None
    """``os/arch[/variant]`` to pick from an index (default linux/amd64)."""
    source: SourceOptions = field(default_factory=SourceOptions)
    """Registry access options."""
    limits: Limits = field(default_factory=Limits)
    """Decompression and spool bounds."""
    catalogers: tuple[str, ...] | None = None
    """Cataloger IDs to run (None = all)."""
    workers: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))
    """Layers read concurrently."""
    scanners: frozenset[str] = frozenset()
    """Check categories to run besides cataloging: ``secret`` (every layer's files, config, history) and
    ``misconfig`` (image config, history, squashed files). Vulnerability matching runs after, on the SBOM."""
    disabled_rules: frozenset[str] = frozenset()
    """Rule ids whose findings are dropped (``--skip-rules``, configuration)."""
    secret_max_file_bytes: int | None = None
    """Files larger than this are not searched for secrets (None: the scanner's default)."""


@dataclass(frozen=True, slots=True)
class ScanResult:
    """A finished scan: the SBOM plus the layered filesystem it was derived from."""

    sbom: Sbom
    """The SBOM."""
    filesystem: ImageFilesystem
    """Squashed and per-layer views."""
    resolved: ResolvedImage
    """The pinned manifest and config."""
    findings: tuple[CheckFinding, ...] = ()
    """Secrets and misconfigurations, in `CheckFinding.sort_key` order (empty unless `ScanOptions.scanners`)."""


def select_catalogers(names: Sequence[str] | None) -> list[Cataloger]:
    """Instantiate the registered catalogers, or the named subset (unknown names are a usage error)."""
    from tidegate.catalog.registry import CATALOGERS

    if names is None:
        return [c() for c in CATALOGERS]
    known = {c.name: c for c in CATALOGERS}
    bad = [n for n in names if n not in known]
    if bad:
        raise UsageError(f"unknown cataloger {bad[0]!r} (choose from: {', '.join(known)})")
    return [known[n]() for n in names]


def _sort_key(p: Package) -> tuple[str, str, str, str]:
    return (p.type, p.name, p.version, p.locations[0].path if p.locations else "")


def _qualify(packages: list[Package], distro: Distro | None) -> list[Package]:
    if distro is None:
        return packages
    from tidegate.catalog.purls import qualify_os_purl

    return [dataclasses.replace(p, purl=qualify_os_purl(p.purl, distro)) if p.type in OS_PURL_TYPES else p
            for p in packages]


def _layer_stream(source: ImageSource, resolved: ResolvedImage, i: int, limits: Limits,
                  progress: NullProgress) -> LayerStream:
    desc = resolved.layers[i]
    diff_id = resolved.config.diff_ids[i]
    what = f"{source.describe()}: layer {i} ({desc.digest.short})"
    # Classic docker archives name layers by diff_id; a compressed file there has no blob digest to check,
    # and the diff_id check below still covers every byte.
    unverifiable = "dev.tidegate.docker-archive.file" in desc.annotations and not desc.media_type.endswith(".tar")
    raw = VerifyingReader(source.open_blob(desc), digest=None if unverifiable else desc.digest,
                          size=desc.size, what=what, on_read=lambda nbytes: progress.advance(i, nbytes))
    return LayerStream(raw, diff_id=diff_id, what=what, limits=limits)


def scan_image(reference: str | ImageRef, options: ScanOptions | None = None, *,
               progress: NullProgress | None = None, cache: LayerCache | None = None) -> ScanResult:
    """Resolve, verify and catalog one image."""
    options = options or ScanOptions()
    progress = progress or NullProgress()
    ref = reference if isinstance(reference, ImageRef) else parse_image_ref(reference)
    platform = Platform.parse(options.platform) if options.platform else None
    catalogers = select_catalogers(options.catalogers)
    dispatcher = Dispatcher(catalogers)
    file_scanners = file_scanners_for(options)
    with open_source(ref, options.source) as source, tempfile.TemporaryDirectory(prefix="tidegate-") as tmp:
        resolved = redact_config(resolve_image(source, platform, pinned=ref.digest))
        n = len(resolved.layers)
        saved_tempdir = tempfile.tempdir
        # NOTE: catalogers that need a real file (SQLite rpmdb) use tempfile's default dir; point it at ours
        # so nothing is written outside tidegate's own folder, and it is removed with it.
        tempfile.tempdir = tmp

        def one(i: int) -> LayerResult:
            desc = resolved.layers[i]
            diff_id = str(resolved.config.diff_ids[i])
            key = layer_cache_key(diff_id, catalogers, options.limits, file_scanners)
            hit = cache.get(key) if cache is not None else None
            progress.layer_started(i, n, desc.size, f"layer {i + 1}/{n} {desc.digest.short}")
            if hit is not None:
                progress.layer_done(i, True)
                return hit
            stream = _layer_stream(source, resolved, i, options.limits, progress)
            try:
                result = scan_layer(stream, layer=LayerRef(i, diff_id, resolved.config.created_by[i]),
                                    dispatcher=dispatcher, limits=options.limits,
                                    what=f"{source.describe()}: layer {i} ({desc.digest.short})", tmpdir=tmp,
                                    file_scanners=file_scanners)
                # Read to EOF: only now are the blob digest and the diff_id known to match.
                stream.finish()
            except (ArchiveError, UnsafePath) as e:
                # Corrupt or hostile content: if the stored bytes are not what the manifest names, that is
                # the root cause to report (a flipped byte shows up first as a gzip or tar error).
                _raise_if_tampered(stream, e)
                raise
            finally:
                stream.raw.close()
            if cache is not None:
                cache.put(key, result)
            progress.layer_done(i, False)
            return result

        try:
            # Layers are independent until the merge: read them concurrently (decompression and hashing release
            # the GIL; each layer has its own stream). The first error in layer order wins.
            workers = max(1, min(options.workers, n))
            if workers == 1:
                results = [one(i) for i in range(n)]
            else:
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tidegate-layer") as pool:
                    futures = [pool.submit(one, i) for i in range(n)]
                    try:
                        results = [f.result() for f in futures]
                    except BaseException:
                        for f in futures:
                            f.cancel()
                        raise
        finally:
            tempfile.tempdir = saved_tempdir
    fs = ImageFilesystem(results)
    distro = find_distro(fs)
    packages = sorted(_qualify(visible_packages(fs), distro), key=_sort_key)
    image = _image_info(ref, source, resolved)
    unknowns = visible_unknowns(fs) + unread_symlinked_claims(fs, catalogers)
    sbom = Sbom(image=image, distro=distro, packages=tuple(packages), unknowns=tuple(unknowns),
                tool_version=__version__,
                created=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"))
    findings = run_image_checks(options, sbom=sbom, filesystem=fs, config=resolved.config.raw) \
        if options.scanners else ()
    return ScanResult(sbom=sbom, filesystem=fs, resolved=resolved, findings=findings)


def redact_config(resolved: ResolvedImage) -> ResolvedImage:
    """`resolved` with secrets masked in the history steps and labels that reports show as they are.

    Build args and ``ENV`` steps leak credentials into ``created_by`` (``|1 TOKEN=… /bin/sh -c …``); every format
    prints layer steps and labels, so they are redacted once here, with the secret scanner's rules. The raw
    config (`ImageConfig.raw`) is kept for the checks, which report what they find masked.
    """
    cfg = resolved.config
    if not any(cfg.created_by) and not cfg.labels:
        return resolved
    from tidegate.checks.secrets.scanner import SecretScanner

    scanner = SecretScanner()
    created_by = tuple(None if c is None else scanner.redact(c, "history") for c in cfg.created_by)
    labels = tuple((k, scanner.redact(f"{k}={v}", "image config Labels").partition("=")[2]) for k, v in cfg.labels)
    if created_by == cfg.created_by and labels == cfg.labels:
        return resolved
    return dataclasses.replace(resolved, config=dataclasses.replace(cfg, created_by=created_by, labels=labels))


def _raise_if_tampered(stream: LayerStream, cause: Exception) -> None:
    """Read the rest of the stored blob; raise its `DigestMismatch` (from `cause`) if it has one."""
    try:
        stream.raw.drain()
    except DigestMismatch as e:
        raise e from cause
    except Exception:  # noqa: BLE001 - the original error stands
        return


def _digest_str(d: Digest | None) -> str | None:
    return str(d) if d is not None else None


def _image_info(ref: ImageRef, source: ImageSource, resolved: ResolvedImage) -> ImageInfo:
    cfg = resolved.config
    root = resolved.root
    name = ref.name or root.name
    tag = ref.tag if ref.transport == "registry" else (root.tag or ref.tag)
    repo_tags = root.repo_tags
    if name is None and repo_tags:
        name, _, t = repo_tags[0].rpartition(":")
        tag = tag or t
    layers = tuple(
        LayerInfo(index=i, diff_id=str(cfg.diff_ids[i]),
                  layer_digest=None if "dev.tidegate.docker-archive.file" in d.annotations else str(d.digest),
                  media_type=d.media_type, size=d.size, created_by=cfg.created_by[i])
        for i, d in enumerate(resolved.layers))
    return ImageInfo(
        reference=ref.raw, transport=ref.transport, name=name, tag=tag,
        manifest_digest=_digest_str(resolved.manifest_digest), index_digest=_digest_str(resolved.index_digest),
        config_digest=str(cfg.digest), manifest_media_type=resolved.manifest_media_type, os=cfg.os,
        architecture=cfg.architecture, variant=cfg.variant, layers=layers, repo_tags=repo_tags,
        user=cfg.user, labels=cfg.labels,
    )


def build_sbom(reference: str | ImageRef, options: ScanOptions | None = None, *,
               progress: NullProgress | None = None, cache: LayerCache | None = None) -> Sbom:
    """The SBOM of one image (see `scan_image` for the filesystem views too)."""
    return scan_image(reference, options, progress=progress, cache=cache).sbom
