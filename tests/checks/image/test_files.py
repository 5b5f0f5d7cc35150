"""ImageFilesCheck: SSH server, sudo, setuid/setgid, caches, world-writable paths; each with its near misses."""

from __future__ import annotations

import pytest

from tidegate.checks.base import ImageFile
from tidegate.checks.image.common import human_size, resolve_path
from tidegate.checks.image.files import ImageFilesCheck
from tidegate.model.finding import CheckFinding, Severity
from tidegate.model.package import Package

from .conftest import f, ids, image_target, location, pkg

C = ImageFilesCheck()
MERGED_USR = [f("/bin", "symlink", 0o777, linkname="usr/bin"), f("/sbin", "symlink", 0o777, linkname="usr/sbin"),
              f("/usr", "dir", 0o755), f("/usr/bin", "dir", 0o755), f("/usr/sbin", "dir", 0o755)]
"""Debian's merged /usr: /bin and /sbin are relative symlinks into /usr."""


def run(files: list[ImageFile] = (), packages: list[Package] = ()) -> list[CheckFinding]:  # type: ignore[assignment]
    return list(C.evaluate(image_target(files=[*MERGED_USR, *files], packages=packages)))


def test_clean_tree() -> None:
    assert run([f("/usr/bin/ls", mode=0o755, size=100), f("/etc/passwd", size=10)]) == []


def test_resolve_path() -> None:
    files = {x.path: x for x in [*MERGED_USR, f("/usr/bin/dash", mode=0o755),
                                 f("/usr/bin/sh", "symlink", 0o777, linkname="dash"),
                                 f("/etc/alt", "symlink", linkname="/bin/sh"),
                                 f("/loop", "symlink", linkname="/loop")]}
    assert resolve_path(files, "/bin/sh") == "/usr/bin/dash"
    assert resolve_path(files, "/etc/alt") == "/usr/bin/dash"
    assert resolve_path(files, "/bin/sh", follow_last=False) == "/usr/bin/sh"
    assert resolve_path(files, "/usr/bin/../bin/dash") == "/usr/bin/dash"
    assert resolve_path(files, "/bin/bash") is None
    assert resolve_path(files, "/loop") is None


@pytest.mark.parametrize(("files", "packages", "rule", "evidence", "where"), [
    ([f("/usr/sbin/sshd", mode=0o755, layer=2)], [], "TG-IMG-011", "/usr/sbin/sshd", ("/usr/sbin/sshd", 2)),
    ([], [pkg("openssh-server", "1:9.2p1-2", layer=1)], "TG-IMG-011", "package openssh-server 1:9.2p1-2",
     ("/var/lib/dpkg/status", 1)),
    ([f("/usr/sbin/dropbear", mode=0o755, layer=3)], [pkg("dropbear", "2022.83", "apk", layer=3)], "TG-IMG-011",
     "package dropbear 2022.83, /usr/sbin/dropbear", ("/usr/sbin/dropbear", 3)),
    ([f("/usr/sbin/sshd", "symlink", 0o777, layer=4, linkname="sshd.real"), f("/usr/sbin/sshd.real", layer=2)], [],
     "TG-IMG-011", "/usr/sbin/sshd -> /usr/sbin/sshd.real", ("/usr/sbin/sshd", 4)),
    ([f("/usr/bin/sudo", mode=0o4755, layer=1)], [pkg("sudo", "1.9.13p3-1", layer=1)], "TG-IMG-013",
     "package sudo 1.9.13p3-1, /usr/bin/sudo", ("/usr/bin/sudo", 1)),
    ([], [pkg("sudo", "1.9.15", "rpm", path="/var/lib/rpm/rpmdb.sqlite", layer=0)], "TG-IMG-013",
     "package sudo 1.9.15", ("/var/lib/rpm/rpmdb.sqlite", 0)),
])
def test_installed(files: list[ImageFile], packages: list[Package], rule: str, evidence: str,
                   where: tuple[str, int]) -> None:
    found = [x for x in run(files, packages) if x.rule_id != "TG-IMG-012"]
    assert ids(found) == [rule]
    assert found[0].evidence == evidence and found[0].severity is Severity.MEDIUM
    assert found[0].location == location(*where)


@pytest.mark.parametrize(("files", "packages"), [
    ([f("/usr/bin/ssh", mode=0o755)], [pkg("openssh-client")]),      # the client is not a server
    ([f("/usr/sbin/sshd", "dir", 0o755)], []),                         # a directory named sshd
    ([f("/usr/local/bin/sudo-helper", mode=0o755)], [pkg("sudo", type="pypi")]),  # not an OS package
])
def test_installed_near_misses(files: list[ImageFile], packages: list[Package]) -> None:
    assert run(files, packages) == []


@pytest.mark.parametrize(("file", "severity", "message"), [
    (f("/usr/bin/su", mode=0o4755, layer=0), Severity.LOW,
     "setuid file /usr/bin/su (mode 4755, uid 0, gid 0), shipped by the distribution by design"),
    (f("/usr/bin/chage", mode=0o2755, gid=42, layer=0), Severity.LOW,
     "setgid file /usr/bin/chage (mode 2755, uid 0, gid 42), shipped by the distribution by design"),
    (f("/usr/local/bin/tool", mode=0o6755, layer=2), Severity.MEDIUM,
     "setuid and setgid file /usr/local/bin/tool (mode 6755, uid 0, gid 0)"),
    (f("/app/su", mode=0o4755, uid=1000, layer=4), Severity.MEDIUM,              # a known name elsewhere
     "setuid file /app/su (mode 4755, uid 1000, gid 0)"),
    (f("/usr/bin/newgrp-hl", "hardlink", 0o4755, layer=1, linkname="/usr/bin/newgrp"), Severity.MEDIUM,
     "setuid file /usr/bin/newgrp-hl (mode 4755, uid 0, gid 0)"),
])
def test_setid(file: ImageFile, severity: Severity, message: str) -> None:
    found = run([file])
    assert ids(found) == ["TG-IMG-012"]
    assert (found[0].severity, found[0].message) == (severity, message)
    assert found[0].location == location(file.path, file.layer_index)


@pytest.mark.parametrize("file", [
    f("/var/local", "dir", 0o2775),        # setgid directory: group inheritance, not privilege
    f("/usr/bin/ls", mode=0o755),
    f("/usr/bin/weird", "symlink", 0o4777, linkname="ls"),
])
def test_setid_near_misses(file: ImageFile) -> None:
    assert run([file]) == []


def test_every_setid_file_is_listed_in_path_order() -> None:
    found = run([f("/usr/bin/passwd", mode=0o4755), f("/usr/bin/mount", mode=0o4755),
                 f("/usr/sbin/unix_chkpwd", mode=0o2755, gid=42)])
    assert [x.location.path for x in found if x.location] == ["/usr/bin/mount", "/usr/bin/passwd",
                                                              "/usr/sbin/unix_chkpwd"]


@pytest.mark.parametrize(("files", "message", "where", "evidence"), [
    ([f("/var/lib/apt/lists", "dir", 0o755), f("/var/lib/apt/lists/lock", size=0, layer=1),
      f("/var/lib/apt/lists/partial", "dir", 0o700),
      f("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", size=151_000, layer=1),
      f("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
        size=8_800_000, layer=2)],
     "apt package lists: 2 files, 8.5 MiB (8951000 bytes) left in /var/lib/apt/lists (layers 1, 2)",
     ("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4", 2),
     ("/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4, "
      "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease")),
    ([f("/var/cache/apt/archives/curl_7.88.1-10_amd64.deb", size=315_000, layer=1),
      f("/var/cache/apt/archives/lock", size=0, layer=1)],
     "apt downloaded packages: 1 file, 307.6 KiB (315000 bytes) left in /var/cache/apt/archives (layer 1)",
     ("/var/cache/apt/archives/curl_7.88.1-10_amd64.deb", 1), "/var/cache/apt/archives/curl_7.88.1-10_amd64.deb"),
    ([f("/var/cache/apk/APKINDEX.76ae5dea.tar.gz", size=2048, layer=1)],
     "apk cache: 1 file, 2.0 KiB (2048 bytes) left in /var/cache/apk (layer 1)",
     ("/var/cache/apk/APKINDEX.76ae5dea.tar.gz", 1), "/var/cache/apk/APKINDEX.76ae5dea.tar.gz"),
    ([f("/root/.cache/pip/http-v2/a/b/c", size=500, layer=2), f("/home/app/.cache/pip/wheels/x.whl", size=700,
                                                                layer=3)],
     "pip cache: 2 files, 1.2 KiB (1200 bytes) left in ~/.cache/pip (layers 2, 3)",
     ("/home/app/.cache/pip/wheels/x.whl", 3), "/home/app/.cache/pip/wheels/x.whl, /root/.cache/pip/http-v2/a/b/c"),
    ([f("/root/.npm/_cacache/index-v5/00/ab", size=10, layer=2)],
     "npm cache: 1 file, 10 B (10 bytes) left in ~/.npm/_cacache (layer 2)",
     ("/root/.npm/_cacache/index-v5/00/ab", 2), "/root/.npm/_cacache/index-v5/00/ab"),
])
def test_caches(files: list[ImageFile], message: str, where: tuple[str, int], evidence: str) -> None:
    found = run(files)
    assert ids(found) == ["TG-IMG-014"]
    assert found[0].message == message and found[0].evidence == evidence and found[0].severity is Severity.LOW
    assert found[0].location == location(*where)


@pytest.mark.parametrize("files", [
    [f("/var/lib/apt/lists", "dir", 0o755), f("/var/lib/apt/lists/lock"), f("/var/lib/apt/lists/partial", "dir")],
    [f("/var/cache/apt/archives/partial", "dir"), f("/var/cache/apt/archives/lock")],
    [f("/var/cache/apk", "dir", 0o755)],
    [f("/root/.cache/pip", "dir")],
    [f("/app/.cache/pip/x", size=100)],           # not a home directory
    [f("/var/cache/apt/archives/readme.txt", size=100)],
])
def test_cache_near_misses(files: list[ImageFile]) -> None:
    assert run(files) == []


@pytest.mark.parametrize(("file", "message"), [
    (f("/etc/app.conf", mode=0o666, layer=3), "world-writable file /etc/app.conf (mode 0666, uid 0, gid 0)"),
    (f("/usr/local/share/data", "dir", 0o777, layer=2),
     "world-writable directory /usr/local/share/data (mode 0777, uid 0, gid 0)"),
    (f("/lib64/libx.so", mode=0o646, layer=1), "world-writable file /lib64/libx.so (mode 0646, uid 0, gid 0)"),
    (f("/var/lib/app", "dir", 0o757, uid=1000, layer=4),
     "world-writable directory /var/lib/app (mode 0757, uid 1000, gid 0)"),
])
def test_world_writable(file: ImageFile, message: str) -> None:
    found = run([file])
    assert ids(found) == ["TG-IMG-015"]
    assert found[0].message == message and found[0].severity is Severity.MEDIUM
    assert found[0].location == location(file.path, file.layer_index)


@pytest.mark.parametrize("file", [
    f("/tmp", "dir", 0o1777),                       # sticky and not a system path
    f("/var/tmp", "dir", 0o777),                    # not a system path
    f("/usr/share/spool", "dir", 0o1777),          # sticky directory in a system path
    f("/usr/lib/libfoo.so", "symlink", 0o777, linkname="libfoo.so.1"),   # symlinks are always 0777
    f("/app/data", "dir", 0o777),                   # application path
    f("/var/library/x", mode=0o666),                # not /var/lib
    f("/library/x", mode=0o666),                    # not /lib*
    f("/etc/shadow", mode=0o640),
])
def test_world_writable_near_misses(file: ImageFile) -> None:
    assert run([file]) == []


def test_human_size() -> None:
    assert [human_size(n) for n in (0, 1023, 1024, 1536, 5 * 1024**2, 3 * 1024**3)] == [
        "0 B", "1023 B", "1.0 KiB", "1.5 KiB", "5.0 MiB", "3.0 GiB"]
