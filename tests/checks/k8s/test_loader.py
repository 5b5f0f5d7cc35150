"""The manifest loader: line numbers, multi-document files, Lists, Helm output, invalid YAML and hostile input."""

from __future__ import annotations

import pytest

from tidegate.checks.k8s import loader
from tidegate.checks.k8s.loader import K8sObject, ManifestFileError, is_k8s_yaml, load_objects
from tidegate.errors import TidegateError

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx:1.27
          ports:
            - containerPort: 80
"""


def test_line_of_fields_and_closest_parent() -> None:
    (obj,) = load_objects(DEPLOY, "d.yaml")
    assert (obj.api_version, obj.kind, obj.name, obj.namespace) == ("apps/v1", "Deployment", "web", "prod")
    assert obj.display == "Deployment prod/web" and obj.path == "d.yaml" and obj.doc_index == 0
    assert obj.line == 1
    assert obj.line_of("metadata", "namespace") == 5
    assert obj.line_of("spec", "template", "spec", "containers", 0) == 10
    assert obj.line_of("spec", "template", "spec", "containers", 0, "image") == 11
    assert obj.line_of("spec", "template", "spec", "containers", 0, "ports", 0, "containerPort") == 13
    # missing fields fall back to the closest parent that exists
    assert obj.line_of("spec", "template", "spec", "containers", 0, "securityContext", "privileged") == 10
    assert obj.line_of("nope") == 1
    assert obj.body["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] == 80


def test_multi_document_empty_and_comment_only_documents_and_non_k8s_skipped() -> None:
    text = ("---\n# just a comment\n---\n---\nreplicaCount: 3\n---\n" + DEPLOY + "---\n"
            "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n---\n- a list\n---\nplain scalar\n")
    objs = load_objects(text, "m.yaml")
    assert [(o.kind, o.doc_index) for o in objs] == [("Deployment", 3), ("Service", 4)]
    assert objs[0].line == 7 and objs[0].line_of("spec", "template", "spec", "containers", 0, "image") == 17
    assert objs[1].namespace == "" and objs[1].effective_namespace == "default" and objs[1].line == 21


def test_kind_list_items_keep_their_own_lines() -> None:
    text = ("apiVersion: v1\nkind: List\nitems:\n"
            "  - apiVersion: v1\n    kind: Pod\n    metadata: {name: a}\n    spec:\n"
            "      containers: [{name: c, image: x}]\n"
            "  - not an object\n"
            "  - apiVersion: v1\n    kind: ConfigMap\n    metadata: {generateName: cfg-}\n")
    objs = load_objects(text, "l.yaml")
    assert [(o.kind, o.name, o.item_index) for o in objs] == [("Pod", "a", 0), ("ConfigMap", "cfg-*", 2)]
    assert objs[0].line == 4 and objs[0].line_of("spec", "containers", 0) == 8
    assert objs[1].line == 10 and objs[1].line_of("metadata") == 12
    other = load_objects("apiVersion: v1\nkind: PodList\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n",
                         "p.yaml")
    assert [o.name for o in other] == ["p"]


def test_helm_source_comments() -> None:
    text = ("---\n# Source: web/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: a}\n"
            "---\n# Source: web/templates/empty.yaml\n---\n# Source: web/templates/svc.yaml\n"
            "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n---\napiVersion: v1\nkind: Secret\n"
            "metadata: {name: c}\n")
    assert [(o.name, o.helm_source) for o in load_objects(text, "h.yaml")] == [
        ("a", "web/templates/sa.yaml"), ("b", "web/templates/svc.yaml"), ("c", "")]


def test_merge_keys_and_yaml_11_scalars() -> None:
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: x\n  labels: {a: b}\n"
            "data:\n  <<: *m\n  name: own\n  mode: 0755\n  flag: yes\n  when: 2024-01-02\n")
    (obj,) = load_objects(text, "x.yaml")
    assert obj.body["data"] == {"name": "own", "labels": {"a": "b"}, "mode": 0o755, "flag": True,
                                "when": "2024-01-02"}
    assert obj.line_of("data", "labels") == 5 and obj.line_of("data", "name") == 8


@pytest.mark.parametrize(("text", "where", "phrase"), [
    # the position is where the parser noticed the problem (the ':' of the next key), as yamllint reports it
    ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: [a, b\nspec: {}\n", "5:5", "flow sequence"),
    ("apiVersion: v1\nkind: Pod\n  bad: indent\n", "3:", "invalid YAML"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nmetadata: {name: b}\n", "4:1", "duplicate mapping key"),
    ("apiVersion: v1\nkind: Pod\nspec: *nowhere\n", "3:", "undefined alias"),
    ("apiVersion: v1\nkind: Pod\nx: \x07\n", "3:4", "invalid YAML"),
    ("a: &a [*a]\n", "1:", "recursive YAML alias"),
])
def test_invalid_yaml_is_one_line_with_its_position(text: str, where: str, phrase: str) -> None:
    with pytest.raises(ManifestFileError) as info:
        load_objects(text, "bad.yaml")
    message = str(info.value)
    assert message.startswith(f"bad.yaml:{where}") and phrase in message and "\n" not in message
    assert isinstance(info.value, TidegateError) and info.value.exit_code == 2


def test_invalid_document_after_good_ones_still_fails_the_file() -> None:
    text = "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nkey: value: other\n"
    with pytest.raises(ManifestFileError, match=r"^f\.yaml:5:11: invalid YAML: mapping values are not allowed here"):
        load_objects(text, "f.yaml")


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ["apiVersion: v1", "kind: ConfigMap", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    with pytest.raises(ManifestFileError, match="alias bomb"):
        load_objects("\n".join(lines) + "\n", "bomb.yaml")


def test_alias_count_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_ALIASES", 5)
    text = "apiVersion: v1\nkind: X\nbase: &b 1\nl: [" + ", ".join(["*b"] * 6) + "]\n"
    with pytest.raises(ManifestFileError, match="aliases"):
        load_objects(text, "a.yaml")


def test_node_and_depth_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ManifestFileError, match="nested deeper"):
        load_objects("a: " + "[" * 500 + "]" * 500 + "\n", "deep.yaml")
    monkeypatch.setattr(loader, "MAX_NODES", 50)
    with pytest.raises(ManifestFileError, match="nodes"):
        load_objects("l: [" + ", ".join(["x"] * 100) + "]\n", "wide.yaml")


def test_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "MAX_BYTES", 100)
    with pytest.raises(ManifestFileError, match="larger than 100 bytes"):
        load_objects("a: " + "x" * 200 + "\n", "big.yaml")


@pytest.mark.parametrize(("path", "text", "expected"), [
    ("d.yaml", DEPLOY, True),
    ("D.YML", DEPLOY, True),
    ("d.json", DEPLOY, False),
    ("values.yaml", "replicaCount: 1\nimage: {repository: nginx}\n", False),
    ("list.yaml", "items:\n- apiVersion: v1\n  kind: Pod\n", True),
    ("ci.yaml", "kind: pipeline\nsteps: []\n", False),
])
def test_is_k8s_yaml(path: str, text: str, expected: bool) -> None:
    assert is_k8s_yaml(path, text) is expected


def test_objects_are_frozen() -> None:
    (obj,) = load_objects(DEPLOY, "d.yaml")
    assert isinstance(obj, K8sObject)
    with pytest.raises(AttributeError):
        obj.kind = "Pod"  # type: ignore[misc]
