"""`gather`: one reference resolved once, every piece of evidence about that digest, failures recorded per piece.

Expected digests come from the truth files of ../shared/images (written from skopeo's own inspection), not from
tidegate; the moved-tag test moves a real tag in a real ``docker-registry`` between resolution and scan.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.images import IMAGES, load_truth
from tests.support.registry import push_archive
from tests.trust.test_store import extract_layout
from tidegate.errors import TidegateError
from tidegate.policy.assess import AssessOptions, gather, pinned_ref, resolve_pin
from tidegate.policy.evidence import Requirements

PATCHED = IMAGES / "bookworm-patched.oci.tar"
APP = IMAGES / "bookworm-app.oci.tar"
INDEX = IMAGES / "bookworm-app-index.oci.tar"
DISTROLESS = IMAGES / "distroless-py.oci.tar"
DISTROLESS_DOCKER = IMAGES / "distroless-py.docker.tar"
NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.skipif(not PATCHED.exists(), reason="../shared/images not present")


def digest_of(name: str) -> str:
    """The manifest digest of ../shared/images/NAME per its truth file."""
    return str(load_truth(name)["images"][0]["manifest_digest"])


def options(db: Path | None = None, **kw: Any) -> AssessOptions:
    """Options with a fixed clock and no layer cache."""
    return AssessOptions(db_dir=db, clock=lambda: NOW, **kw)


SCAN_ALL = Requirements(scan=True, scanners=frozenset({"vuln", "secret", "misconfig"}))
SCAN_SECRETS = Requirements(scan=True, scanners=frozenset({"secret"}))


def test_archive_evidence_is_pinned_to_the_truth_digest(vulndb: Path) -> None:
    ev = gather(f"oci-archive:{PATCHED}:1", SCAN_ALL, options(vulndb))
    assert ev.manifest_digest == digest_of("bookworm-patched")
    assert ev.report is not None and ev.report.sbom.image.manifest_digest == ev.manifest_digest
    assert ev.report.scanners == ("vuln", "secret", "misconfig")
    assert ev.report.db is not None and ev.report.sbom.packages
    assert ev.scanned_at == NOW
    assert ev.user == load_truth("bookworm-patched")["images"][0]["config"]["User"] == "1000:1000"
    assert (ev.registry, ev.repository, ev.tag, ev.pinned_by_digest) == ("", "", "1", False)
    assert ev.errors == ()


def test_index_is_pinned_by_the_index_digest_and_the_platform_manifest_is_scanned() -> None:
    truth = load_truth("bookworm-app-index")
    ev = gather(f"oci-archive:{INDEX}:1", SCAN_SECRETS, options())
    # Signatures are bound to what the reference names: the index; the scan reads linux/amd64 under it.
    assert ev.manifest_digest == truth["skopeo_inspect_raw_digest"]
    assert ev.report is not None
    assert ev.report.sbom.image.index_digest == ev.manifest_digest
    assert ev.report.sbom.image.manifest_digest == truth["images"][0]["manifest_digest"]


def test_docker_archive_pin_is_stable_and_cannot_hold_signatures(tmp_path: Path) -> None:
    needs = Requirements(scan=True, scanners=frozenset({"secret"}), signature_keys=(str(tmp_path / "k.pub"),),
                         attestation_types=("cyclonedx",))
    first = gather(f"docker-archive:{DISTROLESS_DOCKER}", needs, options())
    second = gather(f"docker-archive:{DISTROLESS_DOCKER}", needs, options())
    assert first.manifest_digest == second.manifest_digest and first.manifest_digest.startswith("sha256:")
    assert first.report is not None
    assert first.report.sbom.image.config_digest == load_truth("distroless-py")["images"][0]["config_digest"]
    errors = dict(first.errors)
    assert set(errors) == {"signatures", "attestations"}
    assert "not in docker-archive files" in errors["signatures"]
    assert first.signatures == () and first.attestations == ()


def test_a_digest_the_content_does_not_hash_to_is_refused() -> None:
    import dataclasses

    from tidegate.image.reference import parse_image_ref
    from tidegate.model.digest import parse_digest

    ref = parse_image_ref(f"oci-archive:{PATCHED}:1")
    wrong = dataclasses.replace(ref, tag=None, digest=parse_digest("sha256:" + "0" * 64))
    with pytest.raises(TidegateError, match="no image with digest"):
        resolve_pin(wrong, options())
    right = dataclasses.replace(ref, tag=None, digest=parse_digest(digest_of("bookworm-patched")))
    assert str(resolve_pin(right, options()).digest) == digest_of("bookworm-patched")


@pytest.mark.parametrize("reference", ["oci-archive:/nonexistent/x.tar", "no such image!", "127.0.0.1:1/app:1"])
def test_a_reference_that_cannot_be_resolved_raises_one_line(reference: str) -> None:
    with pytest.raises(TidegateError) as info:
        gather(reference, SCAN_ALL, options(source=_fast_source()))
    assert "\n" not in str(info.value)


def _fast_source() -> Any:
    from tidegate.image.sources import SourceOptions

    return SourceOptions(timeout=2, retries=0)


def test_pieces_that_cannot_be_gathered_are_recorded_not_raised(tmp_path: Path) -> None:
    layout = extract_layout(PATCHED, tmp_path / "layout")
    needs = Requirements(scan=True, scanners=frozenset({"vuln", "secret"}), signature_identity="digest-only",
                         signature_keys=(str(tmp_path / "missing.pub"),), attestation_types=("cyclonedx",))
    ev = gather(f"oci:{layout}:1", needs, options(tmp_path / "no-db"))
    errors = dict(ev.errors)
    # No database: the whole report is withheld (a scan without matching is not "no vulnerabilities").
    assert ev.report is None and ev.scanned_at is None
    assert "no vulnerability database at" in errors["scan"]
    assert f"key {tmp_path / 'missing.pub'}: cannot read" in errors["signatures"]
    assert "key" in errors["attestations"]
    assert ev.manifest_digest == digest_of("bookworm-patched")
    assert all("\n" not in message for _, message in ev.errors)


def test_attestations_without_any_key_are_not_evaluated(tmp_path: Path) -> None:
    layout = extract_layout(PATCHED, tmp_path / "layout")
    ev = gather(f"oci:{layout}:1", Requirements(attestation_types=("cyclonedx",)), options())
    assert dict(ev.errors) == {"attestations": "no public key to verify attestations against (keyless "
                                               "verification is not supported yet)"}


def test_layout_without_a_registry_name_cannot_check_identity(tmp_path: Path) -> None:
    layout = extract_layout(PATCHED, tmp_path / "layout")
    key = tmp_path / "k.pub"
    key.write_text("not a key")
    ev = gather(f"oci:{layout}:1", Requirements(signature_keys=(str(key),)), options())
    assert "names no registry image" in dict(ev.errors)["signatures"]


def test_pinned_ref_keeps_the_name_and_adds_the_digest() -> None:
    from tidegate.image.reference import parse_image_ref
    from tidegate.model.digest import parse_digest

    d = parse_digest("sha256:" + "a" * 64)
    ref = pinned_ref(parse_image_ref("127.0.0.1:5000/team/app:1"), d)
    assert (ref.raw, ref.tag, str(ref.digest)) == (f"127.0.0.1:5000/team/app@{d}", "1", str(d))
    layout = pinned_ref(parse_image_ref("oci-archive:/x.tar:1"), d)
    assert (layout.raw, layout.path, str(layout.digest)) == (f"oci-archive:/x.tar@{d}", "/x.tar", str(d))


@pytest.mark.registry
def test_a_tag_moved_between_resolution_and_scan_cannot_mix_digests(registry: str, monkeypatch: pytest.MonkeyPatch,
                                                                     tmp_path: Path) -> None:
    import tidegate.trust.store as trust_store
    from tidegate.scan import pipeline

    repo = f"{registry}/assess/moving"
    push_archive(f"oci-archive:{PATCHED}:1", f"{repo}:1")
    real_scan, real_store = pipeline.scan_image, trust_store.open_store
    seen: dict[str, Any] = {}

    def scan_after_the_tag_moved(reference: Any, *args: Any, **kw: Any) -> Any:
        # Between resolution and scan, someone pushes other content under the same tag.
        push_archive(f"oci-archive:{DISTROLESS}:1", f"{repo}:1")
        seen["scanned"] = reference.raw
        return real_scan(reference, *args, **kw)

    def store_on(reference: Any, *args: Any, **kw: Any) -> Any:
        store = real_store(reference, *args, **kw)
        seen["store"] = str(store.target.digest)
        return store

    monkeypatch.setattr(pipeline, "scan_image", scan_after_the_tag_moved)
    monkeypatch.setattr(trust_store, "open_store", store_on)
    needs = Requirements(scan=True, scanners=frozenset({"secret"}), signature_keys=(str(tmp_path / "k.pub"),))
    ev = gather(f"{repo}:1", needs, options())
    patched = digest_of("bookworm-patched")
    # The tag really moved ...
    assert str(resolve_pin(f"{repo}:1", options()).digest) == digest_of("distroless-py")
    # ... yet every piece of evidence is about the digest resolved first.
    assert ev.manifest_digest == patched
    assert seen["scanned"] == f"{repo}@{patched}"
    assert ev.report is not None and ev.report.sbom.image.manifest_digest == patched
    assert ev.report.sbom.distro is not None and ev.report.sbom.distro.id == "debian"  # distroless has no dpkg
    assert seen["store"] == patched
    assert (ev.registry, ev.repository, ev.tag) == (registry, "assess/moving", "1")


@pytest.mark.registry
def test_pinned_content_removed_upstream_is_a_recorded_scan_error(registry: str, monkeypatch: pytest.MonkeyPatch
                                                                  ) -> None:
    import urllib.request

    from tidegate.scan import pipeline

    repo = f"{registry}/assess/deleted"
    push_archive(f"oci-archive:{PATCHED}:1", f"{repo}:1")
    real_scan = pipeline.scan_image

    def scan_after_delete(reference: Any, *args: Any, **kw: Any) -> Any:
        req = urllib.request.Request(f"http://{registry}/v2/assess/deleted/manifests/{reference.digest}",
                                     method="DELETE")
        urllib.request.urlopen(req, timeout=10).close()
        return real_scan(reference, *args, **kw)

    monkeypatch.setattr(pipeline, "scan_image", scan_after_delete)
    ev = gather(f"{repo}:1", SCAN_SECRETS, options(source=_fast_source()))
    assert ev.manifest_digest == digest_of("bookworm-patched")
    assert ev.report is None and "scan" in dict(ev.errors)


def test_concurrent_gathers_from_threads_do_not_interfere(tmp_path: Path) -> None:
    from tidegate.store.blobcache import DirectoryCache

    opts = options(cache=DirectoryCache(tmp_path / "cache"))
    refs = [f"oci-archive:{PATCHED}:1", f"oci-archive:{DISTROLESS}:1", f"oci-archive:{APP}:1"] * 2
    expected = {r: digest_of(Path(r.split(":")[1]).name.removesuffix(".oci.tar")) for r in refs}
    before = tempfile.tempdir
    results: dict[int, Any] = {}
    failures: list[BaseException] = []

    def work(i: int, ref: str) -> Callable[[], None]:
        def run() -> None:
            try:
                results[i] = gather(ref, SCAN_SECRETS, opts)
            except BaseException as e:  # noqa: BLE001 - collected for the assertion
                failures.append(e)
        return run

    threads = [threading.Thread(target=work(i, r)) for i, r in enumerate(refs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not failures, failures
    for i, ref in enumerate(refs):
        ev = results[i]
        assert ev.manifest_digest == expected[ref] == ev.report.sbom.image.manifest_digest
        assert ev.errors == ()
    secrets = {ref: sorted(c.rule_id for c in results[i].report.checks) for i, ref in enumerate(refs)}
    assert secrets[refs[0]] == secrets[refs[3]] and secrets[refs[2]] == secrets[refs[5]]
    assert secrets[refs[2]], "bookworm-app has leaked secrets"
    assert tempfile.tempdir == before
