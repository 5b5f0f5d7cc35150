"""ImageHistoryCheck and the created_by reader: builder forms from ../shared/images, ADD, upgrades, lone updates."""

from __future__ import annotations

import pytest

from tidegate.checks.base import HistoryStep
from tidegate.checks.image.commands import package_commands, parse_step, simple_commands
from tidegate.checks.image.history import ImageHistoryCheck
from tidegate.model.finding import CheckFinding, Severity

from .conftest import ids, image_target, location, steps

C = ImageHistoryCheck()
BASE = "/bin/sh -c #(nop) ADD file:744e4b6224e9d5568a929eb2c3ebb130fbc9605b8ec384408347f84ef721f035 in / "
"""Step 0 of bookworm-app: the base rootfs, as the classic builder writes it."""
SHFMT_URL = "https://github.com/mvdan/sh/releases/download/v3.13.0/shfmt_v3.13.0_linux_amd64"
"""The URL of bookworm-app's ADD step."""


def run(*entries: str | tuple[str, bool]) -> list[CheckFinding]:
    return list(C.evaluate(image_target(history=steps(BASE, *entries))))


# Real created_by strings (../shared/images configs) and the classic builder's forms.
@pytest.mark.parametrize(("created_by", "keyword", "flags", "args", "classic"), [
    (BASE, "ADD", (), "file:744e4b6224e9d5568a929eb2c3ebb130fbc9605b8ec384408347f84ef721f035 in /", True),
    ('/bin/sh -c #(nop)  CMD ["bash"]', "CMD", (), '["bash"]', True),
    ("/bin/sh -c apt-get update && apt-get install -y curl", "RUN", (), "apt-get update && apt-get install -y curl",
     True),
    ("|2 A=1 B=2 /bin/sh -c make install", "RUN", (), "make install", True),
    ("RUN /bin/sh -c rm -f /app/config/.env # buildkit", "RUN", (), "rm -f /app/config/.env", False),
    ("RUN |1 V=3 /bin/sh -c echo $V # buildkit", "RUN", (), "echo $V", False),
    ("RUN --mount=type=bind,source=w.whl,target=/mnt/w.whl /bin/sh -c pip install /mnt/w.whl # buildkit", "RUN",
     ("--mount=type=bind,source=w.whl,target=/mnt/w.whl",), "pip install /mnt/w.whl", False),
    ("RUN /bin/bash -o pipefail -c curl -s x | sh # buildkit", "RUN", (), "curl -s x | sh", False),
    (f"ADD --chmod=755 {SHFMT_URL} /usr/local/bin/shfmt # buildkit", "ADD", ("--chmod=755",),
     f"{SHFMT_URL} /usr/local/bin/shfmt", False),
    ("USER 65532:65532", "USER", (), "65532:65532", False),
    ("EXPOSE map[22/tcp:{} 8000/tcp:{}]", "EXPOSE", (), "map[22/tcp:{} 8000/tcp:{}]", False),
])
def test_parse_step(created_by: str, keyword: str, flags: tuple[str, ...], args: str, classic: bool) -> None:
    step = parse_step(created_by)
    assert (step.keyword, step.flags, step.args, step.classic) == (keyword, flags, args, classic)


def test_copy_operands() -> None:
    classic = parse_step("/bin/sh -c #(nop) COPY dir:abc in /app ")
    assert (classic.sources, classic.dest) == (("dir:abc",), "/app")
    bk = parse_step('ADD ["a b.txt" "c" "/dst/"] # buildkit')
    assert (bk.sources, bk.dest) == (("a b.txt", "c"), "/dst/")
    assert parse_step("RUN true").sources == () and parse_step("RUN true").dest == ""


def test_simple_commands() -> None:
    line = "A=1 apt-get update && apt-get install -y 'x y' 2>/dev/null; echo ok | tee f\\\n z\nls"
    # Assignment prefixes are removed by the shared shell splitter (checks.shell).
    assert simple_commands(line) == [["apt-get", "update"], ["apt-get", "install", "-y", "x y"],
                                     ["echo", "ok"], ["tee", "f", "z"], ["ls"]]


@pytest.mark.parametrize(("run", "expected"), [
    ("apt-get -o Dpkg::Options::=--force-confold -y dist-upgrade", [("apt-get", "dist-upgrade", ())]),
    ("sudo DEBIAN_FRONTEND=noninteractive apt-get install -y curl git",
     [("apt-get", "install", ("curl", "git"))]),
    ("rm -rf /var/cache/apt /var/lib/apt/lists/*", []),      # "apt" as a path component is not apt
    ("echo apt-get upgrade", []),
    ("/bin/sh -ec 'apk upgrade'", [("apk", "upgrade", ())]),
    # POSIX: `sh -c apk upgrade` runs the script "apk" with $0=upgrade.
    ("/bin/sh -ec apk upgrade", [("apk", "", ())]),
    ("timeout 60 dnf --setopt=tsflags=nodocs -y upgrade openssl", [("dnf", "upgrade", ("openssl",))]),
    ("zypper --non-interactive dup", [("zypper", "dup", ())]),
])
def test_package_commands(run: str, expected: list[tuple[str, str, tuple[str, ...]]]) -> None:
    cmds = package_commands(parse_step(f"RUN /bin/sh -c {run} # buildkit"))
    assert [(c.program, c.subcommand, c.operands) for c in cmds] == expected


def test_base_step_alone_is_clean() -> None:
    assert run() == []


def test_add_remote_url_real_step() -> None:
    step = f"ADD --chmod=755 {SHFMT_URL} /usr/local/bin/shfmt # buildkit"
    found = run(("WORKDIR /app", True), step)
    assert ids(found) == ["TG-IMG-005"]
    x = found[0]
    # Steps: 0 base (layer 0), 1 WORKDIR (empty), 2 ADD (layer 1).
    assert x.target == "history step 2" and x.severity is Severity.MEDIUM
    assert x.location == location("/usr/local/bin/shfmt", 1)
    assert "shfmt_v3.13.0_linux_amd64 without a checksum to /usr/local/bin/shfmt" in x.message
    assert x.evidence == step


@pytest.mark.parametrize(("created_by", "rule", "severity", "path"), [
    ("ADD https://example.com/a/tool.tgz?x=1 /opt/ # buildkit", "TG-IMG-005", Severity.MEDIUM, "/opt/tool.tgz"),
    ("ADD --checksum=sha256:" + "ab" * 32 + " https://example.com/t /t # buildkit", "TG-IMG-005", Severity.LOW,
     "/t"),
    ("ADD git@github.com:org/repo.git /src # buildkit", "TG-IMG-005", Severity.MEDIUM, "/src"),
    ("ADD https://example.com/t relative/ # buildkit", "TG-IMG-005", Severity.MEDIUM, ""),
    ("ADD config.yml /etc/app/config.yml # buildkit", "TG-IMG-006", Severity.LOW, "/etc/app/config.yml"),
    ("/bin/sh -c #(nop) ADD file:0123abcd in /etc/app/ ", "TG-IMG-006", Severity.LOW, "/etc/app"),
])
def test_add_findings(created_by: str, rule: str, severity: Severity, path: str) -> None:
    found = run(created_by)
    assert [(x.rule_id, x.severity, x.target) for x in found] == [(rule, severity, "history step 1")]
    assert found[0].location == location(path, 1)


@pytest.mark.parametrize("created_by", [
    "ADD rootfs.tar.xz / # buildkit",                           # extraction: the reason ADD exists
    "ADD app.tar.gz vendor.tgz /srv/ # buildkit",
    "COPY app/ /app/ # buildkit",
    "COPY --from=debs /out/base/ / # buildkit",
    "/bin/sh -c #(nop) COPY file:0123abcd in /app ",
])
def test_add_near_misses(created_by: str) -> None:
    assert run(created_by) == []


def test_first_step_add_is_the_base_rootfs() -> None:
    # Dockle skips index 0; a later classic ADD of the same shape is reported.
    assert list(C.evaluate(image_target(history=steps(BASE)))) == []
    assert ids(run(BASE)) == ["TG-IMG-006"]


@pytest.mark.parametrize(("command", "expected"), [
    ("apt-get update && apt-get upgrade -y && apt-get install -y python3", ["TG-IMG-007"]),  # bookworm-patched
    ("apt-get update && apt-get dist-upgrade -y", ["TG-IMG-007"]),
    ("apt full-upgrade -y", ["TG-IMG-007"]),
    ("apk upgrade --no-cache", ["TG-IMG-007"]),
    ("yum update -y && yum clean all", ["TG-IMG-007"]),
    ("microdnf upgrade -y", ["TG-IMG-007"]),
    ("apt-get update && apt-get install -y --only-upgrade openssl", []),   # targeted
    ("dnf -y upgrade openssl", []),                                       # targeted
    ("apt-get update && apt-get install -y --no-install-recommends python3 && rm -rf /var/lib/apt/lists/*", []),
    ("apk add --no-cache curl", []),
    ("apt-get update", ["TG-IMG-008"]),
    ("apk update", ["TG-IMG-008"]),
    ("yum makecache", ["TG-IMG-008"]),
    ("apt-get update && apt-get clean", ["TG-IMG-008"]),
    ("apk update && apk add curl", []),
    ("echo apt-get upgrade > notes.txt", []),
])
def test_run_steps(command: str, expected: list[str]) -> None:
    found = run(f"RUN /bin/sh -c {command} # buildkit")
    assert ids(found) == expected
    for x in found:
        assert x.target == "history step 1" and x.location == location("", 1)


def test_classic_run_and_empty_layer_step() -> None:
    found = run("/bin/sh -c apt-get update")
    assert ids(found) == ["TG-IMG-008"] and found[0].location == location("", 1)
    # A step recorded as empty_layer produced no layer: the finding names the step but has no location.
    found = run(("RUN /bin/sh -c apt-get update # buildkit", True))
    assert ids(found) == ["TG-IMG-008"] and found[0].location is None and found[0].target == "history step 1"


def test_layer_index_comes_from_the_step() -> None:
    history = (HistoryStep(index=0, created_by="RUN /bin/sh -c apk upgrade # buildkit", empty_layer=False,
                           layer_index=4),)
    found = list(C.evaluate(image_target(history=history)))
    assert found[0].location == location("", 4) and found[0].severity is Severity.LOW
