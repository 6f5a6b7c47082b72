"""Our emergence protocol for softmax in-context TD (chapter 8).

[X26] prove that their construction is a global minimiser of a pretraining loss whose exact form we could
not read. This module is *our protocol*: random Boyan chains with unit-norm random features, prompts of
:func:`icrl_lib.incontext.softmax_td_prompt` (one-head form), a shared-layer :class:`SoftmaxTransformer` with
the fixed shift step, and the multi-task mean squared TD error of the model's values over the context,

    loss(theta) = E_tasks (1/n) sum_{j<n} (R_{j+1} + gamma v_theta(S_{j+1}) - v_theta(S_j))^2,

differentiated through both values (a true loss, so "stationary point" has its usual meaning). Parameters
can be masked to the blocks the construction uses (``A``'s feature block, ``V``'s current-memory row on the
reward, target and current entries) or left free (the ablation).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import NamedTuple

import torch

from .._validation import as_generator, as_tensor, check_gamma, check_int, check_positive, check_real
from ..attention.softmax import SoftmaxTransformer, column_shift, softmax_attention_unchecked
from ..incontext.softmax_td import softmax_td_construction, softmax_td_prompt, softmax_td_rows
from ..rl.mdp import boyan_chain, mrp_values
from ..rl.sampling import sample_mrp_trajectory
from ._checks import check_bool, check_float_dtype, check_seeds
from .fit import OptimiserConfig, fit

__all__ = ["SoftmaxTDTasks", "SoftmaxPretrainingConfig", "SoftmaxPretrainingResult", "sample_softmax_td_tasks",
           "softmax_td_loss", "construction_model", "fit_construction", "block_metrics",
           "softmax_td_pretrain", "loss_gradient_norm",
           "run_emergence"]


class SoftmaxTDTasks(NamedTuple):
    """A batch of tasks: prompts ``Z`` (B, d+3, n+1), rewards (B, n), true values ``v_true`` (B, n+1) of the
    column states, discount ``gamma`` (chapter 8)."""

    Z: torch.Tensor
    rewards: torch.Tensor
    v_true: torch.Tensor
    gamma: float


@dataclass(frozen=True)
class SoftmaxPretrainingConfig:
    """Our emergence protocol's settings (chapter 8): task sizes, model, optimiser, seed."""

    n_states: int = 6
    d: int = 4
    n: int = 30
    gamma: float = 0.8
    n_layers: int = 3
    masked: bool = True
    n_steps: int = 400
    batch_size: int = 64
    lr: float = 0.02
    init_scale: float = 0.1
    seed: int = 0

    @property
    def optimiser(self) -> OptimiserConfig:
        """The optimiser part of the config (:class:`~icrl_lib.training.fit.OptimiserConfig`): Adam with step ``lr``."""
        return OptimiserConfig("adam", self.lr)

    def __post_init__(self):
        check_int(self.n_states, "n_states", minimum=3)
        for name in ("d", "n", "n_layers", "n_steps", "batch_size"):
            check_int(getattr(self, name), name)
        check_gamma(self.gamma)
        check_bool(self.masked, "masked")
        check_positive(self.lr, "lr")
        if check_real(self.init_scale, "init_scale") < 0:
            raise ValueError(f"init_scale must be >= 0; got {self.init_scale}")
        check_int(self.seed, "seed", minimum=0)


class SoftmaxPretrainingResult(NamedTuple):
    """The trained model, its loss curve (n_steps,), and the config (chapter 8)."""

    model: SoftmaxTransformer
    losses: torch.Tensor
    config: SoftmaxPretrainingConfig


def sample_softmax_td_tasks(batch_size: int, n_states: int, d: int, n: int, gamma: float, generator,
                            dtype: torch.dtype = torch.float32) -> SoftmaxTDTasks:
    """``batch_size`` random Boyan chains with unit-norm Gaussian features ``x(s)`` in R^d, one trajectory each
    (chapter 8). Returns :class:`SoftmaxTDTasks` with prompts (B, d+3, n+1) of the one-head form."""
    B = check_int(batch_size, "batch_size")
    S, d, n = check_int(n_states, "n_states", 3), check_int(d, "d"), check_int(n, "n")
    g = check_gamma(gamma)
    dtype = check_float_dtype(dtype)
    gen = as_generator(generator)
    chains = boyan_chain(S, gamma=g, n_chains=B, generator=gen)
    phi = torch.randn(B, S, d, generator=gen, dtype=torch.float64)
    phi = phi / phi.norm(dim=-1, keepdim=True)
    states, rewards = sample_mrp_trajectory(chains, n, generator=gen)
    x = torch.gather(phi, 1, states.unsqueeze(-1).expand(B, n + 1, d))
    v_true = torch.gather(mrp_values(chains), 1, states)
    Z = softmax_td_prompt(x, rewards)
    return SoftmaxTDTasks(Z.to(dtype), rewards.to(dtype), v_true.to(dtype), g)


def _construction_masks(d: int, dtype: torch.dtype = torch.float32) -> dict:
    """``{"A": (D, D), "V": (D, D)}`` 0/1 masks of the blocks the one-head construction uses (chapter 8)."""
    rows = softmax_td_rows(d)
    dtype = check_float_dtype(dtype)
    D = rows["D"]
    mA = torch.zeros(D, D, dtype=dtype)
    mA[rows["x"], rows["x"]] = 1
    mV = torch.zeros(D, D, dtype=dtype)
    mV[rows["cur"], [rows["R"], rows["tgt"], rows["cur"]]] = 1
    return {"A": mA, "V": mV}


def softmax_td_loss(model: SoftmaxTransformer, tasks: SoftmaxTDTasks) -> torch.Tensor:
    """Our multi-task loss: the mean squared TD error of the model's values over the context (chapter 8).

    ``v = Z_L[cur]`` (B, n+1); returns the scalar mean over tasks and ``j < n`` of
    ``(R_{j+1} + gamma v_{j+1} - v_j)^2`` (gradients through both values).
    """
    _check_model_tasks(model, tasks)
    v = model(tasks.Z)[..., -1, :]
    delta = tasks.rewards + tasks.gamma * v[..., 1:] - v[..., :-1]
    return (delta ** 2).mean()


def _check_tasks(tasks) -> None:
    if not isinstance(tasks, SoftmaxTDTasks):
        raise ValueError(f"tasks must be SoftmaxTDTasks (sample_softmax_td_tasks); got {type(tasks).__name__}")
    Z = as_tensor(tasks.Z, "tasks.Z")
    if Z.dim() < 2 or Z.shape[-2] < 4 or Z.shape[-1] < 2:
        raise ValueError(f"tasks.Z must have shape (..., d+3, n+1) with d, n >= 1; got {tuple(Z.shape)}")
    r = as_tensor(tasks.rewards, "tasks.rewards")
    if tuple(r.shape) != tuple(Z.shape[:-2]) + (Z.shape[-1] - 1,):
        raise ValueError(f"tasks.rewards must have shape {tuple(Z.shape[:-2]) + (Z.shape[-1] - 1,)}; got "
                         f"{tuple(r.shape)}")
    check_gamma(tasks.gamma, "tasks.gamma")


def _check_model(model) -> None:
    if not isinstance(model, SoftmaxTransformer):
        raise ValueError(f"model must be a SoftmaxTransformer; got {type(model).__name__}")


def _check_model_tasks(model, tasks) -> None:
    _check_model(model)
    _check_tasks(tasks)
    if tasks.Z.shape[-2] != model.dim:
        raise ValueError(f"tasks must have prompts of model.dim = {model.dim} rows; got tasks.Z of shape "
                         f"{tuple(tasks.Z.shape)}")


def construction_model(d: int, n_layers: int, gamma: float, alpha: float, beta: float = 1.0, masked: bool = True,
                       dtype: torch.dtype = torch.float32) -> SoftmaxTransformer:
    """A trainable transformer placed at the construction with ``A = beta diag(I_d, 0)`` and step ``alpha``
    (chapter 8). ``masked`` applies :func:`_construction_masks`."""
    check_int(d, "d")
    check_int(n_layers, "n_layers")
    check_gamma(gamma)
    check_real(alpha, "alpha")
    beta = check_positive(beta, "beta")
    masked = check_bool(masked, "masked")
    dtype = check_float_dtype(dtype)
    con = softmax_td_construction(d, gamma, alpha, dtype=dtype)
    (A, V), = con.heads
    model = SoftmaxTransformer(d + 3, n_layers, shift=con.shift, init_scale=0.0, dtype=dtype,
                               param_masks=_construction_masks(d, dtype) if masked else None)
    with torch.no_grad():
        model.A[0, 0] = beta * A
        model.V[0, 0] = V
    return model


def fit_construction(tasks: SoftmaxTDTasks, n_layers: int, n_steps: int = 300, lr: float = 0.05
                     ) -> tuple[float, float, float]:
    """The best construction of the family ``(beta, alpha)`` for our loss on ``tasks`` (chapter 8).

    Minimises :func:`softmax_td_loss` over ``log beta`` and ``alpha`` only (Adam from beta = 1, alpha = 0.5).
    Returns ``(beta, alpha, loss)``. A diverging fit (NaN or inf loss) raises ``ValueError`` asking for a lower ``lr``.
    """
    _check_tasks(tasks)
    L = check_int(n_layers, "n_layers")
    n_steps = check_int(n_steps, "n_steps")
    lr = check_positive(lr, "lr")
    d = tasks.Z.shape[-2] - 3
    log_beta = torch.zeros((), dtype=tasks.Z.dtype, requires_grad=True)
    alpha = torch.full((), 0.5, dtype=tasks.Z.dtype, requires_grad=True)
    con = softmax_td_construction(d, tasks.gamma, 1.0, dtype=tasks.Z.dtype)
    (A0, V0), = con.heads

    def loss_fn(step: int) -> torch.Tensor:
        v = _forward_with(L, con.shift, tasks.Z, torch.exp(log_beta) * A0, alpha * V0)[..., -1, :]
        return ((tasks.rewards + tasks.gamma * v[..., 1:] - v[..., :-1]) ** 2).mean()

    fit([log_beta, alpha], loss_fn, OptimiserConfig("adam", lr), n_steps)
    beta, a = float(torch.exp(log_beta).detach()), float(alpha.detach())
    if not (math.isfinite(beta) and math.isfinite(a) and beta > 0):
        raise ValueError(f"the fitted construction is not finite (beta = {beta}, alpha = {a}): training diverged; "
                         f"lower lr")
    with torch.no_grad():
        final = float(softmax_td_loss(construction_model(d, n_layers, tasks.gamma, a, beta, dtype=tasks.Z.dtype),
                                      tasks))
    return beta, a, final


def _forward_with(n_layers: int, shift, Z, A, V):
    for _ in range(n_layers):
        Z = column_shift(softmax_attention_unchecked(Z, A, V), *shift)
    return Z


def block_metrics(model: SoftmaxTransformer, layer: int = 0) -> dict:
    """How close a one-head model's layer is to the construction (chapter 8).

    Returns ``cos_A`` and ``cos_V`` (cosine similarity of the full ``A``, ``V`` with the construction's, which
    lives on the masked blocks), ``beta`` (``tr`` of the feature block / d), ``alpha`` (projection of the
    current-memory row on ``u``), and ``off_block`` (fraction of the squared norm outside the construction's
    blocks).
    """
    _check_model(model)
    if model.dim < 4:
        raise ValueError(f"model must have dim = d + 3 >= 4 (the one-head construction); got {model.dim}")
    A, V = (t[0].detach().double() for t in model.layer_params(layer))
    d = model.dim - 3
    con = softmax_td_construction(d, 0.5, 1.0)
    (A0, V0), = con.heads
    masks = _construction_masks(d, torch.float64)

    def cos(a, b):
        return float((a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-300))

    off = float(((A * (1 - masks["A"])) ** 2).sum() + ((V * (1 - masks["V"])) ** 2).sum())
    tot = float((A ** 2).sum() + (V ** 2).sum())
    return {"cos_A": cos(A, A0), "cos_V": cos(V, V0), "beta": float(torch.trace(A[:d, :d]) / d),
            "alpha": float((V * V0).sum() / (V0 ** 2).sum()), "off_block": off / max(tot, 1e-300)}


def softmax_td_pretrain(config: SoftmaxPretrainingConfig = SoftmaxPretrainingConfig(), progress=None
                        ) -> SoftmaxPretrainingResult:
    """Train a shared-layer one-head :class:`SoftmaxTransformer` (with the shift step) by our protocol (chapter 8).

    Fresh tasks every step (:func:`sample_softmax_td_tasks`), Adam on :func:`softmax_td_loss`. ``progress``: an
    optional callable ``progress(step, loss)``. Returns :class:`SoftmaxPretrainingResult` (losses (n_steps,)). A
    diverging run (NaN or inf loss) raises ``ValueError`` asking for a lower ``lr``.
    """
    _check_config(config)
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be None or a callable progress(step, loss); got {progress!r}")
    c = config
    gen = torch.Generator().manual_seed(check_int(c.seed, "seed", 0))
    rows = softmax_td_rows(c.d)
    model = SoftmaxTransformer(c.d + 3, c.n_layers, shift=(rows["cur"], rows["tgt"], c.gamma),
                               param_masks=_construction_masks(c.d) if c.masked else None,
                               init_scale=c.init_scale, generator=gen)
    check_int(c.n_steps, "n_steps")

    def loss_fn(step: int) -> torch.Tensor:
        return softmax_td_loss(model, sample_softmax_td_tasks(c.batch_size, c.n_states, c.d, c.n, c.gamma, gen))

    history = fit(model.parameters(), loss_fn, c.optimiser, c.n_steps,
                  log_every=1, progress=None if progress is None else (lambda step, loss: progress(step - 1, loss)))
    losses = torch.tensor(history["loss"], dtype=torch.float32)
    return SoftmaxPretrainingResult(model, losses, c)


def _config_dict(config: SoftmaxPretrainingConfig) -> dict:
    """The config as a plain dict (for JSON; chapter 8)."""
    _check_config(config)
    return asdict(config)


def _check_config(config) -> None:
    if not isinstance(config, SoftmaxPretrainingConfig):
        raise ValueError(f"config must be a SoftmaxPretrainingConfig; got {type(config).__name__}")


def loss_gradient_norm(model: SoftmaxTransformer, tasks: SoftmaxTDTasks) -> float:
    """The norm of the gradient of :func:`softmax_td_loss` over the model's (masked) parameters (chapter 8)."""
    _check_model_tasks(model, tasks)
    model.zero_grad()
    loss = softmax_td_loss(model, tasks)
    grads = torch.autograd.grad(loss, [model.A, model.V])
    return float(torch.sqrt(sum((gr ** 2).sum() for gr in grads)))


def run_emergence(seeds, config: SoftmaxPretrainingConfig = SoftmaxPretrainingConfig(), n_eval: int = 256,
                  eval_seed: int = 10_000, success_cos: float = 0.9, progress=None) -> dict:
    """Our emergence experiment (chapter 8; ``python -m icrl_lib.experiments softmax-td``).

    For every seed, trains the masked model and the unmasked ablation (:func:`softmax_td_pretrain`), and
    compares them on ``n_eval`` held-out tasks (drawn with ``eval_seed``, an int or a ``torch.Generator``) with
    the best construction of the family
    (:func:`fit_construction`): block metrics, our loss, the mean squared value error against the true values
    and the mean absolute difference from the construction's values. Also reports the loss-gradient norm at
    the fitted construction and at the initialisation. A run *succeeds* when ``cos_A`` and ``cos_V`` are both at
    least ``success_cos``. Returns a JSON-ready dict.
    """
    import dataclasses
    seeds = check_seeds(seeds)
    _check_config(config)
    n_eval = check_int(n_eval, "n_eval")
    eval_gen = as_generator(eval_seed, "eval_seed")
    success_cos = check_real(success_cos, "success_cos")
    if not -1.0 <= success_cos <= 1.0:
        raise ValueError(f"success_cos must be a cosine in [-1, 1]; got {success_cos}")
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be None or a callable progress(step, loss); got {progress!r}")
    c = config
    ev = sample_softmax_td_tasks(n_eval, c.n_states, c.d, c.n, c.gamma, eval_gen)
    beta, alpha, con_loss = fit_construction(ev, c.n_layers)
    out = {"config": _config_dict(c), "n_eval": n_eval, "success_cos": success_cos, "seeds": seeds}
    con = {}
    for masked in (True, False):
        m = construction_model(c.d, c.n_layers, c.gamma, alpha, beta, masked=masked)
        init = SoftmaxTransformer(c.d + 3, c.n_layers, shift=m.shift, init_scale=c.init_scale,
                                  param_masks=_construction_masks(c.d) if masked else None,
                                  generator=torch.Generator().manual_seed(seeds[0]))
        con["masked" if masked else "unmasked"] = {"grad_norm": loss_gradient_norm(m, ev),
                                                   "grad_norm_init": loss_gradient_norm(init, ev)}
    cmodel = construction_model(c.d, c.n_layers, c.gamma, alpha, beta)
    with torch.no_grad():
        v_con = cmodel(ev.Z)[..., -1, :]
    out["construction"] = {"beta": beta, "alpha": alpha, "loss": con_loss,
                           "msve": float(((v_con - ev.v_true) ** 2).mean()), **con}
    for masked in (True, False):
        key = "masked" if masked else "unmasked"
        runs = []
        for seed in seeds:
            res = softmax_td_pretrain(dataclasses.replace(c, seed=seed, masked=masked), progress=progress)
            with torch.no_grad():
                v = res.model(ev.Z)[..., -1, :]
                loss = float(softmax_td_loss(res.model, ev))
            metrics = block_metrics(res.model)
            runs.append({"seed": seed, **metrics, "loss": loss, "msve": float(((v - ev.v_true) ** 2).mean()),
                         "value_gap_to_construction": float((v - v_con).abs().mean()),
                         "success": bool(metrics["cos_A"] >= success_cos and metrics["cos_V"] >= success_cos)})
        out[key] = {"runs": runs, "n_success": sum(r["success"] for r in runs)}
    return out
