"""Teacher-mimicking training of one linear self-attention block (chapter 6).

The loss (the procedure is [LL26]'s; this exact protocol is ours):

    L(P, V) = E_{MDP, params, context ~ pi_params} || readout(LSA_{P,V}(H)) - teacher(H) ||^2

where the teacher is the explicit update of the algorithm (the registry entry ``dist.spec`` of
:data:`icrl_lib.incontext.ALGORITHMS`: batch SARSA, batch actor-critic, ...) and ``readout`` returns the
parameter rows of the query column (``dist.output_rows``). ``P`` and ``V`` are full ``D x D`` matrices
trained from a small random initialisation. The prompt distribution (:class:`icrl_lib.incontext.PromptDistribution`),
the prompts (:func:`icrl_lib.incontext.sample_prompt_batch`) and the distance to the construction
(:func:`icrl_lib.incontext.recovery_metrics`) live in :mod:`icrl_lib.incontext`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch

from .._validation import (as_generator, as_tensor, check_indices, check_int, check_layer_inputs,
                           check_real, check_shape)
from ..attention import lsa_unchecked
from ..incontext import PromptBatch, PromptDistribution, recovery_metrics, sample_prompt_batch
from ._checks import check_bool, check_float_dtype
from .fit import OptimiserConfig, fit, resolve_device

__all__ = ["TeacherMimickingConfig", "TeacherMimickingResult", "init_parameters", "block_readout",
           "mimicking_loss", "train_teacher_mimicking"]

_F64 = torch.float64


def block_readout(P: torch.Tensor, V: torch.Tensor, H: torch.Tensor, rows: torch.Tensor, mask: bool = False
                  ) -> torch.Tensor:
    """The parameter rows ``rows`` of the query column of ``LSA_{P,V}(H)``, shape (B, len(rows)) (chapter 6).

    ``H`` (..., D, N+1) with N >= 1, ``P``, ``V`` (..., D, D) (cast to ``H``'s dtype; batch dimensions
    broadcast), ``rows`` integer row indices in [0, D).
    """
    H, P, V = check_layer_inputs(H, "H", {"P": P, "V": V})
    rows = check_indices(rows, "rows", H.shape[-2])
    return lsa_unchecked(H, P, V, mask=check_bool(mask, "mask"))[..., rows, -1]


def _loss(P, V, batch: PromptBatch, rows, mask: bool) -> torch.Tensor:
    # the unchecked loss of the training loop (its inputs are built by the trainer)
    H = batch.H.to(P.dtype)
    return ((lsa_unchecked(H, P, V, mask=mask)[..., rows, -1] - batch.target.to(P.dtype)) ** 2).sum(-1).mean()


def mimicking_loss(P, V, batch: PromptBatch, rows: torch.Tensor, mask: bool = False) -> torch.Tensor:
    """Mean over prompts of the squared error between the block's readout and the teacher (chapter 6).

    ``P``, ``V`` (D, D); ``batch`` a :class:`~icrl_lib.incontext.PromptBatch` (``H`` (B, D, N+1), ``target``
    (B, len(rows))); ``rows`` the parameter rows read out. Computed in ``P``'s dtype.
    """
    if not isinstance(batch, PromptBatch):
        raise ValueError(f"batch must be a PromptBatch; got {type(batch).__name__}")
    P = as_tensor(P, "P")
    H = as_tensor(batch.H, "batch.H", dtype=P.dtype)
    target = as_tensor(batch.target, "batch.target", dtype=P.dtype)
    rows = check_indices(rows, "rows", H.shape[-2] if H.dim() >= 2 else 1)
    out = block_readout(P, V, H, rows, mask)
    if rows.dim() != 1 or target.shape != out.shape:
        raise ValueError(f"rows must select the {target.shape[-1]} target rows of batch.target "
                         f"{tuple(target.shape)}; got {tuple(rows.shape)} rows")
    return ((out - target) ** 2).sum(-1).mean()


def init_parameters(dim: int, scale: float, generator: torch.Generator, balanced: bool = True,
                    dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Small random ``(P, V)``: entries ``N(0, scale^2 / D)``; ``balanced`` rescales so ``||V|| = ||P||`` (chapter 6).

    ``generator``: a ``torch.Generator`` or an int seed."""
    D = check_int(dim, "dim")
    s = check_real(scale, "scale")
    if s < 0:
        raise ValueError(f"scale must be >= 0; got {s}")
    dtype = check_float_dtype(dtype)
    generator = as_generator(generator, "generator")
    balanced = check_bool(balanced, "balanced")
    P = torch.randn(D, D, generator=generator, dtype=_F64) * s / D ** 0.5
    V = torch.randn(D, D, generator=generator, dtype=_F64) * s / D ** 0.5
    if balanced and s > 0:
        V = V * (P.norm() / V.norm())
    return P.to(dtype), V.to(dtype)


@dataclass(frozen=True)
class TeacherMimickingConfig:
    """Training hyper-parameters (our protocol; chapter 6). ``optimizer``: "adam" (fresh prompts every step) or
    "gd" (plain gradient descent; with ``fixed_dataset`` it is gradient descent on one empirical loss,
    the discretised gradient flow of chapter 6)."""

    dist: PromptDistribution = PromptDistribution()
    optimizer: str = "adam"
    lr: float = 1e-3
    n_steps: int = 3000
    batch_size: int = 256
    init_scale: float = 0.1
    balanced_init: bool = True
    fixed_dataset: bool = False
    mask: bool = False
    seed: int = 0
    log_every: int = 50
    n_eval_prompts: int = 1024
    dtype: str = "float32"

    def __post_init__(self):
        if not isinstance(self.dist, PromptDistribution):
            raise ValueError("dist must be a PromptDistribution")
        self.optimiser  # checks optimizer and lr
        for name in ("n_steps", "batch_size", "log_every", "n_eval_prompts"):
            check_int(getattr(self, name), name)
        check_int(self.seed, "seed", minimum=0)
        if check_real(self.init_scale, "init_scale") < 0:
            raise ValueError(f"init_scale must be >= 0; got {self.init_scale}")
        for name in ("balanced_init", "fixed_dataset", "mask"):
            check_bool(getattr(self, name), name)
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64'; got {self.dtype!r}")


    @property
    def optimiser(self) -> OptimiserConfig:
        """The optimiser part of the config (:class:`~icrl_lib.training.fit.OptimiserConfig`)."""
        return OptimiserConfig(self.optimizer, self.lr)


@dataclass
class TeacherMimickingResult:
    """Trained ``P``, ``V`` (float64 copies), the config and the logged history (lists per log step; chapter 6)."""

    P: torch.Tensor
    V: torch.Tensor
    config: TeacherMimickingConfig
    history: dict = field(default_factory=dict)

    def final_metrics(self) -> dict:
        return {k: v[-1] for k, v in self.history.items() if v}

    def as_dict(self) -> dict:
        return {"config": asdict(self.config), "history": self.history}


def _cast(batch: PromptBatch, dtype: torch.dtype, device=None) -> PromptBatch:
    return batch._replace(H=batch.H.to(device=device, dtype=dtype), target=batch.target.to(device=device, dtype=dtype))


def train_teacher_mimicking(config: TeacherMimickingConfig = TeacherMimickingConfig(), progress: bool = False,
                            P0=None, V0=None, device=None) -> TeacherMimickingResult:
    """Train a full ``(P, V)`` block to mimic the teacher; see :class:`TeacherMimickingConfig` (chapter 6).

    Logs every ``log_every`` steps: ``loss`` (training batch), ``eval_loss`` (fixed held-out prompts),
    and :func:`icrl_lib.incontext.recovery_metrics`. ``P0``/``V0`` (both (D, D)) override the random
    initialisation. A diverging run (NaN or inf loss) raises ``ValueError`` asking for a lower ``lr``.
    ``device``: where ``(P, V)`` and the prompts live while training (``"cuda"`` for a GPU; default the CPU);
    prompts are drawn on the CPU, so a run gives the same draws on every device.
    """
    if not isinstance(config, TeacherMimickingConfig):
        raise ValueError(f"config must be a TeacherMimickingConfig; got {type(config).__name__}")
    cfg = config
    device = resolve_device(device)
    dtype = torch.float32 if cfg.dtype == "float32" else _F64
    gen = torch.Generator().manual_seed(cfg.seed)
    eval_gen = torch.Generator().manual_seed(1_000_003 + cfg.seed)
    rows = cfg.dist.output_rows
    D = cfg.dist.layout.dim
    if (P0 is None) != (V0 is None):
        raise ValueError("P0 and V0 must be given together (or neither)")
    if P0 is not None:
        P0, V0 = as_tensor(P0, "P0"), as_tensor(V0, "V0")
        check_shape(P0, "P0", (D, D), batch=False)
        check_shape(V0, "V0", (D, D), batch=False)
    if P0 is None or V0 is None:
        P_init, V_init = init_parameters(D, cfg.init_scale, gen, cfg.balanced_init, dtype)
    else:
        P_init, V_init = torch.as_tensor(P0, dtype=dtype), torch.as_tensor(V0, dtype=dtype)
    P = P_init.clone().to(device).requires_grad_(True)
    V = V_init.clone().to(device).requires_grad_(True)
    rows = rows.to(device)
    eval_batch = _cast(sample_prompt_batch(cfg.dist, cfg.n_eval_prompts, eval_gen), dtype, device)
    fixed = _cast(sample_prompt_batch(cfg.dist, cfg.batch_size, gen), dtype, device) if cfg.fixed_dataset else None

    def metrics() -> dict:
        return {"eval_loss": float(_loss(P, V, eval_batch, rows, cfg.mask)),
                **recovery_metrics(P.cpu(), V.cpu(), cfg.dist)}

    def loss_fn(step: int) -> torch.Tensor:
        batch = fixed if fixed is not None else _cast(sample_prompt_batch(cfg.dist, cfg.batch_size, gen), dtype,
                                                      device)
        return _loss(P, V, batch, rows, cfg.mask)

    with torch.no_grad():
        history = {"step": [0], "loss": [float(_loss(P, V, fixed or eval_batch, rows, cfg.mask))]}
        history.update({k: [v] for k, v in metrics().items()})
    fit([P, V], loss_fn, cfg.optimiser, cfg.n_steps, log_every=cfg.log_every, log=lambda step: metrics(),
        progress=progress, desc=f"teacher mimicking ({cfg.dist.algorithm})", history=history)
    return TeacherMimickingResult(P.detach().cpu().to(_F64).clone(), V.detach().cpu().to(_F64).clone(), cfg, history)
