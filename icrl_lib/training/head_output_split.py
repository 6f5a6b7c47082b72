"""How the heads of one multi-head layer split the update between its output blocks (chapter 11, section 2).

A trained two-head actor-critic layer ``H + (1/N) sum_m V_m H (H^T P_m H)`` is read through its *outputs*, not
through its matrices: on prompts ``H`` head ``m`` alone changes the query's parameter rows by ``Delta_m``, and
``sum_m Delta_m`` is the layer's update (the heads add). Each output block ``b`` (the critic rows ``w`` and the
actor rows ``theta``) is compared with the teacher's step ``Delta*[b]`` on the same prompts.

This asks nothing of the key-query matrices (they need not be multiples of the construction's ``P*``), so it
applies to any trained layer; :func:`icrl_lib.training.head_shares` instead projects each head onto a multiple
of ``P*``.
"""
from __future__ import annotations

import torch

from .._validation import as_tensor, check_shape
from ..incontext import PromptBatch, PromptDistribution, stack_readout

__all__ = ["head_output_split"]

_F64 = torch.float64


def head_output_split(P, V, batch: PromptBatch, dist: PromptDistribution) -> dict:
    """Split of the update of one layer with ``M`` heads, ``P``, ``V`` (M, D, D), over heads and output blocks,
    measured on the prompts of ``batch`` (``H`` (B, D, N+1), ``target`` and ``params`` (B, n_out); chapter 11).

    With ``Delta_m`` (B, n_out) the change of the query's parameter rows by head ``m`` alone and ``Delta*`` =
    ``target - params`` the teacher's step, for every head ``m`` and output block ``b`` of
    ``dist.spec.output_blocks`` (sums over the batch and the rows of ``b``):

    - ``fraction[m][b] = <Delta_m[b], Delta*[b]> / ||Delta*[b]||^2``: the share of the teacher's step in block
      ``b`` that head ``m`` carries (over heads it sums to ``1 - `` the layer's error along ``Delta*[b]``);
    - ``residual[m][b] = ||Delta_m[b] - fraction[m][b] Delta*[b]|| / ||Delta*[b]||``: the part of head ``m``'s
      output in block ``b`` that is *not* along the teacher's step (0 for a scaled copy of the construction);
    - ``size[m][b] = ||Delta_m[b]|| / ||Delta*[b]||``: how much head ``m`` writes into block ``b``, in units of
      the teacher's step there (a head that leaves block ``b`` alone has 0);
    - ``layer_error[b] = ||sum_m Delta_m[b] - Delta*[b]|| / ||Delta*[b]||``: the error of the whole layer;
    - ``separation = max_m |fraction[m][w] - fraction[m][theta]|`` (over pairs of blocks): 0 when every head
      carries the same share of every block, 1 when each block is carried by one head alone.

    Returns a dict of plain floats (lists over heads of dicts over blocks).
    """
    if not isinstance(dist, PromptDistribution):
        raise ValueError(f"dist must be a PromptDistribution; got {type(dist).__name__}")
    if not isinstance(batch, PromptBatch):
        raise ValueError(f"batch must be a PromptBatch; got {type(batch).__name__}")
    D = dist.layout.dim
    P = as_tensor(P, "P", dtype=_F64)
    V = as_tensor(V, "V", dtype=_F64)
    check_shape(P, "P", (None, D, D), batch=False)
    check_shape(V, "V", (P.shape[0], D, D), batch=False)
    H = as_tensor(batch.H, "batch.H", dtype=_F64)
    check_shape(H, "batch.H", (None, D, None), batch=False)
    rows = dist.output_rows
    params = as_tensor(batch.params, "batch.params", dtype=_F64)
    target = as_tensor(batch.target, "batch.target", dtype=_F64)
    check_shape(params, "batch.params", (H.shape[0], len(rows)), batch=False)
    check_shape(target, "batch.target", (H.shape[0], len(rows)), batch=False)
    step = target - params
    deltas = [stack_readout(H, P[m][None, None], V[m][None, None], rows) - params for m in range(P.shape[0])]
    blocks, start = {}, 0
    for b in dist.spec.output_blocks:
        k = dist.layout.size(b)
        blocks[b] = slice(start, start + k)
        start += k
    norm = {b: float(step[:, sl].norm()) for b, sl in blocks.items()}
    if min(norm.values()) <= 0:
        raise ValueError("batch must have a nonzero teacher step in every output block")
    fraction, residual, size = [], [], []
    for dm in deltas:
        f = {b: float((dm[:, sl] * step[:, sl]).sum()) / norm[b] ** 2 for b, sl in blocks.items()}
        fraction.append(f)
        residual.append({b: float((dm[:, sl] - f[b] * step[:, sl]).norm()) / norm[b] for b, sl in blocks.items()})
        size.append({b: float(dm[:, sl].norm()) / norm[b] for b, sl in blocks.items()})
    total = sum(deltas)
    layer_error = {b: float((total[:, sl] - step[:, sl]).norm()) / norm[b] for b, sl in blocks.items()}
    names = list(blocks)
    separation = max(abs(f[x] - f[y]) for f in fraction for x in names for y in names)
    return {"fraction": fraction, "residual": residual, "size": size, "layer_error": layer_error,
            "separation": separation}
