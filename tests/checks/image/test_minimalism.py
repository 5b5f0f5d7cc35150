"""ImageMinimalismCheck: shell + package manager → one informational finding with the score."""

from __future__ import annotations

from tidegate.checks.base import ImageFile
from tidegate.checks.image.minimalism import ImageMinimalismCheck, score
from tidegate.model.finding import Severity

from .conftest import f, image_target, location, pkg

C = ImageMinimalismCheck()
DEBIAN = [
    f("/bin", "symlink", 0o777, linkname="usr/bin"), f("/usr/bin", "dir", 0o755),
    f("/usr/bin/dash", mode=0o755, size=125_000), f("/usr/bin/sh", "symlink", 0o777, linkname="dash"),
    f("/usr/bin/bash", mode=0o755, size=1_265_000), f("/usr/bin/dpkg", mode=0o755, size=300_000),
    f("/usr/bin/apt-get", mode=0o755, size=20_000, layer=0),
    f("/usr/bin/perl5.36.0", "hardlink", 0o755, size=0, linkname="/usr/bin/perl"),
]
"""A merged-/usr Debian base: /bin/sh → /usr/bin/sh → dash."""


def test_full_os_base() -> None:
    t = image_target(files=DEBIAN, packages=[pkg("bash"), pkg("dpkg"), pkg("flask", type="pypi")])
    found = list(C.evaluate(t))
    assert len(found) == 1
    x = found[0]
    assert (x.rule_id, x.severity, x.category, x.target) == ("TG-IMG-016", Severity.LOW, "misconfig",
                                                             "image filesystem")
    # /bin/sh, /bin/dash, /usr/bin/sh and /usr/bin/dash are one dash; /bin/bash and /usr/bin/bash one bash.
    # Regular files: dash, bash, dpkg, apt-get, the perl hard link = 5; 125000+1265000+300000+20000 bytes.
    assert x.message == ("full OS base (shell /bin/sh, /bin/bash; package manager apt, dpkg): 5 files, "
                         "3 packages (2 OS), 1.6 MiB")
    assert x.location == location("/usr/bin/dash", 0)


def test_alpine_busybox_apk() -> None:
    files = [f("/bin", "dir", 0o755), f("/bin/busybox", mode=0o755, size=800_000),
             f("/bin/sh", "symlink", 0o777, linkname="/bin/busybox"), f("/sbin", "dir", 0o755),
             f("/sbin/apk", mode=0o755, size=70_000, layer=0)]
    s = score(image_target(files=files))
    assert (s.shells, s.package_managers, s.files, s.size, s.full_os) == (("/bin/sh",), ("apk",), 2, 870_000, True)


def _without(*paths: str) -> list[ImageFile]:
    return [x for x in DEBIAN if x.path not in paths]


def test_minimal_images_are_not_reported() -> None:
    distroless = [f("/usr/bin/python3.11", mode=0o755, size=6_000_000), f("/etc/passwd", size=100)]
    assert list(C.evaluate(image_target(files=distroless, packages=[pkg("python3.11")]))) == []
    # A shell without a package manager, and a package manager without a shell, are not a full OS.
    assert list(C.evaluate(image_target(files=_without("/usr/bin/dpkg", "/usr/bin/apt-get")))) == []
    assert list(C.evaluate(image_target(files=_without("/usr/bin/dash", "/usr/bin/bash")))) == []
    # A dpkg record without a dpkg binary (distroless status.d) is not a usable package manager.
    assert score(image_target(files=distroless, packages=[pkg("dpkg")])).package_managers == ()
