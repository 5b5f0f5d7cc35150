"""Workload hygiene beyond the Pod Security Standards: pinned images, secrets, read-only root, limits, isolation.

    findings = [*WorkloadCheck().evaluate(objs), *NetworkPolicyCheck().evaluate(objs)]

`WorkloadCheck` looks at each container; `NetworkPolicyCheck` looks across the whole input (every file of one
``tidegate lint`` run): a namespace that receives workloads but no NetworkPolicy lets every pod in it talk to
every other pod in the cluster, and is reported once, at its first workload.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import ClassVar

from tidegate.checks.base import MISCONFIG, Check, Rule, Target
from tidegate.checks.k8s.loader import K8sObject
from tidegate.checks.k8s.pods import ContainerRef, PodView, as_list, as_map, dig, k8s_objects, pod_views
from tidegate.model.finding import CheckFinding, Severity, SourceLocation

_DIGEST = re.compile(r"@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$")

IMAGE_DIGEST = Rule(
    id="TG-K8S-019", title="Image not pinned by digest", severity=Severity.MEDIUM, category=MISCONFIG,
    rationale="A tag can be moved to different content at any time; only a digest names the bytes that were "
              "scanned and approved, so every node runs the same image.",
    remediation="Reference the image as name@sha256:<digest> (keep the tag for readers: name:1.2@sha256:…).",
    anchors=("Kyverno: require-image-digest",))
IMAGE_LATEST = Rule(
    id="TG-K8S-020", title="Image uses the latest tag or no tag", severity=Severity.MEDIUM, category=MISCONFIG,
    rationale="`latest` (also what an untagged reference means) changes without notice: deployments are not "
              "reproducible and rollbacks do not roll back.",
    remediation="Use a specific version tag, and pin it by digest.",
    anchors=("kube-linter: latest-tag", "Kyverno: disallow-latest-tag", "KSV013"))
SECRET_ENV = Rule(
    id="TG-K8S-021", title="Secret passed as an environment variable", severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale="Environment variables leak into child processes, crash dumps, logs and `kubectl describe`-style "
              "debugging output, and cannot be rotated without a restart; mounted secret files can.",
    remediation="Mount the Secret as a volume (secret or projected) and read the file; drop env[].valueFrom."
                "secretKeyRef and envFrom[].secretRef.",
    anchors=("kube-linter: read-secret-from-env-var", "Kyverno: secrets-not-from-env-vars"))
READ_ONLY_ROOT = Rule(
    id="TG-K8S-022", title="Root filesystem is writable", severity=Severity.LOW, category=MISCONFIG,
    rationale="A writable root filesystem lets an intruder drop tools and modify binaries in the container.",
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the application "
                "must write.",
    anchors=("kube-linter: no-read-only-root-fs", "Kyverno: require-ro-rootfs", "KSV014"))
RESOURCE_LIMITS = Rule(
    id="TG-K8S-023", title="Missing CPU or memory limit", severity=Severity.LOW, category=MISCONFIG,
    rationale="Without limits one container can exhaust its node's CPU or memory and starve its neighbours "
              "(denial of service).",
    remediation="Set resources.limits.cpu and resources.limits.memory on every container.",
    anchors=("kube-linter: unset-cpu-requirements", "kube-linter: unset-memory-requirements",
             "Kyverno: require-requests-limits", "KSV011", "KSV018"))
NO_NETWORK_POLICY = Rule(
    id="TG-K8S-024", title="Namespace has workloads but no NetworkPolicy", severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale="Pods not selected by any NetworkPolicy accept traffic from everywhere in the cluster, so one "
              "compromised pod can reach them all.",
    remediation="Add a NetworkPolicy to the namespace, starting with default-deny ingress and egress and "
                "allowing only the flows the workloads need.",
    anchors=("kube-linter: non-isolated-pod", "Kyverno: add-networkpolicy"))

WORKLOAD_RULES: tuple[Rule, ...] = (IMAGE_DIGEST, IMAGE_LATEST, SECRET_ENV, READ_ONLY_ROOT, RESOURCE_LIMITS)
"""The per-container rules of `WorkloadCheck`."""


def _finding(rule: Rule, pod: PodView, c: ContainerRef, message: str, line: int, evidence: str = "") -> CheckFinding:
    return rule.finding(message, source=SourceLocation(pod.obj.path, line), target=pod.container_target(c),
                        evidence=evidence)


def image_tag(image: str) -> str | None:
    """The tag of an image reference (``nginx:1.27`` → ``1.27``), None when it has none."""
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else None


def is_digest_pinned(image: str) -> bool:
    """True for ``name@algorithm:hex`` references (``nginx:1.27@sha256:…`` too)."""
    return bool(_DIGEST.search(image))


class WorkloadCheck(Check):
    """Per-container hygiene: digest pinning, ``latest``, secrets in env, read-only root, resource limits."""

    id: ClassVar[str] = "k8s-workload"
    version: ClassVar[int] = 1
    target: ClassVar[Target] = Target.K8S
    rules: ClassVar[tuple[Rule, ...]] = WORKLOAD_RULES

    def evaluate(self, target: object) -> Iterable[CheckFinding]:
        """Findings for every container of every pod spec in `target` (a list of `K8sObject`)."""
        for pod in pod_views(k8s_objects(target)):
            for c in pod.containers:
                yield from _image(pod, c)
                yield from _secret_env(pod, c)
                if not pod.is_windows:
                    yield from _read_only_root(pod, c)
                # The API forbids resources on ephemeral containers: they share the pod's.
                if c.field != "ephemeralContainers":
                    yield from _limits(pod, c)


def _image(pod: PodView, c: ContainerRef) -> Iterator[CheckFinding]:
    image = c.body.get("image")
    if not isinstance(image, str) or not image.strip():
        return
    line = pod.container_line(c, "image")
    if is_digest_pinned(image):
        return
    yield _finding(IMAGE_DIGEST, pod, c, f"image {image!r} is not pinned by digest", line, evidence=image)
    tag = image_tag(image)
    if tag is None:
        yield _finding(IMAGE_LATEST, pod, c, f"image {image!r} has no tag (means latest)", line, evidence=image)
    elif tag == "latest":
        yield _finding(IMAGE_LATEST, pod, c, f"image {image!r} uses the latest tag", line, evidence=image)


def _secret_env(pod: PodView, c: ContainerRef) -> Iterator[CheckFinding]:
    for i, env in enumerate(as_list(c.body.get("env"))):
        ref = dig(env, "valueFrom", "secretKeyRef")
        if ref is not None:
            name = as_map(env).get("name")
            secret = as_map(ref).get("name")
            yield _finding(SECRET_ENV, pod, c, f"env {name!r} is read from Secret {secret!r} key "
                           f"{as_map(ref).get('key')!r}", pod.container_line(c, "env", i, "valueFrom",
                                                                             "secretKeyRef"),
                           evidence=f"secretKeyRef: {secret}")
    for i, src in enumerate(as_list(c.body.get("envFrom"))):
        ref = as_map(src).get("secretRef")
        if ref is not None:
            secret = as_map(ref).get("name")
            yield _finding(SECRET_ENV, pod, c, f"envFrom loads every key of Secret {secret!r} into the environment",
                           pod.container_line(c, "envFrom", i, "secretRef"), evidence=f"secretRef: {secret}")


def _read_only_root(pod: PodView, c: ContainerRef) -> Iterator[CheckFinding]:
    value = c.security_context.get("readOnlyRootFilesystem")
    if value is not True:
        state = "does not set" if value is None else f"sets {value!r} for"
        yield _finding(READ_ONLY_ROOT, pod, c, f"{c.label} {c.name!r} {state} securityContext."
                       "readOnlyRootFilesystem (must be true)",
                       pod.container_line(c, "securityContext", "readOnlyRootFilesystem"))


def _limits(pod: PodView, c: ContainerRef) -> Iterator[CheckFinding]:
    limits = as_map(dig(c.body, "resources", "limits"))
    missing = [k for k in ("cpu", "memory") if limits.get(k) in (None, "")]
    if missing:
        yield _finding(RESOURCE_LIMITS, pod, c, f"{c.label} {c.name!r} has no {' or '.join(missing)} limit",
                       pod.container_line(c, "resources", "limits"), evidence="limits: " + ", ".join(missing))


class NetworkPolicyCheck(Check):
    """Across the whole input: each namespace with workloads needs at least one NetworkPolicy (TG-K8S-024)."""

    id: ClassVar[str] = "k8s-network-policy"
    version: ClassVar[int] = 1
    target: ClassVar[Target] = Target.K8S
    rules: ClassVar[tuple[Rule, ...]] = (NO_NETWORK_POLICY,)

    def evaluate(self, target: object) -> Iterable[CheckFinding]:
        """One finding per namespace (unset = ``default``) that has pod specs but no NetworkPolicy in `target`."""
        objects = k8s_objects(target)
        covered = {o.effective_namespace for o in objects if o.kind == "NetworkPolicy"}
        first: dict[str, K8sObject] = {}
        count: dict[str, int] = {}
        for pod in pod_views(objects):
            ns = pod.obj.effective_namespace
            first.setdefault(ns, pod.obj)
            count[ns] = count.get(ns, 0) + 1
        for ns, obj in first.items():
            if ns in covered:
                continue
            yield NO_NETWORK_POLICY.finding(
                f"namespace {ns!r} has {count[ns]} workload(s) and no NetworkPolicy in the input",
                source=SourceLocation(obj.path, obj.line), target=f"Namespace {ns}")
