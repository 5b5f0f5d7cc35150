"""Parse a Dockerfile the way BuildKit does: directives, continuations, comments, JSON/shell form, heredocs,
flags, stages and ARG/ENV substitution, keeping every instruction's lines and original text.

    df = parse_dockerfile(open("Dockerfile").read(), "Dockerfile")
    df.final_stage.base_image            # "python:3.12-slim" (after ARG substitution)
    [i.keyword for i in df.final_stage.instructions]

The rules follow the Dockerfile reference (https://docs.docker.com/reference/dockerfile/) and BuildKit's
``frontend/dockerfile/parser`` (parser.go, line_parsers.go, split_command.go) and ``shell/lex.go``:

* parser directives (``# escape=``, ``# syntax=``, ``# check=``) count only before the first comment, blank
  line or instruction; a repeated directive or an escape other than ``\\`` or a backtick is an error;
* a line ending in the escape character (optionally followed by blanks) continues on the next line; comment
  lines and blank lines inside a continuation are skipped;
* ``RUN``/``COPY``/``ADD`` in shell form may carry heredocs (``<<EOF``, ``<<-EOF``, ``<<"EOF"``, several per
  line); their bodies follow the instruction line and end at a line equal to the delimiter (leading tabs
  removed for ``<<-``);
* an argument that is a JSON array of strings is the exec form; one that does not parse as JSON is the shell
  form; a JSON array with a non-string element is an error;
* ARGs before the first FROM are global: usable in FROM lines, and inside a stage only when redeclared there
  (``ARG NAME`` without a value takes the global default). ENV and ARG values are inherited by stages built
  ``FROM`` an earlier stage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePath

from tidegate.errors import TidegateError

__all__ = [
    "Dockerfile",
    "DockerfileError",
    "Flag",
    "Heredoc",
    "Instruction",
    "Stage",
    "expand",
    "is_dockerfile",
    "parse_dockerfile",
    "raw_words",
]


class DockerfileError(TidegateError):
    """A Dockerfile that Docker itself would refuse to parse; the message is ``PATH:LINE: what``."""


KEYWORDS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
"""Every instruction the Dockerfile reference defines."""

_MAYBE_JSON = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "ADD", "COPY", "VOLUME"})
_HEREDOC_KEYWORDS = frozenset({"RUN", "COPY", "ADD"})
# Instructions whose arguments BuildKit expands with ARG/ENV values (reference: "Environment replacement").
_EXPANDS = frozenset({"ADD", "COPY", "ENV", "EXPOSE", "FROM", "LABEL", "STOPSIGNAL", "USER", "VOLUME",
                      "WORKDIR", "ONBUILD", "ARG"})
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_VALID_DIRECTIVES = frozenset({"escape", "syntax", "check"})
_HEREDOC_WORD = re.compile(r"^(\d*)<<(-?)([^<]*)$")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Automatic platform ARGs (reference: "Automatic platform ARGs in the global scope"); unknown until build time.
_PLATFORM_ARGS = frozenset({"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT", "BUILDPLATFORM",
                            "BUILDOS", "BUILDARCH", "BUILDVARIANT"})


@dataclass(frozen=True, slots=True)
class Flag:
    """One ``--name=value`` flag of an instruction (``--from=build``, ``--mount=type=cache,target=/x``)."""

    name: str
    """Name without the dashes (``from``, ``chown``, ``mount``, ``platform``)."""
    value: str | None
    """The value after ``=`` with quotes removed; None for a bare ``--link``."""


@dataclass(frozen=True, slots=True)
class Heredoc:
    """A here-document attached to a RUN/COPY/ADD line."""

    name: str
    """The delimiter word, quotes removed (``EOF``)."""
    content: str
    """The body: every line up to (not including) the delimiter line, with newlines; ``<<-`` strips tabs."""
    chomp: bool
    """True for ``<<-``: leading tabs are removed from body lines and the delimiter line."""
    expand: bool
    """False when the delimiter was quoted (``<<'EOF'``): the body is taken literally."""
    fd: int | None
    """An explicit file descriptor (``3<<EOF``), else None."""
    line: int
    """Line of the first body line (1-based)."""


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction: what it says, after continuation joining and (where Docker does it) ARG/ENV expansion."""

    keyword: str
    """Upper-case instruction (``RUN``, ``COPY``, …)."""
    value: str
    """The arguments after the flags as written (continuations joined, comments dropped, not expanded)."""
    args: tuple[str, ...]
    """Words: the strings of the JSON form; else the shell-form words with quotes removed, expanded for the
    instructions Docker expands (FROM, COPY, ADD, ENV, USER, WORKDIR, EXPOSE, …)."""
    flags: tuple[Flag, ...]
    """Leading ``--name[=value]`` flags, in order."""
    json_form: bool
    """True for the exec (JSON array) form."""
    line: int
    """First line (1-based)."""
    end_line: int
    """Last line, including continuation lines and heredoc bodies."""
    original: str
    """The source lines `line`..`end_line`, verbatim."""
    heredocs: tuple[Heredoc, ...] = ()
    """Here-documents, in order."""
    pairs: tuple[tuple[str, str | None], ...] = ()
    """ENV/ARG/LABEL ``name=value`` pairs (values expanded; None for an ARG without a default)."""
    stage: int = -1
    """Index of the stage it belongs to; -1 before the first FROM."""
    from_stage: int | None = None
    """For ``COPY --from``/``RUN --mount=from=``: the index of the stage it names, None for an image."""
    sub: Instruction | None = None
    """For ONBUILD: the instruction it registers."""

    def flag(self, name: str) -> str | None:
        """The value of the last ``--name`` flag; ``""`` for a bare flag, None when absent."""
        value: str | None = None
        for f in self.flags:
            if f.name == name:
                value = f.value if f.value is not None else ""
        return value

    def flag_values(self, name: str) -> tuple[str, ...]:
        """Every value of a repeatable flag (``--mount``)."""
        return tuple(f.value or "" for f in self.flags if f.name == name)

    @property
    def command(self) -> str:
        """RUN/CMD/ENTRYPOINT as one command line: the shell text, or the JSON words joined by spaces."""
        return " ".join(self.args) if self.json_form else self.value


@dataclass(frozen=True, slots=True)
class Stage:
    """One build stage: a FROM and the instructions up to the next FROM."""

    index: int
    """0-based position."""
    base_image: str
    """The base after ARG substitution (``python:3.12-slim``, ``scratch``, or an earlier stage's name)."""
    base_image_raw: str
    """The base as written (``python:${PY}-slim``)."""
    alias: str | None
    """``AS`` name, lower-cased as BuildKit does; None when unnamed."""
    platform: str | None
    """``--platform`` value as written, None when absent."""
    parent: int | None
    """Index of the earlier stage `base_image` names, None for an image."""
    instructions: tuple[Instruction, ...]
    """Every instruction of the stage, starting with its FROM."""
    env: tuple[tuple[str, str], ...] = ()
    """ARG and ENV values known at the end of the stage (inherited by stages built FROM it)."""

    @property
    def line(self) -> int:
        """Line of the FROM."""
        return self.instructions[0].line

    @property
    def from_instruction(self) -> Instruction:
        """The FROM instruction."""
        return self.instructions[0]


@dataclass(frozen=True, slots=True)
class Dockerfile:
    """A parsed Dockerfile."""

    path: str
    """The file as the user named it."""
    stages: tuple[Stage, ...]
    """Build stages in order (at least one)."""
    global_args: tuple[Instruction, ...] = ()
    """ARG instructions before the first FROM."""
    escape: str = "\\"
    """The escape character (``\\`` or a backtick)."""
    syntax: str | None = None
    """The ``# syntax=`` directive, when present."""
    lines: tuple[str, ...] = field(default=(), repr=False)
    """The source lines (for inline-ignore comments and excerpts)."""

    @property
    def final_stage(self) -> Stage:
        """The last stage: the image ``docker build`` produces without ``--target``."""
        return self.stages[-1]

    @property
    def instructions(self) -> tuple[Instruction, ...]:
        """Every instruction in file order (global ARGs first)."""
        return self.global_args + tuple(i for s in self.stages for i in s.instructions)

    def lineage(self, stage: Stage) -> list[Stage]:
        """`stage` and the earlier stages it is built FROM, nearest first."""
        out = [stage]
        while out[-1].parent is not None and len(out) <= len(self.stages):
            out.append(self.stages[out[-1].parent])
        return out


_NAME_PATTERNS = (re.compile(r"^(Dockerfile|Containerfile)(\..+)?$"), re.compile(r"^.+\.(Dockerfile|dockerfile)$"))


def is_dockerfile(path: str | PurePath) -> bool:
    """True for ``Dockerfile``, ``Containerfile``, ``*.Dockerfile``, ``*.dockerfile``, ``Dockerfile.*``,
    ``Containerfile.*``."""
    name = PurePath(path).name
    return any(p.match(name) for p in _NAME_PATTERNS)


# ---------------------------------------------------------------------------------------------------------
# Variable expansion (BuildKit shell/lex.go)


class _ExpandError(Exception):
    """Expansion failed; converted to a located DockerfileError by the caller."""


def expand(text: str, env: Mapping[str, str | None], escape: str = "\\") -> str:
    """`text` with ``$VAR``/``${VAR…}`` replaced and quotes removed, as BuildKit's ``ProcessWord`` does.

    Unset variables become ``""``; ``${V:-d}``, ``${V-d}``, ``${V:+a}``, ``${V+a}``, ``${V:?msg}``,
    ``${V#p}``, ``${V%p}`` (literal patterns) are supported; single quotes suppress expansion.
    Raises ValueError for ``${V:?msg}`` on an unset variable and for an unterminated ``${``.
    """
    try:
        return "".join(_expand_words(text, env, escape, split=False))
    except _ExpandError as e:
        raise ValueError(str(e)) from None


def expand_words(text: str, env: Mapping[str, str | None], escape: str = "\\") -> list[str]:
    """Like `expand` but split into words on unquoted whitespace (BuildKit's ``ProcessWords``)."""
    try:
        return _expand_words(text, env, escape, split=True)
    except _ExpandError as e:
        raise ValueError(str(e)) from None


def _expand_words(text: str, env: Mapping[str, str | None], escape: str, *, split: bool) -> list[str]:
    words: list[str] = []
    cur: list[str] = []
    has_word = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if split and c in " \t\r\n":
            if has_word:
                words.append("".join(cur))
                cur, has_word = [], False
            i += 1
            continue
        has_word = True
        if c == escape:
            if i + 1 < n:
                cur.append(text[i + 1])
            i += 2
        elif c == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise _ExpandError("unexpected end of statement while looking for matching single-quote")
            cur.append(text[i + 1:end])
            i = end + 1
        elif c == '"':
            i += 1
            while True:
                if i >= n:
                    raise _ExpandError("unexpected end of statement while looking for matching double-quote")
                d = text[i]
                if d == '"':
                    i += 1
                    break
                if d == escape and i + 1 < n and text[i + 1] in '"$' + escape:
                    cur.append(text[i + 1])
                    i += 2
                elif d == "$":
                    val, i = _dollar(text, i, env, escape)
                    cur.append(val)
                else:
                    cur.append(d)
                    i += 1
        elif c == "$":
            val, i = _dollar(text, i, env, escape)
            cur.append(val)
        else:
            cur.append(c)
            i += 1
    if has_word or not split:
        words.append("".join(cur))
    return words


def _dollar(text: str, i: int, env: Mapping[str, str | None], escape: str) -> tuple[str, int]:
    """Expand the ``$…`` at `i`; return the value and the index after it."""
    n = len(text)
    if i + 1 >= n:
        return "$", i + 1
    nxt = text[i + 1]
    if nxt == "{":
        depth, j = 1, i + 2
        while j < n and depth:
            if text[j] == escape:
                j += 2
                continue
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
            j += 1
        if depth:
            raise _ExpandError("missing '}' in variable expansion")
        return _brace(text[i + 2:j - 1], env, escape), j
    m = _NAME.match(text, i + 1)
    if not m:
        if nxt.isdigit():
            return "", i + 2
        return "$", i + 1
    return env.get(m.group()) or "", m.end()


def _brace(body: str, env: Mapping[str, str | None], escape: str) -> str:
    m = _NAME.match(body)
    if not m:
        raise _ExpandError(f"bad substitution: ${{{body}}}")
    name, rest = m.group(), body[m.end():]
    value = env.get(name)
    if not rest:
        return value or ""
    for op in (":-", ":+", ":?", "-", "+", "?", "##", "#", "%%", "%"):
        if rest.startswith(op):
            word = "".join(_expand_words(rest[len(op):], env, escape, split=False))
            if op == ":-":
                return value if value else word
            if op == "-":
                return value if value is not None else word
            if op == ":+":
                return word if value else ""
            if op == "+":
                return word if value is not None else ""
            if op in (":?", "?"):
                if (op == ":?" and not value) or value is None:
                    raise _ExpandError(f"{name}: {word or 'is not allowed to be unset'}")
                return value
            v = value or ""
            if op in ("#", "##"):
                return v[len(word):] if word and v.startswith(word) else v
            return v[: len(v) - len(word)] if word and v.endswith(word) else v
    if rest.startswith("/"):
        return value or ""
    raise _ExpandError(f"unsupported modifier in ${{{body}}}")


# ---------------------------------------------------------------------------------------------------------
# Lines → logical instructions (BuildKit parser.go)


@dataclass(slots=True)
class _Raw:
    keyword: str
    rest: str
    line: int
    end_line: int
    heredocs: list[Heredoc]
    original: str = ""


def raw_words(text: str, escape: str = "\\") -> list[str]:
    """Whitespace-separated words with quotes kept (BuildKit ``parseWords``; used for heredocs and ENV)."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            cur.append(c)
            if c == escape and quote == '"' and i + 1 < len(text):
                cur.append(text[i + 1])
                i += 1
            elif c == quote:
                quote = ""
        elif c.isspace():
            if cur:
                words.append("".join(cur))
                cur = []
        elif c in "'\"":
            quote = c
            cur.append(c)
        elif c == escape and i + 1 < len(text):
            cur.append(c)
            cur.append(text[i + 1])
            i += 1
        else:
            cur.append(c)
        i += 1
    if cur:
        words.append("".join(cur))
    return words


def _heredoc_specs(line: str, escape: str) -> list[tuple[str, bool, bool, int | None]]:
    """(name, chomp, expand, fd) of every heredoc word on an instruction line."""
    out = []
    for word in raw_words(line, escape):
        m = _HEREDOC_WORD.match(word)
        if not m or not m.group(3):
            continue
        rest = m.group(3)
        try:
            unquoted = expand_words(rest, {}, escape)
        except ValueError:
            continue
        if len(unquoted) != 1:
            continue
        name = unquoted[0]
        quoted = any(q in rest for q in "'\"")
        out.append((name, m.group(2) == "-", not quoted, int(m.group(1)) if m.group(1) else None))
    return out


def _extract_flags(rest: str) -> tuple[list[Flag], str]:
    """Leading ``--flag[=value]`` words (BuildKit ``extractBuilderFlags``) and the remaining text."""
    flags: list[Flag] = []
    i, n = 0, len(rest)
    while True:
        while i < n and rest[i].isspace():
            i += 1
        if not rest.startswith("--", i):
            return flags, rest[i:]
        j = i
        word: list[str] = []
        quote = ""
        while j < n and (quote or not rest[j].isspace()):
            c = rest[j]
            if quote:
                if c == quote:
                    quote = ""
                elif c == "\\" and j + 1 < n:
                    j += 1
                    word.append(rest[j])
                else:
                    word.append(c)
            elif c in "'\"":
                quote = c
            elif c == "\\" and j + 1 < n:
                j += 1
                word.append(rest[j])
            else:
                word.append(c)
            j += 1
        text = "".join(word)
        i = j
        if text == "--":
            return flags, rest[i:].lstrip()
        name, eq, value = text[2:].partition("=")
        flags.append(Flag(name=name.lower(), value=value if eq else None))


def _logical_lines(text: str, path: str) -> tuple[list[_Raw], str, str | None, list[str]]:
    """Join continuations, drop comments, read heredoc bodies; returns raws, escape, syntax, source lines."""
    text = text.removeprefix("\ufeff")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [ln.removesuffix("\r") for ln in lines]
    escape = "\\"
    syntax: str | None = None
    seen: set[str] = set()
    directives_done = False
    raws: list[_Raw] = []
    i = 0

    def cont_re() -> re.Pattern[str]:
        e = re.escape(escape)
        return re.compile(rf"(?:([^{e}]){e}|^{e})[ \t]*$")

    cont = cont_re()
    while i < len(lines):
        raw_line = lines[i]
        stripped = raw_line.lstrip()
        lineno = i + 1
        i += 1
        if not directives_done:
            m = _DIRECTIVE.match(stripped)
            if m and m.group(1).lower() in _VALID_DIRECTIVES:
                key = m.group(1).lower()
                if key in seen:
                    raise DockerfileError(f"{path}:{lineno}: only one {key} parser directive can be used")
                seen.add(key)
                if key == "escape":
                    if m.group(2) not in ("\\", "`"):
                        raise DockerfileError(f"{path}:{lineno}: invalid escape token {m.group(2)!r} "
                                              "does not match ` or \\")
                    escape = m.group(2)
                    cont = cont_re()
                elif key == "syntax":
                    syntax = m.group(2)
                continue
            directives_done = True
        if stripped.startswith("#") or not stripped:
            continue
        start = lineno
        line, ended = _trim_cont(stripped, cont)
        while not ended and i < len(lines):
            nxt = lines[i]
            i += 1
            if nxt.lstrip().startswith("#") or not nxt.strip():
                continue
            part, ended = _trim_cont(nxt, cont)
            line += part
        if not line.strip():
            continue
        head, _, rest = line.strip().partition(" ")
        if "\t" in head:
            head, _, more = head.partition("\t")
            rest = more + " " + rest
        keyword = head.upper()
        heredocs: list[Heredoc] = []
        sub_kw = keyword
        if keyword == "ONBUILD":
            sub_kw = rest.strip().split(None, 1)[0].upper() if rest.strip() else ""
        if sub_kw in _HEREDOC_KEYWORDS and not _is_json_array(_extract_flags(rest if keyword != "ONBUILD" else
                                                                             rest.strip()[len(sub_kw):])[1]):
            for name, chomp, exp, fd in _heredoc_specs(line, escape):
                body: list[str] = []
                body_start = i + 1
                while True:
                    if i >= len(lines):
                        raise DockerfileError(f"{path}:{start}: unterminated heredoc {name!r} "
                                              f"(no line {name!r} before the end of the file)")
                    candidate = lines[i]
                    i += 1
                    check = candidate.lstrip("\t") if chomp else candidate
                    if check == name:
                        break
                    body.append((candidate.lstrip("\t") if chomp else candidate) + "\n")
                heredocs.append(Heredoc(name=name, content="".join(body), chomp=chomp, expand=exp, fd=fd,
                                        line=body_start))
        raws.append(_Raw(keyword=keyword, rest=rest, line=start, end_line=i, heredocs=heredocs,
                         original="\n".join(lines[start - 1:i])))
    return raws, escape, syntax, lines


def _trim_cont(line: str, cont: re.Pattern[str]) -> tuple[str, bool]:
    m = cont.search(line)
    if m:
        return line[: m.start()] + (m.group(1) or ""), False
    return line, True


def _is_json_array(rest: str) -> bool:
    rest = rest.strip()
    if not rest.startswith("["):
        return False
    try:
        return isinstance(json.loads(rest), list)
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------------------
# Logical instructions → stages


def parse_dockerfile(text: str, path: str) -> Dockerfile:
    """Parse `text` (the content of the file at `path`); raises `DockerfileError` where Docker would fail."""
    raws, escape, syntax, lines = _logical_lines(text, path)
    if not raws:
        raise DockerfileError(f"{path}:{max(1, len(lines))}: file with no instructions")
    global_env: dict[str, str | None] = {}
    global_args: list[Instruction] = []
    stages: list[Stage] = []
    stage_names: dict[str, int] = {}
    current: list[Instruction] = []
    env: dict[str, str | None] = {}
    head: dict[str, object] = {}

    def close() -> None:
        if head:
            stages.append(Stage(
                index=len(stages), base_image=str(head["base"]), base_image_raw=str(head["raw"]),
                alias=head["alias"] if isinstance(head["alias"], str) else None,
                platform=head["platform"] if isinstance(head["platform"], str) else None,
                parent=head["parent"] if isinstance(head["parent"], int) else None,
                instructions=tuple(current),
                env=tuple((k, v) for k, v in env.items() if v is not None)))

    for raw in raws:
        where = f"{path}:{raw.line}"
        if raw.keyword not in KEYWORDS:
            raise DockerfileError(f"{where}: unknown instruction: {raw.keyword}")
        if raw.keyword == "FROM":
            close()
            current = []
            instr = _build(raw, escape, global_env, where, stage=len(stages), names=stage_names)
            args = instr.args
            if len(args) not in (1, 3) or (len(args) == 3 and args[1].upper() != "AS"):
                raise DockerfileError(f"{where}: FROM requires either one or three arguments "
                                      f"(IMAGE [AS NAME]), got {' '.join(args)!r}")
            base = args[0]
            if not base:
                raise DockerfileError(f"{where}: FROM {instr.value!r} expands to an empty base image name")
            alias = args[2].lower() if len(args) == 3 else None
            parent = stage_names.get(base.lower())
            env = dict(stages[parent].env) if parent is not None else {}
            head = {"base": base, "raw": instr.value.split()[0] if instr.value.split() else base,
                    "alias": alias, "platform": instr.flag("platform"), "parent": parent}
            if alias is not None and alias not in stage_names:
                stage_names[alias] = len(stages)
            current.append(instr)
            continue
        if not head:
            if raw.keyword != "ARG":
                raise DockerfileError(f"{where}: {raw.keyword} before the first FROM "
                                      "(only ARG and parser directives may precede FROM)")
            instr = _build(raw, escape, global_env, where, stage=-1, names=stage_names)
            for k, v in instr.pairs:
                global_env[k] = v
            global_args.append(instr)
            continue
        instr = _build(raw, escape, env, where, stage=len(stages), names=stage_names, global_env=global_env)
        if instr.keyword in ("ARG", "ENV"):
            for k, v in instr.pairs:
                if instr.keyword == "ARG" and v is None:
                    v = global_env.get(k) if k in global_env else env.get(k)
                env[k] = v
        current.append(instr)
    if not head:
        raise DockerfileError(f"{path}:{raws[-1].line}: no FROM instruction")
    close()
    return Dockerfile(path=path, stages=tuple(stages), global_args=tuple(global_args), escape=escape,
                      syntax=syntax, lines=tuple(lines))


def _build(raw: _Raw, escape: str, env: Mapping[str, str | None], where: str, *, stage: int,
           names: Mapping[str, int], global_env: Mapping[str, str | None] | None = None) -> Instruction:
    """One `Instruction` from a logical line."""
    kw = raw.keyword
    flags, value = _extract_flags(raw.rest) if kw not in ("ONBUILD",) else ([], raw.rest.strip())
    value = value.strip()
    json_form = False
    args: tuple[str, ...]
    pairs: tuple[tuple[str, str | None], ...] = ()
    sub: Instruction | None = None
    from_stage: int | None = None
    if kw == "FROM":
        scope = {k: v for k, v in env.items()}
        for p in _PLATFORM_ARGS:
            scope.setdefault(p, None)
        flags = [Flag(f.name, _try_expand(f.value, scope, escape, where)) if f.value is not None else f
                 for f in flags]
    try:
        if kw in _MAYBE_JSON and value.startswith("["):
            parsed = _json_words(value, where)
            if parsed is not None:
                json_form = True
                args = parsed
            else:
                args = _words(kw, value, env, escape)
        elif kw == "HEALTHCHECK":
            typ, _, cmd = value.partition(" ")
            cmd = cmd.strip()
            parsed = _json_words(cmd, where) if cmd.startswith("[") else None
            json_form = parsed is not None
            args = (typ, *parsed) if parsed is not None else ((typ, cmd) if cmd else (typ,))
        elif kw in ("ARG", "ENV", "LABEL"):
            pairs = _pairs(kw, value, env, escape, where)
            args = tuple(f"{k}={v}" if v is not None else k for k, v in pairs)
        elif kw == "ONBUILD":
            sub_kw, _, sub_rest = value.partition(" ")
            if sub_kw.upper() in ("ONBUILD", "FROM", "MAINTAINER"):
                raise DockerfileError(f"{where}: {sub_kw.upper()} isn't allowed as an ONBUILD trigger")
            sub = _build(_Raw(sub_kw.upper(), sub_rest, raw.line, raw.end_line, raw.heredocs), escape, {}, where,
                         stage=stage, names=names)
            args = (value,)
        else:
            args = _words(kw, value, env, escape)
    except ValueError as e:
        raise DockerfileError(f"{where}: {kw}: {e}") from None
    ref = None
    if kw in ("COPY", "ADD"):
        ref = next((f.value for f in flags if f.name == "from"), None)
    elif kw == "RUN":
        for m in (f.value or "" for f in flags if f.name == "mount"):
            opts = dict(o.partition("=")[::2] for o in m.split(","))
            ref = opts.get("from") or ref
    if ref is not None:
        ref = _try_expand(ref, env, escape, where)
        if ref.isdigit():
            from_stage = int(ref) if int(ref) < stage else None
        else:
            from_stage = names.get(ref.lower())
    return Instruction(keyword=kw, value=value, args=args, flags=tuple(flags), json_form=json_form,
                       line=raw.line, end_line=raw.end_line, original=raw.original, heredocs=tuple(raw.heredocs),
                       pairs=pairs, stage=stage, from_stage=from_stage, sub=sub)


def _try_expand(text: str | None, env: Mapping[str, str | None], escape: str, where: str) -> str:
    try:
        return expand(text or "", env, escape)
    except ValueError as e:
        raise DockerfileError(f"{where}: {e}") from None


def _json_words(value: str, where: str) -> tuple[str, ...] | None:
    """The strings of a JSON array; None when `value` is not JSON (then it is shell form)."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, list):
        return None
    if not all(isinstance(x, str) for x in data):
        raise DockerfileError(f"{where}: when using JSON array syntax, arrays must be comprised of strings only")
    return tuple(data)


def _words(kw: str, value: str, env: Mapping[str, str | None], escape: str) -> tuple[str, ...]:
    if kw in ("RUN", "CMD", "ENTRYPOINT", "SHELL", "MAINTAINER", "STOPSIGNAL"):
        return (value,) if value else ()
    if kw in ("USER", "WORKDIR"):
        return (expand(value, env, escape),) if value else ()
    if kw in _EXPANDS:
        return tuple(expand_words(value, env, escape))
    return tuple(value.split())


def _pairs(kw: str, value: str, env: Mapping[str, str | None], escape: str,
           where: str) -> tuple[tuple[str, str | None], ...]:
    words = raw_words(value, escape)
    if not words:
        if kw == "ARG":
            raise DockerfileError(f"{where}: ARG requires at least one argument")
        raise DockerfileError(f"{where}: {kw} requires at least one argument")
    if kw != "ARG" and "=" not in words[0]:
        key, _, rest = value.partition(" ") if " " in value else value.partition("\t")
        if not rest.strip():
            raise DockerfileError(f"{where}: {kw} must have two arguments")
        return ((key, expand(rest.strip(), env, escape)),)
    out: list[tuple[str, str | None]] = []
    scope = dict(env)
    for w in words:
        if "=" not in w:
            if kw != "ARG":
                raise DockerfileError(f"{where}: Syntax error - can't find = in {w!r}. "
                                      "Must be of the form: name=value")
            out.append((w, None))
            continue
        k, _, v = w.partition("=")
        k = expand(k, scope, escape) if kw == "LABEL" else k
        val = expand(v, scope, escape)
        out.append((k, val))
        if kw != "LABEL":
            scope[k] = val
    return tuple(out)
