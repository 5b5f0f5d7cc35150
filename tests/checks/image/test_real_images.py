"""Config and history checks on the real configs of ../shared/images, against what README/truth say was planted.

File-level checks on these images run in the scan pipeline's integration test (they need the merged files).
"""

from __future__ import annotations

from tidegate.checks.image.config import ImageConfigCheck
from tidegate.checks.image.history import ImageHistoryCheck
from tidegate.model.finding import CheckFinding, Severity

from .conftest import load_truth, real_target


def config_and_history(name: str) -> list[CheckFinding]:
    t = real_target(name)
    return [*ImageConfigCheck().evaluate(t), *ImageHistoryCheck().evaluate(t)]


def test_bookworm_app_reports_exactly_what_was_planted() -> None:
    truth = load_truth("bookworm-app")["images"][0]
    config = truth["config"]
    # What the truth file records (README: root user, no HEALTHCHECK, EXPOSE 22/tcp 8000/tcp, ADD https://…).
    assert not config.get("User") and config["healthcheck_present"] is False
    assert sorted(config["ExposedPorts"]) == ["22/tcp", "8000/tcp"]
    add_steps = [i for i, h in enumerate(truth["history"]) if h["created_by"].startswith("ADD ")
                 and "https://" in h["created_by"]]
    assert len(add_steps) == 1
    add = add_steps[0]
    add_layer = sum(1 for h in truth["history"][:add] if not h.get("empty_layer"))

    found = config_and_history("bookworm-app")
    got = sorted((x.rule_id, x.target, x.severity) for x in found)
    assert got == [
        ("TG-IMG-001", "image config", Severity.HIGH),
        ("TG-IMG-002", "image config", Severity.LOW),
        ("TG-IMG-005", f"history step {add}", Severity.MEDIUM),
        ("TG-IMG-009", "image config", Severity.MEDIUM),
    ]
    by_rule = {x.rule_id: x for x in found}
    assert by_rule["TG-IMG-009"].evidence == "ExposedPorts 22/tcp"
    loc = by_rule["TG-IMG-005"].location
    assert loc is not None
    assert (add, add_layer) == (6, 3)   # README: layer 3 is the Go binary, /usr/local/bin/shfmt
    assert loc.layer_index == add_layer and loc.path == "/usr/local/bin/shfmt"
    assert loc.diff_id == truth["layers"][add_layer]["diff_id"]
    assert loc.created_by == truth["history"][add]["created_by"]
    assert "https://github.com/mvdan/sh/releases/download/v3.13.0/shfmt_v3.13.0_linux_amd64" in \
        by_rule["TG-IMG-005"].message


def test_distroless_py_has_no_config_or_history_findings() -> None:
    config = load_truth("distroless-py")["images"][0]["config"]
    assert config["User"] == "65532:65532" and config["healthcheck_present"] is True
    assert config_and_history("distroless-py") == []


def test_bookworm_patched_only_upgrades() -> None:
    # USER 1000:1000 and a HEALTHCHECK; its apt step runs `apt-get upgrade -y` (a whole-system upgrade).
    truth = load_truth("bookworm-patched")["images"][0]
    step = next(i for i, h in enumerate(truth["history"]) if "apt-get upgrade" in h["created_by"])
    found = config_and_history("bookworm-patched")
    assert [(x.rule_id, x.target) for x in found] == [("TG-IMG-007", f"history step {step}")]
    assert found[0].location is not None and found[0].location.layer_index == 1
