"""Split shell scripts into simple commands, so rules see ``apt-get install`` wherever it runs (a Dockerfile RUN,
an image history step).

    [c.words for c in shell_commands("apt-get update && if x; then sudo apt-get install -y a; fi")]
    # [('apt-get', 'update'), ('x',), ('apt-get', 'install', '-y', 'a')]   (sudo unwrapped, via_sudo=True)

This is a POSIX-shell lexer, not an interpreter: it honours quotes, backslash escapes and line continuations,
splits on ``&&``, ``||``, ``;``, ``&``, ``|``, newlines and parentheses, drops redirections (and skips the bodies
of here-documents), strips reserved words (``if``, ``then``, ``do``, ``!``, ``{``…) and ``NAME=value``
prefixes, unwraps ``sudo``/``env``/``nohup``/``exec``/``command``/``time``/``nice``, and descends into
``sh -c '…'`` / ``bash -c "…"`` and ``$(…)`` command substitutions. Quoted text stays one word and is
never taken for a command.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

SHELLS = frozenset({"sh", "bash", "ash", "dash", "zsh", "ksh", "busybox"})
"""Programs that run a script given with ``-c`` or on stdin."""

_SEPARATORS = ("&&", "||", ";;", ";", "|&", "|", "&", "(", ")", "\n")
_REDIRECTS = ("<<<", "<<-", "<<", ">>", ">|", "<>", ">&", "<&", "&>>", "&>", "<", ">")
_RESERVED_PREFIX = frozenset({"if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "time"})
_RESERVED_ALONE = frozenset({"fi", "done", "esac", "}", "then", "else", "do"})
_WRAPPERS_SIMPLE = frozenset({"nohup", "exec", "command", "builtin", "time", "stdbuf"})


@dataclass(frozen=True, slots=True)
class ShellCommand:
    """One simple command of a script."""

    words: tuple[str, ...]
    """The command and its arguments, quotes removed (``("apt-get", "install", "-y", "curl")``)."""
    pipeline: int
    """Id of the pipeline it belongs to (commands joined by ``|`` share it)."""
    position: int
    """0-based position in its pipeline."""
    via_sudo: bool = False
    """True when it was run through ``sudo``/``doas``."""
    raw_args: tuple[str, ...] = ()
    """Words as written (quotes kept), for spotting ``$(curl …)`` inside arguments."""

    @property
    def name(self) -> str:
        """The program's base name (``/usr/bin/pip3`` → ``pip3``)."""
        return self.words[0].rsplit("/", 1)[-1] if self.words else ""


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "word" | "op" | "redir"
    text: str
    raw: str = ""


def _tokens(script: str) -> Iterator[_Tok]:
    """Lex `script` into words, operators and redirections; here-document bodies are skipped."""
    i, n = 0, len(script)
    cur: list[str] = []
    raw: list[str] = []
    in_word = False
    pending_heredocs: list[tuple[str, bool]] = []
    expect_heredoc_word: bool | None = None

    def flush() -> Iterator[_Tok]:
        nonlocal cur, raw, in_word, expect_heredoc_word
        if in_word:
            word = "".join(cur)
            if expect_heredoc_word is not None:
                pending_heredocs.append((word, expect_heredoc_word))
                expect_heredoc_word = None
            yield _Tok("word", word, "".join(raw))
        cur, raw, in_word = [], [], False

    while i < n:
        c = script[i]
        if c == "\\":
            if i + 1 < n and script[i + 1] == "\n":
                i += 2
                continue
            if i + 1 < n:
                cur.append(script[i + 1])
                raw.append(script[i:i + 2])
                in_word = True
            i += 2
            continue
        if c == "'":
            end = script.find("'", i + 1)
            end = n if end < 0 else end
            cur.append(script[i + 1:end])
            raw.append(script[i:end + 1])
            in_word = True
            i = end + 1
            continue
        if c == '"':
            j = i + 1
            while j < n and script[j] != '"':
                if script[j] == "\\" and j + 1 < n:
                    if script[j + 1] in '"\\$`':
                        cur.append(script[j + 1])
                    elif script[j + 1] != "\n":
                        cur.append(script[j:j + 2])
                    j += 2
                    continue
                if script.startswith("$(", j):
                    end = _balanced(script, j + 1)
                    cur.append(script[j:end])
                    j = end
                    continue
                cur.append(script[j])
                j += 1
            raw.append(script[i:j + 1])
            in_word = True
            i = j + 1
            continue
        if c == "$" and i + 1 < n and script[i + 1] in "({":
            end = _balanced(script, i + 1)
            cur.append(script[i:end])
            raw.append(script[i:end])
            in_word = True
            i = end
            continue
        if c == "`":
            end = script.find("`", i + 1)
            end = n - 1 if end < 0 else end
            cur.append(script[i:end + 1])
            raw.append(script[i:end + 1])
            in_word = True
            i = end + 1
            continue
        if c == "#" and not in_word:
            end = script.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in " \t\r":
            yield from flush()
            i += 1
            continue
        redir = next((r for r in _REDIRECTS if script.startswith(r, i)), None)
        if redir is not None and not (redir == "<" and script.startswith("<(", i)) \
                and not (redir == ">" and script.startswith(">(", i)):
            fd = "".join(cur) if in_word and "".join(raw).isdigit() else None
            if fd is None:
                yield from flush()
            else:
                cur, raw, in_word = [], [], False
            if redir in ("<<", "<<-"):
                expect_heredoc_word = redir == "<<-"
            i += len(redir)
            yield _Tok("redir", redir)
            continue
        if c in "<>" and script.startswith("(", i + 1):
            end = _balanced(script, i + 1)
            cur.append(script[i:end])
            raw.append(script[i:end])
            in_word = True
            i = end
            continue
        op = next((s for s in _SEPARATORS if script.startswith(s, i)), None)
        if op is not None:
            yield from flush()
            yield _Tok("op", op)
            i += len(op)
            if op == "\n" and pending_heredocs:
                i = _skip_heredocs(script, i, pending_heredocs)
                pending_heredocs = []
            continue
        cur.append(c)
        raw.append(c)
        in_word = True
        i += 1
    yield from flush()


def _balanced(script: str, i: int) -> int:
    """Index after the bracket group opening at `i` (``(`` or ``{``), honouring quotes."""
    open_c = script[i]
    close_c = ")" if open_c == "(" else "}"
    depth, j, n = 0, i, len(script)
    quote = ""
    while j < n:
        c = script[j]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"':
                j += 1
        elif c in "'\"":
            quote = c
        elif c == "\\":
            j += 1
        elif c == open_c:
            depth += 1
        elif c == close_c:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    return n


def _skip_heredocs(script: str, i: int, pending: list[tuple[str, bool]]) -> int:
    for delim, chomp in pending:
        while i < len(script):
            end = script.find("\n", i)
            end = len(script) if end < 0 else end
            line = script[i:end]
            i = end + 1
            if (line.lstrip("\t") if chomp else line) == delim:
                break
    return min(i, len(script))


def _simple(words: list[_Tok]) -> tuple[list[str], list[str], bool]:
    """Strip redirections, reserved words, assignments and wrappers; (words, raw words, via sudo)."""
    out: list[str] = []
    raw: list[str] = []
    skip_next = False
    for t in words:
        if t.kind == "redir":
            skip_next = True
            continue
        if skip_next:
            skip_next = False
            continue
        out.append(t.text)
        raw.append(t.raw)
    while out and out[0] in _RESERVED_PREFIX:
        out, raw = out[1:], raw[1:]
    if out and out[0] in ("for", "case", "select", "function") or (out and out[0].endswith("()")):
        return [], [], False
    via_sudo = False
    changed = True
    while out and changed:
        changed = False
        while out and _is_assignment(out[0]):
            out, raw = out[1:], raw[1:]
            changed = True
        if not out:
            break
        name = out[0].rsplit("/", 1)[-1]
        if name in ("sudo", "doas"):
            via_sudo = True
            k = 1
            while k < len(out) and out[k].startswith("-"):
                k += 2 if out[k] in ("-u", "-g", "-h", "-p", "-U", "-C", "-r", "-t") else 1
            out, raw = out[k:], raw[k:]
            changed = True
        elif name == "env":
            k = 1
            while k < len(out) and (out[k].startswith("-") or _is_assignment(out[k])):
                k += 2 if out[k] in ("-u", "-C", "-S") else 1
            out, raw = out[k:], raw[k:]
            changed = True
        elif name == "nice":
            k = 1
            while k < len(out) and out[k].startswith("-"):
                k += 2 if out[k] == "-n" else 1
            out, raw = out[k:], raw[k:]
            changed = True
        elif name in _WRAPPERS_SIMPLE:
            k = 1
            while k < len(out) and out[k].startswith("-"):
                k += 1
            out, raw = out[k:], raw[k:]
            changed = True
    return out, raw, via_sudo


def _is_assignment(word: str) -> bool:
    name, eq, _ = word.partition("=")
    return bool(eq) and name.replace("_", "a").isalnum() and not name[0].isdigit()


def shell_commands(script: str, *, _depth: int = 0) -> list[ShellCommand]:
    """The simple commands of `script`, in order, with ``sh -c``/``$(…)`` contents inlined after their host."""
    out: list[ShellCommand] = []
    pipeline = 0
    position = 0
    current: list[_Tok] = []

    def emit() -> None:
        nonlocal position
        words, raw, via_sudo = _simple(current)
        if words and not (len(words) == 1 and words[0] in _RESERVED_ALONE):
            out.append(ShellCommand(words=tuple(words), pipeline=pipeline, position=position, via_sudo=via_sudo,
                                    raw_args=tuple(raw)))
            position += 1
        if _depth < 4:
            # Nested scripts get pipeline ids of their own so that `|` inside them never joins the host's.
            base = (len(out) + 1) * 1000 + (pipeline + 1) * 1_000_000
            for c in _nested(words, [t.text for t in current if t.kind == "word"], _depth):
                out.append(ShellCommand(words=c.words, pipeline=base + c.pipeline, position=c.position,
                                        via_sudo=c.via_sudo, raw_args=c.raw_args))

    for tok in _tokens(script):
        if tok.kind == "op":
            emit()
            current = []
            if tok.text not in ("|", "|&"):
                pipeline += 1
                position = 0
            continue
        current.append(tok)
    emit()
    return out


def _nested(words: list[str], texts: list[str], depth: int) -> list[ShellCommand]:
    """Commands inside ``sh -c SCRIPT`` (`words`) and inside ``$(…)`` of any word (`texts`, incl. assignments)."""
    out: list[ShellCommand] = []
    name = words[0].rsplit("/", 1)[-1] if words else ""
    if name in SHELLS:
        args = words[1:]
        if name == "busybox" and args and args[0] in SHELLS:
            args = args[1:]
        for k, a in enumerate(args):
            if a.startswith("-") and "c" in a[1:] and not a.startswith("--") and k + 1 < len(args):
                out.extend(shell_commands(args[k + 1], _depth=depth + 1))
                return out
    for w in texts:
        start = 0
        while True:
            k = w.find("$(", start)
            if k < 0 or w.startswith("$((", k):
                break
            end = _balanced(w, k + 1)
            out.extend(shell_commands(w[k + 2:end - 1], _depth=depth + 1))
            start = end
    return out
