"""Flags shared by every command that reads an image, and their conversion to library options."""

from __future__ import annotations

import argparse
import os

from tidegate.errors import UsageError
from tidegate.image.blob import Limits
from tidegate.image.manifest import Platform
from tidegate.image.sources.base import SourceOptions
from tidegate.scan.cache import LayerCache
from tidegate.scan.pipeline import ScanOptions


def size_arg(value: str) -> int:
    """argparse type for sizes: ``512M``, ``4G``, ``1024`` (bytes)."""
    return _size(value)


def _size(value: str) -> int:
    units = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
    v = value.strip().lower().removesuffix("b").removesuffix("i")
    try:
        if v and v[-1] in units:
            return int(float(v[:-1]) * units[v[-1]])
        return int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {value!r} (e.g. 512M, 4G)") from None


def add_image_options(p: argparse.ArgumentParser) -> None:
    """``--platform``, registry access and limits."""
    p.add_argument("--platform", metavar="OS/ARCH[/VARIANT]",
                   help="platform to pick from a multi-platform image (default linux/amd64)")
    g = p.add_argument_group("registry access")
    g.add_argument("--insecure-registry", action="append", default=[], metavar="HOST[:PORT]",
                   help="reach this registry over plain HTTP (loopback registries always may be); repeatable")
    g.add_argument("--username", default=os.environ.get("TIDEGATE_USERNAME"),
                   help="registry username (env TIDEGATE_USERNAME; default: docker config.json)")
    g.add_argument("--password", default=None,
                   help="registry password or token (prefer env TIDEGATE_REGISTRY_PASSWORD)")
    g.add_argument("--docker-config", metavar="FILE", help="docker config.json for credentials")
    g.add_argument("--ca-file", metavar="FILE", help="CA bundle for registries with a private CA")
    g.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS", help="network timeout (default 60)")
    p.add_argument("--parallel", type=int, default=None, metavar="N",
                   help="layers read concurrently (default: CPU count, at most 4)")
    c = p.add_argument_group("cache")
    c.add_argument("--cache-dir", metavar="DIR",
                   help="per-layer result cache (default $TIDEGATE_CACHE_DIR or ~/.cache/tidegate)")
    c.add_argument("--no-cache", action="store_true", help="neither read nor write the layer cache")
    lim = p.add_argument_group("limits")
    lim.add_argument("--max-layer-size", type=_size, default=Limits().max_layer_bytes, metavar="SIZE",
                     help="largest uncompressed layer (default 32G)")
    lim.add_argument("--max-layer-entries", type=int, default=Limits().max_layer_entries, metavar="N",
                     help="most files in one layer (default 2,000,000)")
    lim.add_argument("--max-ratio", type=int, default=Limits().max_ratio, metavar="N",
                     help="largest decompression ratio once a layer is past 256 MiB (default 200)")


def layer_cache(args: argparse.Namespace) -> LayerCache | None:
    """The cache the flags ask for (None with --no-cache)."""
    from pathlib import Path

    from tidegate.store.blobcache import DirectoryCache

    if args.no_cache:
        return None
    if args.cache_dir:
        return DirectoryCache(Path(args.cache_dir) / "layers")
    return DirectoryCache.default()


def scan_options(args: argparse.Namespace) -> ScanOptions:
    """Library options from parsed flags (validates the platform early)."""
    if args.platform:
        Platform.parse(args.platform)
    password = args.password
    if password is None and args.username:
        # NOTE: TIDEGATE_PASSWORD is also the signing-key password (cosign's COSIGN_PASSWORD convention), so it
        # is a registry password only together with a username; TIDEGATE_REGISTRY_PASSWORD is unambiguous.
        password = os.environ.get("TIDEGATE_REGISTRY_PASSWORD") or os.environ.get("TIDEGATE_PASSWORD")
    if password and not args.username:
        raise UsageError("--password needs --username")
    if args.max_ratio < 2:
        raise UsageError("--max-ratio must be at least 2")
    if args.max_layer_size < 1:
        raise UsageError("--max-layer-size must be positive")
    if args.max_layer_entries < 1:
        raise UsageError("--max-layer-entries must be at least 1")
    if not args.timeout > 0:
        raise UsageError("--timeout must be a positive number of seconds")
    for host in args.insecure_registry:
        if "://" in host or "/" in host or not host:
            raise UsageError(f"--insecure-registry {host!r}: give HOST[:PORT], without a scheme or path")
    source = SourceOptions(insecure_registries=tuple(args.insecure_registry), docker_config=args.docker_config,
                           username=args.username, password=password, timeout=args.timeout, ca_file=args.ca_file)
    limits = Limits(max_layer_bytes=args.max_layer_size, max_ratio=args.max_ratio,
                    max_layer_entries=args.max_layer_entries)
    catalogers = tuple(c.strip() for c in args.catalogers.split(",") if c.strip()) if getattr(
        args, "catalogers", None) else None
    if args.parallel is not None and args.parallel < 1:
        raise UsageError("--parallel must be at least 1")
    extra = {"workers": args.parallel} if args.parallel else {}
    return ScanOptions(platform=args.platform, source=source, limits=limits, catalogers=catalogers, **extra)


CONFIG_FILE = "tidegate.yaml"
"""Read from the working directory when present and no ``--config`` is given (like ``trivy.yaml``)."""


def add_rule_options(p: argparse._ActionsContainer) -> None:
    """``--skip-rules`` and ``--config`` (rule ids disabled for secrets and misconfigurations)."""
    p.add_argument("--skip-rules", action="append", default=[], metavar="ID,…",
                   help="rule ids not to report (see `tidegate rules`); repeatable")
    p.add_argument("--config", metavar="FILE",
                   help=f"configuration file whose `rules: {{disable: [ID, …]}}` are not reported "
                        f"(default ./{CONFIG_FILE} when present)")


def disabled_rules(args: argparse.Namespace) -> frozenset[str]:
    """Rule ids from ``--skip-rules`` and the configuration file; unknown ids are a usage error."""
    from pathlib import Path

    import yaml  # type: ignore[import-untyped]

    from tidegate.checks.registry import RULES

    ids = {i.strip().upper() for v in args.skip_rules for i in v.split(",") if i.strip()}
    path = args.config or (CONFIG_FILE if os.path.isfile(CONFIG_FILE) else None)
    if path:
        try:
            doc = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as e:
            raise UsageError(f"{path}: cannot read configuration: {e.strerror or e}") from e
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else path
            raise UsageError(f"{where}: not valid YAML ({getattr(e, 'problem', None) or e})") from e
        rules = doc.get("rules") if isinstance(doc, dict) else None
        disable = rules.get("disable", []) if isinstance(rules, dict) else []
        if not isinstance(disable, list) or not all(isinstance(i, str) for i in disable):
            raise UsageError(f"{path}: rules.disable must be a list of rule ids")
        ids |= {i.strip().upper() for i in disable}
    unknown = sorted(ids - set(RULES))
    if unknown:
        raise UsageError(f"unknown rule id {unknown[0]!r} (see `tidegate rules`)")
    return frozenset(ids)


def parse_scanners(value: str) -> frozenset[str]:
    """``vuln,secret`` → the set; an unknown name is a usage error."""
    from tidegate.scan.checks import SCANNER_NAMES

    names = {n.strip().lower() for n in value.split(",") if n.strip()}
    bad = sorted(names - set(SCANNER_NAMES))
    if bad or not names:
        raise UsageError(f"--scanners {value!r}: choose from {', '.join(SCANNER_NAMES)}")
    return frozenset(names)
