"""icrl_lib: the companion library of the executable book on in-context reinforcement learning.

Topic subpackages (CONTRIBUTING.md says who may import whom): ``rl`` (MDPs, features, policies, explicit
updates, tabular learners, the control loop), ``attention`` (attention layers and modules), ``incontext``
(one file per in-context algorithm and the registry ``ALGORITHMS``), ``training`` (TD pretraining, teacher
mimicking, gradient flow), ``symbolic`` (sympy builders for the proofs); and ``notebook`` (chapter setup,
the printing policy), ``plotting``, ``experiments`` and ``bench`` (command lines).
"""
from . import attention, incontext, notebook, plotting, rl, symbolic, training  # noqa: F401

__version__ = "0.2.0"
