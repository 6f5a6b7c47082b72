"""Bad-input probe of the training loop and the optimiser config (icrl_lib.training.fit); see _probe.py."""
from __future__ import annotations

import torch

from icrl_lib import training as lib

from ._probe import Case


def _param():
    return torch.zeros(2, requires_grad=True)


def _loss(p):
    return lambda step: ((p - 1.0) ** 2).sum()


def _fit(**kw):
    p = _param()
    args = {"parameters": [p], "loss_fn": _loss(p), "optimiser": lib.OptimiserConfig(lr=0.1), "n_steps": 3} | kw
    return lib.fit(**args)


def _blows_up(step):
    return torch.tensor(float("inf"), requires_grad=True) * 1.0


CASES = [
    Case("OptimiserConfig", "range", lambda: lib.OptimiserConfig(lr=0.0), "lr"),
    Case("OptimiserConfig", "nonfinite", lambda: lib.OptimiserConfig(lr=float("nan")), "lr"),
    Case("OptimiserConfig", "type", lambda: lib.OptimiserConfig(name="rmsprop"), "optimizer"),
    Case("OptimiserConfig", "range", lambda: lib.OptimiserConfig(weight_decay=-1.0), "weight_decay"),
    Case("OptimiserConfig", "range", lambda: lib.OptimiserConfig(grad_clip=0.0), "grad_clip"),
    Case("OptimiserConfig", "type", lambda: lib.OptimiserConfig(schedule="step"), "schedule"),
    Case("OptimiserConfig", "range", lambda: lib.OptimiserConfig(final_lr_fraction=2.0), "final_lr_fraction"),
    Case("OptimiserConfig", "legit", lambda: lib.OptimiserConfig("gd", 0.5, schedule="cosine").build(
        [_param()], 4)[1].get_last_lr(), None, check=lambda lr: abs(lr[0] - 0.5) < 1e-15, note="cosine"),
    Case("fit", "range", lambda: _fit(n_steps=-1), "n_steps"),
    Case("fit", "type", lambda: _fit(n_steps=2.5), "n_steps"),
    Case("fit", "range", lambda: _fit(log_every=-2), "log_every"),
    Case("fit", "type", lambda: _fit(optimiser={"lr": 0.1}), "optimiser"),
    Case("fit", "type", lambda: _fit(progress="yes"), "progress"),
    Case("fit", "overflow", lambda: _fit(loss_fn=_blows_up), "diverged"),
    Case("fit", "legit", lambda: _fit(n_steps=0, log_every=1), None, check=lambda h: h == {"step": [], "loss": []},
         note="no-steps"),
    Case("fit", "legit", lambda: _fit(n_steps=4, log_every=3), None, check=lambda h: h["step"] == [3, 4]
         and h["loss"][1] < h["loss"][0], note="logs"),
    Case("resolve_device", "type", lambda: lib.resolve_device("tpu"), "device"),
    Case("resolve_device", "type", lambda: lib.resolve_device(3.5), "device"),
    Case("resolve_device", "legit", lambda: lib.resolve_device(None), None, check=lambda d: d.type == "cpu"),
]
EXEMPT: dict = {}

CASES += [
    Case("TransformerConfig", "range", lambda: lib.TransformerConfig(n_layers=0), "n_layers"),
    Case("TransformerConfig", "type", lambda: lib.TransformerConfig(d_model=2.5), "d_model"),
    Case("TransformerConfig", "range", lambda: lib.TransformerConfig(d_model=6, n_heads=4), "d_model"),
    Case("TransformerConfig", "type", lambda: lib.TransformerConfig(attention="linear"), "attention"),
    Case("TransformerConfig", "legit", lambda: lib.TransformerConfig(1, 4, 1).build(3, 2, 5, seed=1), None,
         check=lambda m: isinstance(m, lib.CausalTransformerPolicy) and m.config["max_len"] == 5, note="build"),
]
