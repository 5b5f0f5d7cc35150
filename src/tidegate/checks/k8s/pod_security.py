"""The Kubernetes Pod Security Standards, baseline and restricted profiles, one rule per control.

Source: https://kubernetes.io/docs/concepts/security/pod-security-standards/ (each control's "Restricted Fields"
and "Allowed Values"), with the newest allowed sets of the built-in Pod Security Admission (sysctls of v1.32,
``image`` volumes allowed in restricted since v1.33, probe/lifecycle ``host`` forbidden since v1.34)::

    findings = list(PodSecurityBaselineCheck().evaluate(load_objects(text, "pod.yaml")))

How values are judged (as the admission controller does):

1. A field written with a value outside the control's allowed values is a finding *where it is written* — a
   pod-level ``runAsNonRoot: false`` is reported even when every container sets ``true``.
2. A control that *requires* a value (restricted ``runAsNonRoot``, ``seccompProfile``) is met by a container
   field, or else by the pod-level field it inherits (the container's own value overrides the pod's). A container
   that sets nothing and inherits nothing is reported on the container; one that inherits a bad pod-level value
   is covered by the pod-level finding.
3. ``containers``, ``initContainers`` and ``ephemeralContainers`` are all checked. Pods with ``spec.os.name:
   windows`` skip the Linux-only restricted controls (privilege escalation, seccomp, capabilities), as the
   standard says since v1.25.

NOTE: the user-namespace relaxation of the restricted non-root controls (``hostUsers: false``) is behind an alpha
feature gate and is not applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar

from tidegate.checks.base import MISCONFIG, Check, Rule, Target
from tidegate.checks.k8s.pods import ContainerRef, PodView, as_list, as_map, dig, k8s_objects, pod_views
from tidegate.model.finding import CheckFinding, Severity, SourceLocation

BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})
"""Capabilities the baseline profile lets a container add (the container runtime's default set)."""
RESTRICTED_ADD_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
"""The only capability the restricted profile lets a container add back after dropping ALL."""
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
})
"""The "safe" sysctls the baseline profile allows (Pod Security Admission v1.32 set)."""
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
"""SELinux types the baseline profile allows (empty = unset)."""
RESTRICTED_VOLUME_SOURCES = frozenset({
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image", "persistentVolumeClaim", "projected",
    "secret",
})
"""Volume sources the restricted profile allows (``image`` since v1.33)."""
SECCOMP_OK = frozenset({"RuntimeDefault", "Localhost"})
"""Seccomp profile types that confine syscalls."""
APPARMOR_OK = frozenset({"RuntimeDefault", "Localhost"})
"""AppArmor profile types the baseline profile allows in ``securityContext.appArmorProfile.type``."""
APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
"""Prefix of the (pre-v1.30) per-container AppArmor annotation."""

_PSS = "https://kubernetes.io/docs/concepts/security/pod-security-standards/"

HOST_PROCESS = Rule(
    id="TG-K8S-001", title="Windows HostProcess container", severity=Severity.HIGH, category=MISCONFIG,
    rationale="A HostProcess container runs directly on the Windows node with host privileges, outside any "
              "container isolation.",
    remediation="Remove securityContext.windowsOptions.hostProcess (or set it to false) at pod and container "
                "level; run node agents only in a namespace that is exempt by policy.",
    anchors=("PSS baseline: HostProcess", "Kyverno: disallow-host-process", _PSS))
HOST_NAMESPACES = Rule(
    id="TG-K8S-002", title="Pod shares a host namespace", severity=Severity.HIGH, category=MISCONFIG,
    rationale="hostNetwork, hostPID and hostIPC give the pod the node's network stack, process table or IPC; "
              "it can sniff traffic, signal or inspect other processes, and reach node-local services.",
    remediation="Remove spec.hostNetwork, spec.hostPID and spec.hostIPC (or set them to false).",
    anchors=("PSS baseline: Host Namespaces", "Kyverno: disallow-host-namespaces", "kube-linter: host-network",
             "kube-linter: host-pid", "kube-linter: host-ipc", "KSV008", "KSV009", "KSV010"))
PRIVILEGED = Rule(
    id="TG-K8S-003", title="Privileged container", severity=Severity.CRITICAL, category=MISCONFIG,
    rationale="A privileged container has every capability and all host devices, with no seccomp or AppArmor "
              "confinement: it is root on the node.",
    remediation="Remove securityContext.privileged (or set it to false); grant the one capability needed instead.",
    anchors=("PSS baseline: Privileged Containers", "Kyverno: disallow-privileged-containers",
             "kube-linter: privileged-container", "KSV017"))
BASELINE_CAPS = Rule(
    id="TG-K8S-004", title="Container adds a capability beyond the default set", severity=Severity.HIGH,
    category=MISCONFIG,
    rationale="Capabilities such as SYS_ADMIN, NET_ADMIN, SYS_PTRACE or NET_RAW grant kernel powers the default "
              "container set leaves out and are common container-escape steps.",
    remediation="Remove the capability from securityContext.capabilities.add; only AUDIT_WRITE, CHOWN, "
                "DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID "
                "and SYS_CHROOT are allowed.",
    anchors=("PSS baseline: Capabilities", "Kyverno: disallow-capabilities"))
HOST_PATH = Rule(
    id="TG-K8S-005", title="hostPath volume", severity=Severity.HIGH, category=MISCONFIG,
    rationale="A hostPath volume mounts the node's filesystem into the pod; writable paths such as / or the "
              "container runtime socket hand over the node.",
    remediation="Use an emptyDir, configMap, secret, projected or persistentVolumeClaim volume instead.",
    anchors=("PSS baseline: HostPath Volumes", "Kyverno: disallow-host-path", "KSV023"))
HOST_PORTS = Rule(
    id="TG-K8S-006", title="Container binds a host port", severity=Severity.MEDIUM, category=MISCONFIG,
    rationale="A hostPort exposes the container on the node's address, bypassing Services and NetworkPolicies "
              "and limiting scheduling.",
    remediation="Remove ports[].hostPort (or set it to 0) and expose the port through a Service.",
    anchors=("PSS baseline: Host Ports", "Kyverno: disallow-host-ports", "KSV024"))
HOST_PROBES = Rule(
    id="TG-K8S-007", title="Probe or lifecycle hook targets another host", severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale="The kubelet performs probes and lifecycle hooks from the node; a host field lets the pod make "
              "the node connect to arbitrary addresses (server-side request forgery against node-local "
              "services).",
    remediation="Remove the host field of httpGet/tcpSocket probes and lifecycle hooks (the pod IP is used).",
    anchors=("PSS baseline: Host Probes / Lifecycle Hooks", "KEP-4940"))
APPARMOR = Rule(
    id="TG-K8S-008", title="AppArmor profile overridden or disabled", severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale="The runtime's default AppArmor profile confines file, mount and network access; Unconfined "
              "removes that layer.",
    remediation="Use appArmorProfile.type RuntimeDefault or Localhost (annotation values runtime/default or "
                "localhost/<profile>), or leave it unset.",
    anchors=("PSS baseline: AppArmor", "Kyverno: restrict-apparmor-profiles"))
SELINUX = Rule(
    id="TG-K8S-009", title="Custom SELinux options", severity=Severity.MEDIUM, category=MISCONFIG,
    rationale="Setting the SELinux user, role or a type outside the container types lets a container run "
              "under a more privileged label (e.g. spc_t, unconfined_t).",
    remediation="Remove seLinuxOptions.user and .role, and use a type among container_t, container_init_t, "
                "container_kvm_t and container_engine_t (or none).",
    anchors=("PSS baseline: SELinux", "Kyverno: disallow-selinux"))
PROC_MOUNT = Rule(
    id="TG-K8S-010", title="Unmasked /proc mount", severity=Severity.MEDIUM, category=MISCONFIG,
    rationale="procMount Unmasked removes the default masks on /proc and /sys paths that expose kernel "
              "interfaces to the container.",
    remediation="Remove securityContext.procMount (or set it to Default).",
    anchors=("PSS baseline: /proc Mount Type", "Kyverno: disallow-proc-mount"))
SECCOMP_BASELINE = Rule(
    id="TG-K8S-011", title="Seccomp explicitly disabled", severity=Severity.MEDIUM, category=MISCONFIG,
    rationale="seccompProfile Unconfined lets the container call every syscall, including the rarely needed "
              "ones most kernel exploits use.",
    remediation="Set seccompProfile.type to RuntimeDefault (or Localhost with a profile), or leave it unset.",
    anchors=("PSS baseline: Seccomp", "Kyverno: restrict-seccomp"))
SYSCTLS = Rule(
    id="TG-K8S-012", title="Unsafe sysctl", severity=Severity.MEDIUM, category=MISCONFIG,
    rationale="Sysctls outside the safe, namespaced set can disable security mechanisms or affect every pod "
              "on the node.",
    remediation="Remove the sysctl from spec.securityContext.sysctls or tune the node instead.",
    anchors=("PSS baseline: Sysctls", "Kyverno: restrict-sysctls", "kube-linter: unsafe-sysctls", "KSV026"))
VOLUME_TYPES = Rule(
    id="TG-K8S-013", title="Volume type not allowed by the restricted profile", severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale="Non-core volume types (hostPath, nfs, iscsi, rbd, gitRepo, flexVolume, …) reach outside the "
              "pod; restricted pods use only volumes whose storage is managed through PersistentVolumes.",
    remediation="Use configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, projected "
                "or secret volumes; reach other storage through a PersistentVolume and claim.",
    anchors=("PSS restricted: Volume Types", "Kyverno: restrict-volume-types"))
PRIVILEGE_ESCALATION = Rule(
    id="TG-K8S-014", title="Privilege escalation not disabled", severity=Severity.MEDIUM, category=MISCONFIG,
    rationale="Unless allowPrivilegeEscalation is false, a process can gain privileges through setuid/setgid "
              "binaries or file capabilities (no_new_privs is not set).",
    remediation="Set securityContext.allowPrivilegeEscalation: false on every container.",
    anchors=("PSS restricted: Privilege Escalation", "Kyverno: disallow-privilege-escalation",
             "kube-linter: privilege-escalation-container", "KSV001"))
RUN_AS_NON_ROOT = Rule(
    id="TG-K8S-015", title="Container not required to run as non-root", severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale="Without runAsNonRoot: true the kubelet starts an image whose USER is root (or unset) as root.",
    remediation="Set securityContext.runAsNonRoot: true in the pod (or every container) and give the image a "
                "non-root numeric USER.",
    anchors=("PSS restricted: Running as Non-root", "Kyverno: require-run-as-nonroot",
             "kube-linter: run-as-non-root", "KSV012"))
RUN_AS_USER_ROOT = Rule(
    id="TG-K8S-016", title="Container runs as UID 0", severity=Severity.HIGH, category=MISCONFIG,
    rationale="runAsUser: 0 runs the container's processes as root, whatever the image says.",
    remediation="Set runAsUser to a non-zero UID, or remove it and rely on the image's non-root USER.",
    anchors=("PSS restricted: Running as Non-root user", "Kyverno: require-run-as-non-root-user"))
SECCOMP_RESTRICTED = Rule(
    id="TG-K8S-017", title="Seccomp profile not set to RuntimeDefault or Localhost", severity=Severity.MEDIUM,
    category=MISCONFIG,
    rationale="Kubernetes runs containers Unconfined unless a seccomp profile is set; the restricted profile "
              "requires one for every container.",
    remediation="Set spec.securityContext.seccompProfile.type: RuntimeDefault (or Localhost) at pod level, or "
                "on every container.",
    anchors=("PSS restricted: Seccomp", "Kyverno: restrict-seccomp-strict"))
CAPS_RESTRICTED = Rule(
    id="TG-K8S-018", title="Capabilities not dropped (restricted)", severity=Severity.MEDIUM, category=MISCONFIG,
    rationale="The runtime's default capabilities (CHOWN, DAC_OVERRIDE, SETUID, NET_RAW, …) are more than most "
              "workloads need; the restricted profile drops ALL and adds back at most NET_BIND_SERVICE.",
    remediation="Set securityContext.capabilities.drop: [ALL] and add only NET_BIND_SERVICE when binding a port "
                "below 1024.",
    anchors=("PSS restricted: Capabilities", "Kyverno: disallow-capabilities-strict", "KSV003"))

BASELINE_RULES: tuple[Rule, ...] = (HOST_PROCESS, HOST_NAMESPACES, PRIVILEGED, BASELINE_CAPS, HOST_PATH, HOST_PORTS,
                                    HOST_PROBES, APPARMOR, SELINUX, PROC_MOUNT, SECCOMP_BASELINE, SYSCTLS)
"""Every control of the baseline profile."""
RESTRICTED_RULES: tuple[Rule, ...] = (VOLUME_TYPES, PRIVILEGE_ESCALATION, RUN_AS_NON_ROOT, RUN_AS_USER_ROOT,
                                      SECCOMP_RESTRICTED, CAPS_RESTRICTED)
"""The controls the restricted profile adds to baseline."""


def _finding(rule: Rule, pod: PodView, message: str, line: int, *, target: str = "",
             evidence: str = "") -> CheckFinding:
    return rule.finding(message, source=SourceLocation(pod.obj.path, line), target=target or pod.target,
                        evidence=evidence)


def _set(value: Any) -> bool:
    """The field is present (YAML ``null`` counts as unset, as the API server decodes it)."""
    return value is not None


def _bool_true(value: Any) -> bool:
    """A boolean field set to anything but false/unset."""
    return _set(value) and value is not False


def _show(value: Any) -> str:
    """`value` as YAML/JSON would write it (``true``, ``"Unconfined"``, ``0``)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _where(c: ContainerRef | None) -> str:
    return f"{c.label} {c.name!r}" if c is not None else "pod"


class PodSecurityBaselineCheck(Check):
    """The baseline Pod Security Standard: no known privilege escalations (TG-K8S-001…012)."""

    id: ClassVar[str] = "k8s-pss-baseline"
    version: ClassVar[int] = 1
    target: ClassVar[Target] = Target.K8S
    rules: ClassVar[tuple[Rule, ...]] = BASELINE_RULES

    def evaluate(self, target: object) -> Iterable[CheckFinding]:
        """Baseline findings for every pod spec in `target` (a list of `K8sObject`)."""
        for pod in pod_views(k8s_objects(target)):
            yield from _baseline(pod)


class PodSecurityRestrictedCheck(Check):
    """The controls the restricted Pod Security Standard adds to baseline (TG-K8S-013…018)."""

    id: ClassVar[str] = "k8s-pss-restricted"
    version: ClassVar[int] = 1
    target: ClassVar[Target] = Target.K8S
    rules: ClassVar[tuple[Rule, ...]] = RESTRICTED_RULES

    def evaluate(self, target: object) -> Iterable[CheckFinding]:
        """Restricted findings for every pod spec in `target` (a list of `K8sObject`)."""
        for pod in pod_views(k8s_objects(target)):
            yield from _restricted(pod)


# --- baseline ---------------------------------------------------------------------------------------------


def _baseline(pod: PodView) -> Iterator[CheckFinding]:
    yield from _host_process(pod)
    yield from _host_namespaces(pod)
    for c in pod.containers:
        sc = c.security_context
        if _bool_true(sc.get("privileged")):
            yield _finding(PRIVILEGED, pod, f"{_where(c)} sets securityContext.privileged: "
                           f"{_show(sc.get('privileged'))}", pod.container_line(c, "securityContext", "privileged"),
                           target=pod.container_target(c), evidence="privileged: true")
        yield from _baseline_caps(pod, c)
        yield from _host_ports(pod, c)
        yield from _host_probes(pod, c)
        proc = sc.get("procMount")
        if _set(proc) and proc != "Default":
            yield _finding(PROC_MOUNT, pod, f"{_where(c)} sets securityContext.procMount: {_show(proc)} (allowed: "
                           "Default)", pod.container_line(c, "securityContext", "procMount"),
                           target=pod.container_target(c), evidence=f"procMount: {proc}")
    yield from _host_path(pod)
    yield from _apparmor(pod)
    yield from _selinux(pod)
    yield from _seccomp_baseline(pod)
    yield from _sysctls(pod)


def _host_process(pod: PodView) -> Iterator[CheckFinding]:
    value = dig(pod.security_context, "windowsOptions", "hostProcess")
    if _bool_true(value):
        yield _finding(HOST_PROCESS, pod, "pod sets securityContext.windowsOptions.hostProcess: true",
                       pod.line("securityContext", "windowsOptions", "hostProcess"), evidence="hostProcess: true")
    for c in pod.containers:
        value = dig(c.security_context, "windowsOptions", "hostProcess")
        if _bool_true(value):
            yield _finding(HOST_PROCESS, pod, f"{_where(c)} sets securityContext.windowsOptions.hostProcess: true",
                           pod.container_line(c, "securityContext", "windowsOptions", "hostProcess"),
                           target=pod.container_target(c), evidence="hostProcess: true")


def _host_namespaces(pod: PodView) -> Iterator[CheckFinding]:
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        value = pod.spec.get(key)
        if _bool_true(value):
            yield _finding(HOST_NAMESPACES, pod, f"pod sets spec.{key}: {_show(value)}", pod.line(key),
                           evidence=f"{key}: {value}")


def _baseline_caps(pod: PodView, c: ContainerRef) -> Iterator[CheckFinding]:
    for i, cap in enumerate(as_list(dig(c.security_context, "capabilities", "add"))):
        if cap not in BASELINE_CAPABILITIES:
            yield _finding(BASELINE_CAPS, pod, f"{_where(c)} adds capability {_show(cap)}, outside the baseline set",
                           pod.container_line(c, "securityContext", "capabilities", "add", i),
                           target=pod.container_target(c), evidence=f"add: {cap}")


def _host_ports(pod: PodView, c: ContainerRef) -> Iterator[CheckFinding]:
    for i, port in enumerate(as_list(c.body.get("ports"))):
        host_port = as_map(port).get("hostPort")
        if _set(host_port) and host_port != 0:
            yield _finding(HOST_PORTS, pod, f"{_where(c)} binds hostPort {_show(host_port)}",
                           pod.container_line(c, "ports", i, "hostPort"), target=pod.container_target(c),
                           evidence=f"hostPort: {host_port}")


_PROBE_HANDLERS: tuple[tuple[str, ...], ...] = (
    ("livenessProbe",), ("readinessProbe",), ("startupProbe",), ("lifecycle", "postStart"),
    ("lifecycle", "preStop"),
)


def _host_probes(pod: PodView, c: ContainerRef) -> Iterator[CheckFinding]:
    for handler in _PROBE_HANDLERS:
        for action in ("httpGet", "tcpSocket"):
            host = dig(c.body, *handler, action, "host")
            if _set(host) and host != "":
                where = ".".join((*handler, action, "host"))
                yield _finding(HOST_PROBES, pod, f"{_where(c)} sets {where}: {_show(host)}",
                               pod.container_line(c, *handler, action, "host"), target=pod.container_target(c),
                               evidence=f"host: {host}")


def _host_path(pod: PodView) -> Iterator[CheckFinding]:
    for i, vol in enumerate(as_list(pod.spec.get("volumes"))):
        vol = as_map(vol)
        if _set(vol.get("hostPath")):
            path = dig(vol, "hostPath", "path")
            yield _finding(HOST_PATH, pod, f"volume {_show(vol.get('name'))} mounts hostPath {_show(path)}",
                           pod.line("volumes", i, "hostPath"), evidence=f"hostPath: {path}")


def _apparmor(pod: PodView) -> Iterator[CheckFinding]:
    kind = dig(pod.security_context, "appArmorProfile", "type")
    if _set(kind) and kind not in APPARMOR_OK:
        yield _finding(APPARMOR, pod, f"pod sets appArmorProfile.type: {_show(kind)}",
                       pod.line("securityContext", "appArmorProfile", "type"), evidence=f"type: {kind}")
    for c in pod.containers:
        kind = dig(c.security_context, "appArmorProfile", "type")
        if _set(kind) and kind not in APPARMOR_OK:
            yield _finding(APPARMOR, pod, f"{_where(c)} sets appArmorProfile.type: {_show(kind)}",
                           pod.container_line(c, "securityContext", "appArmorProfile", "type"),
                           target=pod.container_target(c), evidence=f"type: {kind}")
    for key, value in as_map(pod.metadata.get("annotations")).items():
        if not key.startswith(APPARMOR_ANNOTATION):
            continue
        if value == "runtime/default" or (isinstance(value, str) and value.startswith("localhost/")):
            continue
        container = key[len(APPARMOR_ANNOTATION):]
        yield _finding(APPARMOR, pod, f"annotation sets the AppArmor profile of container {_show(container)} to "
                       f"{_show(value)}", pod.obj.line_of(*pod.metadata_path, "annotations", key),
                       target=f"{pod.target} container {container}", evidence=f"{key}: {value}")


def _selinux(pod: PodView) -> Iterator[CheckFinding]:
    scopes: list[tuple[ContainerRef | None, Any]] = [(None, pod.security_context.get("seLinuxOptions"))]
    scopes += [(c, c.security_context.get("seLinuxOptions")) for c in pod.containers]
    for c, opts in scopes:
        opts = as_map(opts)
        for key in ("type", "user", "role"):
            value = opts.get(key)
            if not _set(value):
                continue
            bad = value not in SELINUX_TYPES if key == "type" else value != ""
            if bad:
                line = (pod.line("securityContext", "seLinuxOptions", key) if c is None
                        else pod.container_line(c, "securityContext", "seLinuxOptions", key))
                yield _finding(SELINUX, pod, f"{_where(c)} sets seLinuxOptions.{key}: {_show(value)}", line,
                               target=pod.container_target(c) if c else "", evidence=f"{key}: {value}")


def _seccomp_baseline(pod: PodView) -> Iterator[CheckFinding]:
    kind = dig(pod.security_context, "seccompProfile", "type")
    if _set(kind) and kind not in SECCOMP_OK:
        yield _finding(SECCOMP_BASELINE, pod, f"pod sets seccompProfile.type: {_show(kind)}",
                       pod.line("securityContext", "seccompProfile", "type"), evidence=f"type: {kind}")
    for c in pod.containers:
        kind = dig(c.security_context, "seccompProfile", "type")
        if _set(kind) and kind not in SECCOMP_OK:
            yield _finding(SECCOMP_BASELINE, pod, f"{_where(c)} sets seccompProfile.type: {_show(kind)}",
                           pod.container_line(c, "securityContext", "seccompProfile", "type"),
                           target=pod.container_target(c), evidence=f"type: {kind}")


def _sysctls(pod: PodView) -> Iterator[CheckFinding]:
    for i, entry in enumerate(as_list(pod.security_context.get("sysctls"))):
        name = as_map(entry).get("name")
        if name not in SAFE_SYSCTLS:
            yield _finding(SYSCTLS, pod, f"pod sets sysctl {_show(name)}, outside the safe set",
                           pod.line("securityContext", "sysctls", i), evidence=f"name: {name}")


# --- restricted -------------------------------------------------------------------------------------------


def _restricted(pod: PodView) -> Iterator[CheckFinding]:
    yield from _volume_types(pod)
    yield from _run_as_non_root(pod)
    yield from _run_as_user(pod)
    if pod.is_windows:
        return
    for c in pod.containers:
        ape = c.security_context.get("allowPrivilegeEscalation")
        if ape is not False:
            state = "does not set" if not _set(ape) else f"sets {_show(ape)} for"
            yield _finding(PRIVILEGE_ESCALATION, pod, f"{_where(c)} {state} securityContext."
                           "allowPrivilegeEscalation (must be false)",
                           pod.container_line(c, "securityContext", "allowPrivilegeEscalation"),
                           target=pod.container_target(c))
        yield from _restricted_caps(pod, c)
    yield from _seccomp_restricted(pod)


def _volume_types(pod: PodView) -> Iterator[CheckFinding]:
    for i, vol in enumerate(as_list(pod.spec.get("volumes"))):
        vol = as_map(vol)
        for key, value in vol.items():
            if key == "name" or not _set(value) or key in RESTRICTED_VOLUME_SOURCES:
                continue
            yield _finding(VOLUME_TYPES, pod, f"volume {_show(vol.get('name'))} uses volume type {_show(key)}",
                           pod.line("volumes", i, key), evidence=f"{key}:")


def _run_as_non_root(pod: PodView) -> Iterator[CheckFinding]:
    pod_value = pod.security_context.get("runAsNonRoot")
    if _set(pod_value) and pod_value is not True:
        yield _finding(RUN_AS_NON_ROOT, pod, f"pod sets securityContext.runAsNonRoot: {_show(pod_value)}",
                       pod.line("securityContext", "runAsNonRoot"), evidence=f"runAsNonRoot: {pod_value}")
    for c in pod.containers:
        value = c.security_context.get("runAsNonRoot")
        if _set(value):
            if value is not True:
                yield _finding(RUN_AS_NON_ROOT, pod, f"{_where(c)} sets securityContext.runAsNonRoot: {_show(value)}",
                               pod.container_line(c, "securityContext", "runAsNonRoot"),
                               target=pod.container_target(c), evidence=f"runAsNonRoot: {value}")
        elif not _set(pod_value):
            yield _finding(RUN_AS_NON_ROOT, pod, f"neither the pod nor {_where(c)} sets "
                           "securityContext.runAsNonRoot: true", pod.container_line(c, "securityContext"),
                           target=pod.container_target(c))


def _run_as_user(pod: PodView) -> Iterator[CheckFinding]:
    if _is_zero(pod.security_context.get("runAsUser")):
        yield _finding(RUN_AS_USER_ROOT, pod, "pod sets securityContext.runAsUser: 0",
                       pod.line("securityContext", "runAsUser"), evidence="runAsUser: 0")
    for c in pod.containers:
        if _is_zero(c.security_context.get("runAsUser")):
            yield _finding(RUN_AS_USER_ROOT, pod, f"{_where(c)} sets securityContext.runAsUser: 0",
                           pod.container_line(c, "securityContext", "runAsUser"), target=pod.container_target(c),
                           evidence="runAsUser: 0")


def _is_zero(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value == 0


def _restricted_caps(pod: PodView, c: ContainerRef) -> Iterator[CheckFinding]:
    caps = as_map(c.security_context.get("capabilities"))
    if "ALL" not in as_list(caps.get("drop")):
        yield _finding(CAPS_RESTRICTED, pod, f"{_where(c)} does not drop ALL capabilities",
                       pod.container_line(c, "securityContext", "capabilities", "drop"),
                       target=pod.container_target(c))
    for i, cap in enumerate(as_list(caps.get("add"))):
        if cap not in RESTRICTED_ADD_CAPABILITIES:
            yield _finding(CAPS_RESTRICTED, pod, f"{_where(c)} adds capability {_show(cap)} (only NET_BIND_SERVICE "
                           "is allowed)", pod.container_line(c, "securityContext", "capabilities", "add", i),
                           target=pod.container_target(c), evidence=f"add: {cap}")


def _seccomp_restricted(pod: PodView) -> Iterator[CheckFinding]:
    pod_kind = dig(pod.security_context, "seccompProfile", "type")
    if _set(pod_kind) and pod_kind not in SECCOMP_OK:
        yield _finding(SECCOMP_RESTRICTED, pod, f"pod sets seccompProfile.type: {_show(pod_kind)} (must be "
                       "RuntimeDefault or Localhost)", pod.line("securityContext", "seccompProfile", "type"),
                       evidence=f"type: {pod_kind}")
    for c in pod.containers:
        kind = dig(c.security_context, "seccompProfile", "type")
        if _set(kind):
            if kind not in SECCOMP_OK:
                yield _finding(SECCOMP_RESTRICTED, pod, f"{_where(c)} sets seccompProfile.type: {_show(kind)} (must be "
                               "RuntimeDefault or Localhost)",
                               pod.container_line(c, "securityContext", "seccompProfile", "type"),
                               target=pod.container_target(c), evidence=f"type: {kind}")
        elif not _set(pod_kind):
            yield _finding(SECCOMP_RESTRICTED, pod, f"neither the pod nor {_where(c)} sets a seccompProfile",
                           pod.container_line(c, "securityContext"), target=pod.container_target(c))
