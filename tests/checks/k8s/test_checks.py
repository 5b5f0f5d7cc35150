"""Exact findings (rule, line, target) for small manifests whose answers follow from the PSS text."""

from __future__ import annotations

from tidegate.checks.k8s.loader import load_objects
from tidegate.checks.k8s.pod_security import PodSecurityBaselineCheck, PodSecurityRestrictedCheck
from tidegate.checks.k8s.workload import NetworkPolicyCheck, WorkloadCheck, image_tag, is_digest_pinned

POD = """\
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns}
spec:
  securityContext:
    runAsNonRoot: false
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: a
      image: x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: Unconfined}
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL], add: [NET_BIND_SERVICE, SYS_PTRACE]}
    - name: b
      image: x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
"""


def _rows(check: object, text: str) -> list[tuple[str, int, str]]:
    objs = load_objects(text, "p.yaml")
    return sorted((f.rule_id, f.source.line if f.source else 0, f.target)
                  for f in check.evaluate(objs))  # type: ignore[attr-defined]


def test_restricted_inheritance_and_per_field_judgement() -> None:
    assert _rows(PodSecurityRestrictedCheck(), POD) == [
        # pod-level runAsNonRoot: false is reported where written; container b inherits it (covered there),
        # container a overrides it with true
        ("TG-K8S-015", 6, "Pod ns/p"),
        # container a overrides the pod's good seccomp with Unconfined; b inherits RuntimeDefault
        ("TG-K8S-017", 13, "Pod ns/p container a"),
        # only NET_BIND_SERVICE may be added back
        ("TG-K8S-018", 15, "Pod ns/p container a"),
    ]


def test_baseline_on_the_same_pod() -> None:
    assert _rows(PodSecurityBaselineCheck(), POD) == [
        ("TG-K8S-004", 15, "Pod ns/p container a"),
        ("TG-K8S-011", 13, "Pod ns/p container a"),
    ]


def test_unset_everywhere_is_reported_per_container_at_its_line() -> None:
    text = ("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec:\n  template:\n    spec:\n"
            "      containers:\n        - name: a\n          image: x:1\n")
    rows = _rows(PodSecurityRestrictedCheck(), text)
    assert rows == [(rid, 8, "StatefulSet default/s container a")
                    for rid in ("TG-K8S-014", "TG-K8S-015", "TG-K8S-017", "TG-K8S-018")]


def test_workload_lines_and_network_policy_once_per_namespace() -> None:
    text = ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: jobs}\nspec:\n  jobTemplate:\n"
            "    spec:\n      template:\n        spec:\n          containers:\n            - name: a\n"
            "              image: repo/app:latest\n              envFrom: [{secretRef: {name: s}}]\n"
            "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: jobs}\nspec: {containers: []}\n")
    assert _rows(WorkloadCheck(), text) == [
        ("TG-K8S-019", 11, "CronJob jobs/c container a"),
        ("TG-K8S-020", 11, "CronJob jobs/c container a"),
        ("TG-K8S-021", 12, "CronJob jobs/c container a"),
        ("TG-K8S-022", 10, "CronJob jobs/c container a"),
        ("TG-K8S-023", 10, "CronJob jobs/c container a"),
    ]
    assert _rows(NetworkPolicyCheck(), text) == [("TG-K8S-024", 1, "Namespace jobs")]


def test_image_reference_parsing() -> None:
    assert image_tag("nginx") is None
    assert image_tag("registry:5000/nginx") is None
    assert image_tag("registry:5000/nginx:1.2") == "1.2"
    assert image_tag("nginx:latest@sha256:" + "a" * 64) == "latest"
    assert is_digest_pinned("nginx@sha256:" + "a" * 64)
    assert not is_digest_pinned("nginx@sha256:abc")
    assert not is_digest_pinned("nginx:1.2")


def test_checks_ignore_other_targets() -> None:
    for check in (PodSecurityBaselineCheck(), PodSecurityRestrictedCheck(), WorkloadCheck(), NetworkPolicyCheck()):
        assert list(check.evaluate("not objects")) == []
        assert list(check.evaluate([])) == []
