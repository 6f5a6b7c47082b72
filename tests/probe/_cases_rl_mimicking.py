"""Bad-input probe of Fisher's exact test (icrl_lib.rl.exact_tests, chapter 6); see _probe.py. Run by
test_probe_rl.py."""
from __future__ import annotations

import math

from icrl_lib import rl

from ._probe import Case

CASES = [
    Case("fisher_exact", "range", lambda: rl.fisher_exact(9, 8, 6, 8), "k1", note="more successes than runs"),
    Case("fisher_exact", "range", lambda: rl.fisher_exact(1, 8, 9, 8), "k2", note="more successes than runs"),
    Case("fisher_exact", "range", lambda: rl.fisher_exact(-1, 8, 6, 8), "k1", note="negative count"),
    Case("fisher_exact", "empty", lambda: rl.fisher_exact(0, 0, 6, 8), "n1"),
    Case("fisher_exact", "type", lambda: rl.fisher_exact(8, 8.0, 6, 8), "n1"),
    Case("fisher_exact", "type", lambda: rl.fisher_exact(True, 8, 6, 8), "k1"),
    Case("fisher_exact", "overflow", lambda: rl.fisher_exact(10**6, 10**5, 6, 8), "k1"),
    Case("fisher_exact", "legit", lambda: rl.fisher_exact(8, 8, 6, 8), None,
         check=lambda p: math.isclose(p, 7 / 15, rel_tol=1e-12), note="8/8 against 6/8"),
    Case("fisher_exact", "legit", lambda: rl.fisher_exact(3, 8, 3, 8), None, check=lambda p: p == 1.0,
         note="equal counts"),
]
