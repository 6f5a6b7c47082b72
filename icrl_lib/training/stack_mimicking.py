"""Teacher mimicking beyond one head and one layer, and with random features (chapter 11; our protocol).

One trainer, :func:`train_stack_mimicking`, covers the chapter's three training questions:

- depth: ``L`` layers (separate weights) trained to mimic ``L`` teacher updates on the same context
  (:func:`icrl_lib.incontext.sample_depth_batch`);
- heads: one layer with ``M`` heads (``H + (1/N) sum_m V_m H (H^T P_m H)``) trained on the one-step target;
- features: one SARSA block on prompts with random state-action features
  (:func:`icrl_lib.incontext.feature_prompt_batch`).

The protocol is chapter 6's (Adam, balanced small initialisation, squared error of the query's parameter
rows) with one change for speed: prompts come from a fixed pool of ``pool_size`` prompts drawn once, and
each step takes a random mini-batch of it. :func:`beyond_sweep` runs a part over seeds for the command line
(``python -m icrl_lib.experiments beyond --part ...``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import torch

from .._validation import (as_generator, as_tensor, check_indices, check_int, check_positive, check_real,
                           check_shape)
from ..incontext.depth import check_stack
from ..incontext import (PromptBatch, PromptDistribution, feature_prompt_batch, null_directions, project_out,
                         recovery_metrics, sample_depth_batch, sarsa_construction, sarsa_layout, stack_readout)
from ._checks import check_bool, check_float_dtype, check_seeds
from .fit import OptimiserConfig, fit
from .mdp_pretraining import supervised_mdp_sweep
from .teacher_mimicking import init_parameters

__all__ = ["StackMimickingConfig", "StackMimickingResult", "stack_prompts", "stack_loss",
           "train_stack_mimicking", "layer_recovery", "head_shares", "plain_recovery", "beyond_sweep",
           "BEYOND_PARTS", "beyond_config"]

_F64 = torch.float64


@dataclass(frozen=True)
class StackMimickingConfig:
    """Hyper-parameters of :func:`train_stack_mimicking` (chapter 11). ``target_steps`` teacher updates on the
    same context form the target; ``features`` (an int d) switches to SARSA prompts with random features of
    dimension d (then ``dist`` gives the sizes and hyper-parameters only)."""

    dist: PromptDistribution = PromptDistribution()
    n_layers: int = 1
    n_heads: int = 1
    target_steps: int = 1
    features: int | None = None
    lr: float = 2e-3
    n_steps: int = 3000
    batch_size: int = 256
    pool_size: int = 8192
    init_scale: float = 0.1
    seed: int = 0
    log_every: int = 100
    n_eval_prompts: int = 1024

    @property
    def optimiser(self) -> OptimiserConfig:
        """The optimiser part of the config (:class:`~icrl_lib.training.fit.OptimiserConfig`): Adam with step ``lr``."""
        return OptimiserConfig("adam", self.lr)

    def __post_init__(self):
        if not isinstance(self.dist, PromptDistribution):
            raise ValueError("dist must be a PromptDistribution")
        for name in ("n_layers", "n_heads", "target_steps", "n_steps", "batch_size", "pool_size", "log_every",
                     "n_eval_prompts"):
            check_int(getattr(self, name), name)
        check_int(self.seed, "seed", minimum=0)
        check_positive(self.lr, "lr")
        if check_real(self.init_scale, "init_scale") < 0:
            raise ValueError(f"init_scale must be >= 0; got {self.init_scale}")
        if self.features is not None:
            check_int(self.features, "features")


@dataclass
class StackMimickingResult:
    """Trained ``P``, ``V`` (L, M, D, D) float64, the config and the history (lists per log step; chapter 11).
    ``history["relative_eval_loss"]`` is the held-out loss over the held-out loss at ``P = V = 0``."""

    P: torch.Tensor
    V: torch.Tensor
    config: StackMimickingConfig
    history: dict = field(default_factory=dict)


def _init_stack(n_layers: int, n_heads: int, dim: int, scale: float, generator: torch.Generator,
               dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """``(P, V)`` of shape (L, M, D, D): chapter 6's balanced initialisation per layer and head (chapter 11).

    ``generator``: a ``torch.Generator`` or an int seed (one generator draws every layer and head)."""
    L, M = check_int(n_layers, "n_layers"), check_int(n_heads, "n_heads")
    dim = check_int(dim, "dim")
    if check_real(scale, "scale") < 0:
        raise ValueError(f"scale must be >= 0; got {scale}")
    dtype = check_float_dtype(dtype)
    generator = as_generator(generator, "generator")
    pairs = [init_parameters(dim, scale, generator, True, dtype) for _ in range(L * M)]
    P = torch.stack([p for p, _ in pairs]).reshape(L, M, dim, dim)
    V = torch.stack([v for _, v in pairs]).reshape(L, M, dim, dim)
    return P, V


def stack_prompts(config: StackMimickingConfig, n_prompts: int, generator: torch.Generator) -> PromptBatch:
    """Prompts and targets of ``config`` (float64; chapter 11), drawn in chunks of 1024.

    ``generator``: a ``torch.Generator`` or an int seed."""
    _check_config(config)
    out, left = [], check_int(n_prompts, "n_prompts")
    generator = as_generator(generator, "generator")
    while left > 0:
        n = min(left, 1024)
        if config.features is None:
            out.append(sample_depth_batch(config.dist, n, config.target_steps, generator))
        else:
            out.append(feature_prompt_batch(config.dist, config.features, n, generator)[0])
        left -= n
    return PromptBatch(torch.cat([b.H for b in out]), torch.cat([b.target for b in out]),
                       torch.cat([b.params for b in out]), None)


def _rows(config: StackMimickingConfig) -> torch.Tensor:
    if config.features is None:
        return config.dist.output_rows
    d = config.features
    return torch.arange(2 * d + 2, 3 * d + 2)


def _check_config(config) -> None:
    if not isinstance(config, StackMimickingConfig):
        raise ValueError(f"config must be a StackMimickingConfig; got {type(config).__name__}")


def _loss(P, V, H, target, rows) -> torch.Tensor:
    # the unchecked loss of the training loop
    return ((stack_readout(H, P, V, rows) - target) ** 2).sum(-1).mean()


def stack_loss(P, V, H, target, rows) -> torch.Tensor:
    """Mean squared error of the stack's readout against ``target`` (B, n_out) (chapter 11).

    ``H`` (B, D, N+1) with N >= 1; ``P``, ``V`` (L, M, D, D) or (L, D, D); ``rows`` the ``n_out`` row indices
    read out of the query column. Computed in ``H``'s dtype.
    """
    H, P, V = check_stack(H, P, V)
    rows = check_indices(rows, "rows", H.shape[-2])
    target = as_tensor(target, "target", dtype=H.dtype)
    want = tuple(H.shape[:-2]) + (rows.numel(),)
    if rows.dim() != 1 or tuple(target.shape) != want:
        raise ValueError(f"target must have shape {want} (batch, len(rows)); got {tuple(target.shape)}")
    return _loss(P, V, H, target, rows)


def train_stack_mimicking(config: StackMimickingConfig = StackMimickingConfig(), progress: bool = False
                          ) -> StackMimickingResult:
    """Train a stack of ``n_layers`` layers with ``n_heads`` heads by teacher mimicking (chapter 11).

    A diverging run (NaN or inf loss) raises ``ValueError`` asking for a lower ``lr``."""
    _check_config(config)
    cfg = config
    gen = torch.Generator().manual_seed(cfg.seed)
    eval_gen = torch.Generator().manual_seed(1_000_003 + cfg.seed)
    pool = stack_prompts(cfg, cfg.pool_size, gen)
    ev = stack_prompts(cfg, cfg.n_eval_prompts, eval_gen)
    H_pool, T_pool = pool.H.float(), pool.target.float()
    H_ev, T_ev = ev.H.float(), ev.target.float()
    rows = _rows(cfg)
    D = H_pool.shape[-2]
    P0, V0 = _init_stack(cfg.n_layers, cfg.n_heads, D, cfg.init_scale, gen)
    P, V = P0.clone().requires_grad_(True), V0.clone().requires_grad_(True)
    zero = float(((ev.target - ev.H[:, rows, -1]) ** 2).sum(-1).mean())

    def loss_fn(step: int) -> torch.Tensor:
        idx = torch.randint(0, cfg.pool_size, (cfg.batch_size,), generator=gen)
        return _loss(P, V, H_pool[idx], T_pool[idx], rows)

    history = fit([P, V], loss_fn, cfg.optimiser, cfg.n_steps, log_every=cfg.log_every,
                  log=lambda step: {"relative_eval_loss": float(_loss(P, V, H_ev, T_ev, rows)) / zero},
                  progress=progress, desc=f"stack L={cfg.n_layers} M={cfg.n_heads}")
    return StackMimickingResult(P.detach().to(_F64), V.detach().to(_F64), cfg, history)


def layer_recovery(P, V, dist: PromptDistribution) -> list:
    """:func:`icrl_lib.incontext.recovery_metrics` of every layer's first head, ``P``, ``V`` (L, M, D, D)
    (chapter 11)."""
    P, V = _check_heads(P, V, dist, 4, "(L, M, D, D)")
    return [recovery_metrics(P[layer, 0], V[layer, 0], dist) for layer in range(P.shape[0])]


def head_shares(P, V, dist: PromptDistribution) -> dict:
    """How the heads of one layer, ``P``, ``V`` (M, D, D), split the construction of ``dist`` (chapter 11).

    For head ``m``: ``s_m`` is the least-squares multiple of ``P*`` in its active block (one-hot null directions
    removed), ``p_error[m] = ||Pi(P_m - s_m P*)|| / ||Pi s_m P*||``; its share of output block ``b`` is
    ``share[m][b] = <s_m V_m[b, data], V*[b, data]> / ||V*[b, data]||^2`` (shares of one block sum to about 1
    when the layer is exact). ``separation`` = max over heads of the largest minus the smallest share of that
    head across blocks: 0 when every head does the same fraction of every block, 1 when each block is done
    by one head alone.
    """
    P, V = _check_heads(P, V, dist, 3, "(M, D, D)")
    L, spec = dist.layout, dist.spec
    Ps, Vs = dist.construction()
    N_P, N_V = null_directions(dist)
    out_rows = dist.output_rows
    Ps_act = project_out(Ps[L.data, L.param], N_P)
    p_error, shares, scales = [], [], []
    for m in range(P.shape[0]):
        Pm = project_out(P[m][L.data, L.param], N_P)
        s = float((Pm * Ps_act).sum() / (Ps_act ** 2).sum())
        p_error.append(float((Pm - s * Ps_act).norm() / (abs(s) * Ps_act.norm() + 1e-300)))
        Vm = project_out(s * V[m][out_rows][:, L.data], N_V)
        Vs_act = project_out(Vs[out_rows][:, L.data], N_V)
        row, start = {}, 0
        for b in spec.output_blocks:
            k = L.size(b)
            vb, vsb = Vm[start:start + k], Vs_act[start:start + k]
            row[b] = float((vb * vsb).sum() / (vsb ** 2).sum())
            start += k
        shares.append(row)
        scales.append(s)
    sep = max(max(r.values()) - min(r.values()) for r in shares)
    return {"p_error": p_error, "share": shares, "scale": scales, "separation": sep}


def _check_heads(P, V, dist, ndim: int, desc: str):
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    D = dist.layout.dim
    P, V = as_tensor(P, "P", dtype=_F64), as_tensor(V, "V", dtype=_F64)
    for name, M in (("P", P), ("V", V)):
        if M.dim() != ndim or M.shape[-2:] != (D, D) or M.numel() == 0:
            raise ValueError(f"{name} must have shape {desc} with D = {D}; got {tuple(M.shape)}")
    if P.shape != V.shape:
        raise ValueError(f"P and V must have the same shape; got {tuple(P.shape)} and {tuple(V.shape)}")
    return P, V


def plain_recovery(P, V, Ps, Vs, data_rows: slice, param_rows: slice, out_rows) -> dict:
    """Relative errors of the active blocks ``P[data, param]`` and ``V[out, data]`` to ``(Ps, Vs)`` after the
    least-squares scale ``c`` on ``V``, without null directions (chapter 11: random features have none).

    ``P``, ``V``, ``Ps``, ``Vs`` (D, D); ``data_rows``, ``param_rows`` non-empty slices of ``range(D)``;
    ``out_rows`` a slice or row indices in [0, D)."""
    P = as_tensor(P, "P", dtype=_F64)
    check_shape(P, "P", (None, None), batch=False)
    D = P.shape[0]
    check_shape(P, "P", (D, D), batch=False)
    V, Ps, Vs = (as_tensor(x, k, dtype=_F64) for x, k in ((V, "V"), (Ps, "Ps"), (Vs, "Vs")))
    for k, M in (("V", V), ("Ps", Ps), ("Vs", Vs)):
        check_shape(M, k, (D, D), batch=False)
    for k, sl in (("data_rows", data_rows), ("param_rows", param_rows)):
        if not isinstance(sl, slice) or len(range(D)[sl]) == 0:
            raise ValueError(f"{k} must be a non-empty slice of range({D}); got {sl!r}")
    if isinstance(out_rows, slice):
        if len(range(D)[out_rows]) == 0:
            raise ValueError(f"out_rows must select at least one row of range({D}); got {out_rows!r}")
    else:
        out_rows = check_indices(out_rows, "out_rows", D)
    Pa, Psa = P[data_rows, param_rows], Ps[data_rows, param_rows]
    Va, Vsa = V[out_rows][:, data_rows], Vs[out_rows][:, data_rows]
    if float((Vsa ** 2).sum()) == 0 or float((Psa ** 2).sum()) == 0:
        raise ValueError("Ps and Vs must have non-zero active blocks (Ps[data_rows, param_rows], "
                         "Vs[out_rows, data_rows]) to compare with")
    c = float((Va * Vsa).sum() / (Vsa ** 2).sum())
    if c == 0:
        raise ValueError("V must have a non-zero component along Vs's active block (the scale c is 0)")
    return {"relative_error_P": float((c * Pa - Psa).norm() / Psa.norm()),
            "relative_error_V": float((Va / c - Vsa).norm() / Vsa.norm()), "scale": c}


#: The parts of :func:`beyond_sweep` (chapter 11).
BEYOND_PARTS = ("depth", "heads", "features")


def beyond_config(part: str, seed: int = 0, n_steps: int | None = None, batch_size: int | None = None
                  ) -> StackMimickingConfig:
    """The configuration of one training run of ``part`` (chapter 11): ``depth`` = 2 layers on the 2-step
    SARSA target; ``heads`` = 2 heads on the actor-critic target; ``features`` = one SARSA block with
    random features, d = 8 (chapter 6's default distributions and step sizes otherwise)."""
    if part not in BEYOND_PARTS:
        raise ValueError(f"part must be one of {BEYOND_PARTS}; got {part!r}")
    sarsa = PromptDistribution(algorithm="sarsa", alpha=1.0)
    kw = {"depth": dict(dist=sarsa, n_layers=2, target_steps=2),
          "heads": dict(dist=PromptDistribution(algorithm="actor-critic", alpha=1.0, beta=10.0), n_heads=2),
          "features": dict(dist=sarsa, features=8)}[part]
    cfg = StackMimickingConfig(seed=check_int(seed, "seed", minimum=0), **kw)
    if n_steps is not None:
        cfg = replace(cfg, n_steps=check_int(n_steps, "n_steps"))
    if batch_size is not None:
        cfg = replace(cfg, batch_size=check_int(batch_size, "batch_size"))
    return cfg


def _summary(part: str, res: StackMimickingResult) -> dict:
    cfg = res.config
    out = {"seed": cfg.seed, "relative_eval_loss": res.history["relative_eval_loss"][-1],
           "history": res.history, "P": res.P.tolist(), "V": res.V.tolist()}
    if part == "depth":
        out["layers"] = layer_recovery(res.P, res.V, cfg.dist)
    elif part == "heads":
        out["heads"] = head_shares(res.P[0], res.V[0], cfg.dist)
    else:
        d = cfg.features
        lay = sarsa_layout(d)
        Ps, Vs = sarsa_construction(d, cfg.dist.alpha, cfg.dist.gamma)
        out["recovery"] = plain_recovery(res.P[0, 0], res.V[0, 0], Ps, Vs, lay.data, lay.param, lay.rows("w"))
    return out


def beyond_sweep(part: str, seeds, n_steps: int | None = None, progress: bool = False, log=None,
                 batch_size: int | None = None, save_blocks: bool = False) -> dict:
    """Train ``part`` (one of :data:`BEYOND_PARTS`) for every seed; JSON-ready results, with the trained
    matrices of the first seed (chapter 11; ``python -m icrl_lib.experiments beyond --part PART``).
    ``part="supervised"`` runs :func:`supervised_mdp_sweep` (DPT-style pretraining, section 6). ``save_blocks``
    keeps the matrices of every seed."""
    if part not in BEYOND_PARTS + ("supervised",):
        raise ValueError(f"part must be one of {BEYOND_PARTS + ('supervised',)}; got {part!r}")
    seeds = check_seeds(seeds)
    save_blocks = check_bool(save_blocks, "save_blocks")
    if part == "supervised":
        return supervised_mdp_sweep(seeds, n_steps, batch_size, log)
    beyond_config(part, seeds[0], n_steps, batch_size)           # check every setting before any training
    runs = []
    for seed in seeds:
        cfg = beyond_config(part, int(seed), n_steps, batch_size)
        res = train_stack_mimicking(cfg, progress=progress)
        runs.append(_summary(part, res))
        if runs[:-1] and not save_blocks:  # the matrices of the first seed only: the file stays small
            runs[-1].pop("P"), runs[-1].pop("V")
        if log is not None:
            log(f"{part} seed {seed}: relative held-out loss {runs[-1]['relative_eval_loss']:.3g}")
    cfg = beyond_config(part, int(seeds[0]), n_steps, batch_size)
    conf = asdict(cfg)
    conf.pop("seed")
    return {"part": part, "config": conf, "runs": runs}
