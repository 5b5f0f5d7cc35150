"""``tidegate lint`` and ``tidegate rules`` as a user's script runs them: exit codes, formats, directory walks,
inline ignores, the ignore file, and files that cannot be parsed (reported, the rest still checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema

ROOT = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = ROOT / "tests" / "report" / "schemas" / "sarif-schema-2.1.0.json"

BAD_DOCKERFILE = """FROM python:latest
ADD app.py /app/app.py
RUN apt-get update && apt-get install -y curl
EXPOSE 22
"""
GOOD_DOCKERFILE = """# syntax=docker/dockerfile:1
FROM python:3.12-slim@sha256:{digest} AS build
RUN pip install --no-cache-dir requests==2.32.3
FROM gcr.io/distroless/python3-debian12:nonroot@sha256:{digest}
COPY --from=build /usr/local/lib/python3.12/site-packages /app/site-packages
COPY app.py /app/app.py
USER 65532
HEALTHCHECK CMD ["python3", "/app/health.py"]
CMD ["/app/app.py"]
""".replace("{digest}", "a" * 64)


def tidegate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tidegate.cli.main", *args], capture_output=True, text=True,
                          check=False, cwd=cwd, timeout=300)


def lint_json(*args: str, cwd: Path | None = None) -> tuple[int, dict[str, object], str]:
    proc = tidegate("lint", *args, "-f", "json", cwd=cwd)
    return proc.returncode, json.loads(proc.stdout) if proc.stdout else {}, proc.stderr


def rule_ids(doc: dict[str, object]) -> set[str]:
    return {f["ruleID"] for f in doc["findings"] if not f["suppression"]}  # type: ignore[index, union-attr]


def test_bad_dockerfile_fails_good_one_passes(tmp_path: Path) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "Dockerfile").write_text(BAD_DOCKERFILE)
    (tmp_path / "good.Dockerfile").write_text(GOOD_DOCKERFILE)
    rc, doc, err = lint_json(str(tmp_path / "bad" / "Dockerfile"))
    assert rc == 1, err
    # Read off the file against docs/rules.md: :latest, no digest, ADD for a local file, apt without
    # --no-install-recommends / pinning / list cleanup, port 22, no USER, no HEALTHCHECK.
    assert {"TG-DF-001", "TG-DF-002", "TG-DF-003", "TG-DF-006", "TG-DF-010", "TG-DF-011", "TG-DF-013",
            "TG-DF-021", "TG-DF-022"} <= rule_ids(doc)
    lines = {f["ruleID"]: f["source"]["line"] for f in doc["findings"]}  # type: ignore[index, union-attr]
    assert lines["TG-DF-006"] == 2 and lines["TG-DF-021"] == 4
    rc, doc, err = lint_json(str(tmp_path / "good.Dockerfile"))
    assert rc == 0 and rule_ids(doc) == set(), (err, doc)


def test_directory_walk_inline_ignore_and_fail_on(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("# tidegate:ignore=TG-DF-021\nEXPOSE 22\n".join(
        BAD_DOCKERFILE.split("EXPOSE 22\n")))
    (tmp_path / "README.md").write_text("not linted\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "Dockerfile").write_text("garbage")  # hidden directories are skipped
    rc, doc, _ = lint_json(".", cwd=tmp_path)
    assert doc["files"] == ["Dockerfile"]
    assert "TG-DF-021" not in rule_ids(doc)
    suppressed = [f for f in doc["findings"] if f["suppression"]]  # type: ignore[union-attr]
    assert [f["ruleID"] for f in suppressed] == ["TG-DF-021"]  # type: ignore[index]
    assert suppressed[0]["suppression"]["kind"] == "inline"  # type: ignore[index]
    assert rc == 1
    assert tidegate("lint", ".", "--fail-on", "critical", cwd=tmp_path).returncode == 0
    assert tidegate("lint", ".", "--fail-on", "none", cwd=tmp_path).returncode == 0


def test_skip_rules_config_file_and_ignore_file(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(BAD_DOCKERFILE)
    _, full, _ = lint_json("Dockerfile", cwd=tmp_path)
    _, skipped, _ = lint_json("Dockerfile", "--skip-rules", "TG-DF-022,tg-df-003", cwd=tmp_path)
    assert rule_ids(full) - rule_ids(skipped) == {"TG-DF-022", "TG-DF-003"}
    (tmp_path / "tidegate.yaml").write_text("rules:\n  disable: [TG-DF-021]\n")
    _, configured, _ = lint_json("Dockerfile", cwd=tmp_path)
    assert rule_ids(full) - rule_ids(configured) == {"TG-DF-021"}
    (tmp_path / ".tidegateignore").write_text("TG-DF-002  # base image tag chosen by the platform team\n")
    _, ignored, _ = lint_json("Dockerfile", cwd=tmp_path)
    assert rule_ids(configured) - rule_ids(ignored) == {"TG-DF-002"}


def test_sarif_is_schema_valid_with_lines(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(BAD_DOCKERFILE)
    proc = tidegate("lint", "Dockerfile", "-f", "sarif", cwd=tmp_path)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    jsonschema.Draft7Validator(json.loads(SARIF_SCHEMA.read_text())).validate(doc)
    results = doc["runs"][0]["results"]
    rules = doc["runs"][0]["tool"]["driver"]["rules"]
    assert results and all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)
    add = next(r for r in results if r["ruleId"] == "TG-DF-006")
    assert add["locations"][0]["physicalLocation"] == {"artifactLocation": {"uri": "Dockerfile"},
                                                       "region": {"startLine": 2, "endLine": 2}}


def test_unparsable_file_is_reported_and_the_rest_still_checked(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(BAD_DOCKERFILE)
    (tmp_path / "broken.Dockerfile").write_text("RUN echo before any FROM\n")
    rc, doc, err = lint_json(".", cwd=tmp_path)
    assert rc == 2
    assert rule_ids(doc), "the good file's findings are not lost"
    assert any("broken.Dockerfile" in e for e in doc["errors"])  # type: ignore[union-attr]
    assert err.startswith("tidegate: error:") and "broken.Dockerfile:1" in err and "Traceback" not in err


def test_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    for args, phrase in ((["missing"], "no such file"), (["notes.txt"], "neither a Dockerfile"),
                         (["notes.txt", "-f", "pdf"], "format"), ([".", "--fail-on", "sometimes"], "--fail-on"),
                         ([".", "--skip-rules", "TG-XX-1"], "unknown rule id")):
        proc = tidegate("lint", *args, cwd=tmp_path)
        assert proc.returncode == 2, args
        assert proc.stderr.startswith("tidegate: error:") and phrase in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_rules_markdown_is_the_committed_doc() -> None:
    proc = tidegate("rules", "--markdown")
    assert proc.returncode == 0
    assert proc.stdout == (ROOT / "docs" / "rules.md").read_text(), "regenerate: tidegate rules --markdown"
    listing = tidegate("rules").stdout
    assert "TG-SEC-001" in listing and "TG-IMG-001" in listing and "TG-DF-001" in listing


BAD_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      hostNetwork: true
      containers:
        - name: app
          image: shop/web:latest
          securityContext:
            privileged: true
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: {name: db, key: password}
"""


def test_kubernetes_manifest_and_invalid_yaml(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(BAD_DEPLOYMENT)
    rc, doc, err = lint_json("deploy.yaml", cwd=tmp_path)
    assert rc == 1, err
    found = {f["ruleID"]: f for f in doc["findings"]}  # type: ignore[index, union-attr]
    # Read off the manifest against the Pod Security Standards and docs/rules.md.
    assert {"TG-K8S-002", "TG-K8S-003", "TG-K8S-019", "TG-K8S-020", "TG-K8S-021", "TG-K8S-024"} <= set(found)
    assert found["TG-K8S-002"]["source"]["line"] == 9  # type: ignore[index]
    assert found["TG-K8S-003"]["source"]["line"] == 14  # type: ignore[index]
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: x\n")
    rc, doc, err = lint_json(".", cwd=tmp_path)
    assert rc == 2 and "broken.yaml:" in err and "Traceback" not in err
    assert "TG-K8S-003" in rule_ids(doc), "the valid manifest is still checked"


def test_nothing_to_lint_is_an_error_and_errors_never_pass(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = tidegate("lint", "empty", cwd=tmp_path)
    assert proc.returncode == 2 and "no Dockerfile or Kubernetes YAML found" in proc.stderr
    (tmp_path / "broken.Dockerfile").write_text("RUN echo before any FROM\n")
    proc = tidegate("lint", "broken.Dockerfile", cwd=tmp_path)
    assert proc.returncode == 2 and "PASS" not in proc.stdout and "could not be checked" in proc.stdout
    rc, doc, _ = lint_json("broken.Dockerfile", cwd=tmp_path)
    assert rc == 2 and doc["verdict"]["failed"] is True  # type: ignore[index]
