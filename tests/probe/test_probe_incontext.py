"""Bad-input probe of icrl_lib.incontext (see _probe.py); the cases live in two files by topic."""
from __future__ import annotations

import pytest

from ._cases_incontext_models import CASES as _MODEL_CASES, EXEMPT as _MODEL_EXEMPT
from ._cases_incontext_rl import CASES as _RL_CASES, EXEMPT as _RL_EXEMPT
from ._probe import params, run_case

CASES = _MODEL_CASES + _RL_CASES
EXEMPT = {**_MODEL_EXEMPT, **_RL_EXEMPT}


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input(case):
    run_case(case)
