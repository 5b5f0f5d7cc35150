"""The secret scanner: keyword prefilter → rule regexes → allow-lists → masking, over bounded chunks.

    scanner = SecretScanner()
    if scanner.wants(path, size, head):
        for m in scanner.scan_stream(path, stream, size):   # stream positioned at the start of the file
            print(m.rule.id, m.line, m.match)                 # TG-SEC-003 5 ghp_************************************

Files are read in `CHUNK_BYTES` chunks; consecutive windows overlap by `overlap` bytes (more than the longest
possible match, `rules.MAX_MATCH_BYTES`), and a match is reported only by the window where it *starts*, so a
secret that straddles a chunk boundary is found exactly once. Line numbers and columns are carried across
chunks. A chunk costs one lower-casing and one Aho-Corasick pass when no keyword occurs in it; a rule's regex
runs only when one of its keywords occurs. Secrets are masked here, before a `SecretMatch` exists: no field of
a match (nor its repr) holds the raw value.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from tidegate.checks.secrets.rules import (
    BUILD_ARG_SECRET,
    DEFAULT_RULES,
    ENV_NAME,
    ENV_NAME_ALLOW,
    ENV_SECRET,
    GLOBAL_ALLOW_PATHS,
    MAX_MATCH_BYTES,
    PLACEHOLDER,
    SecretRule,
    compile_allow,
    shannon_entropy,
)

log = logging.getLogger(__name__)

# pyahocorasick ships no type information; the module is used through `Any`.
_ahocorasick: Any = importlib.import_module("ahocorasick")

CHUNK_BYTES = 1024 * 1024
"""Bytes read from a stream at a time."""
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
"""Files larger than this are not scanned (configurable per scanner)."""
HEAD_BYTES = 8192
"""How much of a file's start `wants` and the binary test look at."""
EXCERPT_CHARS = 160
"""Longest excerpt of the matching line."""
_CONTEXT = 256
"""Bytes kept before each window: look-behinds and excerpts see the text just before it."""

BINARY_MAGICS: tuple[bytes, ...] = (
    b"\x7fELF", b"\x1f\x8b", b"PK\x03\x04", b"PK\x05\x06", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BZh",
    b"\xfd7zXZ", b"(\xb5/\xfd", b"\xca\xfe\xba\xbe", b"\xcf\xfa\xed\xfe", b"MZ", b"%PDF", b"\x00asm",
    b"7z\xbc\xaf", b"SQLite format 3", b"!<arch>", b"RIFF", b"wOFF", b"wOF2", b"\x00\x01\x00\x00",
)
"""File signatures of binaries and archives: ELF, gzip, zip, PNG, JPEG, GIF, bzip2, xz, zstd, Mach-O, PE,
PDF, wasm, 7z, SQLite, ar, RIFF, WOFF, TrueType."""

NOISE_PATHS = (
    r"^/(?:proc|sys|dev)/",
    r"^/usr/share/(?:zoneinfo|locale|i18n|terminfo|mime|fonts|icons|X11|pixmaps|sounds)/",
    r"^/usr/include/",
    r"^/var/lib/dpkg/info/[^/]+\.(?:md5sums|list|triggers|shlibs|symbols|conffiles)$",
    r"^/var/cache/(?:apt|debconf|ldconfig)/",
    (r"\.(?:pyc|pyo|so(?:\.[0-9]+)*|a|o|whl|egg|jar|war|ear|zip|gz|tgz|bz2|xz|zst|lz4|7z|rar|png|jpe?g|gif|ico"
     r"|webp|bmp|tiff?|woff2?|ttf|otf|eot|mo|gmo|mp3|mp4|ogg|wav|wasm|class|dll|exe|dylib|db|sqlite3?)$"),
)
"""Paths that never hold text secrets (compiled code, media, archives, locale catalogs, package indexes)."""


@dataclass(frozen=True, slots=True)
class SecretMatch:
    """One secret found: the rule and where, with the value already masked."""

    rule: SecretRule
    """The rule that matched."""
    line: int
    """1-based line of the start of the match."""
    column: int
    """1-based byte column of the start of the match."""
    match: str
    """The matched text, masked (``GITHUB_TOKEN = "ghp_************************************"``), one line."""
    excerpt: str
    """The matching line (a window of at most `EXCERPT_CHARS` around the match), every secret on it masked."""
    fingerprint: str
    """Keyed BLAKE2b of the raw secret under a per-process random key: equal secrets get equal fingerprints
    within one process (for de-duplication), and it reveals nothing about the value."""

    @property
    def rule_id(self) -> str:
        """The rule's id (``TG-SEC-001``)."""
        return self.rule.id


_FINGERPRINT_KEY = os.urandom(32)


def fingerprint(secret: bytes) -> str:
    """The per-process keyed hash of `secret` (see `SecretMatch.fingerprint`)."""
    return hashlib.blake2b(secret, key=_FINGERPRINT_KEY, digest_size=16).hexdigest()


def mask(secret: str, keep: int = 0) -> str:
    """`secret` with all but its first `keep` characters (at most half of it) replaced by ``*``."""
    keep = min(keep, len(secret) // 2)
    return secret[:keep] + "*" * (len(secret) - keep)


def is_binary(head: bytes) -> bool:
    """True when `head` (a file's first bytes) has a NUL byte or starts with a known binary signature."""
    return b"\x00" in head[:HEAD_BYTES] or head.startswith(BINARY_MAGICS)


def _norm(path: str) -> str:
    return path if path.startswith("/") else "/" + path


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A rule compiled for scanning."""

    rule: SecretRule
    rx: re.Pattern[bytes]
    path: re.Pattern[str] | None
    allow_secrets: tuple[re.Pattern[str], ...]
    allow_paths: tuple[re.Pattern[str], ...]
    priority: int
    secret_groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Hit:
    """A raw match inside the current window (positions relative to the window's data)."""

    index: int
    start: int
    end: int
    secret_start: int
    secret_end: int
    priority: int


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_ASSIGNMENT = re.compile(rb"(?<![A-Za-z0-9_])([A-Za-z_][A-Za-z0-9_.-]*)=(\"[^\"]*\"|'[^']*'|[^\s;&|]+)")


class SecretScanner:
    """Scans file streams and strings for `rules`; see the module docstring."""

    def __init__(self, rules: Iterable[SecretRule] = DEFAULT_RULES, *,
                 max_file_bytes: int = DEFAULT_MAX_FILE_BYTES, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.rules: tuple[SecretRule, ...] = tuple(rules)
        """The rules run, in order."""
        self.max_file_bytes = max_file_bytes
        """Files larger than this are skipped by `wants` and `scan_stream`."""
        self.chunk_bytes = chunk_bytes
        """Bytes read per `read` call."""
        self.overlap = 2 * MAX_MATCH_BYTES
        """Bytes shared by consecutive windows (more than any match can span)."""
        self._compiled = tuple(
            _Compiled(rule=r, rx=re.compile(r.regex.encode()), path=re.compile(r.path) if r.path else None,
                      allow_secrets=compile_allow(r.allow_secrets), allow_paths=compile_allow(r.allow_paths),
                      priority=0 if r.generic and r.path is None else 1 if r.generic else 2,
                      secret_groups=tuple(sorted(g for g in re.compile(r.regex.encode()).groupindex
                                                 if g.startswith("secret"))))
            for r in self.rules)
        by_keyword: dict[str, list[int]] = {}
        for i, r in enumerate(self.rules):
            for k in r.keywords:
                if k != k.lower():
                    raise ValueError(f"{r.id}: keyword {k!r} is not lower-case")
                by_keyword.setdefault(k, []).append(i)
        self._automaton: Any = _ahocorasick.Automaton()
        for k, idx in by_keyword.items():
            self._automaton.add_word(k, frozenset(idx))
        if by_keyword:
            self._automaton.make_automaton()
        self._has_keywords = bool(by_keyword)
        self._always = frozenset(i for i, r in enumerate(self.rules) if not r.keywords)
        self._content = frozenset(i for i, c in enumerate(self._compiled) if c.path is None)
        self._content_plain = frozenset(i for i in self._content if not self._compiled[i].allow_paths)
        path_rules = [r.path for r in self.rules if r.path]
        self._any_path = re.compile("|".join(f"(?:{p})" for p in path_rules)) if path_rules else None
        self._global_allow = re.compile("|".join(f"(?:{p})" for p in GLOBAL_ALLOW_PATHS))
        self._noise = re.compile("|".join(f"(?:{p})" for p in NOISE_PATHS))
        self._env_name = re.compile(ENV_NAME)
        self._env_name_allow = re.compile(ENV_NAME_ALLOW)
        self._placeholder = re.compile(PLACEHOLDER, re.DOTALL)

    # --- what to scan ------------------------------------------------------------------------------------

    def wants(self, path: str, size: int, head: bytes) -> bool:
        """Whether `path` is worth scanning: not too large, not allow-listed, not noise, not binary.

        File-based rules (``.env``, ``.npmrc``, ``id_rsa``, …) always want their paths (size permitting).
        """
        if size > self.max_file_bytes:
            return False
        p = _norm(path)
        if self._global_allow.search(p):
            return False
        if self._any_path is not None and self._any_path.search(p):
            return True
        if self._noise.search(p):
            return False
        return not is_binary(head)

    def _active(self, where: str | None) -> frozenset[int]:
        """Indexes of the rules that apply at `where` (None: content rules only, no path allow-lists)."""
        if where is None:
            return self._content
        active = set(self._content_plain)
        for i in self._content - self._content_plain:
            if not any(a.search(where) for a in self._compiled[i].allow_paths):
                active.add(i)
        if self._any_path is not None and self._any_path.search(where):
            for i, c in enumerate(self._compiled):
                if c.path is not None and c.path.search(where):
                    active.add(i)
        return frozenset(active)

    # --- scanning ----------------------------------------------------------------------------------------

    def scan_stream(self, path: str, stream: BinaryIO, size: int) -> list[SecretMatch]:
        """Matches in the file at `path` read from `stream` in chunks (never the whole file at once).

        Returns nothing for files over `max_file_bytes`, allow-listed paths and binaries (by their first chunk).
        """
        if size > self.max_file_bytes:
            return []
        p = _norm(path)
        if self._global_allow.search(p):
            return []

        def chunks() -> Iterator[bytes]:
            while True:
                block = stream.read(self.chunk_bytes)
                if not block:
                    return
                yield block

        return self._scan(chunks(), self._active(p), detect_binary=True)

    def scan_bytes(self, path: str, data: bytes) -> list[SecretMatch]:
        """`scan_stream` over bytes already in memory."""
        return self.scan_stream(path, io.BytesIO(data), len(data))

    def scan_text(self, text: str, where: str) -> list[SecretMatch]:
        """Matches in a string (an ENV entry, a label, a history step).

        `where` names it; it is matched like a path against file-based rules and path allow-lists, so a label
        such as ``image config Env`` gets the content rules only.
        """
        data = text.encode("utf-8", "surrogateescape")
        step = self.chunk_bytes
        return self._scan((data[i:i + step] for i in range(0, len(data), step)), self._active(where),
                          detect_binary=False)

    def redact(self, text: str, where: str = "image config") -> str:
        """`text` with every secret the rules find masked, and the value of every ``NAME=value`` whose name says
        secret (`rules.ENV_NAME`) masked too: for strings tidegate shows as they are (history ``created_by``,
        labels), so that no report ever prints a secret the scanner can recognise."""
        data = bytearray(text.encode("utf-8", "surrogateescape"))
        raw = bytes(data)
        for h in self._hits(raw, 0, len(raw), self._active(where)):
            keep = self._compiled[h.index].rule.keep
            data[h.secret_start:h.secret_end] = _mask_bytes(raw[h.secret_start:h.secret_end], keep)
        for m in _ASSIGNMENT.finditer(raw):
            name, value = m.group(1).decode("latin-1"), m.group(2)
            literal = value.strip(b"\"'").decode("utf-8", "replace")
            if (literal and self._env_name.search(name) and not self._env_name_allow.fullmatch(name)
                    and not self._placeholder.fullmatch(literal)):
                data[m.start(2):m.end(2)] = b"*" * (m.end(2) - m.start(2))
        return bytes(data).decode("utf-8", "surrogateescape")

    def scan_env(self, entry: str, where: str, *, rule: SecretRule = ENV_SECRET) -> list[SecretMatch]:
        """Matches in one ``NAME=value`` entry (config ``Env``, a build arg, an ``ENV`` step).

        Specific rules (an AWS key, a GitHub token in the value) win; otherwise a secret-looking *name*
        (`rules.ENV_NAME`) with a literal, non-placeholder value is a match of `rule` (`ENV_SECRET`, or
        `BUILD_ARG_SECRET` for build args); otherwise what the generic rules found.
        """
        matches = self.scan_text(entry, where)
        specific = [m for m in matches if not m.rule.generic]
        if specific:
            return specific
        name, sep, value = entry.partition("=")
        name = name.strip()
        literal = value.strip().strip("\"'")
        if (sep and literal and self._env_name.search(name) and not self._env_name_allow.fullmatch(name)
                and not self._placeholder.fullmatch(literal)):
            shown = f"{name}={mask(value)}"
            return [SecretMatch(rule=rule, line=1, column=len(name) + 2, match=shown[:EXCERPT_CHARS],
                                excerpt=shown[:EXCERPT_CHARS], fingerprint=fingerprint(literal.encode()))]
        return matches

    def _scan(self, chunks: Iterable[bytes], active: frozenset[int], *, detect_binary: bool) -> list[SecretMatch]:
        """The windowed scan over `chunks` (see the module docstring)."""
        out: list[SecretMatch] = []
        if not active:
            return out
        carry = b""
        lo = 0  # first position of `data` whose matches this window reports
        line_base = 1  # line number of data[0]
        col_base = 0  # bytes of data[0]'s line that precede data[0]
        first = True
        it = iter(chunks)
        while True:
            chunk = next(it, None)
            eof = chunk is None
            if first and chunk is not None:
                first = False
                if detect_binary and is_binary(chunk[:HEAD_BYTES]):
                    return []
            data = carry + chunk if chunk is not None else carry
            hi = len(data) if eof else len(data) - self.overlap
            if hi <= lo:
                carry = data
                if eof:
                    break
                continue
            hits = self._hits(data, lo, hi, active)
            if hits:
                out.extend(self._matches(data, hits, line_base, col_base))
            if eof:
                break
            keep_from = max(0, hi - _CONTEXT)
            nl = data.rfind(b"\n", 0, keep_from)
            col_base = keep_from - nl - 1 if nl >= 0 else col_base + keep_from
            line_base += data.count(b"\n", 0, keep_from)
            carry = data[keep_from:]
            lo = hi - keep_from
        return out

    def _hits(self, data: bytes, lo: int, hi: int, active: frozenset[int]) -> list[_Hit]:
        """Raw matches starting in ``data[lo:hi]`` that pass their rule's allow-lists and entropy test."""
        candidates = set(self._always)
        if self._has_keywords:
            # NOTE: distinct values first (a comprehension), then one union each: keywords such as "token"
            # occur thousands of times in source code.
            for idx in {v for _, v in self._automaton.iter(data.lower().decode("latin-1"))}:
                candidates |= idx
        candidates &= active
        hits: list[_Hit] = []
        for i in sorted(candidates):
            c = self._compiled[i]
            for m in c.rx.finditer(data, lo):
                if m.start() >= hi:
                    break
                ss, se = m.span()
                for g in c.secret_groups:
                    if m.start(g) >= 0:
                        ss, se = m.span(g)
                        break
                secret = data[ss:se]
                if c.allow_secrets:
                    text = secret.decode("utf-8", "replace")
                    if any(a.fullmatch(text) for a in c.allow_secrets):
                        continue
                if c.rule.min_entropy and shannon_entropy(secret) < c.rule.min_entropy:
                    continue
                hits.append(_Hit(i, m.start(), m.end(), ss, se, c.priority))
        return hits

    def _matches(self, data: bytes, hits: list[_Hit], line_base: int, col_base: int) -> list[SecretMatch]:
        """Masked `SecretMatch`es of `hits`: per line, generic rules yield to specific ones and overlapping
        secrets are reported once (by the most specific rule)."""
        hits.sort(key=lambda h: h.start)
        lines: list[int] = []
        line, pos = line_base, 0
        for h in hits:
            line += data.count(b"\n", pos, h.start)
            pos = h.start
            lines.append(line)
        specific_lines = {ln for h, ln in zip(hits, lines, strict=True) if h.priority == 2}
        spans_by_line: dict[int, list[_Hit]] = {}
        for h, ln in zip(hits, lines, strict=True):
            spans_by_line.setdefault(ln, []).append(h)
        kept: list[tuple[_Hit, int]] = []
        for h, ln in sorted(zip(hits, lines, strict=True), key=lambda t: (-t[0].priority, t[0].start)):
            if h.priority < 2 and ln in specific_lines:
                continue
            if any(k.secret_start < h.secret_end and h.secret_start < k.secret_end for k, _ in kept):
                continue
            kept.append((h, ln))
        out: list[SecretMatch] = []
        for h, ln in sorted(kept, key=lambda t: t[0].start):
            rule = self._compiled[h.index].rule
            nl = data.rfind(b"\n", 0, h.start)
            column = h.start - nl if nl >= 0 else col_base + h.start + 1
            secret = data[h.secret_start:h.secret_end]
            masked = (data[h.start:h.secret_start] + _mask_bytes(secret, rule.keep) + data[h.secret_end:h.end])
            shown = _one_line(masked.decode("utf-8", "replace"))
            out.append(SecretMatch(rule=rule, line=ln, column=column, match=shown,
                                   excerpt=self._excerpt(data, h, spans_by_line[ln]),
                                   fingerprint=fingerprint(secret)))
        return out

    def _excerpt(self, data: bytes, hit: _Hit, on_line: list[_Hit]) -> str:
        """The line of `hit` (a window of it when long) with every secret on it masked."""
        ls = data.rfind(b"\n", 0, hit.start) + 1
        le = data.find(b"\n", hit.start)
        le = len(data) if le < 0 else le
        ws, we = ls, le
        if le - ls > EXCERPT_CHARS:
            ws = max(ls, hit.start - 40)
            we = min(le, ws + EXCERPT_CHARS)
        window = bytearray(data[ws:we])
        for h in on_line:
            s, e = max(h.secret_start, ws), min(h.secret_end, we)
            if s >= e:
                continue
            keep = self._compiled[h.index].rule.keep if s == h.secret_start else 0
            window[s - ws:e - ws] = _mask_bytes(data[s:e], keep)
        text = _CONTROL.sub(" ", window.decode("utf-8", "replace")).strip()
        return text[:EXCERPT_CHARS]


def _mask_bytes(secret: bytes, keep: int) -> bytes:
    keep = min(keep, len(secret) // 2)
    return secret[:keep] + b"*" * (len(secret) - keep)


_LINE_BREAK = re.compile(r"\\r|\\n|\r|\n")


def _one_line(text: str) -> str:
    """The first line of `text` (also at JSON-escaped newlines), without control characters, capped."""
    first = _LINE_BREAK.split(text, maxsplit=1)[0]
    return _CONTROL.sub(" ", first).strip()[:EXCERPT_CHARS]


__all__ = ["BUILD_ARG_SECRET", "ENV_SECRET", "SecretMatch", "SecretScanner", "fingerprint", "is_binary", "mask"]
