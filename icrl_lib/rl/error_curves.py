"""Error curves of tabular policy evaluation against the exact values ``V^pi`` (chapter 1).

Chapter 1 separates two errors of TD learning: the *optimisation* error of online TD(0) with a given step-size
schedule (:func:`td0_error_curves`) and the *statistical* error of the TD fixed point of ``N`` transitions, the
certainty-equivalence value (:func:`certainty_equivalence_errors`). Both take one (unbatched) MDP with
``|S|`` states and ``|A|`` actions, a policy ``pi`` of shape ``(S, A)`` and its exact values ``V^pi`` of
shape ``(S,)``, and run independent copies of the MDP in one batched call.
"""
from __future__ import annotations

import torch

from .._validation import as_tensor, check_int, check_shape
from .mdp import TabularMDP, check_policy, stack_mdps
from .sampling import sample_transitions
from .tabular import certainty_equivalence_values, td0_evaluation

__all__ = ["td0_error_curves", "certainty_equivalence_errors"]

_F64 = torch.float64


def _single_mdp(mdp, pi, values, n_runs, name_runs):
    if not isinstance(mdp, TabularMDP) or mdp.batch_shape != ():
        raise ValueError(f"mdp must be a single (unbatched) TabularMDP; got {type(mdp).__name__}")
    pi = check_policy(mdp, pi)
    if pi.dim() != 2:
        raise ValueError(f"pi must have shape ({mdp.n_states}, {mdp.n_actions}); got {tuple(pi.shape)}")
    values = as_tensor(values, "values", dtype=_F64)
    check_shape(values, "values", (mdp.n_states,), batch=False)
    n_runs = check_int(n_runs, name_runs)
    return pi, values, stack_mdps([mdp] * n_runs)


def td0_error_curves(mdp: TabularMDP, pi, values, alphas: dict, n_steps: int, n_runs: int,
                     seed: int = 0) -> dict:
    """Sup-norm error ``||V_t - V^pi||_inf`` of online tabular TD(0) for several step sizes (chapter 1).

    Args:
        mdp: one MDP (not a batch); ``pi`` (S, A) the policy evaluated, ``values`` (S,) its exact ``V^pi``.
        alphas: ``{label: alpha}``, each a constant step size or a schedule of ``n_steps`` step sizes
            (as :func:`~icrl_lib.rl.tabular.td0_evaluation` takes them).
        n_steps: environment steps per trajectory; n_runs: independent trajectories (one batched call each).
        seed: the same seed for every schedule (the schedules see the same trajectories).

    Returns:
        ``{label: error}`` with ``error`` of shape ``(n_runs, n_steps + 1)`` (``t = 0`` is ``w_0 = 0``).
    """
    pi, values, copies = _single_mdp(mdp, pi, values, n_runs, "n_runs")
    n_steps = check_int(n_steps, "n_steps")
    if not isinstance(alphas, dict) or not alphas:
        raise ValueError("alphas must be a non-empty dict {label: step size or schedule}")
    return {label: (td0_evaluation(copies, pi, n_steps, alpha, seed=seed).values - values).abs().max(-1).values
            for label, alpha in alphas.items()}


def certainty_equivalence_errors(mdp: TabularMDP, pi, values, sizes, n_datasets: int, seed: int = 0) -> dict:
    """Statistical error of the TD fixed point of ``N`` transitions, for each ``N`` in ``sizes`` (chapter 1).

    For each ``N``: ``n_datasets`` independent on-policy data sets of ``N`` transitions, their
    certainty-equivalence values ``w_TD`` (= the batch TD fixed point with one-hot features), shape
    ``(n_datasets, S)``, and the mean over data sets of ``||w_TD - V^pi||_inf``.

    Returns:
        ``{N: mean sup-norm error}`` (Python floats).
    """
    pi, values, copies = _single_mdp(mdp, pi, values, n_datasets, "n_datasets")
    try:
        sizes = [check_int(n, "sizes") for n in sizes]
    except TypeError as exc:
        raise ValueError("sizes must be a sequence of positive integers") from exc
    if not sizes:
        raise ValueError("sizes must be a non-empty sequence of positive integers")
    out = {}
    for n in sizes:
        d = sample_transitions(copies, pi, n, seed=seed)
        w_n = certainty_equivalence_values(d.s, d.r, d.s_next, mdp.n_states, mdp.gamma)  # (n_datasets, S)
        out[n] = float((w_n - values).abs().max(-1).values.mean())
    return out
