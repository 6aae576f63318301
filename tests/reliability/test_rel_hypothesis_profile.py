"""13. Round 2: Hypothesis runs derandomized in the README's test command.

``tests/conftest.py`` loads the profile "ci" unless ``--hypothesis-profile`` (``make fuzz``: "fuzz")
or HYPOTHESIS_PROFILE says otherwise, so a red CI run is reproduced by running it again.
"""

from __future__ import annotations

import os

from hypothesis import settings


def test_the_test_command_runs_hypothesis_derandomized(pytestconfig):
    chosen = pytestconfig.getoption("hypothesis_profile", None) or os.environ.get("HYPOTHESIS_PROFILE")
    if chosen in (None, "ci"):
        assert settings.default.derandomize is True
        assert settings.default.database is None
    fuzz = settings.get_profile("fuzz")
    assert fuzz.derandomize is False and fuzz.max_examples >= 5 * 1000
