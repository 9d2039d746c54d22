"""A test that skips without being listed in tests/known_skips.txt.

Run only by tests/test_skip_guard.py, which passes this file to the README's test
command: its name does not match ``test_*.py``, so a normal run does not collect it.
"""

import pytest


def test_unlisted_skip():
    pytest.skip("an unlisted skip (skip guard self-test)")
