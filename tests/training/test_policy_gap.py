"""policy_gap returns the exact KL (inf where q misses p's support) and the ad-linucb JSON stores it as "inf"."""
import json
import math

import numpy as np
import pytest
import torch

from icrl_lib.training import policy_gap
from icrl_lib.training.ad_linucb import _json_gap


def test_policy_gap_is_exact_and_infinite_off_support():
    p = np.array([[1.0, 0.0], [0.5, 0.5]])
    q = np.array([[0.0, 1.0], [0.5, 0.5]])
    gap = policy_gap(p, q)
    assert gap["kl_mean"] == math.inf and gap["tv_max"] == 1.0 and gap["tv_mean"] == 0.5
    # zero mass of p contributes nothing (0 log 0 = 0): no NaN from 0 * log 0
    gap = policy_gap(torch.tensor([[0.0, 1.0]]), torch.tensor([[0.5, 0.5]]))
    assert abs(gap["kl_mean"] - math.log(2)) < 1e-6
    stored = _json_gap(policy_gap(p, q))
    assert stored["kl_mean"] == "inf" and float(json.loads(json.dumps(stored))["kl_mean"]) == math.inf


def test_policy_gap_refuses_bad_input():
    with pytest.raises(ValueError, match="p"):
        policy_gap([[float("nan"), 1.0]], [[0.5, 0.5]])
    with pytest.raises(ValueError, match="q"):
        policy_gap([[0.5, 0.5]], [[0.7, 0.7]])
    with pytest.raises(ValueError, match="batch"):
        policy_gap(torch.full((2, 2), 0.5), torch.full((3, 2), 0.5))
