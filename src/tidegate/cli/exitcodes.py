"""Exit codes, as CI scripts rely on them."""

OK = 0
"""Success (and, later, a passing policy verdict)."""
POLICY_FAILURE = 1
"""The image was judged and failed (policy, verification)."""
INPUT_ERROR = 2
"""Bad usage or bad input: a flag, a reference, a corrupt or hostile image, an unreachable registry."""
INTERRUPTED = 130
"""Interrupted by the user (Ctrl-C)."""
