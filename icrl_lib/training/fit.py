"""The one training loop of the library and the one optimiser configuration (every trainer goes through them).

:func:`fit` runs ``n_steps`` optimiser steps on a loss the caller computes, with one convention for everything
around the step: the divergence check (a non-finite loss, or a layer refusing a non-finite result, stops the run
with a ``ValueError`` naming the setting to change), the history format (lists keyed by name, ``step`` holding the
step numbers), the progress display (a tqdm bar outside notebooks when asked, or a callback), and the device.
Teacher mimicking (chapter 6), gradient descent on the mimicking loss (chapter 6), TD pretraining (chapter 3),
softmax TD pretraining (chapter 8), supervised pretraining (chapters 9-11), stack mimicking (chapter 11) and
in-context regression (chapter 2) are each a loss plus a call of :func:`fit`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable

import torch

from .._validation import check_int, check_positive, check_real
from ._checks import check_choice, check_loss, diverged

__all__ = ["OptimiserConfig", "fit", "resolve_device"]

OPTIMISERS = ("adam", "gd")
SCHEDULES = ("constant", "linear", "cosine")


@dataclass(frozen=True)
class OptimiserConfig:
    """How the parameters are updated (every trainer; chapter 6 compares Adam with gradient descent).

    ``name``: ``"adam"`` (torch defaults, step ``lr``) or ``"gd"`` (plain gradient descent, the discretised
    gradient flow). ``weight_decay`` >= 0 (Adam's L2 term). ``grad_clip``: clip the gradient's global norm to
    this value (None: no clipping). ``schedule`` of the step size over ``n_steps`` steps: ``"constant"``,
    ``"linear"`` (from ``lr`` to 0 at the last step) or ``"cosine"`` (from ``lr`` to ``final_lr_fraction * lr``).
    Every field is checked when the config is built (a ``ValueError`` naming the field).
    """

    name: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    grad_clip: float | None = None
    schedule: str = "constant"
    final_lr_fraction: float = 0.0

    def __post_init__(self):
        check_choice(self.name, "optimizer", OPTIMISERS)
        check_positive(self.lr, "lr")
        if check_real(self.weight_decay, "weight_decay") < 0:
            raise ValueError(f"weight_decay must be >= 0; got {self.weight_decay}")
        if self.grad_clip is not None:
            check_positive(self.grad_clip, "grad_clip")
        check_choice(self.schedule, "schedule", SCHEDULES)
        if not 0.0 <= check_real(self.final_lr_fraction, "final_lr_fraction") <= 1.0:
            raise ValueError(f"final_lr_fraction must be in [0, 1]; got {self.final_lr_fraction}")

    def build(self, parameters: list, n_steps: int):
        """The torch optimiser on ``parameters`` and its step-size scheduler (None for a constant step)."""
        if self.name == "adam":
            opt = torch.optim.Adam(parameters, lr=self.lr, weight_decay=self.weight_decay)
        else:
            opt = torch.optim.SGD(parameters, lr=self.lr, weight_decay=self.weight_decay)
        if self.schedule == "linear":
            return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - k / n_steps)
        if self.schedule == "cosine":
            f = self.final_lr_fraction
            return opt, torch.optim.lr_scheduler.LambdaLR(
                opt, lambda k: f + (1 - f) * 0.5 * (1 + math.cos(math.pi * k / n_steps)))
        return opt, None


def resolve_device(device) -> torch.device:
    """``"cpu"`` (the default), ``"cuda"`` (an error if no GPU is available) or a ``torch.device`` (the
    reproducibility appendix: ``--device``)."""
    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N'; got {device!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for but torch sees no GPU; use --device cpu")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N'; got {device!r}")
    return dev


def fit(parameters: Iterable[torch.Tensor], loss_fn: Callable[[int], torch.Tensor], optimiser: OptimiserConfig,
        n_steps: int, *, log_every: int = 0, log: Callable[[int], dict] | None = None, average_loss: bool = False,
        progress: bool | Callable[[int, float], None] | None = None, desc: str = "training",
        change: str = "lower lr", history: dict | None = None) -> dict:
    """Run ``n_steps`` optimiser steps on ``loss_fn`` and return the history (the library's one training loop;
    chapters 2, 3, 6, 8, 9 and 11 train through it).

    Args:
        parameters: the tensors to train (``requires_grad``), e.g. ``[P, V]`` or ``model.parameters()``.
        loss_fn: ``loss_fn(step)`` for ``step = 1, ..., n_steps``: the scalar loss of that step's batch (it draws
            the batch from its own generator), computed on the current parameters.
        optimiser: :class:`OptimiserConfig`.
        log_every: log every that many steps and at the last step (0: never). A log entry appends ``step``, the
            ``loss`` of that step (or, with ``average_loss``, the mean loss since the previous entry), and
            every item of ``log(step)``, computed after the update without gradients.
        progress: ``True`` for a tqdm bar named ``desc`` showing the last logged values; a callable is called as
            ``progress(step, loss)`` after every step.
        change: the setting the divergence message asks to change (``"lower lr"``).
        history: an existing history to append to (e.g. holding a step-0 entry).

    A non-finite loss, or a ``ValueError`` raised inside ``loss_fn`` or ``log`` once the parameters have blown
    up, stops the run with ``ValueError("training diverged at step k ...; <change>")``.
    """
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    log_every = check_int(log_every, "log_every", minimum=0)
    if not isinstance(optimiser, OptimiserConfig):
        raise ValueError(f"optimiser must be an OptimiserConfig; got {type(optimiser).__name__}")
    if not (progress is None or isinstance(progress, bool) or callable(progress)):
        raise ValueError(f"progress must be True/False/None or a callable progress(step, loss); got {progress!r}")
    parameters = list(parameters)
    opt, sched = optimiser.build(parameters, n_steps)
    history = {"step": [], "loss": []} if history is None else history
    bar = None
    if progress is True:
        from tqdm.auto import tqdm
        bar = tqdm(total=n_steps, desc=desc, unit="step", leave=False)
    running, count = 0.0, 0
    for step in range(1, n_steps + 1):
        with diverged(step, change):
            loss = loss_fn(step)
        check_loss(loss, step, change)
        opt.zero_grad()
        loss.backward()
        if optimiser.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(parameters, optimiser.grad_clip)
        opt.step()
        if sched is not None:
            sched.step()
        value = float(loss.detach())
        running, count = running + value, count + 1
        if log_every and (step % log_every == 0 or step == n_steps):
            history["step"].append(step)
            history["loss"].append(running / count if average_loss else value)
            running, count = 0.0, 0
            if log is not None:
                with torch.no_grad(), diverged(step, change):
                    for key, v in log(step).items():
                        history.setdefault(key, []).append(v)
            if bar is not None:
                bar.set_postfix(loss=f"{history['loss'][-1]:.3g}")
        if bar is not None:
            bar.update(1)
        elif callable(progress):
            progress(step, value)
    if bar is not None:
        bar.close()
    return history
