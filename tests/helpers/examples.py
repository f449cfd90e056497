"""How many examples a property test tries, scaled by the Hypothesis profile that is loaded."""

from __future__ import annotations

from hypothesis import settings

# Hypothesis's own default; the "ci" profile keeps it, "dev" tries fewer, "thorough" more.
_BASE = 100


def examples(n: int) -> int:
    """``n`` examples under the "ci" profile, scaled as the loaded profile scales Hypothesis's
    default (``dev``: a tenth, ``thorough``: ten times), never fewer than 2. Read when a test
    module is imported, after ``conftest.py`` has loaded the profile."""
    return max(2, round(n * settings.default.max_examples / _BASE))
