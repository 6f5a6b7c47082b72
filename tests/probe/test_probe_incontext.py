"""Bad-input probe of icrl_lib.incontext (see _probe.py); the cases live in two files by topic."""
from __future__ import annotations

import pytest

from ._probe import collect, params, run_case

CASES, EXEMPT = collect("incontext")


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input(case):
    run_case(case)
