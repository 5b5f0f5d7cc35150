"""Find the pod spec inside Pods and every workload kind with a pod template, and walk its containers.

    for pod in pod_views(objects):
        for c in pod.containers:
            print(pod.container_target(c), pod.obj.line_of(*c.path, "image"))

Kinds: Pod, PodTemplate, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job and CronJob
(``spec.jobTemplate.spec.template.spec``). Containers are ``containers``, ``initContainers`` and
``ephemeralContainers``, in that order. Malformed shapes (a string where a mapping belongs) read as empty, so a
check never raises on bad content.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tidegate.checks.k8s.loader import FieldPath, K8sObject

POD_SPEC_PATHS: Mapping[str, FieldPath] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
"""Where each kind keeps its pod spec."""

_CORE_GROUPS = frozenset({"", "apps", "extensions", "batch"})
CONTAINER_FIELDS: tuple[tuple[str, str], ...] = (
    ("containers", "container"),
    ("initContainers", "initContainer"),
    ("ephemeralContainers", "ephemeralContainer"),
)
"""The pod spec's container lists and the word used for each in finding targets."""


def as_map(value: Any) -> Mapping[str, Any]:
    """`value` when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """`value` when it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def dig(value: Any, *keys: str) -> Any:
    """``value[k1][k2]…`` through mappings, None as soon as a step is missing or not a mapping."""
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


@dataclass(frozen=True, slots=True)
class ContainerRef:
    """One container of a pod spec."""

    field: str
    """``containers``, ``initContainers`` or ``ephemeralContainers``."""
    label: str
    """``container``, ``initContainer`` or ``ephemeralContainer`` (for targets)."""
    index: int
    """Position in its list."""
    name: str
    """``name`` (``#<index>`` when missing)."""
    body: Mapping[str, Any]
    """The container mapping."""
    path: FieldPath
    """Path of the container inside the object (for `K8sObject.line_of`)."""

    @property
    def security_context(self) -> Mapping[str, Any]:
        """The container's ``securityContext`` (empty when unset)."""
        return as_map(self.body.get("securityContext"))


@dataclass(frozen=True, slots=True)
class PodView:
    """The pod spec of one object, where it sits, and its containers."""

    obj: K8sObject
    """The Pod or workload."""
    spec: Mapping[str, Any]
    """The pod spec."""
    spec_path: FieldPath
    """Path of the pod spec inside the object."""
    metadata: Mapping[str, Any]
    """The pod's metadata (the template's for workloads): where pod annotations live."""
    metadata_path: FieldPath
    """Path of `metadata` inside the object."""
    containers: tuple[ContainerRef, ...]
    """Every container, init container and ephemeral container."""

    @property
    def security_context(self) -> Mapping[str, Any]:
        """The pod-level ``securityContext`` (empty when unset)."""
        return as_map(self.spec.get("securityContext"))

    @property
    def is_windows(self) -> bool:
        """True when ``spec.os.name`` is ``windows`` (some restricted controls are Linux-only since v1.25)."""
        return bool(dig(self.spec, "os", "name") == "windows")

    @property
    def target(self) -> str:
        """``Deployment prod/web``."""
        return self.obj.display

    def container_target(self, c: ContainerRef) -> str:
        """``Deployment prod/web container app``."""
        return f"{self.obj.display} {c.label} {c.name}"

    def line(self, *keys: str | int) -> int:
        """Line of a field of the pod spec (closest existing parent)."""
        return self.obj.line_of(*self.spec_path, *keys)

    def container_line(self, c: ContainerRef, *keys: str | int) -> int:
        """Line of a field of container `c` (closest existing parent, at worst the container's first line)."""
        return self.obj.line_of(*c.path, *keys)


def pod_spec_path(obj: K8sObject) -> FieldPath | None:
    """Where `obj` keeps its pod spec, None for kinds without one (or from a non-core API group)."""
    group = obj.api_version.split("/", 1)[0] if "/" in obj.api_version else ""
    if group not in _CORE_GROUPS:
        return None
    return POD_SPEC_PATHS.get(obj.kind)


def pod_view(obj: K8sObject) -> PodView | None:
    """The `PodView` of `obj`, None when it has no pod spec."""
    spec_path = pod_spec_path(obj)
    if spec_path is None:
        return None
    spec: Any = dig(obj.body, *(str(k) for k in spec_path))
    if not isinstance(spec, Mapping):
        return None
    metadata_path = (*spec_path[:-1], "metadata")
    metadata: Any = dig(obj.body, *(str(k) for k in metadata_path))
    containers = []
    for field_name, label in CONTAINER_FIELDS:
        for i, c in enumerate(as_list(spec.get(field_name))):
            if isinstance(c, Mapping):
                name = c.get("name")
                containers.append(ContainerRef(field=field_name, label=label, index=i,
                                               name=name if isinstance(name, str) and name else f"#{i}",
                                               body=c, path=(*spec_path, field_name, i)))
    return PodView(obj=obj, spec=spec, spec_path=spec_path, metadata=as_map(metadata),
                   metadata_path=metadata_path, containers=tuple(containers))


def pod_views(objects: Iterable[K8sObject]) -> Iterator[PodView]:
    """The `PodView` of every object that has a pod spec, in input order."""
    for obj in objects:
        view = pod_view(obj)
        if view is not None:
            yield view


def k8s_objects(target: object) -> list[K8sObject]:
    """`target` as a list of `K8sObject` (what K8S checks receive); anything else is an empty list."""
    if isinstance(target, K8sObject):
        return [target]
    if isinstance(target, (list, tuple)):
        return [o for o in target if isinstance(o, K8sObject)]
    return []
