"""Gather what a policy needs about one image, pinned to one digest, and judge it: the shared core of every door.

    options = AssessOptions(db_dir=Path("~/.cache/tidegate/db"), source=SourceOptions())
    verdict = assess("127.0.0.1:5000/app:1", load_policy(Path("policy.yaml")), options)
    verdict.manifest_digest        # the tag resolved ONCE; scan, signatures and attestations all used this pin

`gather` runs in four steps, numbered in the code:

(1) resolve the reference once: fetch the root manifest (or index) the reference names, verify it, and take its
    digest as *the pin*. The platform manifest and config under it are verified too (``config.User``, labels);
(2) scan ``ref@pin`` when the policy needs findings: catalog + secrets/misconfigurations in one pass per layer,
    then the vulnerability match against a database opened for this call;
(3) read the ``.sig`` signatures of the pin and verify them against each required key;
(4) read the ``.att`` attestations of the pin and verify each required predicate type.

Everything after (1) names the digest, never the tag, so a tag moved while the image is being judged cannot mix
two images' evidence: the scan either reads the pinned bytes or fails with a digest mismatch. A piece that could
not be gathered is recorded in `Evidence.errors` as one line (its rules become ``not-evaluated``); `gather`
raises only when (1) fails, since without a digest there is nothing to judge.

Thread safety: `AssessOptions` is frozen and shared; every call opens its own image source, signature store and
database connection. The webhook and the registry gate call `assess` from worker threads.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tidegate.errors import TidegateError
from tidegate.image.manifest import Platform, ResolvedImage, resolve_image
from tidegate.image.reference import ImageRef, parse_image_ref
from tidegate.image.sources import SourceOptions, open_source
from tidegate.match.engine import MatchOptions
from tidegate.model.digest import Digest, sha256_of
from tidegate.policy.evidence import Evidence, Requirements
from tidegate.policy.verdict import Verdict
from tidegate.scan.cache import LayerCache
from tidegate.scan.pipeline import ScanOptions
from tidegate.trust.model import VerificationResult

if TYPE_CHECKING:
    from tidegate.model.report import VulnReport
    from tidegate.policy.model import Policy
    from tidegate.trust.store import SignatureStore

log = logging.getLogger(__name__)

SIGNATURE_TRANSPORTS = ("registry", "oci")
"""Transports that can hold cosign signatures (a registry repository, an OCI layout directory)."""

# NOTE: scan_image points the process-wide `tempfile.tempdir` at its own temp dir while it runs (for catalogers
# that need a real file) and restores the previous value afterwards. Two overlapping scans in threads would
# restore each other's (deleted) directory, so scans run one at a time in this process. Resolution, signature
# verification and matching stay concurrent. TODO(tidegate): drop this once the pipeline passes its temp dir
# explicitly instead of through the global.
_SCAN_LOCK = threading.Lock()


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class AssessOptions:
    """How `gather` reaches images and the vulnerability database (frozen: safe to share between threads)."""

    db_dir: Path | None = None
    """Vulnerability database directory (None: ``$TIDEGATE_DB_DIR`` or ``~/.cache/tidegate/db``)."""
    source: SourceOptions = field(default_factory=SourceOptions)
    """Registry access (credentials, insecure registries, timeouts, CA bundle)."""
    cache: LayerCache | None = None
    """Per-layer result cache (None: no cache)."""
    scan: ScanOptions = field(default_factory=ScanOptions)
    """Base scan options (platform, limits, catalogers, workers); `source` and the scanners are set per call."""
    match: MatchOptions = field(default_factory=MatchOptions)
    """Matching options (ignore file, VEX); severity filters belong in the policy, not here."""
    docker_reference: str | None = None
    """Registry name to check signatures' ``docker-reference`` against when the image is an OCI layout that
    names none (``tidegate verify --docker-reference``); registry images use their own name."""
    clock: Callable[[], dt.datetime] = _utcnow
    """The time a scan is stamped with (``maxScanAge``); injectable for tests."""


@dataclass(frozen=True, slots=True)
class Pin:
    """A reference resolved once: the digest everything else is about."""

    reference: ImageRef
    """What was asked for, parsed."""
    digest: Digest
    """Digest of the root manifest or index the reference named (what signatures are bound to)."""
    pinned: ImageRef
    """`reference` narrowed to `digest` (``repo@sha256:…``, ``oci:DIR@sha256:…``)."""
    resolved: ResolvedImage
    """The verified platform manifest and config under the pin."""


def resolve_pin(reference: str | ImageRef, options: AssessOptions) -> Pin:
    """(1) Resolve `reference` once to its root digest; raises `TidegateError` when it cannot be resolved."""
    ref = reference if isinstance(reference, ImageRef) else parse_image_ref(reference)
    platform = Platform.parse(options.scan.platform) if options.scan.platform else None
    with open_source(ref, options.source) as source:
        resolved = resolve_image(source, platform, pinned=ref.digest)
    root = resolved.root
    # The root's digest: the layout/index descriptor's (already checked against the bytes), else the bytes' own.
    # A classic docker-archive has no registry manifest; its synthesized one still hashes its config and layers.
    digest = root.expected.digest if root.expected is not None else sha256_of(root.data)
    return Pin(reference=ref, digest=digest, pinned=pinned_ref(ref, digest), resolved=resolved)


def pinned_ref(ref: ImageRef, digest: Digest) -> ImageRef:
    """`ref` narrowed to `digest`: every source fetches (or picks) the root by digest and checks it."""
    if ref.transport == "registry":
        raw = f"{ref.registry}/{ref.repository}@{digest}"
    else:
        raw = f"{ref.transport}:{ref.path}@{digest}"
    # Built directly: the layout grammar has no unambiguous PATH@DIGEST spelling to parse. The tag (or a
    # docker-archive's image name/index) is kept for naming, while the digest decides what is read.
    return dataclasses.replace(ref, raw=raw, digest=digest)


def _line(e: BaseException) -> str:
    """One line for `Evidence.errors`."""
    text = e.message if isinstance(e, TidegateError) else f"{type(e).__name__}: {e}"
    return " ".join(str(text).split())[:500]


def _scan(pin: Pin, needs: Requirements, options: AssessOptions) -> tuple[VulnReport | None, list[tuple[str, str]]]:
    """(2) Scan the pinned image; the report, or None and the error."""
    from tidegate.model.report import VulnReport
    from tidegate.scan.checks import SCANNER_NAMES
    from tidegate.scan.pipeline import scan_image

    scan_options = dataclasses.replace(options.scan, source=options.source,
                                       scanners=frozenset(needs.scanners) - {"vuln"})
    ran = tuple(n for n in SCANNER_NAMES if n in needs.scanners)
    if "vuln" not in needs.scanners:
        try:
            with _SCAN_LOCK:
                result = scan_image(pin.pinned, scan_options, cache=options.cache)
        except Exception as e:  # noqa: BLE001 - recorded as evidence that could not be gathered
            log.warning("scan of %s failed: %s", pin.pinned.raw, _line(e))
            return None, [("scan", _line(e))]
        return VulnReport(sbom=result.sbom, findings=(), db=None, checks=result.findings, scanners=ran), []
    from tidegate.match.engine import scan_vulnerabilities
    from tidegate.vulndb.store import VulnDb, default_db_dir

    try:
        # A connection per call (SQLite, read-only): nothing is shared between threads. Opened before the
        # (long) image read, since a missing database is the commonest error. A scan whose vulnerabilities could
        # not be matched is not a scan with no vulnerabilities: the whole report is withheld.
        with VulnDb.open(options.db_dir or default_db_dir()) as db:
            with _SCAN_LOCK:
                result = scan_image(pin.pinned, scan_options, cache=options.cache)
            report = scan_vulnerabilities(result.sbom, db, options.match, db_info=db.info())
    except Exception as e:  # noqa: BLE001 - recorded as evidence that could not be gathered
        log.warning("scan of %s failed: %s", pin.pinned.raw, _line(e))
        return None, [("scan", _line(e))]
    return dataclasses.replace(report, checks=result.findings, scanners=ran), []


KeyReader = Callable[[str], bytes]
"""Reads a public key file named by `Requirements` (`assess` serves the bytes the policy hash covers)."""


def _read_path(path: str) -> bytes:
    return Path(path).read_bytes()


def _load_keys(paths: tuple[str, ...], what: str, errors: list[tuple[str, str]],
               read_key: KeyReader) -> list[tuple[str, Any]]:
    """(path, public key) of every key that loads; the others are recorded as errors under `what`."""
    out = []
    for path in paths:
        try:
            pem = read_key(path)
        except OSError as e:
            errors.append((what, f"key {path}: cannot read ({e.strerror or e})"))
            continue
        from tidegate.trust import keys

        try:
            out.append((path, keys.load_public_key(pem, where=path)))
        except Exception as e:  # noqa: BLE001 - a bad key file is evidence that could not be gathered
            errors.append((what, f"key {path}: {_line(e)}"))
    return out


def _verify_signatures(store: SignatureStore, pin: Pin, needs: Requirements, errors: list[tuple[str, str]],
                       read_key: KeyReader) -> tuple[tuple[str, VerificationResult], ...]:
    """(3) Every ``.sig`` signature of the pin, verified against each required key separately."""
    target = store.target
    identity = target.identity or ""
    if needs.signature_identity != "digest-only" and not identity:
        errors.append(("signatures", (f"{store.describe()} names no registry image to check the signatures' "
                                      "docker-reference against (set the policy's identity to digest-only, or "
                                      "give the registry name)")))
        return ()
    keys = _load_keys(needs.signature_keys, "signatures", errors, read_key)
    if not keys:
        return ()
    from tidegate.trust import simplesigning

    layers = store.read("sig")
    annotations = dict(needs.signature_annotations) or None
    out = []
    for path, key in keys:
        if not layers:
            # Nothing stored is a result (no valid signature), not an error.
            out.append((path, VerificationResult(str(pin.digest), (), ())))
            continue
        out.append((path, simplesigning.verify_simple_signatures(
            layers, manifest_digest=str(pin.digest), reference=identity, keys=[key],
            identity=needs.signature_identity, annotations=annotations)))
    return tuple(out)


def _verify_attestations(store: SignatureStore, pin: Pin, needs: Requirements, errors: list[tuple[str, str]],
                         read_key: KeyReader) -> tuple[tuple[str, VerificationResult], ...]:
    """(4) Every ``.att`` envelope of the pin, verified per required predicate type against the keys."""
    paths = needs.attestation_keys or needs.signature_keys
    if not paths:
        errors.append(("attestations", ("no public key to verify attestations against (keyless verification "
                                        "is not supported yet)")))
        return ()
    keys = _load_keys(paths, "attestations", errors, read_key)
    if not keys:
        return ()
    from tidegate.policy.model import ATTESTATION_TYPES
    from tidegate.trust import intoto

    layers = store.read("att")
    out = []
    for name in needs.attestation_types:
        uri = ATTESTATION_TYPES.get(name, name)
        if not layers:
            out.append((name, VerificationResult(str(pin.digest), (), ())))
            continue
        out.append((name, intoto.verify_attestations(layers, manifest_digest=str(pin.digest),
                                                     keys=[k for _, k in keys], predicate_type=uri)))
    return tuple(out)


def _trust(pin: Pin, needs: Requirements, options: AssessOptions, read_key: KeyReader) -> tuple[
        tuple[tuple[str, VerificationResult], ...], tuple[tuple[str, VerificationResult], ...], list[tuple[str, str]]]:
    """(3) + (4) through one signature store opened on the pin."""
    wanted = [w for w, needed in (("signatures", bool(needs.signature_keys)),
                                  ("attestations", bool(needs.attestation_types))) if needed]
    if not wanted:
        return (), (), []
    ref = pin.reference
    if ref.transport not in SIGNATURE_TRANSPORTS:
        reason = (f"{ref.raw}: no signatures or attestations possible: they are stored in registries and OCI "
                  f"layout directories, not in {ref.transport} files (push the image to a registry or copy it to "
                  "oci:DIR)")
        return (), (), [(w, reason) for w in wanted]
    from tidegate.trust.store import open_store

    errors: list[tuple[str, str]] = []
    signatures: tuple[tuple[str, VerificationResult], ...] = ()
    attestations: tuple[tuple[str, VerificationResult], ...] = ()
    # The identity signatures are checked against is the name the user asked for (with its tag when written),
    # while the store itself only ever sees the digest.
    docker_reference = options.docker_reference
    if docker_reference is None and ref.transport == "registry":
        docker_reference = f"{ref.registry}/{ref.repository}" + (f":{ref.tag}" if ref.tag and ref.digest is None
                                                                  else "")
    try:
        with open_store(pin.pinned, options.source, docker_reference=docker_reference) as store:
            if str(store.target.digest) != str(pin.digest):  # pragma: no cover - the store fetches by digest
                raise TidegateError(f"{store.describe()}: resolved to {store.target.digest}, not the pin {pin.digest}")
            if "signatures" in wanted:
                try:
                    signatures = _verify_signatures(store, pin, needs, errors, read_key)
                except Exception as e:  # noqa: BLE001 - recorded, never raised
                    errors.append(("signatures", _line(e)))
            if "attestations" in wanted:
                try:
                    attestations = _verify_attestations(store, pin, needs, errors, read_key)
                except Exception as e:  # noqa: BLE001 - recorded, never raised
                    errors.append(("attestations", _line(e)))
    except Exception as e:  # noqa: BLE001 - the store could not be opened: every trust piece is missing
        errors.extend((w, _line(e)) for w in wanted)
    return signatures, attestations, errors


def gather(reference: str, needs: Requirements, options: AssessOptions | None = None, *,
           read_key: KeyReader | None = None) -> Evidence:
    """Everything `needs` asks for about `reference`, all of it about one digest (see the module docstring).

    Raises `TidegateError` only when the reference cannot be resolved to a digest (bad reference, unreachable
    registry, missing or corrupt manifest); every later failure is recorded in `Evidence.errors`. `read_key`
    reads the key files `needs` names (default: from disk).
    """
    options = options or AssessOptions()
    pin = resolve_pin(reference, options)
    log.info("%s: resolved to %s", reference, pin.digest)
    errors: list[tuple[str, str]] = []
    report = None
    scanned_at = None
    if needs.scan:
        report, scan_errors = _scan(pin, needs, options)
        errors += scan_errors
        scanned_at = options.clock() if report is not None else None
    signatures, attestations, trust_errors = _trust(pin, needs, options, read_key or _read_path)
    errors += trust_errors
    ref = pin.reference
    config = pin.resolved.config
    return Evidence(
        reference=reference,
        manifest_digest=str(pin.digest),
        registry=(ref.registry or "") if ref.transport == "registry" else "",
        repository=(ref.repository or "") if ref.transport == "registry" else "",
        tag=ref.tag,
        pinned_by_digest=ref.digest is not None,
        report=report,
        scanned_at=scanned_at,
        signatures=signatures,
        attestations=attestations,
        user=config.user,
        labels=config.labels,
        errors=tuple(errors),
    )


def assess(reference: str, policy: Policy, options: AssessOptions | None = None) -> Verdict:
    """`gather` what `policy` requires for `reference`, then evaluate it: the verdict every door uses."""
    from tidegate.policy.evaluate import evaluate

    return evaluate(policy, gather_for(reference, policy, options))


def gather_for(reference: str, policy: Policy, options: AssessOptions | None = None) -> Evidence:
    """`gather` what `policy`'s scope for `reference` requires, reading keys as the policy loaded them (so the
    keys used are the ones `Policy.hash` covers, even if the files changed since)."""
    by_path = {policy.resolve(name): name for name in policy.referenced_files()}

    def read_key(path: str) -> bytes:
        return policy.file_content(by_path[path]) if path in by_path else _read_path(path)

    return gather(reference, policy.requirements(reference), options, read_key=read_key)


__all__ = ["AssessOptions", "KeyReader", "Pin", "assess", "gather", "gather_for", "pinned_ref", "resolve_pin"]
