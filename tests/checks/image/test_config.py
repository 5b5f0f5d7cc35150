"""ImageConfigCheck: user, HEALTHCHECK, ports, base label and scanned tag; good, bad and near-miss rows."""

from __future__ import annotations

from typing import Any

import pytest

from tidegate.checks.image.config import ImageConfigCheck, is_root_user, split_reference
from tidegate.model.finding import Severity

from .conftest import ids, image_info, image_target

C = ImageConfigCheck()
GOOD: dict[str, Any] = {"User": "10001:10001", "Healthcheck": {"Test": ["CMD", "/healthz"]}}
"""A config that passes every config rule."""


def run(config: dict[str, Any], **kw: Any) -> list[Any]:
    return list(C.evaluate(image_target(config=config, **kw)))


def test_good_config_has_no_findings() -> None:
    assert run(GOOD) == []


@pytest.mark.parametrize(("user", "root"), [
    ("", True),            # no USER: Docker's default is root
    ("root", True),
    ("0", True),
    ("0:0", True),
    ("root:root", True),
    ("root:0", True),
    ("0:1000", True),      # uid 0 with another group is still root
    (" root ", True),
    ("000", True),
    ("nobody", False),     # near miss: a name, not root
    ("1000", False),
    ("65532:65532", False),
    ("1000:0", False),     # gid 0 only: the process is uid 1000
    ("app", False),        # a name: its uid is in /etc/passwd, not read here (documented limit)
    ("rootless", False),
])
def test_root_user(user: str, root: bool) -> None:
    assert is_root_user(user) is root
    found = [x for x in run({**GOOD, "User": user}) if x.rule_id == "TG-IMG-001"]
    assert len(found) == int(root)
    if root:
        assert found[0].severity is Severity.HIGH and found[0].target == "image config"
        assert found[0].location is None and found[0].category == "misconfig"
        assert ("no USER" in found[0].message) is (user == "")


def test_user_missing_from_config_falls_back_to_image_info() -> None:
    no_user = {"Healthcheck": GOOD["Healthcheck"]}
    assert ids(run(no_user)) == ["TG-IMG-001"]
    assert ids(run(no_user, info=image_info(user="1000"))) == []
    assert ids(run(no_user, info=image_info(user="root"))) == ["TG-IMG-001"]
    # The config's own value wins over ImageInfo.user.
    assert ids(run({**no_user, "User": "1000"}, info=image_info(user="root"))) == []


@pytest.mark.parametrize(("healthcheck", "finding", "phrase"), [
    (None, True, "no HEALTHCHECK"),
    ({}, True, "no HEALTHCHECK"),
    ({"Test": []}, True, "no HEALTHCHECK"),
    ({"Test": ["NONE"]}, True, "Healthcheck is NONE"),   # HEALTHCHECK NONE counts as none
    ({"Test": ["none"]}, True, "Healthcheck is NONE"),
    ({"Test": ["CMD", "/usr/bin/python3.11", "/app/healthcheck.py"], "Interval": 30000000000}, False, ""),
    ({"Test": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]}, False, ""),
])
def test_healthcheck(healthcheck: dict[str, Any] | None, finding: bool, phrase: str) -> None:
    config = {"User": "1000"}
    if healthcheck is not None:
        config["Healthcheck"] = healthcheck
    found = run(config)
    assert ids(found) == (["TG-IMG-002"] if finding else [])
    if finding:
        assert phrase in found[0].message and found[0].severity is Severity.LOW


@pytest.mark.parametrize(("ports", "expected"), [
    ({"8080/tcp": {}}, []),
    ({"1024/tcp": {}}, []),
    ({"22/tcp": {}}, [("TG-IMG-009", "22/tcp")]),
    ({"22": {}}, [("TG-IMG-009", "22")]),                 # no protocol means tcp
    ({"22/udp": {}}, [("TG-IMG-010", "22/udp")]),         # not SSH, but privileged
    ({"80/tcp": {}}, [("TG-IMG-010", "80/tcp")]),
    ({"443/tcp": {}, "22/tcp": {}, "8000/tcp": {}}, [("TG-IMG-009", "22/tcp"), ("TG-IMG-010", "443/tcp")]),
    ({"junk": {}}, []),
])
def test_ports(ports: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    found = run({**GOOD, "ExposedPorts": ports})
    assert [(x.rule_id, x.evidence.removeprefix("ExposedPorts ")) for x in found] == expected
    for x in found:
        assert x.severity is (Severity.MEDIUM if x.rule_id == "TG-IMG-009" else Severity.LOW)


@pytest.mark.parametrize(("base", "severity", "phrase"), [
    ("docker.io/library/debian:latest", Severity.MEDIUM, "the :latest tag"),
    ("debian", Severity.MEDIUM, "no tag"),
    ("localhost:5000/debian", Severity.MEDIUM, "no tag"),       # the port's colon is not a tag
    ("docker.io/library/debian:12-slim", Severity.LOW, "by tag only"),
    ("localhost:5000/debian:12", Severity.LOW, "by tag only"),
    ("docker.io/library/debian:12@sha256:" + "ab" * 32, None, ""),
    ("docker.io/library/debian@sha256:" + "ab" * 32, None, ""),
])
def test_base_image_label(base: str, severity: Severity | None, phrase: str) -> None:
    found = run({**GOOD, "Labels": {"org.opencontainers.image.base.name": base}})
    assert ids(found) == (["TG-IMG-003"] if severity else [])
    if severity:
        assert found[0].severity is severity and phrase in found[0].message and base in found[0].evidence


def test_base_image_unknown_without_label() -> None:
    # Nothing records the FROM line: no finding rather than a guess, even with a base.digest alone.
    assert run({**GOOD, "Labels": {"org.opencontainers.image.base.digest": "sha256:" + "ab" * 32}}) == []
    # The label can also come from ImageInfo.labels.
    info = image_info(labels={"org.opencontainers.image.base.name": "alpine:latest"})
    assert ids(run(GOOD, info=info)) == ["TG-IMG-003"]


def test_split_reference() -> None:
    assert split_reference("localhost:5000/a/b:1.2@sha256:ff") == ("localhost:5000/a/b", "1.2", "sha256:ff")
    assert split_reference("busybox") == ("busybox", "", "")


@pytest.mark.parametrize(("reference", "tag", "finding"), [
    ("registry.example/app:latest", "latest", True),
    ("registry.example/app", "latest", True),        # no tag: the reference parser fills in latest
    ("registry.example/app:latest@sha256:" + "ab" * 32, "latest", False),
    ("registry.example/app:1.2", "1.2", False),
    ("oci-archive:x.tar", None, False),
])
def test_scanned_by_latest_tag(reference: str, tag: str | None, finding: bool) -> None:
    found = run(GOOD, info=image_info(reference=reference, tag=tag))
    assert ids(found) == (["TG-IMG-004"] if finding else [])


def test_rejects_other_targets() -> None:
    with pytest.raises(TypeError, match="ImageTarget"):
        list(C.evaluate(object()))
