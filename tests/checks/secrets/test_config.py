"""ConfigSecretsCheck on ImageTargets built from plain data, and findings_from_matches."""

from __future__ import annotations

from typing import Any

from tests.checks.secrets.fakes import rand
from tidegate.checks.base import HistoryStep, ImageTarget
from tidegate.checks.secrets import ConfigSecretsCheck, SecretScanner, findings_from_matches
from tidegate.checks.secrets.config import parse_build_args, parse_env_step
from tidegate.model.location import Location
from tidegate.model.sbom import ImageInfo, LayerInfo

GHP = "ghp_" + rand(36, 40)
PASSWORD = "FAKE-" + rand(12, 41)


def _target(config: dict[str, Any], steps: list[str]) -> ImageTarget:
    layers = (LayerInfo(0, "sha256:" + "0" * 64, None, "application/vnd.oci.image.layer.v1.tar", 10, "RUN x"),)
    info = ImageInfo(reference="oci-archive:x.tar", transport="oci-archive", name=None, tag=None,
                     manifest_digest=None, index_digest=None, config_digest="sha256:" + "1" * 64,
                     manifest_media_type="", os="linux", architecture="amd64", variant=None, layers=layers)
    history = tuple(HistoryStep(i, s, empty_layer=True, layer_index=None) for i, s in enumerate(steps))
    return ImageTarget(image=info, config=config, history=history)


def test_env_labels_and_history() -> None:
    target = _target(
        {"Env": ["PATH=/usr/bin", f"DB_PASSWORD={PASSWORD}", "POSTGRES_PASSWORD_FILE=/run/secrets/pg",
                 "API_TOKEN=${TOKEN}", "TOKEN_TTL=3600"],
         "Labels": {"maintainer": "a@b.invalid", "ci.token": GHP}},
        ["/bin/sh -c #(nop) ADD file:abc in /",
         f"RUN |1 GITHUB_TOKEN={GHP} /bin/sh -c make",
         "RUN |2 NPM_PASS=hunter42x VERSION=1 /bin/sh -c npm ci",
         f"ENV DB_PASSWORD={PASSWORD}",
         "RUN |2 NPM_PASS=hunter42x VERSION=1 /bin/sh -c npm test"])
    got = [(f.rule_id, f.target) for f in ConfigSecretsCheck().evaluate(target)]
    assert got == [("TG-SEC-024", "image config Env"),
                   ("TG-SEC-003", "image config Labels"),
                   ("TG-SEC-025", "history step 2")]
    for f in ConfigSecretsCheck().evaluate(target):
        for field in (f.message, f.evidence, repr(f)):
            assert PASSWORD not in field and GHP[4:] not in field and "hunter42x" not in field
        assert f.category == "secret" and f.location is None


def test_build_arg_token_is_reported_in_history_when_not_elsewhere() -> None:
    steps = [f"RUN |1 GITHUB_TOKEN={GHP} /bin/sh -c make", f"RUN |1 GITHUB_TOKEN={GHP} /bin/sh -c make test"]
    target = _target({"Env": ["A=1"]}, steps)
    [f] = ConfigSecretsCheck().evaluate(target)
    assert (f.rule_id, f.target) == ("TG-SEC-003", "history step 0")
    assert f.evidence.startswith("GITHUB_TOKEN=ghp_****")


def test_env_value_with_a_known_token_uses_the_specific_rule() -> None:
    [f] = ConfigSecretsCheck().evaluate(_target({"Env": [f"MY_VAR={GHP}"]}, []))
    assert f.rule_id == "TG-SEC-003"


def test_clean_image_and_other_targets() -> None:
    assert list(ConfigSecretsCheck().evaluate(_target({"Env": ["PATH=/bin", "LANG=C.UTF-8"]}, ["RUN make"]))) == []
    assert list(ConfigSecretsCheck().evaluate(object())) == []


def test_parse_history_steps() -> None:
    assert parse_build_args("RUN |2 A=1 B='x y' /bin/sh -c true") == ["A=1", "B=x y"]
    assert parse_build_args("|1 T=abc /bin/sh -c true") == ["T=abc"]
    assert parse_build_args("RUN /bin/sh -c true") == []
    assert parse_env_step("ENV A=1 B=2") == ["A=1", "B=2"]
    assert parse_env_step("/bin/sh -c #(nop)  ENV PASSWORD secret value") == ["PASSWORD=secret value"]


def test_findings_from_matches() -> None:
    where = Location("/app/settings.py", 4, "sha256:" + "2" * 64, "COPY app/ /app/", visible=False)
    matches = SecretScanner().scan_bytes(where.path, f'\nGITHUB_TOKEN = "{GHP}"\n'.encode())
    [f] = findings_from_matches(matches, where)
    assert (f.rule_id, f.location, f.severity.value) == ("TG-SEC-003", where, "CRITICAL")
    assert "line 2" in f.message and GHP[4:] not in f.message + f.evidence
    assert f.evidence == 'GITHUB_TOKEN = "ghp_' + "*" * 36 + '"'
