"""Every matcher, listed once (no import side effects): the engine runs each over the packages of its types.

    from tidegate.match.registry import MATCHERS
    [m.name for m in MATCHERS]   # ['distro', 'language', 'go-stdlib']
"""

from __future__ import annotations

from tidegate.match.base import Matcher
from tidegate.match.distro import DistroMatcher
from tidegate.match.gostdlib import GoStdlibMatcher
from tidegate.match.language import LanguageMatcher

MATCHERS: tuple[Matcher, ...] = (DistroMatcher(), LanguageMatcher(), GoStdlibMatcher())
"""The matchers, in the order their findings' details are preferred."""
