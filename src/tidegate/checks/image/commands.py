"""Reading history ``created_by`` strings: which instruction a step was, and the package-manager commands it ran.

Builders write steps in two families (seen in ../shared/images and in Docker/BuildKit output):

- classic builder (and buildah/kaniko): ``/bin/sh -c #(nop)  CMD ["bash"]`` for metadata steps,
  ``/bin/sh -c #(nop) ADD file:<sha256> in /dst`` for ADD/COPY (the source is hidden behind a hash), and
  a bare ``/bin/sh -c apt-get update && …`` (optionally prefixed ``|2 A=1 B=2``) for RUN;
- BuildKit: the instruction keyword first, ``RUN /bin/sh -c apt-get … # buildkit``,
  ``RUN |1 V=2 /bin/sh -c …``, ``RUN --mount=type=bind,… /bin/sh -c …``,
  ``ADD --chmod=755 https://… /usr/local/bin/x # buildkit``, ``USER 65532:65532``, ``EXPOSE map[22/tcp:{}]``.

::

    step = parse_step("ADD --chmod=755 https://example.com/x /usr/local/bin/x # buildkit")
    step.keyword, step.flags, step.sources, step.dest   # "ADD", ("--chmod=755",), ("https://…",), "/usr/…"
    [c.subcommand for c in package_commands(parse_step("RUN /bin/sh -c apt-get update && apt-get upgrade -y"))]
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from tidegate.checks.shell import SHELLS, shell_commands

_BUILDKIT_SUFFIX = re.compile(r"\s+#\s*buildkit\s*$")
_KEYWORD = re.compile(r"^([A-Z]+)(?:\s+(.*))?$", re.DOTALL)
_KEYWORDS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER",
    "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
# ``/bin/sh -c``, ``/bin/bash -o pipefail -c``, ``sh -c``: the shell a RUN step was wrapped in.
_SHELL_PREFIX = re.compile(r"^(?:\S*/)?(?:sh|bash|dash|ash|zsh|ksh|busybox\s+sh)(?:\s+(?!-c\s)\S+)*?\s+-c\s+",
                           re.DOTALL)


@dataclass(frozen=True, slots=True)
class Step:
    """One history step, normalised across builders."""

    keyword: str
    """The Dockerfile instruction (``RUN``, ``ADD``, ``COPY``, ``USER``, …); ``RUN`` for a bare shell line."""
    flags: tuple[str, ...]
    """``--flag[=value]`` options written after the keyword (``--chmod=755``, ``--mount=…``)."""
    args: str
    """The rest of the instruction: for RUN the shell command line, unwrapped from ``/bin/sh -c``."""
    classic: bool
    """True for the classic builder's ``#(nop)``/bare-shell forms."""

    @property
    def sources(self) -> tuple[str, ...]:
        """For ADD/COPY: every source operand (classic builder: ``file:<hash>``, ``dir:<hash>``, ``multi:…``)."""
        operands = self._copy_operands()
        return tuple(operands[:-1])

    @property
    def dest(self) -> str:
        """For ADD/COPY: the destination operand, ``""`` when absent."""
        operands = self._copy_operands()
        return operands[-1] if len(operands) >= 2 else ""

    def _copy_operands(self) -> list[str]:
        if self.keyword not in ("ADD", "COPY"):
            return []
        text = self.args.strip()
        if self.classic:
            # ``file:<hash> in /dst`` — the classic builder's only form.
            m = re.match(r"^(\S+)\s+in\s+(.+?)\s*$", text)
            return [m.group(1), m.group(2)] if m else text.split()
        if text.startswith("["):
            # JSON form, printed by Go as ``["a" "b"]`` or ``[a b]``.
            text = text.strip("[]")
        return _split_words(text)


def parse_step(created_by: str) -> Step:
    """Normalise one ``created_by`` string (see the module docstring for the forms)."""
    text = _BUILDKIT_SUFFIX.sub("", created_by.strip())
    if "#(nop)" in text:
        rest = text.split("#(nop)", 1)[1].strip()
        keyword, _, args = rest.partition(" ")
        flags, args = _take_flags(args.strip())
        return Step(keyword=keyword.upper(), flags=flags, args=args, classic=True)
    m = _KEYWORD.match(text)
    if m and m.group(1) in _KEYWORDS:
        keyword, args = m.group(1), (m.group(2) or "").strip()
        flags, args = _take_flags(args)
        if keyword == "RUN":
            args = _unwrap_shell(args)
        return Step(keyword=keyword, flags=flags, args=args, classic=False)
    return Step(keyword="RUN", flags=(), args=_unwrap_shell(text), classic=True)


def _take_flags(args: str) -> tuple[tuple[str, ...], str]:
    flags: list[str] = []
    while args.startswith("--"):
        flag, _, args = args.partition(" ")
        flags.append(flag)
        args = args.lstrip()
    return tuple(flags), args


def _unwrap_shell(args: str) -> str:
    # ``|2 A=1 B=2 /bin/sh -c …``: the classic builder's (and BuildKit's) record of build args in scope.
    m = re.match(r"^\|(\d+)\s+", args)
    if m:
        rest = args[m.end():]
        for _ in range(int(m.group(1))):
            rest = rest.split(None, 1)[1] if len(rest.split(None, 1)) == 2 else ""
        args = rest
    m2 = _SHELL_PREFIX.match(args)
    return args[m2.end():] if m2 else args


def _split_words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=False, posix=True)
    except ValueError:
        return text.split()


def simple_commands(command_line: str) -> list[list[str]]:
    """The simple commands of a shell line, as word lists (`checks.shell.shell_commands`: quotes, ``&&``,
    ``||``, ``;``, ``|``, ``sh -c``, ``$(…)``; ``sudo``/``env`` and ``VAR=value`` prefixes removed)."""
    return [list(c.words) for c in shell_commands(command_line)]


_MANAGERS = {
    "apt-get": "apt", "apt": "apt", "aptitude": "apt",
    "apk": "apk",
    "yum": "rpm", "dnf": "rpm", "microdnf": "rpm", "tdnf": "rpm",
    "zypper": "zypper",
}
# Options that take their value as the next word, per manager family (``--opt=value`` is one word).
_VALUE_OPTIONS = {
    "apt": frozenset({"-o", "-c", "-t", "--option", "--config-file", "--target-release", "--default-release"}),
    "apk": frozenset({"-X", "--repository", "-p", "--root", "--arch", "--cache-dir", "--keys-dir",
                      "--repositories-file", "-t", "--virtual"}),
    "rpm": frozenset({"-c", "--config", "--installroot", "--releasever", "--setopt", "--enablerepo",
                      "--disablerepo", "-x", "--exclude", "--repo", "--repoid", "-d", "--debuglevel",
                      "-e", "--errorlevel"}),
    "zypper": frozenset({"-r", "--repo", "-R", "--root", "-D", "--reposd-dir", "-C", "--cache-dir"}),
}


@dataclass(frozen=True, slots=True)
class PackageCommand:
    """One package-manager invocation found in a RUN step."""

    program: str
    """The program as written (``apt-get``, ``apk``, ``dnf``)."""
    family: str
    """``apt``, ``apk``, ``rpm`` (yum/dnf/microdnf/tdnf) or ``zypper``."""
    subcommand: str
    """The first operand (``update``, ``install``, ``upgrade``), ``""`` when none."""
    operands: tuple[str, ...]
    """The operands after the subcommand (package names), without options."""
    words: tuple[str, ...]
    """Every word from the program on, for evidence."""


def package_commands(step: Step) -> list[PackageCommand]:
    """The package-manager invocations of a RUN step (``sudo``, ``env``, ``VAR=x`` prefixes are looked through)."""
    if step.keyword != "RUN":
        return []
    out = []
    for words in simple_commands(step.args):
        if words and words[0].rsplit("/", 1)[-1] in SHELLS:
            continue  # ``sh -c '…'``: the splitter already yielded the script's own commands
        i = _command_position(words)
        if i < len(words):
            family = _MANAGERS.get(words[i].rsplit("/", 1)[-1])
            if family is not None:
                out.append(_package_command(words[i:], family))
    return out


_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
# Programs that run the command after them: ``sudo apt-get``, ``env X=1 apk``, ``/bin/sh -ec dnf …``.
_WRAPPERS = frozenset({"sudo", "env", "nice", "nohup", "time", "command", "exec", "xargs", "eatmydata",
                       "stdbuf", "timeout", "sh", "bash", "dash", "ash"})


def _command_position(words: list[str]) -> int:
    """Index of the word that is the program run, looking through assignments and wrappers."""
    i = 0
    while i < len(words):
        w = words[i]
        if _ASSIGNMENT.match(w):
            i += 1
        elif w.rsplit("/", 1)[-1] in _WRAPPERS:
            i += 1
            while i < len(words) and (words[i].startswith("-") or words[i].isdigit()):
                i += 1
        else:
            return i
    return i


def _package_command(words: list[str], family: str) -> PackageCommand:
    takes_value = _VALUE_OPTIONS[family]
    operands: list[str] = []
    skip = False
    for w in words[1:]:
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            skip = w in takes_value
            continue
        operands.append(w)
    sub = operands[0] if operands else ""
    return PackageCommand(program=words[0].rsplit("/", 1)[-1], family=family, subcommand=sub,
                          operands=tuple(operands[1:]), words=tuple(words))


UPGRADE_SUBCOMMANDS = {
    "apt": frozenset({"upgrade", "dist-upgrade", "full-upgrade", "safe-upgrade"}),
    "apk": frozenset({"upgrade"}),
    "rpm": frozenset({"update", "upgrade", "distro-sync", "dsync", "update-minimal", "upgrade-minimal"}),
    "zypper": frozenset({"update", "up", "dist-upgrade", "dup", "patch"}),
}
"""Subcommands that upgrade installed packages, per manager family."""

UPDATE_SUBCOMMANDS = {
    "apt": frozenset({"update"}),
    "apk": frozenset({"update"}),
    "rpm": frozenset({"makecache", "check-update"}),
    "zypper": frozenset({"refresh", "ref"}),
}
"""Subcommands that only refresh package indexes."""

INSTALL_SUBCOMMANDS = {
    "apt": frozenset({"install", "reinstall", "build-dep", "satisfy"}),
    "apk": frozenset({"add", "fix"}),
    "rpm": frozenset({"install", "reinstall", "localinstall", "groupinstall", "module"}),
    "zypper": frozenset({"install", "in", "source-install", "si"}),
}
"""Subcommands that install packages (and so use freshly updated indexes)."""


def is_system_upgrade(cmd: PackageCommand) -> bool:
    """True for an upgrade of every installed package (no package names given)."""
    return cmd.subcommand in UPGRADE_SUBCOMMANDS[cmd.family] and not cmd.operands


def is_upgrade(cmd: PackageCommand) -> bool:
    """True for any upgrade subcommand, targeted or not."""
    return cmd.subcommand in UPGRADE_SUBCOMMANDS[cmd.family]


def is_index_update(cmd: PackageCommand) -> bool:
    """True for an index refresh (``apt-get update``)."""
    return cmd.subcommand in UPDATE_SUBCOMMANDS[cmd.family]


def is_install(cmd: PackageCommand) -> bool:
    """True for an install (``apt-get install``, ``apk add``)."""
    return cmd.subcommand in INSTALL_SUBCOMMANDS[cmd.family]


_REMOTE = re.compile(r"^(?:https?|ftp|git|ssh)://|^git@[^:]+:", re.IGNORECASE)
_ARCHIVE = re.compile(r"\.(?:tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|tar\.lz|tar\.lzma)$",
                      re.IGNORECASE)


def is_remote_source(source: str) -> bool:
    """True for an ADD source fetched at build time (http(s)/ftp URL, git URL)."""
    return bool(_REMOTE.match(source))


def is_local_archive(source: str) -> bool:
    """True for a local tar archive, which ADD extracts (the one good reason to use ADD)."""
    return bool(_ARCHIVE.search(source))
