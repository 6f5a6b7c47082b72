"""Teacher-mimicking training of one linear self-attention block (chapter 6).

The loss (the procedure is [LL26]'s; this exact protocol is ours):

    L(P, V) = E_{MDP, w, context ~ pi_w} || readout(LSA_{P,V}(H)) - teacher(H) ||^2

where the teacher is the explicit batch SARSA update (:func:`icrl_lib.algorithms.batch_sarsa_update`) or
the batch actor-critic update, and ``readout`` returns the parameter rows of the query column (``w``, or
``(w, theta)``). ``P`` and ``V`` are full ``D x D`` matrices trained from a small random initialisation.

Prompt distribution (our protocol, :class:`PromptDistribution`): random tabular MDPs (``|S| = 5``,
``|A| = 3``, Dirichlet(1) transitions, U[0, 1] rewards, gamma = 0.9), one-hot features, the current
``w ~ N(0, w_scale^2 I)`` (and ``theta ~ N(0, theta_scale^2 I)``), ``N`` on-policy transitions of the
behaviour policy (softmax of ``q_w / tau`` for SARSA, the softmax actor ``pi_theta`` for actor-critic),
optional Gaussian reward noise. Poor distributions for the richness experiments: ``fixed_mdp_seed`` (one
fixed MDP), ``w_scale = 0`` (``w`` always 0), ``reward_noise = 0`` with a fixed MDP (rewards a fixed
function of the features).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import NamedTuple

import torch

from ._validation import (check_gamma, check_int, check_positive, check_real)
from .algorithms import batch_actor_critic_update, batch_sarsa_update
from .attention import lsa_unchecked
from .constructions import actor_critic_construction, sarsa_construction
from .features import one_hot_state, one_hot_state_action, state_action_table
from .mdp_batch import MDPBatch, random_mdps, sample_batch_transitions
from .policies import softmax_actor_scores
from .prompts import PromptLayout, actor_critic_layout, actor_critic_prompt, sarsa_layout, sarsa_prompt

__all__ = ["PromptDistribution", "PromptBatch", "TeacherMimickingConfig", "TeacherMimickingResult",
           "prompt_layout", "output_rows", "construction", "sample_parameters", "behaviour_policy",
           "build_prompt_batch", "sample_prompt_batch", "block_readout",
           "mimicking_loss", "null_directions", "recovery_metrics", "init_parameters",
           "train_teacher_mimicking"]

_F64 = torch.float64
ALGORITHMS = ("sarsa", "actor-critic")


@dataclass(frozen=True)
class PromptDistribution:
    """The distribution of prompts the loss averages over (our protocol; see the module docstring)."""

    algorithm: str = "sarsa"
    n_states: int = 5
    n_actions: int = 3
    gamma: float = 0.9
    n_transitions: int = 40
    alpha: float = 1.0
    beta: float = 10.0
    w_scale: float = 1.0
    theta_scale: float = 1.0
    temperature: float = 1.0
    reward_noise: float = 0.1
    fixed_mdp_seed: int | None = None

    def __post_init__(self):
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"algorithm must be one of {ALGORITHMS}; got {self.algorithm!r}")
        check_int(self.n_states, "n_states")
        check_int(self.n_actions, "n_actions")
        check_gamma(self.gamma)
        check_int(self.n_transitions, "n_transitions")
        check_positive(self.alpha, "alpha")
        check_positive(self.beta, "beta")
        check_positive(self.temperature, "temperature")
        for name in ("w_scale", "theta_scale", "reward_noise"):
            if check_real(getattr(self, name), name) < 0:
                raise ValueError(f"{name} must be >= 0; got {getattr(self, name)}")
        if self.fixed_mdp_seed is not None:
            check_int(self.fixed_mdp_seed, "fixed_mdp_seed", minimum=0)

    @property
    def d(self) -> int:
        """Critic dimension: |S||A| (SARSA, one-hot phi) or |S| (actor-critic, one-hot x)."""
        S, A = self.n_states, self.n_actions
        return S * A if self.algorithm == "sarsa" else S


class PromptBatch(NamedTuple):
    """Prompts ``H`` (B, D, N+1), teacher targets (B, n_out), current parameters (B, n_out) and the MDPs."""

    H: torch.Tensor
    target: torch.Tensor
    params: torch.Tensor
    mdps: MDPBatch


def prompt_layout(dist: PromptDistribution) -> PromptLayout:
    """The row layout of the prompts of ``dist`` (:func:`icrl_lib.prompts.sarsa_layout` or the actor-critic one)."""
    if dist.algorithm == "sarsa":
        return sarsa_layout(dist.d)
    return actor_critic_layout(dist.n_states, dist.n_states * dist.n_actions)


def output_rows(dist: PromptDistribution) -> torch.Tensor:
    """Row indices read out of the query column: ``w`` (SARSA) or ``w`` then ``theta`` (actor-critic)."""
    L = prompt_layout(dist)
    names = ("w",) if dist.algorithm == "sarsa" else ("w", "theta")
    return torch.cat([torch.arange(L.rows(n).start, L.rows(n).stop) for n in names])


def construction(dist: PromptDistribution, dtype: torch.dtype = _F64) -> tuple[torch.Tensor, torch.Tensor]:
    """The exact ``(P*, V*)`` for ``dist`` (chapter 4 or 5 construction)."""
    if dist.algorithm == "sarsa":
        return sarsa_construction(dist.d, dist.alpha, dist.gamma, dtype=dtype)
    return actor_critic_construction(dist.n_states, dist.n_states * dist.n_actions, dist.alpha, dist.beta,
                                     dist.gamma, dtype=dtype)


def _mdps(dist: PromptDistribution, B: int, generator: torch.Generator) -> MDPBatch:
    if dist.fixed_mdp_seed is None:
        return random_mdps(B, dist.n_states, dist.n_actions, dist.gamma, generator=generator)
    one = random_mdps(1, dist.n_states, dist.n_actions, dist.gamma, seed=dist.fixed_mdp_seed)
    return MDPBatch(one.P.expand(B, -1, -1, -1), one.r.expand(B, -1, -1), one.rho0.expand(B, -1), one.gamma)


def sample_parameters(dist: PromptDistribution, n_prompts: int, generator: torch.Generator) -> torch.Tensor:
    """Current parameters of the stated distribution: ``w ~ N(0, w_scale^2 I)`` (then ``theta ~ N(0, theta_scale^2 I)``)."""
    B, S, A = n_prompts, dist.n_states, dist.n_actions
    if dist.algorithm == "sarsa":
        return dist.w_scale * torch.randn(B, S * A, generator=generator, dtype=_F64)
    w = dist.w_scale * torch.randn(B, S, generator=generator, dtype=_F64)
    theta = dist.theta_scale * torch.randn(B, S * A, generator=generator, dtype=_F64)
    return torch.cat([w, theta], -1)


def behaviour_policy(dist: PromptDistribution, params: torch.Tensor, temperature: float | None = None) -> torch.Tensor:
    """The policy that collects the context: ``softmax(q_w / tau)`` (SARSA) or the actor ``pi_theta`` (actor-critic).

    ``params`` (B, n_out); returns (B, S, A). ``temperature`` overrides ``dist.temperature`` for SARSA.
    """
    S, A = dist.n_states, dist.n_actions
    B = params.shape[0]
    if dist.algorithm == "sarsa":
        tau = dist.temperature if temperature is None else check_positive(temperature, "temperature")
        return torch.softmax(params.reshape(B, S, A) / tau, dim=-1)
    return torch.softmax(params[:, S:].reshape(B, S, A), dim=-1)


def build_prompt_batch(dist: PromptDistribution, mdps: MDPBatch, params: torch.Tensor, generator: torch.Generator,
                       temperature: float | None = None) -> PromptBatch:
    """Collect ``N`` on-policy transitions in each MDP with the behaviour policy of ``params`` and build
    the prompts and the teacher's targets (float64). Used for training (chapter 6) and control (chapter 7)."""
    S, A, N, g = dist.n_states, dist.n_actions, dist.n_transitions, dist.gamma
    params = params.to(_F64)
    B = params.shape[0]
    pi = behaviour_policy(dist, params, temperature)
    T = sample_batch_transitions(mdps, pi, N, generator)
    rewards = T.r + dist.reward_noise * torch.randn(B, N, generator=generator, dtype=_F64)
    if dist.algorithm == "sarsa":
        phi = one_hot_state_action(T.s, T.a, S, A)
        phi_next = one_hot_state_action(T.s_next, T.a_next, S, A)
        H = sarsa_prompt(phi, phi_next, rewards, params)
        target = batch_sarsa_update(params, phi, phi_next, rewards, dist.alpha, g)
        return PromptBatch(H, target, params, mdps)
    w, theta = params[:, :S], params[:, S:]
    x, x_next = one_hot_state(T.s, S), one_hot_state(T.s_next, S)
    psi = softmax_actor_scores(theta, T.s, T.a, state_action_table(S, A))
    H = actor_critic_prompt(x, x_next, rewards, psi, w, theta)
    w_new, theta_new = batch_actor_critic_update(w, theta, x, x_next, rewards, psi, dist.alpha, dist.beta, g)
    return PromptBatch(H, torch.cat([w_new, theta_new], -1), params, mdps)


def sample_prompt_batch(dist: PromptDistribution, n_prompts: int, generator: torch.Generator) -> PromptBatch:
    """Draw ``n_prompts`` prompts of the training distribution and their teacher targets (float64)."""
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    B = check_int(n_prompts, "n_prompts")
    if not isinstance(generator, torch.Generator):
        raise ValueError("generator must be a torch.Generator")
    mdps = _mdps(dist, B, generator)
    return build_prompt_batch(dist, mdps, sample_parameters(dist, B, generator), generator)


def block_readout(P: torch.Tensor, V: torch.Tensor, H: torch.Tensor, rows: torch.Tensor, mask: bool = False
                  ) -> torch.Tensor:
    """The parameter rows ``rows`` of the query column of ``LSA_{P,V}(H)``, shape (B, len(rows))."""
    return lsa_unchecked(H, P, V, mask=mask)[..., rows, -1]


def mimicking_loss(P, V, batch: PromptBatch, rows: torch.Tensor, mask: bool = False) -> torch.Tensor:
    """Mean over prompts of the squared error between the block's readout and the teacher."""
    H = batch.H.to(P.dtype)
    return ((block_readout(P, V, H, rows, mask) - batch.target.to(P.dtype)) ** 2).sum(-1).mean()


def null_directions(dist: PromptDistribution) -> tuple[torch.Tensor, torch.Tensor]:
    """Orthonormal bases of the one-hot null directions of the active blocks (chapter 4's count).

    Returns ``(N_P, N_V)``: ``N_P`` (k_P, n_data, n_param) directions of ``P[data, param]`` and ``N_V``
    (k_V, n_out, n_data) directions of ``V[out, data]`` along which every readout is unchanged because
    ``1^T phi_t = 1^T phi'_t = 1`` (and, for the tabular softmax actor, the entries of ``psi_t`` sum to zero
    within each state block).
    """
    L = prompt_layout(dist)
    n_data, n_param = L.data.stop, L.dim - L.data.stop
    rows = output_rows(dist)
    feat, feat_next = ("phi", "phi_next") if dist.algorithm == "sarsa" else ("x", "x_next")
    pattern = torch.zeros(n_data, dtype=_F64)
    pattern[L.rows(feat)] = 1.0
    pattern[L.rows(feat_next)] = -1.0
    patterns = [pattern]
    if dist.algorithm == "actor-critic":
        S, A = dist.n_states, dist.n_actions
        psi_rows = L.rows("psi")
        for s in range(S):
            p = torch.zeros(n_data, dtype=_F64)
            p[psi_rows.start + s * A: psi_rows.start + (s + 1) * A] = 1.0
            patterns.append(p)
    dirs_P = [torch.outer(p, torch.eye(n_param, dtype=_F64)[j]) for p in patterns for j in range(n_param)]
    dirs_V = [torch.outer(torch.eye(len(rows), dtype=_F64)[i], p) for p in patterns for i in range(len(rows))]

    def orthonormal(dirs):
        M = torch.stack([x.reshape(-1) for x in dirs])
        Q, _ = torch.linalg.qr(M.T)
        return Q.T.reshape((-1,) + dirs[0].shape)

    return orthonormal(dirs_P), orthonormal(dirs_V)


def _project_out(X: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    flat = basis.reshape(basis.shape[0], -1)
    x = X.reshape(-1)
    return (x - flat.T @ (flat @ x)).reshape(X.shape)


def recovery_metrics(P, V, dist: PromptDistribution) -> dict[str, float]:
    """How far a learned block is from the set of exact parameters (chapter 6).

    Active blocks: ``P[data, param]`` and ``V[out, data]`` (``out`` = the rows read out); everything else
    is *inert* for these prompts. The scale ``c`` (the symmetry ``(cV, P/c)``) is aligned by least squares
    on ``V``'s active block, the one-hot null directions are projected out, and

        relative_error_P = ||Pi(c P_act - P*_act)|| / ||Pi P*_act||,
        relative_error_V = ||Pi(V_act / c - V*_act)|| / ||Pi V*_act||,

    with ``Pi`` the projection orthogonal to :func:`null_directions`.

    Also ``inert_norm`` (Frobenius norm of all inert entries), ``balance`` = ``||V||^2 - ||P||^2`` and ``scale`` = c.
    """
    P = torch.as_tensor(P).detach().to(_F64)
    V = torch.as_tensor(V).detach().to(_F64)
    L = prompt_layout(dist)
    if P.shape != (L.dim, L.dim) or V.shape != (L.dim, L.dim):
        raise ValueError(f"P and V must have shape ({L.dim}, {L.dim}); got {tuple(P.shape)} and {tuple(V.shape)}")
    rows = output_rows(dist)
    Ps, Vs = construction(dist)
    data, param = L.data, L.param
    P_act, V_act = P[data, param], V[rows][:, data]
    Ps_act, Vs_act = Ps[data, param], Vs[rows][:, data]
    N_P, N_V = null_directions(dist)
    # Only the components orthogonal to the null directions are identifiable, for P* and V* too.
    Ps_id, Vs_id = _project_out(Ps_act, N_P), _project_out(Vs_act, N_V)
    c = float((_project_out(V_act, N_V) * Vs_id).sum() / (Vs_id ** 2).sum())
    c = c if abs(c) > 1e-12 else 1e-12
    err_P = _project_out(c * P_act - Ps_act, N_P).norm() / Ps_id.norm()
    err_V = _project_out(V_act / c - Vs_act, N_V).norm() / Vs_id.norm()
    active_P = torch.zeros_like(P, dtype=torch.bool)
    active_P[data, param] = True
    active_V = torch.zeros_like(V, dtype=torch.bool)
    active_V[rows.unsqueeze(-1), torch.arange(data.stop)] = True
    inert = (P[~active_P] ** 2).sum() + (V[~active_V] ** 2).sum()
    return {"relative_error_P": float(err_P), "relative_error_V": float(err_V),
            "inert_norm": float(inert.sqrt()), "balance": float((V ** 2).sum() - (P ** 2).sum()),
            "scale": c}


def init_parameters(dim: int, scale: float, generator: torch.Generator, balanced: bool = True,
                    dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """Small random ``(P, V)``: entries ``N(0, scale^2 / D)``; ``balanced`` rescales so ``||V|| = ||P||``."""
    D = check_int(dim, "dim")
    s = check_real(scale, "scale")
    if s < 0:
        raise ValueError(f"scale must be >= 0; got {s}")
    P = torch.randn(D, D, generator=generator, dtype=_F64) * s / D ** 0.5
    V = torch.randn(D, D, generator=generator, dtype=_F64) * s / D ** 0.5
    if balanced and s > 0:
        V = V * (P.norm() / V.norm())
    return P.to(dtype), V.to(dtype)


@dataclass(frozen=True)
class TeacherMimickingConfig:
    """Training hyper-parameters (our protocol). ``optimizer``: "adam" (fresh prompts every step) or
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
        if self.optimizer not in ("adam", "gd"):
            raise ValueError(f"optimizer must be 'adam' or 'gd'; got {self.optimizer!r}")
        check_positive(self.lr, "lr")
        for name in ("n_steps", "batch_size", "log_every", "n_eval_prompts"):
            check_int(getattr(self, name), name)
        check_int(self.seed, "seed", minimum=0)
        if check_real(self.init_scale, "init_scale") < 0:
            raise ValueError(f"init_scale must be >= 0; got {self.init_scale}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64'; got {self.dtype!r}")


@dataclass
class TeacherMimickingResult:
    """Trained ``P``, ``V`` (float64 copies), the config and the logged history (lists per log step)."""

    P: torch.Tensor
    V: torch.Tensor
    config: TeacherMimickingConfig
    history: dict = field(default_factory=dict)

    def final_metrics(self) -> dict:
        return {k: v[-1] for k, v in self.history.items() if v}

    def as_dict(self) -> dict:
        cfg = asdict(self.config)
        return {"config": cfg, "history": self.history}


def train_teacher_mimicking(config: TeacherMimickingConfig = TeacherMimickingConfig(), progress: bool = False,
                            P0=None, V0=None) -> TeacherMimickingResult:
    """Train a full ``(P, V)`` block to mimic the teacher; see :class:`TeacherMimickingConfig`.

    Logs every ``log_every`` steps: ``loss`` (training batch), ``eval_loss`` (fixed held-out prompts),
    and :func:`recovery_metrics`. ``P0``/``V0`` override the random initialisation.
    """
    if not isinstance(config, TeacherMimickingConfig):
        raise ValueError(f"config must be a TeacherMimickingConfig; got {type(config).__name__}")
    cfg = config
    dtype = torch.float32 if cfg.dtype == "float32" else _F64
    gen = torch.Generator().manual_seed(cfg.seed)
    eval_gen = torch.Generator().manual_seed(1_000_003 + cfg.seed)
    L = prompt_layout(cfg.dist)
    rows = output_rows(cfg.dist)
    if P0 is None or V0 is None:
        P_init, V_init = init_parameters(L.dim, cfg.init_scale, gen, cfg.balanced_init, dtype)
    else:
        P_init, V_init = torch.as_tensor(P0, dtype=dtype), torch.as_tensor(V0, dtype=dtype)
    P = P_init.clone().requires_grad_(True)
    V = V_init.clone().requires_grad_(True)
    opt = (torch.optim.Adam([P, V], lr=cfg.lr) if cfg.optimizer == "adam"
           else torch.optim.SGD([P, V], lr=cfg.lr))
    eval_batch = sample_prompt_batch(cfg.dist, cfg.n_eval_prompts, eval_gen)
    eval_batch = eval_batch._replace(H=eval_batch.H.to(dtype), target=eval_batch.target.to(dtype))
    fixed = None
    if cfg.fixed_dataset:
        fixed = sample_prompt_batch(cfg.dist, cfg.batch_size, gen)
        fixed = fixed._replace(H=fixed.H.to(dtype), target=fixed.target.to(dtype))

    history: dict[str, list] = {"step": [], "loss": [], "eval_loss": []}

    def log(step: int, loss_value: float):
        with torch.no_grad():
            ev = float(mimicking_loss(P, V, eval_batch, rows, cfg.mask))
        history["step"].append(step)
        history["loss"].append(loss_value)
        history["eval_loss"].append(ev)
        for k, v in recovery_metrics(P, V, cfg.dist).items():
            history.setdefault(k, []).append(v)

    with torch.no_grad():
        log(0, float(mimicking_loss(P, V, fixed or eval_batch, rows, cfg.mask)))
    steps = range(1, cfg.n_steps + 1)
    if progress:
        from tqdm.auto import tqdm
        steps = tqdm(steps, desc=f"teacher mimicking ({cfg.dist.algorithm})", unit="step")
    for step in steps:
        batch = fixed
        if batch is None:
            batch = sample_prompt_batch(cfg.dist, cfg.batch_size, gen)
            batch = batch._replace(H=batch.H.to(dtype), target=batch.target.to(dtype))
        loss = mimicking_loss(P, V, batch, rows, cfg.mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % cfg.log_every == 0 or step == cfg.n_steps:
            log(step, float(loss.detach()))
            if progress:
                steps.set_postfix(loss=f"{history['loss'][-1]:.3g}",
                                  errP=f"{history['relative_error_P'][-1]:.3g}")
    return TeacherMimickingResult(P.detach().to(_F64).clone(), V.detach().to(_F64).clone(), cfg, history)
