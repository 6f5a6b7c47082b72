"""Chapter 9's exact-posterior table and fit metrics against the direct computations the chapter had."""
import math

import torch

from icrl_lib.training import (all_histories, exact_history_table, history_from_counts, history_index,
                               posterior_fit)


def test_history_index_is_the_all_histories_order():
    a, r = all_histories(3, 2)
    for idx in (0, 5, 37, 63):
        h = [(int(a[idx, s]), int(r[idx, s])) for s in range(3)]
        assert history_index(h) == idx


def test_history_from_counts():
    a, r = history_from_counts([[1, 0, 2, 1], [0, 2, 1, 1]])
    assert a.tolist() == [[0, 1, 1, 1], [0, 0, 1, 1]]
    assert r.tolist() == [[1, 1, 1, 0], [0, 0, 1, 0]]


def test_posterior_fit_against_the_chapter_formulas():
    table = exact_history_table(4)
    g = torch.Generator().manual_seed(0)
    fit = [(p + 0.1 * torch.rand(p.shape, generator=g, dtype=p.dtype)).clamp(0.01, 0.99) for p in table.posterior]
    got = posterior_fit(table, fit)
    kl_t = [float((w * (p * torch.log(p / q) + (1 - p) * torch.log((1 - p) / (1 - q)))).sum())
            for p, q, w in zip(table.posterior, fit, table.weight)]
    h2 = [float((w * (1 - torch.sqrt(p * q) - torch.sqrt((1 - p) * (1 - q)))).sum())
          for p, q, w in zip(table.posterior, fit, table.weight)]
    real = max(math.log(float((w * (p ** 2 / q + (1 - p) ** 2 / (1 - q))).sum()))
               for p, q, w in zip(table.posterior, fit, table.weight))
    assert abs(got.kl - sum(kl_t) / 4) < 1e-12 and abs(got.hellinger - math.sqrt(sum(h2) / 4)) < 1e-12
    assert abs(got.realisability - real) < 1e-12 and got.worst <= 0.1 + 1e-12
