"""The Dockerfile check: evaluates every rule of `rules` on a parsed `Dockerfile`.

    from tidegate.checks.base import apply_ignores, inline_ignores
    df = parse_dockerfile(text, "Dockerfile")
    findings = apply_ignores(DockerfileCheck().evaluate(df), inline_ignores(text))

Scope: image-metadata rules (USER, HEALTHCHECK, EXPOSE, base OS, build tools, apt lists) look at the final stage
and the earlier stages it is built FROM, because only they end up in the image; supply-chain and hygiene rules
(pinning, curl | sh, sudo, secrets, ADD) look at every stage, because a builder stage runs the same risks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar

from tidegate.checks.base import Check, Rule, Target
from tidegate.checks.dockerfile import rules as R
from tidegate.checks.dockerfile.parser import Dockerfile, Instruction, Stage, raw_words
from tidegate.checks.dockerfile.shell import SHELLS, ShellCommand, run_commands
from tidegate.model.finding import CheckFinding, SourceLocation

_ARCHIVE = re.compile(r"\.(tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tzst|gz|bz2|xz|zst|lz|lzma|tlz)$",
                      re.IGNORECASE)
_REMOTE = re.compile(r"^(https?://|ftp://|git://|git@|ssh://|[a-z0-9.-]+\.[a-z]{2,}/\S+\.git(#\S*)?$)",
                     re.IGNORECASE)
_SECRET_NAME = re.compile(r"(passw(or)?d|passphrase|secret|token|api[_-]?key|apikey|private[_-]?key|"
                          r"access[_-]?key|credential|auth[_-]?key)", re.IGNORECASE)
_SECRET_NAME_OK = re.compile(r"(_FILE|_PATH|_DIR|_URL|_URI|_ENDPOINT|_HEADER|_NAME|_LENGTH|_TTL)$", re.IGNORECASE)
_SECRET_VALUE = re.compile(
    r"(AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,}|glpat-[A-Za-z0-9_-]{20}|"
    r"xox[baprs]-[A-Za-z0-9-]{10,}|sk_live_[A-Za-z0-9]{16,}|AIza[0-9A-Za-z_-]{35}|npm_[A-Za-z0-9]{36}|"
    r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{20,}|-----BEGIN [A-Z ]*PRIVATE KEY-----)")
_OS_IMAGES = frozenset({"ubuntu", "debian", "centos", "fedora", "rockylinux", "almalinux", "amazonlinux",
                        "oraclelinux", "archlinux", "leap", "tumbleweed", "ubi7", "ubi8", "ubi9", "ubi10",
                        "buildpack-deps", "kalilinux", "kali-rolling", "clearlinux", "photon", "mageia"})
_RUNTIME_IMAGES = frozenset({"python", "node", "ruby", "openjdk", "php", "perl", "eclipse-temurin", "amazoncorretto",
                             "elixir", "erlang", "haskell", "julia", "r-base", "swift", "dart"})
_MINIMAL_TAG = re.compile(r"(slim|alpine|minimal|micro|distroless|busybox|chiseled|nano|jre)", re.IGNORECASE)
_TOOLCHAIN_IMAGES = frozenset({"golang", "rust", "maven", "gradle", "gcc", "buildpack-deps", "sbt", "clojure"})
_BUILD_PACKAGES = frozenset({"gcc", "g++", "gcc-c++", "make", "cmake", "build-essential", "build-base", "clang",
                             "llvm", "golang", "golang-go", "go", "cargo", "rustc", "rust", "maven", "gradle",
                             "autoconf", "automake", "libtool", "ninja-build", "meson", "bazel", "openjdk-17-jdk",
                             "openjdk-21-jdk", "default-jdk", "musl-dev", "libc6-dev", "linux-headers"})
_PIP_OPTS_WITH_VALUE = frozenset({
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url",
    "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--trusted-host", "--platform",
    "--python-version", "--implementation", "--abi", "--src", "--upgrade-strategy", "--progress-bar", "--log",
    "--cache-dir", "--proxy", "--timeout", "--retries", "--exists-action", "--global-option",
    "--install-option", "--config-settings", "-C", "--only-binary", "--no-binary", "--report", "--cert",
    "--client-cert", "--python",
})
_APT_OPTS_WITH_VALUE = frozenset({"-o", "--option", "-t", "--target-release", "--default-release", "-c",
                                  "--config-file"})
_APK_OPTS_WITH_VALUE = frozenset({"-t", "--virtual", "-X", "--repository", "-p", "--root", "--arch",
                                  "--keys-dir", "--repositories-file", "--cache-dir"})
_NPM_OPTS_WITH_VALUE = frozenset({"--prefix", "--registry", "--cache", "--tag", "-w", "--workspace",
                                  "--omit", "--include"})


def _loc(df: Dockerfile, instr: Instruction) -> SourceLocation:
    return SourceLocation(df.path, instr.line, instr.end_line)


def _split_image(ref: str) -> tuple[str, str | None, str | None]:
    """``repo[:tag][@digest]`` → (repo, tag, digest)."""
    name, _, digest = ref.partition("@")
    repo, tag = name, None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        repo, tag = name[:colon], name[colon + 1:]
    return repo, tag, digest or None


def _short_name(repo: str) -> str:
    return repo.rsplit("/", 1)[-1].lower()


def _external(stage: Stage) -> bool:
    return stage.parent is None and stage.base_image.lower() != "scratch"


def _lineage_base(df: Dockerfile, stage: Stage) -> Stage:
    return df.lineage(stage)[-1]


def _non_options(words: tuple[str, ...], with_value: frozenset[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for w in words:
        if skip:
            skip = False
            continue
        if w.startswith("-"):
            if w in with_value:
                skip = True
            continue
        out.append(w)
    return out


def _apt_install(c: ShellCommand) -> tuple[str, ...] | None:
    """The arguments after ``install`` of an apt-get install, None for other commands."""
    if c.name not in ("apt-get", "apt"):
        return None
    words = c.words[1:]
    rest = _non_options(words, _APT_OPTS_WITH_VALUE)
    if not rest or rest[0] != "install":
        return None
    return words


def _pip_install(c: ShellCommand) -> tuple[str, ...] | None:
    words = c.words
    if re.fullmatch(r"pip(\d+(\.\d+)?)?", c.name):
        words = words[1:]
    elif re.fullmatch(r"python(\d+(\.\d+)?)?", c.name) and len(words) > 2 and words[1:3] == ("-m", "pip"):
        words = words[3:]
    else:
        return None
    if not words or "install" not in words:
        return None
    first = _non_options(words, _PIP_OPTS_WITH_VALUE)
    if not first or first[0] != "install":
        return None
    return words[words.index("install") + 1:]


def _mounts_cache(instr: Instruction, target_prefix: str) -> bool:
    for m in instr.flag_values("mount"):
        opts = dict(o.partition("=")[::2] for o in m.split(","))
        if opts.get("type") == "cache" and (opts.get("target") or opts.get("dst") or opts.get("destination")
                                            or "").startswith(target_prefix):
            return True
    return False


class DockerfileCheck(Check):
    """Every ``TG-DF-…`` rule on a parsed `Dockerfile` (``tidegate lint``)."""

    id: ClassVar[str] = "dockerfile"
    version: ClassVar[int] = 1
    target: ClassVar[Target] = Target.DOCKERFILE
    rules: ClassVar[tuple[Rule, ...]] = R.DOCKERFILE_RULES

    def evaluate(self, target: object) -> Iterable[CheckFinding]:
        """Findings for a `Dockerfile`, in file order per rule group."""
        if not isinstance(target, Dockerfile):
            raise TypeError(f"DockerfileCheck evaluates a Dockerfile, not {type(target).__name__}")
        df = target
        final = {s.index for s in df.lineage(df.final_stage)}
        for fn in _EVALUATORS:
            yield from fn(df, final)


# ---------------------------------------------------------------------------------------------------------
# Evaluators: (Dockerfile, indexes of the stages in the final image) → findings

_Evaluator = Callable[[Dockerfile, set[int]], Iterator[CheckFinding]]


def _base_images(df: Dockerfile, final: set[int]) -> Iterator[CheckFinding]:
    seen_alias: set[str] = set()
    for s in df.stages:
        fr = s.from_instruction
        if s.alias is not None:
            if s.alias in seen_alias:
                yield R.DUPLICATE_ALIAS.finding(f"stage name {s.alias!r} is already used by an earlier stage",
                                                source=_loc(df, fr), evidence=fr.original)
            seen_alias.add(s.alias)
        if not _external(s):
            continue
        repo, tag, digest = _split_image(s.base_image)
        if digest is None:
            yield R.BASE_NOT_PINNED.finding(f"FROM {s.base_image} is not pinned by digest",
                                            source=_loc(df, fr), evidence=fr.original)
            if tag is None:
                yield R.BASE_LATEST.finding(f"FROM {s.base_image} has no tag (means :latest)",
                                            source=_loc(df, fr), evidence=fr.original)
            elif tag.lower() == "latest":
                yield R.BASE_LATEST.finding(f"FROM {s.base_image} uses :latest", source=_loc(df, fr),
                                            evidence=fr.original)
    last = df.final_stage
    base = _lineage_base(df, last)
    if base.base_image.lower() != "scratch":
        repo, tag, _ = _split_image(base.base_image)
        short = _short_name(repo)
        fr = last.from_instruction
        if short in _TOOLCHAIN_IMAGES and not _MINIMAL_TAG.search(tag or ""):
            yield R.BUILD_TOOLS.finding(f"the final image is built on the toolchain image {base.base_image}",
                                        source=_loc(df, fr), evidence=fr.original)
        elif (short in _OS_IMAGES or short in _RUNTIME_IMAGES) and not _MINIMAL_TAG.search(tag or ""):
            yield R.FULL_OS_BASE.finding(f"the final image is built on the full OS image {base.base_image}",
                                         source=_loc(df, fr), evidence=fr.original)


def _user_and_health(df: Dockerfile, final: set[int]) -> Iterator[CheckFinding]:
    last = df.final_stage
    lineage = df.lineage(last)
    user: Instruction | None = None
    health: Instruction | None = None
    for s in lineage:
        users = [i for i in s.instructions if i.keyword == "USER"]
        checks = [i for i in s.instructions if i.keyword == "HEALTHCHECK"]
        if user is None and users:
            user = users[-1]
        if health is None and checks:
            health = checks[-1]
    fr = last.from_instruction
    if user is None:
        base = _lineage_base(df, last).base_image
        if "nonroot" not in base.lower():
            yield R.NO_USER.finding("no USER in the final stage: the container runs as root",
                                    source=_loc(df, fr), evidence=fr.original)
    else:
        name = (user.args[0] if user.args else "").split(":", 1)[0].strip()
        if name in ("root", "0"):
            yield R.USER_ROOT.finding(f"the final stage runs as {name}", source=_loc(df, user),
                                      evidence=user.original)
    if health is None:
        yield R.NO_HEALTHCHECK.finding("the final stage has no HEALTHCHECK", source=_loc(df, fr),
                                       evidence=fr.original)


def _instructions(df: Dockerfile, final: set[int]) -> Iterator[CheckFinding]:
    for i in df.global_args:
        yield from _secrets(df, i)
    for s in df.stages:
        cmd_seen: dict[str, int] = {}
        for i in s.instructions:
            kw = i.keyword
            if kw in ("CMD", "ENTRYPOINT"):
                if not i.json_form and i.value:
                    yield R.SHELL_FORM_CMD.finding(f"{kw} uses the shell form", source=_loc(df, i),
                                                   evidence=i.original)
                if kw in cmd_seen:
                    yield R.MULTIPLE_CMD.finding(f"{kw} overrides the {kw} on line {cmd_seen[kw]}",
                                                 source=_loc(df, i), evidence=i.original)
                cmd_seen[kw] = i.line
            elif kw == "MAINTAINER":
                yield R.MAINTAINER.finding("MAINTAINER is deprecated", source=_loc(df, i), evidence=i.original)
            elif kw == "WORKDIR":
                path = i.value.strip().strip("'\"")
                if path and not path.startswith(("/", "$", "\\")) and not re.match(r"^[A-Za-z]:", path):
                    yield R.WORKDIR_RELATIVE.finding(f"WORKDIR {path} is relative", source=_loc(df, i),
                                                     evidence=i.original)
            elif kw == "EXPOSE" and s.index in final:
                for port in i.args:
                    if port.split("/", 1)[0] == "22":
                        yield R.EXPOSE_SSH.finding("EXPOSE 22: an SSH server is published", source=_loc(df, i),
                                                   evidence=i.original)
            elif kw == "ADD":
                yield from _add(df, i)
            elif kw in ("ARG", "ENV"):
                yield from _secrets(df, i)


def _add(df: Dockerfile, i: Instruction) -> Iterator[CheckFinding]:
    if i.heredocs:
        return
    sources = [a for a in i.args[:-1]]
    remote = [a for a in sources if _REMOTE.match(a)]
    local = [a for a in sources if not _REMOTE.match(a) and not _ARCHIVE.search(a)]
    if remote:
        yield R.ADD_REMOTE.finding(f"ADD downloads {', '.join(remote)}", source=_loc(df, i), evidence=i.original)
    if local:
        yield R.ADD_LOCAL.finding(f"ADD of local {', '.join(local)}: use COPY", source=_loc(df, i),
                                  evidence=i.original)


def _mask(value: str) -> str:
    return (value[:2] + "****") if len(value) > 4 else "****"


def _secrets(df: Dockerfile, i: Instruction) -> Iterator[CheckFinding]:
    for word in raw_words(i.value, df.escape):
        key, eq, raw = word.partition("=")
        if not eq:
            continue
        value = raw.strip("'\"")
        if not value or value.startswith("$"):
            continue
        named = _SECRET_NAME.search(key) and not _SECRET_NAME_OK.search(key)
        if named or _SECRET_VALUE.search(value):
            yield R.SECRET_IN_ARG_ENV.finding(f"{i.keyword} {key} has a literal secret value",
                                              source=_loc(df, i), evidence=f"{key}={_mask(value)}")
    words = raw_words(i.value, df.escape)
    if i.keyword == "ENV" and words and "=" not in words[0] and i.pairs:
        # The legacy form `ENV KEY value with spaces`.
        key, env_value = i.pairs[0]
        value = env_value or ""
        literal = value and not i.value.split(None, 1)[-1].startswith("$")
        if literal and value and ((_SECRET_NAME.search(key) and not _SECRET_NAME_OK.search(key))
                                  or _SECRET_VALUE.search(value)):
            yield R.SECRET_IN_ARG_ENV.finding(f"ENV {key} has a literal secret value", source=_loc(df, i),
                                              evidence=f"{key}={_mask(value)}")


def _runs(df: Dockerfile, final: set[int]) -> Iterator[CheckFinding]:
    for s in df.stages:
        stage_env = dict(s.env)
        for i in s.instructions:
            if i.keyword != "RUN":
                continue
            cmds = run_commands(i)
            yield from _run(df, i, cmds, s.index in final, stage_env)


def _run(df: Dockerfile, i: Instruction, cmds: list[ShellCommand], in_final: bool,
         env: dict[str, str]) -> Iterator[CheckFinding]:
    loc = _loc(df, i)
    names = [c.name for c in cmds]
    hits: dict[Rule, list[str]] = {}

    def hit(rule: Rule, what: str) -> None:
        if what not in hits.setdefault(rule, []):
            hits[rule].append(what)

    if any(c.via_sudo or c.name in ("sudo", "doas") for c in cmds):
        hit(R.SUDO, "sudo")
    if "cd" in names:
        hit(R.CD_IN_RUN, "cd")
    for k, c in enumerate(cmds):
        if c.name in ("curl", "wget"):
            for d in cmds[k + 1:]:
                if d.pipeline == c.pipeline and d.position > c.position and (
                        d.name in SHELLS or re.fullmatch(r"(python\d*(\.\d+)?|perl|ruby|node)", d.name)):
                    hit(R.CURL_PIPE_SHELL, f"{c.name} … | {d.name}")
        if c.name in SHELLS and any(re.search(r"(\$\(|<\(|`)\s*(curl|wget)\b", a) for a in c.raw_args[1:]):
            hit(R.CURL_PIPE_SHELL, f"{c.name} runs a downloaded script")
        if c.name == "apt":
            hit(R.APT_NOT_APT_GET, "apt " + " ".join(c.words[1:2]))
        if c.name in ("apt-get", "apt"):
            sub = _non_options(c.words[1:], _APT_OPTS_WITH_VALUE)
            if sub and sub[0] in ("upgrade", "dist-upgrade", "full-upgrade"):
                hit(R.PKG_UPGRADE, f"{c.name} {sub[0]}")
        if c.name == "apk" and "upgrade" in _non_options(c.words[1:2], _APK_OPTS_WITH_VALUE):
            hit(R.PKG_UPGRADE, "apk upgrade")
        yum_args = _non_options(c.words[1:], frozenset())
        if c.name in ("yum", "dnf", "microdnf") and yum_args in (["upgrade"], ["update"], ["distro-sync"]):
            hit(R.PKG_UPGRADE, f"{c.name} {yum_args[0]}")
        args = _apt_install(c)
        if args is not None:
            pkgs = _non_options(args, _APT_OPTS_WITH_VALUE)[1:]
            opts = [a for a in args if a.startswith("-")]
            if "--no-install-recommends" not in opts and not any(
                    "Install-Recommends=false" in a or "Install-Recommends=0" in a for a in args):
                hit(R.APT_RECOMMENDS, " ".join(pkgs) or "install")
            if not any(o in ("-y", "--yes", "--assume-yes", "-qq", "--quiet=2", "-q=2")
                       or re.fullmatch(r"-[a-z]*y[a-z]*", o) for o in opts):
                hit(R.APT_NO_YES, "install")
            for p in pkgs:
                if "=" not in p and not p.endswith(".deb") and not p.startswith("$"):
                    hit(R.APT_UNPINNED, p)
                if p.split("=", 1)[0] in _BUILD_PACKAGES and in_final:
                    hit(R.BUILD_TOOLS, p.split("=", 1)[0])
        if c.name == "apk" and "add" in c.words[1:]:
            words = c.words[c.words.index("add") + 1:]
            pkgs = _non_options(words, _APK_OPTS_WITH_VALUE)
            if "--no-cache" not in words and not _mounts_cache(i, "/var/cache/apk") \
                    and not _mounts_cache(i, "/etc/apk/cache"):
                hit(R.APK_CACHE, " ".join(pkgs) or "add")
            for p in pkgs:
                if not re.search(r"[=~<>]", p) and not p.endswith(".apk") and not p.startswith("$"):
                    hit(R.APK_UNPINNED, p)
                if re.split(r"[=~<>]", p, maxsplit=1)[0] in _BUILD_PACKAGES and in_final:
                    hit(R.BUILD_TOOLS, re.split(r"[=~<>]", p, maxsplit=1)[0])
        if c.name in ("yum", "dnf", "microdnf") and "install" in c.words[1:] and in_final:
            for p in _non_options(c.words[c.words.index("install") + 1:], frozenset()):
                if re.split(r"[-=]\d", p, maxsplit=1)[0] in _BUILD_PACKAGES:
                    hit(R.BUILD_TOOLS, p)
        pip = _pip_install(c)
        if pip is not None:
            if "--no-cache-dir" not in pip and not env.get("PIP_NO_CACHE_DIR") \
                    and not _mounts_cache(i, "/root/.cache") and not any(
                        m for m in i.flag_values("mount") if "pip" in m and "type=cache" in m):
                hit(R.PIP_CACHE, "pip install")
            for p in _non_options(pip, _PIP_OPTS_WITH_VALUE):
                if p.startswith(("$", ".", "/", "git+", "http://", "https://", "file:")) or "@" in p \
                        or re.search(r"\.(whl|tar\.gz|zip)$", p):
                    continue
                if "==" not in p:
                    hit(R.PIP_UNPINNED, p)
        if c.name == "npm" and len(c.words) > 1 and c.words[1] in ("install", "i", "add", "isntall", "in"):
            for p in _non_options(c.words[2:], _NPM_OPTS_WITH_VALUE):
                if p.startswith(("$", ".", "/", "git", "http://", "https://", "file:")) or p.endswith(".tgz"):
                    continue
                _name, at, version = p[1:].rpartition("@") if p.startswith("@") else p.rpartition("@")
                if not at or not version or version == "latest":
                    hit(R.NPM_UNPINNED, p)
    if in_final and any(_apt_update(c) for c in cmds) and not _mounts_cache(i, "/var/lib/apt/lists") and not any(
            c.name == "rm" and any(a.startswith("/var/lib/apt/lists") for a in c.words[1:]) for c in cmds):
        hit(R.APT_LISTS, "apt-get update")
    order = [r for r in R.DOCKERFILE_RULES if r in hits]
    for rule in order:
        yield rule.finding(_MESSAGES[rule.id].format(", ".join(hits[rule])), source=loc, evidence=i.original)


def _apt_update(c: ShellCommand) -> bool:
    if c.name not in ("apt-get", "apt"):
        return False
    sub = _non_options(c.words[1:], _APT_OPTS_WITH_VALUE)
    return bool(sub) and sub[0] == "update"


_MESSAGES = {
    R.SUDO.id: "RUN uses sudo",
    R.CD_IN_RUN.id: "RUN changes directory with cd",
    R.CURL_PIPE_SHELL.id: "RUN pipes a download into an interpreter ({})",
    R.APT_NOT_APT_GET.id: "RUN uses apt ({})",
    R.PKG_UPGRADE.id: "RUN upgrades the distribution ({})",
    R.APT_RECOMMENDS.id: "apt-get install without --no-install-recommends ({})",
    R.APT_NO_YES.id: "apt-get install without -y",
    R.APT_UNPINNED.id: "unpinned apt packages: {}",
    R.APK_CACHE.id: "apk add without --no-cache ({})",
    R.APK_UNPINNED.id: "unpinned apk packages: {}",
    R.BUILD_TOOLS.id: "build tools installed in the final stage: {}",
    R.PIP_CACHE.id: "pip install without --no-cache-dir",
    R.PIP_UNPINNED.id: "unpinned pip requirements: {}",
    R.NPM_UNPINNED.id: "unpinned npm packages: {}",
    R.APT_LISTS.id: "RUN runs apt-get update without rm -rf /var/lib/apt/lists/*",
}

_EVALUATORS: tuple[_Evaluator, ...] = (_base_images, _user_and_health, _instructions, _runs)
