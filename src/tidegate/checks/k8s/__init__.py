"""Kubernetes manifest checks: a line-faithful YAML loader, the Pod Security Standards and workload hygiene.

    from tidegate.checks.k8s.loader import load_objects
    from tidegate.checks.k8s.pod_security import PodSecurityCheck
    findings = list(PodSecurityCheck().evaluate(load_objects(text, "deploy.yaml")))
"""
