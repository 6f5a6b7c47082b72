"""icrl_lib: the companion library of the executable book on in-context reinforcement learning.

Modules (one job each): ``mdp`` (finite MDPs, exact evaluation, sampling), ``features``, ``policies``,
``attention`` (linear self-attention), ``algorithms`` (explicit batch TD/SARSA updates),
``icl_regression`` (the in-context regression warm-up of chapter 2), ``symbolic`` (sympy builders for
proofs), ``plotting`` (house style) and ``notebook`` (chapter setup, rounded printing).
"""
from . import algorithms, attention, control, features, mdp, notebook, plotting, policies, tabular_rl  # noqa: F401
from . import icl_regression, symbolic  # noqa: F401
from . import td_pretraining, transformer  # noqa: F401
from . import constructions, prompts, symbolic_rl  # noqa: F401

__version__ = "0.1.0"
