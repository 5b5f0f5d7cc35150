"""The shell commands of a Dockerfile ``RUN``: its command line and heredoc bodies, split by `checks.shell`.

    [c.words for c in run_commands(instr)]
"""

from __future__ import annotations

from tidegate.checks.dockerfile.parser import Instruction
from tidegate.checks.shell import SHELLS, ShellCommand, _nested, shell_commands

__all__ = ["SHELLS", "ShellCommand", "run_commands", "run_scripts", "shell_commands"]


def run_scripts(instr: Instruction) -> list[str]:
    """The shell scripts a RUN executes: its command line and the heredoc bodies a shell runs.

    A heredoc is a script when the command line is only heredocs (``RUN <<EOF``: Docker runs the body with the
    shell) or when it is fed to a shell (``RUN bash <<EOF``); a body fed to ``python3`` is not shell.
    """
    if instr.json_form:
        return []
    scripts: list[str] = []
    line = instr.value
    cmds = shell_commands(line)
    if cmds:
        scripts.append(line)
    heredoc_is_script = not cmds or any(c.name in SHELLS and not any(w.startswith("-c") for w in c.words[1:])
                                        for c in cmds)
    if heredoc_is_script:
        scripts.extend(h.content for h in instr.heredocs)
    return scripts


def run_commands(instr: Instruction) -> list[ShellCommand]:
    """Every simple command a RUN (shell or exec form, heredocs included) executes."""
    if instr.json_form:
        words = list(instr.args)
        if not words:
            return []
        cmd = ShellCommand(words=tuple(words), pipeline=0, position=0, raw_args=tuple(words))
        return [cmd, *_nested(words, words, 0)]
    out: list[ShellCommand] = []
    for k, script in enumerate(run_scripts(instr)):
        for c in shell_commands(script):
            out.append(ShellCommand(words=c.words, pipeline=c.pipeline + 10_000 * k, position=c.position,
                                    via_sudo=c.via_sudo, raw_args=c.raw_args))
    return out
