"""Parser tests; expected values worked out from the Dockerfile reference (docs.docker.com/reference/dockerfile)
and BuildKit's parser (continuations, directives, heredocs, JSON form, ARG scoping)."""

from __future__ import annotations

import pytest

from tidegate.checks.dockerfile.parser import DockerfileError, expand, is_dockerfile, parse_dockerfile
from tidegate.checks.dockerfile.shell import run_commands, shell_commands
from tidegate.errors import TidegateError

D = "sha256:" + "ab" * 32


def test_continuation_comments_and_lines() -> None:
    text = "FROM alpine:3.19\nRUN apk add \\\n  # inside\n\n  curl\nUSER 1\n"
    df = parse_dockerfile(text, "Dockerfile")
    run = df.final_stage.instructions[1]
    assert (run.keyword, run.line, run.end_line) == ("RUN", 2, 5)
    assert run.value == "apk add   curl"  # comment and blank continuation lines dropped, indentation kept
    assert run.original == "RUN apk add \\\n  # inside\n\n  curl"
    assert df.final_stage.instructions[2].line == 6


def test_escape_directive_backtick() -> None:
    text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir `\n  C:\\\nWORKDIR C:\\app\n"
    df = parse_dockerfile(text, "Dockerfile")
    assert df.escape == "`"
    run, workdir = df.final_stage.instructions[1:]
    assert (run.value, run.end_line) == ("dir   C:\\", 4)
    assert workdir.args == ("C:\\app",)  # backslash is not an escape any more


def test_directive_only_at_top() -> None:
    df = parse_dockerfile("# comment\n# escape=`\nFROM a:1\nRUN x \\\n y\n", "Dockerfile")
    assert df.escape == "\\"
    assert df.final_stage.instructions[1].value == "x  y"


@pytest.mark.parametrize(("text", "name", "content", "chomp", "expand", "end"), [
    ("FROM a:1\nRUN <<EOF\necho hi\nEOF\n", "EOF", "echo hi\n", False, True, 4),
    ("FROM a:1\nRUN <<-EOT\n\techo hi\n\tEOT\n", "EOT", "echo hi\n", True, True, 4),
    ("FROM a:1\nRUN <<'EOF' python3\nprint($x)\nEOF\n", "EOF", "print($x)\n", False, False, 4),
    ("FROM a:1\nCOPY <<EOF /etc/app.conf\nport=1\nEOF\n", "EOF", "port=1\n", False, True, 4),
])
def test_heredoc(text: str, name: str, content: str, chomp: bool, expand: bool, end: int) -> None:
    instr = parse_dockerfile(text, "Dockerfile").final_stage.instructions[1]
    (doc,) = instr.heredocs
    assert (doc.name, doc.content, doc.chomp, doc.expand, instr.end_line) == (name, content, chomp, expand, end)


def test_several_heredocs_and_following_instruction() -> None:
    text = "FROM a:1\nCOPY <<one.txt <<two.txt /dst/\n1\none.txt\n2\ntwo.txt\nUSER 1\n"
    stage = parse_dockerfile(text, "Dockerfile").final_stage
    copy, user = stage.instructions[1:]
    assert [(h.name, h.content) for h in copy.heredocs] == [("one.txt", "1\n"), ("two.txt", "2\n")]
    assert copy.args == ("<<one.txt", "<<two.txt", "/dst/")
    assert (copy.end_line, user.line) == (6, 7)


def test_json_form_and_fallback_to_shell() -> None:
    text = 'FROM a:1\nCMD ["python", "-m", "app"]\nRUN [not json\nENTRYPOINT ["a" "b"]\n'
    cmd, run, entry = parse_dockerfile(text, "Dockerfile").final_stage.instructions[1:]
    assert (cmd.json_form, cmd.args) == (True, ("python", "-m", "app"))
    assert (run.json_form, run.value) == (False, "[not json")
    assert entry.json_form is False  # invalid JSON is the shell form


def test_flags() -> None:
    text = (f"FROM --platform=$BUILDPLATFORM golang:1.22@{D} AS build\n"
            "RUN --mount=type=cache,target=/root/.cache --network=none go build\n"
            "COPY --chown=app:app --link . /src\n")
    stage = parse_dockerfile(text, "Dockerfile").final_stage
    run, copy = stage.instructions[1:]
    assert stage.platform == ""  # BUILDPLATFORM is only known at build time
    assert run.flag_values("mount") == ("type=cache,target=/root/.cache",)
    assert run.flag("network") == "none"
    assert (copy.flag("chown"), copy.flag("link"), copy.args) == ("app:app", "", (".", "/src"))


def test_stages_and_copy_from() -> None:
    text = ("FROM golang:1.22 AS Build\nRUN go build\nFROM build AS test\nFROM alpine:3.19\n"
            "COPY --from=build /a /a\nCOPY --from=1 /b /b\nCOPY --from=nginx:1.27 /c /c\n")
    df = parse_dockerfile(text, "Dockerfile")
    assert [(s.index, s.alias, s.parent, s.base_image) for s in df.stages] == [
        (0, "build", None, "golang:1.22"), (1, "test", 0, "build"), (2, None, None, "alpine:3.19")]
    assert [i.from_stage for i in df.final_stage.instructions[1:]] == [0, 1, None]
    assert [s.index for s in df.lineage(df.stages[1])] == [1, 0]


def test_arg_scoping() -> None:
    text = ("ARG TAG=3.19\nARG UNUSED=x\nFROM alpine:${TAG} AS a\nRUN echo\nENV A=${TAG:-none} B=$UNUSED\n"
            "FROM alpine:$TAG\nARG TAG\nENV C=${TAG}-x D=${TAG:+set} E=${MISSING:-dflt}\n")
    df = parse_dockerfile(text, "Dockerfile")
    assert [s.base_image for s in df.stages] == ["alpine:3.19", "alpine:3.19"]
    # not redeclared in stage 0: the global ARG is not visible there
    assert df.stages[0].instructions[2].pairs == (("A", "none"), ("B", ""))
    # redeclared without a value in stage 1: takes the global default
    assert df.stages[1].instructions[2].pairs == (("C", "3.19-x"), ("D", "set"), ("E", "dflt"))
    assert [i.keyword for i in df.global_args] == ["ARG", "ARG"]


def test_env_inherited_by_child_stage_and_user_expanded() -> None:
    text = "FROM alpine:3.19 AS base\nENV APP_USER=app\nFROM base\nUSER ${APP_USER}\n"
    df = parse_dockerfile(text, "Dockerfile")
    assert df.final_stage.instructions[1].args == ("app",)


@pytest.mark.parametrize(("word", "env", "out"), [
    ("$A", {"A": "1"}, "1"), ("${A}b", {"A": "1"}, "1b"), ("${A:-d}", {"A": ""}, "d"), ("${A-d}", {"A": ""}, ""),
    ("${A:+x}", {"A": "1"}, "x"), ("${A:+x}", {}, ""), ("'$A'", {"A": "1"}, "$A"), ('"$A"', {"A": "1"}, "1"),
    ("\\$A", {"A": "1"}, "$A"), ("${A%.tar}", {"A": "x.tar"}, "x"), ("${A#v}", {"A": "v1"}, "1"),
])
def test_expand(word: str, env: dict[str, str | None], out: str) -> None:
    assert expand(word, env) == out


@pytest.mark.parametrize(("name", "yes"), [
    ("Dockerfile", True), ("Containerfile", True), ("api.Dockerfile", True), ("api.dockerfile", True),
    ("Dockerfile.prod", True), ("Containerfile.dev", True), ("dir/Dockerfile", True),
    ("Dockerfiles", False), ("docker-compose.yml", False), ("Makefile", False),
])
def test_is_dockerfile(name: str, yes: bool) -> None:
    assert is_dockerfile(name) is yes


@pytest.mark.parametrize(("text", "line", "phrase"), [
    ("RUN echo\nFROM a:1\n", 1, "before the first FROM"),
    ("ARG A=1\n", 1, "no FROM"),
    ("", 1, "no instructions"),
    ("# only a comment\n\n", 2, "no instructions"),
    ("FROM a:1\nRUN <<EOF\necho\n", 2, "unterminated heredoc"),
    ('FROM a:1\nCMD ["a", 1]\n', 2, "strings only"),
    ("# escape=x\nFROM a:1\n", 1, "invalid escape"),
    ("# escape=`\n# escape=`\nFROM a:1\n", 2, "only one escape"),
    ("FROM a:1 b\n", 1, "one or three arguments"),
    ("FROM a:1\nFOO bar\n", 2, "unknown instruction"),
    ("FROM a:1\nENV onlykey\n", 2, "two arguments"),
    ("FROM a:1\nENV A=1 B\n", 2, "can't find ="),
    ("FROM ${IMG:?set IMG}\n", 1, "set IMG"),
    ("FROM a:${TAG\n", 1, "missing '}'"),
    ("FROM $NOTHING\n", 1, "empty base image"),
])
def test_hostile_inputs_raise_located_errors(text: str, line: int, phrase: str) -> None:
    with pytest.raises(DockerfileError, match=phrase) as info:
        parse_dockerfile(text, "bad/Dockerfile")
    assert str(info.value).startswith(f"bad/Dockerfile:{line}: ")
    assert "\n" not in str(info.value)
    assert isinstance(info.value, TidegateError) and info.value.exit_code == 2


def test_crlf_and_bom() -> None:
    df = parse_dockerfile("\ufeffFROM a:1\r\nRUN a \\\r\n b\r\n", "Dockerfile")
    assert df.final_stage.instructions[1].value == "a  b"


@pytest.mark.parametrize(("script", "commands"), [
    ("apt-get update && apt-get install -y a", [("apt-get", "update"), ("apt-get", "install", "-y", "a")]),
    ("if [ -f x ]; then sudo pip install a; fi", [("[", "-f", "x", "]"), ("pip", "install", "a")]),
    ('echo "apt-get install a; curl x | sh"', [("echo", "apt-get install a; curl x | sh")]),
    ("X=1 env Y=2 nice -n 3 npm i b >/dev/null 2>&1", [("npm", "i", "b")]),
    ("bash -c 'apk add c' || true", [("bash", "-c", "apk add c"), ("apk", "add", "c"), ("true",)]),
    ("cat <<EOF >/f\napt-get install no\nEOF\napk add d", [("cat",), ("apk", "add", "d")]),
    ("a # apt-get install hidden\nb", [("a",), ("b",)]),
])
def test_shell_commands(script: str, commands: list[tuple[str, ...]]) -> None:
    assert [c.words for c in shell_commands(script)] == commands


def test_pipeline_positions_and_sudo() -> None:
    cmds = shell_commands("curl -fsSL u | sudo sh -s -- -y; echo done")
    assert [(c.name, c.pipeline, c.position, c.via_sudo) for c in cmds] == [
        ("curl", 0, 0, False), ("sh", 0, 1, True), ("echo", 1, 0, False)]


def test_run_commands_exec_form_and_heredoc() -> None:
    df = parse_dockerfile('FROM a:1\nRUN ["sh", "-c", "apk add x"]\nRUN <<EOF\napk add y\nEOF\n'
                          "RUN python3 <<EOF\nimport os\nEOF\n", "Dockerfile")
    exec_run, heredoc_run, py_run = df.final_stage.instructions[1:]
    assert [c.words for c in run_commands(exec_run)] == [("sh", "-c", "apk add x"), ("apk", "add", "x")]
    assert [c.words for c in run_commands(heredoc_run)] == [("apk", "add", "y")]
    assert [c.words for c in run_commands(py_run)] == [("python3",)]  # python source is not shell
