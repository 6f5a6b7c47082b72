"""Attention layers as functions (linear.py) and as trainable ``torch.nn.Module`` stacks (modules.py).
Knows nothing about RL: imports only ``icrl_lib._validation`` and torch.
Chapters 2 (the [LL26] layer), 3 ([W25]'s masked stacks), 6 (training a block).
"""
from .linear import apply_layers, linear_self_attention, lsa_unchecked
from .modules import LinearTransformer
from .softmax import SoftmaxTransformer, column_shift, softmax_attention, softmax_attention_unchecked

__all__ = ["linear_self_attention", "apply_layers", "lsa_unchecked", "LinearTransformer",
           "softmax_attention", "softmax_attention_unchecked", "column_shift", "SoftmaxTransformer"]

# ReLU attention and the MLP layer of [LBM24] (chapters 9-10).
from .relu import causal_average_weights, relu_attention, relu_attention_unchecked, relu_mlp  # noqa: E402

__all__ += ["relu_attention", "relu_attention_unchecked", "relu_mlp", "causal_average_weights"]

# Multi-head linear self-attention (chapter 11).
from .multihead import multihead_lsa, multihead_lsa_unchecked  # noqa: E402

__all__ += ["multihead_lsa", "multihead_lsa_unchecked"]
