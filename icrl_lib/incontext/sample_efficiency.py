"""Sample efficiency at equal environment steps (chapter 11, section 5): in-context SARSA (one update per round
of N transitions, L stacked layers) against online tabular SARSA and Q-learning (one update per transition).

Every learner runs ``total_steps`` environment steps in each of the n_mdps MDPs. A curve is ``(steps (K+1,),
x (n_mdps, K+1))``: normalised returns scored at ``steps``; its entropies are the mean policy entropies
(nats) at the ``marks`` (environment steps).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from .._validation import check_int, check_positive
from ..rl import (ONLINE_METHODS, TabularMDP, normalized_return, online_td_control, policy_entropy,
                  reference_returns, run_control, softmax_policy)
from .depth import repeated_teacher_agent
from .tasks import PromptDistribution

__all__ = ["in_context_step_curves", "online_step_curves"]

_F64 = torch.float64


def _marks(marks, total: int) -> list:
    marks = [check_int(m, "marks", 0) for m in marks]
    if not marks or any(m > total for m in marks):
        raise ValueError(f"marks must be a non-empty list of steps in [0, total_steps={total}]; got {marks}")
    return marks


def in_context_step_curves(mdps: TabularMDP, dist: PromptDistribution, policy: Callable, total_steps: int,
                           contexts: Sequence[int], depths: Sequence[int], marks: Sequence[int],
                           seed: int = 0, reward_noise: float = 0.0) -> tuple[dict, dict]:
    """In-context SARSA with ``L`` in ``depths`` stacked constructed layers
    (:func:`~icrl_lib.incontext.depth.repeated_teacher_agent`) and ``N`` in ``contexts`` transitions per round,
    ``total_steps // N`` rounds from ``params = 0`` (chapter 11). Returns ``(curves, entropies)`` keyed
    ``"in-context, N = {N}, L = {L}"``: ``(steps, x)`` and the policy entropy at each of ``marks``."""
    if not isinstance(mdps, TabularMDP):
        raise ValueError(f"mdps must be a TabularMDP; got {type(mdps).__name__}")
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    T = check_int(total_steps, "total_steps")
    marks = _marks(marks, T)
    contexts = [check_int(n, "contexts") for n in contexts]
    depths = [check_int(L, "depths") for L in depths]
    if not contexts or not depths or max(contexts) > T:
        raise ValueError(f"contexts and depths must be non-empty, contexts at most total_steps={T}")
    refs = reference_returns(mdps)
    w0 = torch.zeros(dist.n_params, dtype=_F64)
    curves, ent = {}, {}
    for N in contexts:
        for L in depths:
            res = run_control(mdps, {"a": repeated_teacher_agent(dist, L)}, policy, w0, T // N, N, seed=seed,
                              reward_noise=reward_noise)
            name = f"in-context, N = {N}, L = {L}"
            steps = np.arange(T // N + 1) * N
            curves[name] = (steps, res.normalized(*refs)["a"])
            ent[name] = [policy_entropy(policy(res.params["a"][:, int(np.searchsorted(steps, m))]))
                         for m in marks]
    return curves, ent


def online_step_curves(mdps: TabularMDP, total_steps: int, alphas: Sequence[float], temperature: float,
                       marks: Sequence[int], eval_every: int = 40, seed: int = 0, reward_noise: float = 0.0
                       ) -> tuple[dict, dict, dict, dict]:
    """Online tabular SARSA and Q-learning (:func:`~icrl_lib.rl.online.online_td_control`, every method of
    ``ONLINE_METHODS``) with each constant step in ``alphas`` (chapter 11).

    Returns ``(sweep, best, curves, entropies)``: ``sweep[method][alpha] = (steps, x)`` every run;
    ``best[method]`` the alpha with the best mean final return (the first of equals); ``curves`` and
    ``entropies`` keyed ``"online {method}, alpha = {best}"`` for the best step only (the entropy at a mark is
    that of the same run stopped there: same draws).
    """
    if not isinstance(mdps, TabularMDP):
        raise ValueError(f"mdps must be a TabularMDP; got {type(mdps).__name__}")
    T = check_int(total_steps, "total_steps")
    marks = _marks(marks, T)
    alphas = [check_positive(a, "alphas") for a in alphas]
    if not alphas:
        raise ValueError("alphas must be a non-empty list of step sizes")
    tau = check_positive(temperature, "temperature")
    J_random, J_star = reference_returns(mdps)

    def run(n, a, method):
        return online_td_control(mdps, n, a, method, tau, eval_every, generator=seed, reward_noise=reward_noise)

    sweep, best, curves, ent = {}, {}, {}, {}
    for method in ONLINE_METHODS:
        runs = {a: run(T, a, method) for a in alphas}
        sweep[method] = {a: (o.steps.numpy(), normalized_return(o.returns, J_random[..., None],
                                                                 J_star[..., None])) for a, o in runs.items()}
        finals = [float(x[:, -1].mean()) for _, x in sweep[method].values()]
        a_best = best[method] = alphas[int(np.argmax(finals))]
        name = f"online {method}, alpha = {a_best:g}"
        curves[name] = sweep[method][a_best]
        ent[name] = [policy_entropy(softmax_policy(run(m, a_best, method).q if m < T else runs[a_best].q, tau))
                     for m in marks]
    return sweep, best, curves, ent
